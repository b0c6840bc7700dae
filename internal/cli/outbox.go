package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// notifier builds the outbox delivery of serve from the configuration:
// the configured sinks, and the filing ack on the upstream one. done closes
// the sinks' connections.
func (a *app) notifier(p *platform.Platform, log *slog.Logger, reg prometheus.Registerer) (*notify.Notifier[*store.Tx], func(), error) {
	var sinks []notify.Sink
	done := func() {}
	if a.cfg.WebhookURL != "" {
		raw, err := os.ReadFile(a.cfg.WebhookSecretFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--webhook-secret-file: %v", errors.Unwrap(err))
		}
		// A trailing newline from `echo secret > file` is not part of it.
		hook, err := notify.NewWebhook(a.cfg.WebhookURL, bytes.TrimSpace(raw), time.Now)
		if err != nil {
			return nil, nil, fmt.Errorf("--webhook-secret-file %s: %w", a.cfg.WebhookSecretFile, err)
		}
		sinks = append(sinks, hook)
	}
	if a.cfg.NATSURL != "" {
		n, err := notify.DialNATS(a.cfg.NATSURL, a.cfg.NATSSubjectPrefix)
		if err != nil {
			return nil, nil, err
		}
		sinks, done = append(sinks, n), n.Close
	}
	var acks map[string]notify.Ack[*store.Tx]
	if a.cfg.Upstream != "" {
		acks = map[string]notify.Ack[*store.Tx]{
			seal.TopicFiling: func(ctx context.Context, tx *store.Tx, ev notify.Event) error {
				return p.Seals.FilingDelivered(ctx, tx, ev.Payload)
			},
		}
	}
	poll, timeout, maxAttempts := a.cfg.Delivery()
	n, err := notify.New(p.DB, p.DB.NotifyTx, acks, notify.Options{Sinks: sinks, Upstream: a.cfg.Upstream, Poll: poll,
		Timeout: timeout, MaxAttempts: maxAttempts, Log: log, Registry: reg, Now: time.Now})
	if err != nil {
		done()
		return nil, nil, err
	}
	return n, done, nil
}

// The outbox commands work directly on the store: they are for operators
// on the platform host, and each requeue is recorded in the audit log with
// the actor "operator".
func (a *app) outboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Outbox events waiting for delivery: list them, requeue dead ones (operators on the host)",
		Long: `outbox shows the events that have not yet reached every configured sink (webhook,
NATS) and requeues deliveries that failed too often. serve delivers them; see
docs/notify.md.`,
	}
	cmd.AddCommand(a.outboxListCommand(), a.outboxRequeueCommand())
	return cmd
}

// outboxListCommand is `outbox list`.
func (a *app) outboxListCommand() *cobra.Command {
	var dead bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List undelivered events, oldest first (--dead: only those with a dead delivery)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 10000 {
				return usageErr("--limit must be 1 to 10000")
			}
			n, done, err := a.outbox(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			items, err := n.List(cmd.Context(), dead, limit)
			if err != nil {
				return err
			}
			if items == nil {
				items = []notify.Item{}
			}
			return a.print(map[string]any{"items": items}, func(w io.Writer) error {
				a.printOutbox(w, items)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dead, "dead", false, "only events with a dead delivery")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	return cmd
}

// printOutbox prints each event and under it how each of its deliveries
// stands.
func (a *app) printOutbox(w io.Writer, items []notify.Item) {
	if len(items) == 0 {
		fmt.Fprintln(w, a.t("cli.outbox.empty", nil))
		return
	}
	for _, it := range items {
		fmt.Fprintf(w, "%s  %-14s %s\n", it.ID, it.Topic, it.CreatedAt.Format(time.RFC3339))
		if len(it.Deliveries) == 0 {
			fmt.Fprintf(w, "    %s\n", a.t("cli.outbox.unclaimed", nil))
		}
		for _, d := range it.Deliveries {
			fmt.Fprintf(w, "    %-8s %s\n", d.Sink, a.deliveryLine(d))
		}
	}
}

// outboxRequeueCommand is `outbox requeue`.
func (a *app) outboxRequeueCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "requeue ID",
		Short: "Make every undelivered delivery of an event due now, its attempts counted afresh",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, done, err := a.outbox(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			c, err := n.Requeue(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printLine(map[string]any{"id": args[0], "requeued": c}, a.t("cli.outbox.requeued", map[string]any{"ID": args[0], "N": c}))
		},
	}
}

// deliveryLine describes one delivery in the chosen language.
func (a *app) deliveryLine(d notify.DeliveryState) string {
	data := map[string]any{"Attempts": d.Attempts, "Next": d.NextAttemptAt.Local().Format(time.RFC3339)}
	var s string
	switch {
	case d.DeliveredAt != nil:
		data["At"] = d.DeliveredAt.Local().Format(time.RFC3339)
		s = a.t("cli.outbox.delivered", data)
	case d.DeadAt != nil:
		data["At"] = d.DeadAt.Local().Format(time.RFC3339)
		s = a.t("cli.outbox.dead", data)
	default:
		s = a.t("cli.outbox.waiting", data)
	}
	if d.LastError != "" && d.DeliveredAt == nil {
		s += " — " + strings.Join(strings.Fields(d.LastError), " ")
	}
	return s
}

// outbox opens the store for an outbox command; it delivers nothing.
func (a *app) outbox(ctx context.Context) (*notify.Notifier[*store.Tx], func(), error) {
	db, _, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	n, err := notify.New(db, db.NotifyTx, nil, notify.Options{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return n, func() { a.closeStore(db) }, nil
}
