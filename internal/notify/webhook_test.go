package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/notify"
)

var secret = []byte("0123456789abcdef-test-secret")

var event = notify.Event{ID: "obx_1", Topic: "seal.filing", Payload: []byte(`{"seal_code":"X","making":1}`),
	CreatedAt: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}

// receiver is a webhook receiver at the process boundary: it verifies each
// request as docs/notify.md tells receivers to and answers with status.
type receiver struct {
	status int
	delay  time.Duration

	mu     sync.Mutex // the handler may still sleep while the test reads
	got    []notify.Envelope
	header http.Header
	errs   []error
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	if err := notify.VerifySignature(secret, body, req.Header.Get(notify.HeaderSignature), time.Now(), 5*time.Minute); err != nil {
		r.errs = append(r.errs, err)
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env notify.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		r.errs = append(r.errs, err)
	}
	r.got, r.header = append(r.got, env), req.Header.Clone()
	r.mu.Unlock()
	time.Sleep(r.delay)
	if r.status == http.StatusFound {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(r.status)
	// A failed write shows in the client's view of the answer, which the
	// tests check.
	_, _ = io.WriteString(w, "answer  of\nthe receiver")
}

func TestWebhookDeliver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		delay  time.Duration
		want   int // the StatusError's status; 0: delivered; -1: another error
	}{
		{"ok", 200, 0, 0},
		{"accepted", 202, 0, 0},
		{"server error", 503, 0, 503},
		{"rate limited", 429, 0, 429},
		{"rejected", 400, 0, 400},
		{"redirect not followed", 302, 0, 302},
		{"timeout", 200, 2 * time.Second, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &receiver{status: tc.status, delay: tc.delay}
			srv := httptest.NewServer(r)
			defer srv.Close()
			w, err := notify.NewWebhook(srv.URL, secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A generous limit for the answers, a short one for the receiver
			// that sleeps: the test must not flake on a loaded machine.
			limit := 10 * time.Second
			if tc.delay > 0 {
				limit = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			err = w.Deliver(ctx, event)
			var se *notify.StatusError
			switch {
			case tc.want == 0 && err != nil:
				t.Fatalf("Deliver = %v, want delivered", err)
			case tc.want > 0 && (!errors.As(err, &se) || se.Status != tc.want):
				t.Fatalf("Deliver = %v, want HTTP %d", err, tc.want)
			case tc.want > 0 && se.Body != "answer of the receiver":
				t.Fatalf("kept answer %q", se.Body)
			case tc.want < 0 && (err == nil || errors.As(err, &se)):
				t.Fatalf("Deliver = %v, want a timeout", err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.errs) > 0 || len(r.got) != 1 {
				t.Fatalf("receiver saw %d requests, errors %v", len(r.got), r.errs)
			}
			env := r.got[0]
			if env.ID != event.ID || env.Topic != event.Topic || !env.CreatedAt.Equal(event.CreatedAt) || string(env.Payload) != string(event.Payload) {
				t.Fatalf("envelope = %+v", env)
			}
			if r.header.Get(notify.HeaderEventID) != event.ID || r.header.Get(notify.HeaderTopic) != event.Topic ||
				r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("headers = %v", r.header)
			}
		})
	}
}

func TestWebhookRefusesShortSecretAndBadPayload(t *testing.T) {
	if _, err := notify.NewWebhook("http://127.0.0.1:1/", []byte("short"), nil); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
	w, err := notify.NewWebhook("http://127.0.0.1:1/", secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := event
	bad.Payload = []byte("not json")
	if err := w.Deliver(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("Deliver of a non-JSON payload = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"obx_1"}`)
	good := notify.Sign(secret, body, now)
	for _, tc := range []struct {
		name   string
		secret []byte
		body   string
		header string
		ok     bool
	}{
		{"good", secret, string(body), good, true},
		{"second signature matches", secret, string(body), good + ",v1=00ff", true},
		{"wrong secret", []byte("another-secret-of-16"), string(body), good, false},
		{"changed body", secret, `{"id":"obx_2"}`, good, false},
		{"too old", secret, string(body), notify.Sign(secret, body, now.Add(-10*time.Minute)), false},
		{"from the future", secret, string(body), notify.Sign(secret, body, now.Add(10*time.Minute)), false},
		{"no time", secret, string(body), strings.Split(good, ",")[1], false},
		{"empty", secret, string(body), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.VerifySignature(tc.secret, []byte(tc.body), tc.header, now, 5*time.Minute)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, notify.ErrSignature)) {
				t.Fatalf("VerifySignature = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if !strings.HasPrefix(good, "t=1800000000,v1=") || len(good) != len("t=1800000000,v1=")+64 {
		t.Fatalf("header %q", good)
	}
}
