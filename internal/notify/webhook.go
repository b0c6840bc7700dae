package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook request.
const (
	// HeaderEventID names the event; receivers deduplicate on it, since
	// delivery is at least once.
	HeaderEventID = "X-Zhengzhao-Event-Id"
	// HeaderTopic names the event's topic, e.g. seal.filing.
	HeaderTopic = "X-Zhengzhao-Topic"
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256>": the
	// MAC, under the shared secret, of the decimal t, a full stop and the
	// exact request body (the scheme Stripe uses).
	HeaderSignature = "X-Zhengzhao-Signature"
)

// Envelope is the body of a webhook request and of a NATS message.
type Envelope struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	CreatedAt time.Time       `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

// Body returns the JSON envelope of ev.
func Body(ev Event) ([]byte, error) {
	if !json.Valid(ev.Payload) {
		return nil, fmt.Errorf("event %s: the payload is not JSON", ev.ID)
	}
	return json.Marshal(Envelope{ID: ev.ID, Topic: ev.Topic, CreatedAt: ev.CreatedAt.UTC(), Payload: ev.Payload})
}

// Sign returns the value of HeaderSignature for body sent at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature means a webhook request's signature header is missing,
// malformed, wrong, or too old: the receiver rejects the request.
var ErrSignature = errors.New("webhook signature does not verify")

// VerifySignature checks header (the value of HeaderSignature) against
// body and secret, and that its time lies within tolerance of now, which
// stops a captured request from being replayed later. It is what a Go
// receiver calls; docs/notify.md shows the same in other languages.
func VerifySignature(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago, more than %s", ErrSignature, d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}

// Webhook POSTs events to a URL, signed with a shared secret.
type Webhook struct {
	url    string
	host   string // for errors and logs, which must not show the URL's credentials or query
	secret []byte
	client *http.Client
	now    func() time.Time
}

// MinSecretLen is the shortest webhook secret accepted, in bytes.
const MinSecretLen = 16

// NewWebhook returns a webhook sink. Redirects are not followed: a 3xx is a
// failed attempt like any other non-2xx answer.
func NewWebhook(rawURL string, secret []byte, now func() time.Time) (*Webhook, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("the webhook secret has %d bytes; it needs at least %d", len(secret), MinSecretLen)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("the webhook URL is not an absolute URL with a host")
	}
	if now == nil {
		now = time.Now
	}
	return &Webhook{url: rawURL, host: u.Host, secret: secret, now: now, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Name implements Sink.
func (w *Webhook) Name() string { return "webhook" }

// Deliver implements Sink: 2xx delivers; every other answer, a timeout or a
// network error is a failed attempt.
func (w *Webhook) Deliver(ctx context.Context, ev Event) error {
	body, err := Body(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "zhengzhao-webhook/1")
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderTopic, ev.Topic)
	req.Header.Set(HeaderSignature, Sign(w.secret, body, w.now()))
	resp, err := w.client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, which may carry a token in its
		// query; the error is kept in the outbox and logged, so only the
		// cause goes on.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", w.host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	// Draining lets the connection be reused; a receiver that breaks off
	// its answer costs only that.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &StatusError{Status: resp.StatusCode, Body: strings.Join(strings.Fields(string(snippet)), " ")}
}
