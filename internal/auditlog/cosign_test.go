package auditlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

const platformCode = "91350100M000100Y43"

// witnessKey is a witness's key pair.
type witnessKey struct {
	name   string
	vkey   string
	signer note.Signer
}

func newWitnessKey(t *testing.T, name string) witnessKey {
	t.Helper()
	skey, vkey, err := auditlog.GenerateWitnessKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auditlog.NewWitnessSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return witnessKey{name: name, vkey: vkey, signer: s}
}

// witnessFixture is a log with a checkpointer and a witnessing service
// whose clock the test moves.
type witnessFixture struct {
	db    *store.DB
	cp    *auditlog.Checkpointer
	logV  string
	w     *auditlog.Witnessing
	clock *atomic.Int64 // seconds added to time.Now
}

func newWitnessFixture(t *testing.T, db *store.DB, key keys.Signer, witnesses ...witnessKey) *witnessFixture {
	t.Helper()
	ctx := context.Background()
	f := &witnessFixture{db: db, clock: &atomic.Int64{}}
	f.cp = auditlog.NewCheckpointer(db, func(context.Context, string) (keys.Signer, error) { return key, nil },
		func(context.Context) (string, error) { return platformCode, nil })
	var err error
	if f.logV, err = f.cp.VerifierKey(ctx); err != nil {
		t.Fatal(err)
	}
	var ws []auditlog.Witness
	for _, k := range witnesses {
		w, err := auditlog.ParseWitness(k.vkey)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	f.w, err = auditlog.NewWitnessing(auditlog.WitnessingDeps{Log: db, Cosignatures: db, Tx: db.CosignatureTx, Checkpoints: f.cp,
		Witnesses: ws, Now: func() time.Time { return time.Now().Add(time.Duration(f.clock.Load()) * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// source is the log as a witness reads it over the wire.
type source struct {
	checkpoint func(ctx context.Context) ([]byte, error)
	db         *store.DB
}

func (s source) Checkpoint(ctx context.Context) ([]byte, error) { return s.checkpoint(ctx) }
func (s source) Tile(ctx context.Context, t auditlog.Tile) ([]byte, error) {
	return auditlog.ReadTile(ctx, s.db, t)
}

func (f *witnessFixture) source() source { return source{checkpoint: f.w.Checkpoint, db: f.db} }

// snapshot is what a refused submission must leave as it was.
func (f *witnessFixture) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	tree, err := f.db.AuditTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := f.db.AuditPending(ctx, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	var cosigs []string
	for size := uint64(0); size <= tree.Size; size++ {
		cs, err := f.db.AuditCosignatures(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			cosigs = append(cosigs, fmt.Sprintf("%s@%d", c.Witness, c.Size))
		}
	}
	return fmt.Sprintf("%d %d %v", tree.Size, len(pending), cosigs)
}

func ed25519Key(t *testing.T) keys.Signer {
	t.Helper()
	key, err := keys.GenerateSoftware(keys.Ed25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestWitnessCosignatures runs two configured witnesses through a round
// of cosigning, checks that the served checkpoint carries both (k of n),
// and that every bad submission is refused with its rule and changes
// nothing.
func TestWitnessCosignatures(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w1, w2, stranger := newWitnessKey(t, "witness.one"), newWitnessKey(t, "witness.two"), newWitnessKey(t, "stranger")
		f := newWitnessFixture(t, db, ed25519Key(t), w1, w2)
		appendEntries(t, db, 5)

		msg1, state1, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, w1.signer)
		if err != nil || state1.Size != 5 {
			t.Fatalf("first cosignature: size %d, %v", state1.Size, err)
		}
		got, err := f.w.Submit(ctx, msg1)
		if err != nil || len(got) != 1 || !got[0].Stored || got[0].Witness != w1.name {
			t.Fatalf("Submit = %+v, %v", got, err)
		}
		before := f.snapshot(t)
		if again, err := f.w.Submit(ctx, msg1); err != nil || again[0].Stored {
			t.Fatalf("the same cosignature again: %+v, %v; want unchanged", again, err)
		}
		if after := f.snapshot(t); after != before {
			t.Fatalf("a repeated cosignature changed the store: %s → %s", before, after)
		}

		// The audit entry of the first grows the log, but the checkpoint
		// served stays the cosigned one while its window lasts, so the
		// second witness cosigns the same.
		appendEntries(t, db, 0)
		msg2, state2, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, w2.signer)
		if err != nil || state2.Size != 5 {
			t.Fatalf("second witness: size %d, %v", state2.Size, err)
		}
		if _, err := f.w.Submit(ctx, msg2); err != nil {
			t.Fatal(err)
		}
		served, err := f.w.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all := []string{w1.vkey, w2.vkey, stranger.vkey}
		if _, size, cosigned, err := auditlog.VerifyWitnessed(served, f.logV, all, 2); err != nil || size != 5 || len(cosigned) != 2 {
			t.Fatalf("2 of 3: size %d, %v, %v\n%s", size, cosigned, err, served)
		}
		if _, _, _, err := auditlog.VerifyWitnessed(served, f.logV, all, 3); err == nil {
			t.Fatal("3 of 3 accepted with two cosignatures")
		}

		// After the window the current tree is served again.
		f.clock.Add(int64(auditlog.WitnessWindow.Seconds()) + 1)
		appendEntries(t, db, 3)
		tree, _ := db.AuditTree(ctx)
		msg3, state3, err := auditlog.Cosign(ctx, f.source(), f.logV, state1, w1.signer)
		if err != nil || state3.Size != tree.Size {
			t.Fatalf("next round: size %d of %d, %v", state3.Size, tree.Size, err)
		}
		if _, err := f.w.Submit(ctx, msg3); err != nil {
			t.Fatal(err)
		}

		strangerMsg, _, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, stranger.signer)
		if err != nil {
			t.Fatal(err)
		}
		origin, _, _ := strings.Cut(string(msg3), "\n")
		badSig := flipLastSignatureByte(t, msg3)
		// A note the log's key signs, of a size it never had or of a root
		// it never had at that size: cosigned, but not a checkpoint the log served.
		forged := func(text string) []byte {
			m, err := note.Sign(&note.Note{Text: text}, w1.signer)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		body, sigs, _ := strings.Cut(string(msg3), "\n\n")
		logLine, _, _ := strings.Cut(sigs, "\n")
		logSigned := []byte(body + "\n\n" + logLine + "\n")
		tree, _ = db.AuditTree(ctx)
		for _, tc := range []struct {
			name string
			msg  []byte
			kind apperr.Kind
			rule string
		}{
			{"garbage", []byte("hello"), apperr.Invalid, "signed-note"},
			{"empty", nil, apperr.Invalid, "signed-note"},
			{"unknown witness", strangerMsg, apperr.Invalid, "witness-unknown"},
			{"bad signature", badSig, apperr.Invalid, "cosignature"},
			{"log signature only", logSigned, apperr.Invalid, "cosignature"},
			{"other origin", forged("other.example/log\n5\n" + strings.Split(string(msg1), "\n")[2] + "\n"), apperr.Invalid, "origin"},
			{"size never reached", forged(fmt.Sprintf("%s\n%d\n%s\n", origin, tree.Size+10, strings.Split(string(msg1), "\n")[2])), apperr.Invalid, "served"},
			{"root never had", forged(fmt.Sprintf("%s\n4\n%s\n", origin, strings.Split(string(msg1), "\n")[2])), apperr.Invalid, "served"},
			{"extension line", forged(fmt.Sprintf("%s\n5\n%s\nextra\n", origin, strings.Split(string(msg1), "\n")[2])), apperr.Invalid, "checkpoint"},
			{"replay of an older checkpoint's", msg1, apperr.Conflict, "replay"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := f.snapshot(t)
				_, err := f.w.Submit(ctx, tc.msg)
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Kind != tc.kind || len(ae.Fields) != 1 || ae.Fields[0].Rule != tc.rule {
					t.Fatalf("Submit: %v; want %s %s", err, tc.kind, tc.rule)
				}
				if after := f.snapshot(t); after != before {
					t.Fatalf("a refused cosignature changed the store: %s → %s", before, after)
				}
			})
		}

		// A cosignature dated in the future of the platform's clock.
		f.clock.Add(-3600)
		appendEntries(t, db, 1)
		msg4, _, err := auditlog.Cosign(ctx, f.source(), f.logV, state3, w2.signer)
		if err != nil {
			t.Fatal(err)
		}
		var ae *apperr.Error
		if _, err := f.w.Submit(ctx, msg4); !errors.As(err, &ae) || ae.Fields[0].Rule != "timestamp" {
			t.Fatalf("cosignature from the future: %v", err)
		}
	})
}

// TestWitnessRefusesInconsistentLog: a witness that cosigned one history
// refuses a checkpoint of another signed with the same key (a fork), and
// one of fewer entries (a rollback).
func TestWitnessRefusesInconsistentLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w1 := newWitnessKey(t, "witness.one")
		key := ed25519Key(t)
		f := newWitnessFixture(t, db, key, w1)
		appendEntries(t, db, 300)
		_, state, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, w1.signer)
		if err != nil {
			t.Fatal(err)
		}

		// The same key over another database: the first 299 entries alike,
		// then different ones.
		forkDB := storetest.OpenSQLite(t)
		appendEntries(t, forkDB, 299)
		storetest.Write(t, forkDB, func(tx *store.Tx) error {
			return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc_1", Org: "X", Action: "seal.sign", Subject: "forged"})
		})
		appendEntries(t, forkDB, 20)
		fork := newWitnessFixture(t, forkDB, key, w1)
		if fork.logV != f.logV {
			t.Fatal("the fork is signed with another key")
		}
		_, kept, err := auditlog.Cosign(ctx, fork.source(), f.logV, state, w1.signer)
		if !errors.Is(err, auditlog.ErrInconsistent) {
			t.Fatalf("fork: %v, want ErrInconsistent", err)
		}
		if kept.Size != state.Size || !bytes.Equal(kept.Root, state.Root) {
			t.Fatal("a refused checkpoint moved the witness's state")
		}

		// An older checkpoint of the same history (a cache's copy) is not
		// cosigned, and is no alarm.
		appendEntries(t, db, 10)
		_, later, err := auditlog.Cosign(ctx, f.source(), f.logV, state, w1.signer)
		if err != nil {
			t.Fatal(err)
		}
		stale := source{db: db, checkpoint: func(ctx context.Context) ([]byte, error) { return f.cp.CheckpointAt(ctx, 200) }}
		if _, kept, err := auditlog.Cosign(ctx, stale, f.logV, later, w1.signer); !errors.Is(err, auditlog.ErrStale) || kept.Size != later.Size {
			t.Fatalf("stale checkpoint: %v, state %d; want ErrStale, %d", err, kept.Size, later.Size)
		}
		// Rollback: the log goes back to fewer entries of another history.
		rollback := source{db: forkDB, checkpoint: func(ctx context.Context) ([]byte, error) { return fork.cp.CheckpointAt(ctx, 305) }}
		if _, _, err := auditlog.Cosign(ctx, rollback, f.logV, later, w1.signer); !errors.Is(err, auditlog.ErrInconsistent) {
			t.Fatalf("rollback: %v, want ErrInconsistent", err)
		}
		// Another root for the same size.
		same := source{db: forkDB, checkpoint: func(ctx context.Context) ([]byte, error) { return fork.cp.CheckpointAt(ctx, 300) }}
		if _, _, err := auditlog.Cosign(ctx, same, f.logV, state, w1.signer); !errors.Is(err, auditlog.ErrInconsistent) {
			t.Fatalf("two roots for one size: %v, want ErrInconsistent", err)
		}
		// A checkpoint not signed by the log's key.
		stranger := newWitnessFixture(t, db, ed25519Key(t), w1)
		if _, _, err := auditlog.Cosign(ctx, stranger.source(), f.logV, later, w1.signer); err == nil {
			t.Fatal("a checkpoint of another key was cosigned")
		}
	})
}

// TestConcurrentCosignatures submits 20 witnesses' cosignatures of one
// checkpoint at once, then one witness's same cosignature 20 times at
// once: every witness's is stored once, with one audit entry each.
func TestConcurrentCosignatures(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 20
		ws := make([]witnessKey, n)
		for i := range ws {
			ws[i] = newWitnessKey(t, fmt.Sprintf("witness.%02d", i))
		}
		f := newWitnessFixture(t, db, ed25519Key(t), ws...)
		appendEntries(t, db, 7)
		msgs := make([][]byte, n)
		for i, w := range ws {
			m, _, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, w.signer)
			if err != nil {
				t.Fatal(err)
			}
			msgs[i] = m
		}
		errs := make([]error, n)
		storetest.Race(n, func(i int) { _, errs[i] = f.w.Submit(ctx, msgs[i]) })
		for i, err := range errs {
			if err != nil {
				t.Errorf("witness %d: %v", i, err)
			}
		}
		cs, err := db.AuditCosignatures(ctx, 7)
		if err != nil || len(cs) != n {
			t.Fatalf("%d cosignatures stored, %v; want %d", len(cs), err, n)
		}

		appendEntries(t, db, 0)
		f.clock.Add(int64(auditlog.WitnessWindow.Seconds()) + 1)
		appendEntries(t, db, 1)
		m, _, err := auditlog.Cosign(ctx, f.source(), f.logV, auditlog.WitnessState{}, ws[0].signer)
		if err != nil {
			t.Fatal(err)
		}
		var stored atomic.Int32
		storetest.Race(n, func(i int) {
			got, err := f.w.Submit(ctx, m)
			switch {
			case err != nil:
				errs[i] = err
			case got[0].Stored:
				stored.Add(1)
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("submission %d: %v", i, err)
			}
		}
		if stored.Load() != 1 {
			t.Fatalf("the same cosignature stored %d times, want once", stored.Load())
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		entries, _ := storetest.AuditEntries(t, db)
		cosigned := 0
		for _, e := range entries {
			if e.Action == "audit.cosigned" {
				cosigned++
			}
		}
		if cosigned != n+1 {
			t.Fatalf("%d audit.cosigned entries, want %d", cosigned, n+1)
		}
	})
}

// flipLastSignatureByte changes the last byte of the last signature of msg.
func flipLastSignatureByte(t *testing.T, msg []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(msg), "\n"), "\n")
	last := lines[len(lines)-1]
	i := strings.LastIndex(last, " ")
	raw, err := base64.StdEncoding.DecodeString(last[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	lines[len(lines)-1] = last[:i+1] + base64.StdEncoding.EncodeToString(raw)
	return []byte(strings.Join(lines, "\n") + "\n")
}
