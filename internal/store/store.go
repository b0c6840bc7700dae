// Package store is the only place that speaks SQL. It implements the store
// interfaces that capability packages declare, for two dialects: the embedded
// SQLite database (a city or a trial) and PostgreSQL (a province, several
// serve processes on one primary).
//
// Queries are written once with '?' placeholders and rebound to '$n' for
// PostgreSQL; where the dialects differ a query has a variant per dialect.
// Nothing here keeps state in memory that another process would need:
// sequences, locks and idempotency keys live in the database.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
)

//go:embed sqlite/migrations/*.sql postgres/migrations/*.sql
var migrations embed.FS

// Dialect names the SQL dialect of a database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DBFile is the name of the embedded database inside the data directory.
const DBFile = "zhengzhao.db"

// DB is an open store. It is safe for concurrent use. Through it the
// capabilities only read; they write through the Tx that WithTx hands
// them. The few writes defined on DB commit by themselves on purpose, each
// saying why.
type DB struct {
	handle
	db      *sql.DB
	retries atomic.Uint64
	copied  atomic.Uint64    // rows bulk transactions wrote with COPY
	now     func() time.Time // the store's clock: times it stamps by itself
}

// Option adjusts a store as Open opens it.
type Option func(*DB)

// WithClock makes the store stamp the times it records by itself (when a
// data key was made or re-wrapped) with now instead of the wall clock, so
// that tests and replays control them as they control the capabilities'.
func WithClock(now func() time.Time) Option { return func(d *DB) { d.now = now } }

// Open opens the store named by dsn: a postgres:// or postgresql:// URL selects
// PostgreSQL; an empty dsn selects the embedded SQLite database in dataDir,
// which is created if needed. Open checks that the store is reachable and
// answers with one clear error when it is not.
func Open(ctx context.Context, dsn, dataDir string, opts ...Option) (*DB, error) {
	var d *DB
	var err error
	switch {
	case dsn == "":
		d, err = openSQLite(ctx, dataDir)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		d, err = openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("unsupported database DSN %q: use postgres://… or leave it empty for the embedded store", Redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	d.now = time.Now
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

func openSQLite(ctx context.Context, dataDir string) (*DB, error) {
	if dataDir == "" {
		return nil, errors.New("no data directory given for the embedded store")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s cannot be created: %w", dataDir, errors.Unwrap(err))
	}
	probe, err := os.CreateTemp(dataDir, ".write-probe-*")
	if err != nil {
		return nil, fmt.Errorf("data directory %s is not writable: %w", dataDir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())

	path, err := filepath.Abs(filepath.Join(dataDir, DBFile))
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	if err := operatorOnly(path); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	// WAL lets readers go on while one writer writes; IMMEDIATE transactions
	// take the write lock at BEGIN so that two writers queue on busy_timeout
	// instead of deadlocking on a lock upgrade.
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	// A bulk import's batch touches more pages than the default 2 MiB page
	// cache holds, and a full cache spills dirty pages to the WAL (and
	// savepoint journals to temporary files) before the commit; 16 MiB a
	// connection and in-memory temporary storage keep a 1,000-row batch in
	// memory until it commits.
	v.Add("_pragma", "temp_store(MEMORY)")
	v.Add("_pragma", "cache_size(-16384)")
	v.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	return &DB{handle: handle{x: db, dialect: SQLite, stmts: &stmtCache{db: db}}, db: db}, nil
}

// operatorOnly creates the database file readable by its owner alone
// before SQLite opens it, and takes that mode back on a store and its -wal
// and -shm files made before: SQLite creates a file 0644 under the usual
// umask, and gives the -wal and -shm files the database file's mode.
func operatorOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL DSN %s: %w", Redact(dsn), err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %s", Redact(dsn), firstLine(err))
	}
	return &DB{handle: handle{x: db, dialect: Postgres}, db: db}, nil
}

func ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Redact returns dsn with any password replaced, for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Dialect reports which database the store speaks to.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes the store.
func (d *DB) Close() error {
	if d.stmts != nil {
		d.stmts.close()
	}
	return d.db.Close()
}

// Ping checks that the store answers; it backs the readiness probe.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the store does not answer")
	}
	return nil
}

// Migrate applies every embedded migration that has not been applied yet and
// returns how many it applied. Several processes may call it at once on
// PostgreSQL: an advisory lock makes them take turns.
func (d *DB) Migrate(ctx context.Context) (int, error) {
	p, err := d.migrations()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("apply migrations: %w", err)
	}
	return len(res), nil
}

// migrations is the goose provider of the store's embedded migrations.
func (d *DB) migrations() (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "sqlite/migrations"
	var opts []goose.ProviderOption
	if d.dialect == Postgres {
		dialect, dir = goose.DialectPostgres, "postgres/migrations"
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("embedded migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, d.db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// maxAttempts bounds how often WithTx runs a function whose transaction lost
// a serialization race or found the database busy. PostgreSQL's
// serializable isolation also aborts transactions that only share index
// pages (a lookup that finds nothing locks the page it looked in), so a
// burst of writers to one small table loses races no request could avoid;
// the attempts and the backoff below let such a burst drain.
const maxAttempts = 16

// backoff is how long WithTx waits before the attempt after attempt: full
// jitter over an exponential ceiling of 2 ms · 2^(attempt-1), capped at
// 100 ms, so that transactions that collided do not collide again in step.
func backoff(attempt int) time.Duration {
	ceiling := min(2*time.Millisecond<<min(attempt-1, 10), 100*time.Millisecond)
	return time.Millisecond + time.Duration(rand.Int64N(int64(ceiling))) //nolint:gosec // G404: jitter that spreads retries apart, not a secret
}

// WithTx runs fn in one transaction and commits it when fn returns nil. A
// transaction that fails because of a serialization conflict, a deadlock or
// a busy database is retried from the start, at most maxAttempts times, so fn
// must not have effects outside the transaction.
func (d *DB) WithTx(ctx context.Context, fn func(*Tx) error) error {
	return d.withTx(ctx, sql.LevelSerializable, fn)
}

// Retries returns how many transactions WithTx has started again after a
// serialization conflict, a deadlock or a busy database since the store
// was opened: contention that the design should keep near zero.
func (d *DB) Retries() uint64 { return d.retries.Load() }

// withTx is WithTx at the given isolation level on PostgreSQL.
func (d *DB) withTx(ctx context.Context, iso sql.IsolationLevel, fn func(*Tx) error) error {
	return d.retry(ctx, func() error { return d.tryTx(ctx, iso, nil, fn) })
}

// retry runs attempt until it succeeds, fails for a reason other than a
// conflict or a busy database, or has run maxAttempts times; then the
// store is busy (apperr.Unavailable), which the API answers with 503 and a
// client may retry. The statements that commit by themselves go through it
// too: SQLite may find its database busy for them as for a transaction.
func (d *DB) retry(ctx context.Context, attempt func() error) error {
	var err error
	for n := 1; n <= maxAttempts; n++ {
		err = attempt()
		if err == nil || !retryable(err) {
			return err
		}
		if n == maxAttempts {
			break
		}
		d.retries.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff(n)):
		}
	}
	return apperr.Wrap(apperr.Unavailable, err, "the store is busy; try again")
}

// tryTx runs fn in one transaction, on conn when it is not nil (a bulk
// transaction's, see WithBulkTx).
func (d *DB) tryTx(ctx context.Context, iso sql.IsolationLevel, conn *sql.Conn, fn func(*Tx) error) (err error) {
	// PostgreSQL transactions are SERIALIZABLE: a read-modify-write that races
	// another process fails with 40001 and is retried above, instead of
	// silently losing an update. SQLite's IMMEDIATE transactions are
	// serialized by the database lock already. Only row-locking claims
	// (FOR UPDATE SKIP LOCKED) and the audit integrator, which elects itself
	// with an advisory lock, ask for less.
	//
	// READ COMMITTED with SELECT ... FOR UPDATE everywhere would retry less,
	// but every decision would then hold only if its author locked every row
	// it read (a count of seals, a PIN failure counter, an application's
	// state), and a forgotten lock is a silent race, not an error. So the
	// default stays SERIALIZABLE, where "decide inside the transaction" holds
	// by construction, and contention is designed out where it was measured
	// instead: no write shares a row with every other write (the audit log
	// sequences entries into a queue and integrates them apart; an
	// idempotency claim inserts before it reads; CRL numbers are one
	// auto-committed UPDATE, which PostgreSQL queues on the row lock). A
	// conflict left is between requests about the same thing, which the
	// retry resolves. Retries counts them.
	var opts *sql.TxOptions
	if d.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: iso}
	}
	var sqlTx *sql.Tx
	if conn != nil {
		sqlTx, err = conn.BeginTx(ctx, opts)
	} else {
		sqlTx, err = d.db.BeginTx(ctx, opts)
	}
	if err != nil {
		return mapErr(fmt.Errorf("begin transaction: %w", err))
	}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback() //nolint:errcheck // the panic goes on up; nothing was committed and database/sql releases the connection either way
			panic(p)
		}
		if err != nil {
			sqlTx.Rollback() //nolint:errcheck // the transaction already failed with err, which is what the caller needs; nothing was committed either way
		}
	}()
	h := handle{x: sqlTx, dialect: d.dialect, keys: d.keys, stmts: d.stmts, txKeys: map[string]*envelope.DataKey{}}
	if d.stmts != nil {
		h.tx = &txStmts{tx: sqlTx}
	}
	if err = fn(&Tx{handle: h, conn: conn, copied: &d.copied}); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// Tx is a unit of work: every store method called on it commits or rolls
// back together. The capabilities' write methods are defined on Tx alone,
// so a write that is not part of a unit of work does not compile; the
// reads it shares with DB come from handle.
type Tx struct {
	handle
	// conn is the connection of a bulk transaction, on which it copies
	// rows (bulkcopy.go); nil otherwise.
	conn   *sql.Conn
	copied *atomic.Uint64
}

// execer is what *sql.DB and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// handle carries what DB and Tx share: the query helpers and the
// capabilities' read methods. Nothing that writes belongs here.
type handle struct {
	x       execer
	dialect Dialect
	keys    *dataKeys // nil until Unlock
	// stmts keeps the hot statements prepared (SQLite only; nil on
	// PostgreSQL, whose driver caches prepared statements itself), and
	// tx, in a transaction, their forms bound to its connection.
	stmts *stmtCache
	tx    *txStmts
	// txKeys, in a transaction, are the active data keys it has read, by
	// purpose: its snapshot (SQLite's write lock, PostgreSQL's
	// serializable snapshot) would read the same again, so a transaction
	// encrypting thousands of values reads each key once.
	txKeys map[string]*envelope.DataKey
}

// stmtCache holds statements prepared once on the database, by query
// text. modernc's SQLite driver compiles a query on every call that is not
// a prepared statement's, and compiling was most of the time of a
// redemption's statements; a prepared statement keeps its compiled form on
// each connection it ran on (database/sql re-prepares it on a new one).
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// get returns the statement of query, preparing it on first use. It is
// prepared without ctx's cancellation: it outlives the request.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s, nil
	}
	s, err := c.db.PrepareContext(context.WithoutCancel(ctx), query) //nolint:sqlclosecheck // kept for the store's life; DB.Close closes it
	if err != nil {
		return nil, mapErr(err)
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
	return s, nil
}

// close closes every statement; the store is closing.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// txStmts are the cached statements bound to one transaction, each bound
// once however often the transaction runs it (a batch of redemptions runs
// each a hundred times); the transaction closes them when it ends.
type txStmts struct {
	tx *sql.Tx
	m  map[*sql.Stmt]*sql.Stmt
}

// prepared returns the prepared statement of query for h: on its
// transaction's connection in a transaction, on any otherwise; nil when h
// keeps no prepared statements.
func (h handle) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if h.stmts == nil {
		return nil, nil
	}
	s, err := h.stmts.get(ctx, query)
	if err != nil || h.tx == nil {
		return s, err
	}
	if ts, ok := h.tx.m[s]; ok {
		return ts, nil
	}
	ts := h.tx.tx.StmtContext(ctx, s)
	if h.tx.m == nil {
		h.tx.m = map[*sql.Stmt]*sql.Stmt{}
	}
	h.tx.m[s] = ts
	return ts, nil
}

// execPrepared is exec through a statement prepared once: for the
// statements every redemption runs. query needs no rebinding (SQLite).
func (h handle) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := h.prepared(ctx, query) //nolint:sqlclosecheck // the cache's: DB.Close, or the transaction's end, closes it
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return h.exec(ctx, query, args...)
	}
	res, err := s.ExecContext(ctx, args...)
	return res, mapErr(err)
}

// queryRowPrepared is queryRow through a statement prepared once.
func (h handle) queryRowPrepared(ctx context.Context, query string, args ...any) scanner {
	s, err := h.prepared(ctx, query) //nolint:sqlclosecheck // the cache's: DB.Close, or the transaction's end, closes it
	switch {
	case err != nil:
		return errRow{err}
	case s == nil:
		return h.queryRow(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// queryPrepared is query through a statement prepared once.
func (h handle) queryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := h.prepared(ctx, query) //nolint:sqlclosecheck // the cache's: DB.Close, or the transaction's end, closes it
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return h.query(ctx, query, args...)
	}
	rows, err := s.QueryContext(ctx, args...)
	return rows, mapErr(err)
}

// errRow is a row whose query could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (h handle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := h.x.ExecContext(ctx, h.rebind(query), args...)
	return res, mapErr(err)
}

func (h handle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := h.x.QueryContext(ctx, h.rebind(query), args...)
	return rows, mapErr(err)
}

func (h handle) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return h.x.QueryRowContext(ctx, h.rebind(query), args...)
}

// scanner is what a row offers to a scan function: *sql.Row and *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect reads every row of a query with scan and closes the rows. rows
// and err are what the query returned, so that a failed query needs no
// check of its own before collect.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// rebind turns '?' placeholders into '$1, $2, …' for PostgreSQL. Queries in
// this package never contain '?' inside string literals.
func (h handle) rebind(query string) string {
	if h.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// errBusy marks errors after which a transaction may be retried.
var errBusy = errors.New("transaction conflict")

// mapErr classifies driver errors: constraint violations become apperr kinds
// the capability packages decide on; conflicts and busy errors are marked
// retryable for WithTx.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Wrap(apperr.NotFound, err, "not found")
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01", "55P03":
			return fmt.Errorf("%w: %w", errBusy, err)
		case "23505":
			return apperr.Wrap(apperr.Conflict, err, "already exists")
		case "23503":
			return apperr.Wrap(apperr.Invalid, err, "refers to something that does not exist")
		case "23514", "23502":
			return apperr.Wrap(apperr.Invalid, err, "breaks a constraint")
		}
		return err
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT:
			return fmt.Errorf("%w: %w", errBusy, err)
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return apperr.Wrap(apperr.Conflict, err, "already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return apperr.Wrap(apperr.Invalid, err, "refers to something that does not exist")
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return apperr.Wrap(apperr.Invalid, err, "breaks a constraint")
		}
	}
	return err
}

func retryable(err error) bool { return errors.Is(err, errBusy) }

// micros converts a time to the stored form, Unix microseconds.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// fromMicros converts the stored form back to a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
