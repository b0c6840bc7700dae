package notify

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// subjectPrefix is what a subject prefix may be: dot-separated tokens
// without wildcards or spaces.
var subjectPrefix = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidSubjectPrefix reports whether p can prefix NATS subjects.
func ValidSubjectPrefix(p string) bool { return subjectPrefix.MatchString(p) }

// NATS publishes events to a JetStream stream, on the subject
// <prefix>.<topic>. The event ID travels as Nats-Msg-Id, so JetStream drops
// a redelivery inside the stream's duplicate window.
type NATS struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	prefix string
}

// DialNATS connects to the NATS server at url. The connection reconnects on
// its own; publishing while it is down fails the attempt, which is
// retried later.
func DialNATS(url, prefix string) (*NATS, error) {
	if !ValidSubjectPrefix(prefix) {
		return nil, fmt.Errorf("NATS subject prefix %q: dot-separated tokens of letters, digits, _ and -", prefix)
	}
	nc, err := nats.Connect(url, nats.Name("zhengzhao"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS JetStream: %w", err)
	}
	return &NATS{nc: nc, js: js, prefix: prefix}, nil
}

// Name implements Sink.
func (n *NATS) Name() string { return "nats" }

// Subject is the subject an event of topic is published on.
func (n *NATS) Subject(topic string) string { return n.prefix + "." + topic }

// Deliver implements Sink: the event is delivered when JetStream
// acknowledges that a stream stored it (or had stored it already).
func (n *NATS) Deliver(ctx context.Context, ev Event) error {
	body, err := Body(ev)
	if err != nil {
		return err
	}
	m := nats.NewMsg(n.Subject(ev.Topic))
	m.Data = body
	m.Header.Set(HeaderTopic, ev.Topic)
	if _, err := n.js.PublishMsg(ctx, m, jetstream.WithMsgID(ev.ID)); err != nil {
		return fmt.Errorf("publish to %s: %w", m.Subject, err)
	}
	return nil
}

// Close drains and closes the connection.
func (n *NATS) Close() {
	if err := n.nc.Drain(); err != nil {
		n.nc.Close()
	}
}
