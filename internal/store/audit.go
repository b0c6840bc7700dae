package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

var (
	_ auditlog.Tx               = (*Tx)(nil)
	_ auditlog.Appender         = (*Tx)(nil)
	_ auditlog.BatchAppender    = (*Tx)(nil)
	_ auditlog.Reader           = (*DB)(nil)
	_ auditlog.IntegrationStore = (*DB)(nil)
	_ auditlog.TileReader       = (*DB)(nil)
)

// auditIntegratorLock is the PostgreSQL advisory lock key the audit
// integrator holds for its transaction: "zzaudit" in ASCII.
const auditIntegratorLock int64 = 0x7a7a6175646974

// AuditTree implements auditlog.Reader.
func (h handle) AuditTree(ctx context.Context) (auditlog.Tree, error) {
	return h.auditTree(ctx, "")
}

// auditTree reads the tree row, with lock appended to the query.
func (h handle) auditTree(ctx context.Context, lock string) (auditlog.Tree, error) {
	var t auditlog.Tree
	var size int64
	var hashes []byte
	if err := mapErr(h.queryRow(ctx, `SELECT size, hashes, root FROM audit_tree WHERE id = 1`+lock).Scan(&size, &hashes, &t.Root)); err != nil {
		return t, fmt.Errorf("audit tree: %w", err)
	}
	if len(hashes)%32 != 0 {
		return t, fmt.Errorf("audit tree: compact range of %d bytes", len(hashes))
	}
	if size < 0 {
		return t, fmt.Errorf("audit tree: negative size %d", size)
	}
	t.Size = uint64(size)
	for i := 0; i < len(hashes); i += 32 {
		t.Hashes = append(t.Hashes, hashes[i:i+32])
	}
	return t, nil
}

// SequenceAuditEntry implements auditlog.Appender: one insert into the queue
// of pending entries, which no other writer's row shares. The sequence
// number comes from the database (the rowid under SQLite's write lock, an
// identity column on PostgreSQL, whose sequence is outside transactions and
// so never a serialization conflict).
func (tx *Tx) SequenceAuditEntry(ctx context.Context, e auditlog.Entry) error {
	_, err := tx.execPrepared(ctx, `INSERT INTO audit_pending (at, actor, org, action, subject, details) VALUES (?, ?, ?, ?, ?, ?)`,
		micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details))
	if err != nil {
		return fmt.Errorf("pending audit entry: %w", err)
	}
	return nil
}

// SequenceAuditEntries implements auditlog.BatchAppender: the entries in
// multi-row inserts, which number them in their order as one insert each
// would. A batch of redemptions spent about a third of its transaction on
// an insert per entry.
func (tx *Tx) SequenceAuditEntries(ctx context.Context, es []auditlog.Entry) error {
	for lo := 0; lo < len(es); lo += rowsPerInsert {
		hi := min(lo+rowsPerInsert, len(es))
		args := make([]any, 0, 6*(hi-lo))
		for _, e := range es[lo:hi] {
			args = append(args, micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details))
		}
		if _, err := tx.execPrepared(ctx, tx.insertOrFail()+`audit_pending (at, actor, org, action, subject, details) VALUES `+
			valueRows(hi-lo, 6), args...); err != nil {
			return fmt.Errorf("pending audit entries: %w", err)
		}
	}
	return nil
}

// IntegrateAudit implements auditlog.IntegrationStore.
//
// On PostgreSQL the transaction is READ COMMITTED and elects its integrator
// with a transaction-scoped advisory lock: a second process finds it taken
// and leaves at once rather than waiting or failing a serialization check,
// and the tree row is read FOR UPDATE as well, so that even a process
// without the lock could not integrate on a stale tree. Every statement
// after the lock sees what the previous integrator committed. On SQLite the
// IMMEDIATE transaction holds the database's write lock from BEGIN, which
// makes one integrator at a time across every process that opens the file;
// what it writes is read and planned before it (integrateSQLite).
//
// It is on DB because it opens its own transaction: integration runs apart
// from the transactions that sequence entries, so that no business write
// waits for the tree.
func (d *DB) IntegrateAudit(ctx context.Context, limit int, plan auditlog.PlanFunc) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if d.dialect == SQLite {
		return d.integrateSQLite(ctx, limit, plan)
	}
	// A look without a transaction first: an idle integrator polling an
	// empty queue then never begins one.
	var one int
	switch err := mapErr(d.queryRow(ctx, `SELECT 1 FROM audit_pending LIMIT 1`).Scan(&one)); {
	case errNotFound(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("pending audit entries: %w", err)
	}
	var n int
	err := d.withTx(ctx, sql.LevelReadCommitted, func(tx *Tx) error {
		n = 0
		var mine bool
		if err := mapErr(tx.queryRow(ctx, `SELECT pg_try_advisory_xact_lock(?)`, auditIntegratorLock).Scan(&mine)); err != nil {
			return fmt.Errorf("audit integrator lock: %w", err)
		}
		if !mine {
			return auditlog.ErrIntegratorBusy
		}
		t, err := tx.auditTree(ctx, " FOR UPDATE")
		if err != nil {
			return err
		}
		pending, err := tx.pendingEntries(ctx, `ORDER BY seq LIMIT ?`, limit)
		if err != nil || len(pending) == 0 {
			return err
		}
		b, err := plan(t, pending)
		if err != nil {
			return err
		}
		if err := tx.writeBatch(ctx, t.Size, b); err != nil {
			return err
		}
		n = len(b.Entries)
		return nil
	})
	return n, err
}

// integrateSQLite is IntegrateAudit on SQLite. Reading the pending entries
// and planning their batch (their leaves and hashes) took more than half of
// an integration, and every writer, redemptions among them, waited for
// SQLite's one write lock meanwhile. So both run first, outside any
// transaction, on what is committed (WAL readers wait for no writer), and
// the write transaction only writes. It writes what was planned only if the
// tree still has the size the plan started from, which it checks first
// and again as it moves the tree: only an integration moves the tree, and
// pending entries leave the queue only with one, so an unmoved tree means
// that the entries read are still the first of the queue, and any entry
// committed since has a larger sequence number (the rowid counts on from
// those read, which are still there). A tree moved meanwhile was another
// integrator's doing: ErrIntegratorBusy, as on PostgreSQL.
func (d *DB) integrateSQLite(ctx context.Context, limit int, plan auditlog.PlanFunc) (int, error) {
	t, err := d.auditTree(ctx, "")
	if err != nil {
		return 0, err
	}
	pending, err := d.pendingEntries(ctx, `ORDER BY seq LIMIT ?`, limit)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	b, err := plan(t, pending)
	if err != nil {
		return 0, err
	}
	from, err := sqlIndex(t.Size)
	if err != nil {
		return 0, fmt.Errorf("audit tree: %w", err)
	}
	err = d.WithTx(ctx, func(tx *Tx) error {
		var size int64
		if err := mapErr(tx.queryRowPrepared(ctx, `SELECT size FROM audit_tree WHERE id = 1`).Scan(&size)); err != nil {
			return fmt.Errorf("audit tree: %w", err)
		}
		if size != from {
			return auditlog.ErrIntegratorBusy
		}
		return tx.writeBatch(ctx, t.Size, b)
	})
	if err != nil {
		return 0, err
	}
	return len(b.Entries), nil
}

// rowsPerInsert bounds the rows of one multi-row statement: 8 columns each
// stay far below both dialects' limits on bound parameters.
const rowsPerInsert = 200

// writeBatch stores an integrated batch: the entries with their leaves, the
// subtree hashes, the removal of the entries from the queue and the new
// tree, which must still extend the tree of size from.
func (tx *Tx) writeBatch(ctx context.Context, from uint64, b auditlog.Batch) error {
	for lo := 0; lo < len(b.Entries); lo += rowsPerInsert {
		hi := min(lo+rowsPerInsert, len(b.Entries))
		args := make([]any, 0, 8*(hi-lo))
		seqs := make([]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			e := b.Entries[i]
			idx, err := sqlIndex(e.Index)
			if err != nil {
				return fmt.Errorf("audit entry: %w", err)
			}
			seq, err := sqlIndex(e.Seq)
			if err != nil {
				return fmt.Errorf("audit entry: %w", err)
			}
			args = append(args, idx, micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details), b.Leaves[i])
			seqs = append(seqs, seq)
		}
		if _, err := tx.execRows(ctx, hi-lo, tx.insertOrFail()+`audit_entries (idx, at, actor, org, action, subject, details, leaf) VALUES `+
			valueRows(hi-lo, 8), args...); err != nil {
			return fmt.Errorf("audit entries: %w", err)
		}
		res, err := tx.takePending(ctx, seqs)
		if err != nil {
			return fmt.Errorf("pending audit entries: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(hi-lo) {
			return fmt.Errorf("%w: pending audit entries taken meanwhile", errBusy)
		}
	}
	for lo := 0; lo < len(b.Nodes); lo += rowsPerInsert {
		hi := min(lo+rowsPerInsert, len(b.Nodes))
		args := make([]any, 0, 3*(hi-lo))
		for _, nd := range b.Nodes[lo:hi] {
			idx, err := sqlIndex(nd.Index)
			if err != nil {
				return fmt.Errorf("audit node: %w", err)
			}
			args = append(args, nd.Level, idx, nd.Hash)
		}
		if _, err := tx.execRows(ctx, hi-lo, tx.insertOrFail()+`audit_nodes (level, idx, hash) VALUES `+valueRows(hi-lo, 3), args...); err != nil {
			return fmt.Errorf("audit nodes: %w", err)
		}
	}
	return tx.updateAuditTree(ctx, from, b.Tree)
}

// insertOrFail begins a multi-row insert that fails on a conflict: on
// SQLite "INSERT OR FAIL INTO ", so that the statement keeps no statement
// journal. SQLite copies every page a multi-row statement changes to that
// journal first when the statement may abort half-way (ABORT, the default
// conflict resolution); FAIL keeps the rows before the failing one, and
// every caller's transaction fails with the error anyway, so nothing is
// left of them. In an integration the journal cost about a tenth of the
// writes.
func (h handle) insertOrFail() string {
	if h.dialect == SQLite {
		return "INSERT OR FAIL INTO "
	}
	return "INSERT INTO "
}

// execRows is exec of a statement of rows rows, prepared once when it has
// rowsPerInsert of them: an integration of a full batch runs the same
// statement of 200 rows five times, and SQLite parsed it every time; the
// last, shorter statement of a batch varies and is not kept.
func (h handle) execRows(ctx context.Context, rows int, query string, args ...any) (sql.Result, error) {
	if rows == rowsPerInsert {
		return h.execPrepared(ctx, query, args...)
	}
	return h.exec(ctx, query, args...)
}

// takePending removes the pending entries seqs (in increasing order) from
// the queue; its result says how many it removed. On SQLite, one range of
// the primary key: the integrator read the first entries of the queue
// under the write lock, which no other writer can hold meanwhile, so the
// range holds those alone (the caller checks the count). On PostgreSQL an
// entry below the range may commit meanwhile, so the entries are named.
func (tx *Tx) takePending(ctx context.Context, seqs []any) (sql.Result, error) {
	if tx.dialect == SQLite {
		return tx.execPrepared(ctx, `DELETE FROM audit_pending WHERE seq BETWEEN ? AND ?`, seqs[0], seqs[len(seqs)-1])
	}
	return tx.exec(ctx, `DELETE FROM audit_pending WHERE seq IN (`+placeholders(len(seqs))+`)`, seqs...)
}

// valueRows returns rows groups of n '?' each: "(?, ?), (?, ?)".
func valueRows(rows, n int) string {
	group := "(" + placeholders(n) + ")"
	return strings.TrimSuffix(strings.Repeat(group+", ", rows), ", ")
}

// updateAuditTree moves the tree from size from to t.
func (tx *Tx) updateAuditTree(ctx context.Context, from uint64, t auditlog.Tree) error {
	var hashes []byte
	for _, h := range t.Hashes {
		hashes = append(hashes, h...)
	}
	if hashes == nil {
		hashes = []byte{}
	}
	size, err := sqlIndex(t.Size)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	old, err := sqlIndex(from)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	res, err := tx.exec(ctx, `UPDATE audit_tree SET size = ?, hashes = ?, root = ? WHERE id = 1 AND size = ?`, size, hashes, t.Root, old)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: audit tree moved meanwhile", errBusy)
	}
	return nil
}

// AuditPending returns up to limit entries waiting for integration, in
// the order the integrator takes them; org, when not empty, keeps those
// about that organization.
func (h handle) AuditPending(ctx context.Context, org string, limit int) ([]auditlog.Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	if org == "" {
		return h.pendingEntries(ctx, `ORDER BY seq LIMIT ?`, limit)
	}
	return h.pendingEntries(ctx, `WHERE org = ? ORDER BY seq LIMIT ?`, org, limit)
}

// pendingEntries reads the pending entries a clause selects.
func (h handle) pendingEntries(ctx context.Context, clause string, args ...any) ([]auditlog.Entry, error) {
	rows, err := h.query(ctx, `SELECT seq, at, actor, org, action, subject, details FROM audit_pending `+clause, args...)
	entries, err := collect(rows, err, func(s scanner) (auditlog.Entry, error) {
		e := auditlog.Entry{Pending: true}
		var seq, at int64
		var details string
		if err := s.Scan(&seq, &at, &e.Actor, &e.Org, &e.Action, &e.Subject, &details); err != nil {
			return e, err
		}
		if seq < 0 {
			return e, fmt.Errorf("pending audit entry with negative sequence %d", seq)
		}
		var err error
		e.Seq, e.At = uint64(seq), fromMicros(at)
		if e.Details, err = auditlog.ParseDetails(details); err != nil {
			return e, fmt.Errorf("pending audit entry %d details: %w", seq, err)
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending audit entries: %w", err)
	}
	return entries, nil
}

// AuditEntries implements auditlog.Reader: entries [from, to) in order.
// from and to may come from a request: no entry lies past the largest SQL
// integer, so both are capped there rather than wrapped to negative numbers,
// which would have read from index 0.
func (h handle) AuditEntries(ctx context.Context, from, to uint64) ([]auditlog.Entry, [][]byte, error) {
	from, to = min(from, math.MaxInt64), min(to, math.MaxInt64)
	if from >= to {
		return nil, nil, nil
	}
	return h.auditEntries(ctx, `idx >= ? AND idx < ? ORDER BY idx`, int64(from), int64(to))
}

// AuditEntriesOfOrg returns up to limit entries about org from index from
// on, in order.
func (h handle) AuditEntriesOfOrg(ctx context.Context, org string, from uint64, limit int) ([]auditlog.Entry, error) {
	if from > math.MaxInt64 || limit <= 0 {
		return nil, nil
	}
	entries, _, err := h.auditEntries(ctx, `org = ? AND idx >= ? ORDER BY idx LIMIT ?`, org, int64(from), limit)
	return entries, err
}

// HolderAuditEntries implements license.Reader: the entries whose subject
// is a license of the holder of kind and blind index, from index from on
// and below size, in index order, with their leaves.
func (h handle) HolderAuditEntries(ctx context.Context, kind catalog.HolderKind, index string, from, size uint64, limit int) ([]auditlog.Entry, [][]byte, error) {
	if from > math.MaxInt64 || size > math.MaxInt64 || from >= size || limit <= 0 {
		return nil, nil, nil
	}
	return h.auditEntries(ctx, `subject IN (SELECT id FROM licenses WHERE holder_kind = ? AND holder_index = ?)
		AND idx >= ? AND idx < ? ORDER BY idx LIMIT ?`, string(kind), index, int64(from), int64(size), limit)
}

// auditEntries reads the entries a WHERE clause selects.
func (h handle) auditEntries(ctx context.Context, where string, args ...any) ([]auditlog.Entry, [][]byte, error) {
	type leafEntry struct {
		entry auditlog.Entry
		leaf  []byte
	}
	rows, err := h.query(ctx, `SELECT idx, at, actor, org, action, subject, details, leaf FROM audit_entries WHERE `+where, args...)
	read, err := collect(rows, err, func(s scanner) (leafEntry, error) {
		var r leafEntry
		e := &r.entry
		var idx, at int64
		var details string
		if err := s.Scan(&idx, &at, &e.Actor, &e.Org, &e.Action, &e.Subject, &details, &r.leaf); err != nil {
			return r, err
		}
		if idx < 0 {
			return r, fmt.Errorf("audit entry with negative index %d", idx)
		}
		var err error
		e.Index, e.At = uint64(idx), fromMicros(at)
		if e.Details, err = auditlog.ParseDetails(details); err != nil {
			return r, fmt.Errorf("audit entry %d details: %w", idx, err)
		}
		return r, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("audit entries: %w", err)
	}
	if len(read) == 0 {
		return nil, nil, nil
	}
	entries, leaves := make([]auditlog.Entry, len(read)), make([][]byte, len(read))
	for i, r := range read {
		entries[i], leaves[i] = r.entry, r.leaf
	}
	return entries, leaves, nil
}

// AuditNode implements auditlog.Reader.
func (h handle) AuditNode(ctx context.Context, level uint, index uint64) ([]byte, error) {
	idx, err := sqlIndex(index)
	if err != nil {
		return nil, fmt.Errorf("audit node: %w", err)
	}
	var hash []byte
	if err := mapErr(h.queryRow(ctx, `SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?`, level, idx).Scan(&hash)); err != nil {
		return nil, fmt.Errorf("audit node %d/%d: %w", level, index, err)
	}
	return hash, nil
}

// AuditNodes implements auditlog.TileReader: one range read of the
// primary key.
func (h handle) AuditNodes(ctx context.Context, level uint, from, to uint64) ([]auditlog.Node, error) {
	from, to = min(from, math.MaxInt64), min(to, math.MaxInt64)
	if from >= to {
		return nil, nil
	}
	rows, err := h.query(ctx, `SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx`, level, int64(from), int64(to))
	nodes, err := collect(rows, err, func(s scanner) (auditlog.Node, error) {
		n := auditlog.Node{Level: level}
		var idx int64
		if err := s.Scan(&idx, &n.Hash); err != nil {
			return n, err
		}
		if idx < 0 {
			return n, fmt.Errorf("audit node with negative index %d", idx)
		}
		n.Index = uint64(idx)
		return n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit nodes %d/[%d, %d): %w", level, from, to, err)
	}
	return nodes, nil
}

// sqlIndex converts a tree size or entry index to the signed integer SQL
// stores. A log grows by one entry per action and never gets near 2^63, but a
// wrapped negative index would corrupt the tree, so it is an error.
func sqlIndex(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("index %d past the largest SQL integer", n)
	}
	return int64(n), nil
}

// AuditTx runs fn in one transaction that only appends audit entries: the
// record of an access that changes nothing else, such as a verification.
// Such a transaction reads no row and decides nothing, so SERIALIZABLE
// would guard nothing on PostgreSQL; it runs READ COMMITTED.
func (d *DB) AuditTx(ctx context.Context, fn func(auditlog.Tx) error) error {
	return d.withTx(ctx, sql.LevelReadCommitted, func(tx *Tx) error { return fn(tx) })
}
