package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
)

// EnvNATS names the environment variable with the URL of a NATS server
// with JetStream for the tests.
const EnvNATS = "ZHENGZHAO_TEST_NATS"

// natsStream returns the server URL and a fresh subject prefix captured by a
// stream of its own, deleted when the test ends; it skips loudly when no
// server is configured.
func natsStream(t *testing.T) (url, prefix string, stream jetstream.Stream) {
	t.Helper()
	url = os.Getenv(EnvNATS)
	if url == "" {
		testskip.Missing(t, "NATS JetStream", EnvNATS+" is not set (bash .ci/run sets it up; nats-server -js is enough)")
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ZZTEST_" + hex.EncodeToString(b)
	prefix = "zztest." + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, name); err != nil {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
	return url, prefix, stream
}

// TestNATSPublishesOnceByEventID publishes the same event twice: JetStream
// keeps one message, on <prefix>.<topic>, with the event ID as Nats-Msg-Id.
func TestNATSPublishesOnceByEventID(t *testing.T) {
	url, prefix, stream := natsStream(t)
	sink, err := notify.DialNATS(url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		if err := sink.Deliver(ctx, event); err != nil {
			t.Fatal(err)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	m, err := stream.GetLastMsgForSubject(ctx, prefix+".seal.filing")
	if err != nil {
		t.Fatal(err)
	}
	var env notify.Envelope
	if err := json.Unmarshal(m.Data, &env); err != nil || env.ID != event.ID || string(env.Payload) != string(event.Payload) {
		t.Fatalf("message = %s, %v", m.Data, err)
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != event.ID {
		t.Fatalf("Nats-Msg-Id = %q, want %q", got, event.ID)
	}
}

// TestNATSWithoutStreamFails publishes where no stream listens: the attempt
// fails, to be retried.
func TestNATSWithoutStreamFails(t *testing.T) {
	url, _, _ := natsStream(t)
	sink, err := notify.DialNATS(url, "zztest.nostream")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := sink.Deliver(ctx, event); err == nil {
		t.Fatal("a publish no stream stored was taken as delivered")
	}
}

func TestSubjectPrefix(t *testing.T) {
	for p, ok := range map[string]bool{"zhengzhao": true, "gov.sx.zhengzhao": true, "a-b_c": true,
		"": false, "a.": false, ".a": false, "a.*": false, "a.>": false, "a b": false} {
		if got := notify.ValidSubjectPrefix(p); got != ok {
			t.Errorf("ValidSubjectPrefix(%q) = %v, want %v", p, got, ok)
		}
	}
}

// TestNotifierNATSUpstream delivers through JetStream as the upstream sink
// with a real store: the event lands in the stream once and its ack
// commits with the delivery.
func TestNotifierNATSUpstream(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		url, prefix, stream := natsStream(t)
		sink, err := notify.DialNATS(url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		ctx := context.Background()
		acked := 0
		acks := map[string]notify.Ack[*store.Tx]{"seal.filing": func(ctx context.Context, tx *store.Tx, ev notify.Event) error {
			acked++
			return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "system", Action: "test.acked", Subject: ev.ID})
		}}
		n, err := notify.New(db, db.NotifyTx, acks, notify.Options{Sinks: []notify.Sink{sink}, Upstream: "nats"})
		if err != nil {
			t.Fatal(err)
		}
		storetest.Write(t, db, func(tx *store.Tx) error {
			return tx.InsertOutbox(ctx, "obx_nats", "seal.filing", []byte(`{"making":1}`), time.Now())
		})
		if got, err := n.Pass(ctx); err != nil || got != 1 {
			t.Fatalf("Pass = %d, %v", got, err)
		}
		if got, err := n.Pass(ctx); err != nil || got != 0 {
			t.Fatalf("second Pass = %d, %v; want nothing left", got, err)
		}
		info, err := stream.Info(ctx)
		if err != nil || info.State.Msgs != 1 {
			t.Fatalf("stream = %+v, %v; want one message", info, err)
		}
		entries, _ := storetest.AuditEntries(t, db)
		if acked != 1 || len(entries) != 1 || entries[0].Subject != "obx_nats" {
			t.Fatalf("acked %d, audit %+v", acked, entries)
		}
	})
}
