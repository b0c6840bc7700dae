package present

import (
	"context"
	"fmt"
	"sync"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// MaxBatch is the most redemptions one transaction commits. Small
// batches keep the cores busy: the requests of a batch wait for its commit,
// which runs on one core, so a large batch holds most of the clients while
// the other core idles. At 64 connections on 2 cores, 16 redeemed about a
// tenth more a second than 128 (docs/presentations.md).
const MaxBatch = 16

// batcher commits the redemptions of one process in groups (group
// commit): SQLite has one writer, and redemptions that each took the write
// lock in turn spent their time waiting for it, not working. A
// redemption queues its job; when no one commits, it commits the queue in
// one transaction itself, every job decided inside it in queue order, and
// then hands the next queue to the first redemption waiting in it. No
// goroutine outlives the redemptions. Two redemptions of one payload in a
// batch are decided like two transactions in a row: the first claim of the
// digest is new, the second is refused as replayed.
type batcher struct {
	tx TxFunc

	mu      sync.Mutex
	queue   []*job
	leading bool
}

// job is one redemption's part of a batch, in two steps so that the
// batch writes its redemption records and its audit entries in one
// statement each: decide reads what the redemption decides on in tx and
// returns the record it claims, nil when refused already; record then
// completes the verdict with whether the claim was new, and returns its
// audit entry. Both may run again when the transaction is retried.
type job struct {
	decide func(ctx context.Context, tx Tx) (*Claim, error)
	record func(claimed, fresh bool) auditlog.Entry
	err    error
	lead   chan bool // true: commit the queue now; false: done, err set
}

// do commits j, alone or with others, and returns its error.
func (b *batcher) do(ctx context.Context, j *job) error {
	j.lead = make(chan bool, 1)
	b.mu.Lock()
	b.queue = append(b.queue, j)
	leader := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !leader && !<-j.lead {
		return j.err
	}
	// Leading: j is first in the queue. The batch is every queued job's,
	// so it does not end with this request's context.
	ctx = context.WithoutCancel(ctx)
	b.mu.Lock()
	batch := b.queue[:min(len(b.queue), MaxBatch)]
	b.queue = append([]*job(nil), b.queue[len(batch):]...)
	b.mu.Unlock()
	b.commit(ctx, batch)
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.leading = false
	} else {
		b.queue[0].lead <- true
	}
	b.mu.Unlock()
	for _, other := range batch[1:] {
		other.lead <- false
	}
	return j.err
}

// commit runs the batch in one transaction. When it fails, each job runs
// again in a transaction of its own, so that one job's failure is its
// own.
func (b *batcher) commit(ctx context.Context, batch []*job) {
	err := b.tx(ctx, func(tx Tx) error { return run(ctx, tx, batch) })
	for _, j := range batch {
		j.err = err
	}
	if err == nil || len(batch) == 1 {
		return
	}
	for _, j := range batch {
		j.err = b.tx(ctx, func(tx Tx) error { return run(ctx, tx, []*job{j}) })
	}
}

// run decides the batch in tx: every job's reads, then one insert of the
// claimed records and one of the audit entries. Redemptions read nothing
// another writes in the batch (a license's state and status bits), so this
// decides as the jobs one after the other would; a digest claimed twice is
// new only for its first claim.
func run(ctx context.Context, tx Tx, batch []*job) error {
	claims := make([]Claim, 0, len(batch))
	claimed := make([]bool, len(batch))
	for i, j := range batch {
		c, err := j.decide(ctx, tx)
		if err != nil {
			return err
		}
		if c != nil {
			claims, claimed[i] = append(claims, *c), true
		}
	}
	fresh, err := tx.ClaimRedemptions(ctx, claims)
	if err != nil {
		return err
	}
	if len(fresh) != len(claims) {
		return fmt.Errorf("redemption records: %d answers for %d claims", len(fresh), len(claims))
	}
	entries := make([]auditlog.Entry, len(batch))
	k := 0
	for i, j := range batch {
		isFresh := false
		if claimed[i] {
			isFresh, k = fresh[k], k+1
		}
		entries[i] = j.record(claimed[i], isFresh)
	}
	return auditlog.AppendAll(ctx, tx, entries)
}
