package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// httpLog is the log as a witness or an auditor reads it over HTTP, with
// no token.
type httpLog struct{ e *env }

func (l httpLog) Checkpoint(context.Context) ([]byte, error) {
	r := l.e.do(http.MethodGet, "/tlog/checkpoint", "", "")
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET /tlog/checkpoint: %d %s", r.status, r.body)
	}
	return r.body, nil
}

func (l httpLog) Tile(_ context.Context, t auditlog.Tile) ([]byte, error) {
	r := l.e.do(http.MethodGet, "/tlog/"+t.Path(), "", "")
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET /tlog/%s: %d %s", t.Path(), r.status, r.body)
	}
	return r.body, nil
}

// tlogTiles adapts httpLog to x/mod's tile reader, which checks each tile
// it reads against the tree it is given.
type tlogTiles struct{ l httpLog }

func (s tlogTiles) Height() int { return auditlog.TileHeight }
func (s tlogTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := s.l.Tile(context.Background(), auditlog.Tile{Level: t.L, Index: uint64(t.N), Width: t.W})
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (s tlogTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestTLogServed reads the log as tiles over HTTP without a token, proves
// an entry's inclusion from the fetched tiles alone against the served
// checkpoint with x/mod's sumdb verifier, checks the cache headers and who
// may read entry bundles, and runs a witness through the cosignature
// endpoint, its refusals named as problem+json rules.
func TestTLogServed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := newEnv(t, db)
		skey, vkey, err := auditlog.GenerateWitnessKey("witness.example")
		if err != nil {
			t.Fatal(err)
		}
		w1, err := auditlog.ParseWitness(vkey)
		if err != nil {
			t.Fatal(err)
		}
		var offset atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		e := newProcessWith(t, db, platform.Options{Clock: clock, PublicURL: publicURL, Witnesses: []auditlog.Witness{w1}})
		e.tokens, e.platform = base.tokens, base.platform
		storetest.Write(t, db, func(tx *store.Tx) error {
			for i := range 300 {
				if err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc_1", Action: "seal.sign", Subject: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		logKey, err := e.p.Checkpoints.VerifierKey(ctx)
		if err != nil {
			t.Fatal(err)
		}

		r := e.do(http.MethodGet, "/tlog/checkpoint", "", "")
		if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=5" {
			t.Fatalf("checkpoint: %d %q %s", r.status, r.header.Get("Cache-Control"), r.body)
		}
		_, size, root, err := auditlog.VerifyCheckpoint(r.body, logKey)
		if err != nil || size < 300 {
			t.Fatalf("checkpoint of %d entries: %v", size, err)
		}

		// Entry bundles are for auditors; hash tiles for everyone.
		bundle := "/tlog/tile/entries/001.p/" + fmt.Sprint(size-256)
		for _, tc := range []struct {
			token string
			want  int
		}{{"", http.StatusUnauthorized}, {base.tokens[authz.Issuer], http.StatusForbidden}, {base.tokens[authz.Auditor], http.StatusOK}} {
			if got := e.do(http.MethodGet, bundle, tc.token, ""); got.status != tc.want {
				t.Errorf("GET %s: %d, want %d", bundle, got.status, tc.want)
			}
		}
		rb := e.do(http.MethodGet, bundle, base.tokens[authz.Auditor], "")
		if rb.header.Get("Cache-Control") != "private, max-age=5" {
			t.Errorf("partial bundle Cache-Control %q", rb.header.Get("Cache-Control"))
		}
		leaves, err := auditlog.ParseEntryBundle(rb.body)
		if err != nil || uint64(len(leaves)) != size-256 {
			t.Fatalf("bundle of %d leaves, %v", len(leaves), err)
		}
		full := e.do(http.MethodGet, "/tlog/tile/0/000", "", "")
		if full.status != http.StatusOK || len(full.body) != 256*32 ||
			full.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || full.header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("full tile: %d, %d bytes, %q %q", full.status, len(full.body), full.header.Get("Cache-Control"), full.header.Get("Content-Type"))
		}

		// An inclusion proof from the fetched tiles alone.
		th := tlog.Tree{N: int64(size), Hash: tlog.Hash(root)}
		hr := tlog.TileHashReader(th, tlogTiles{httpLog{e}})
		index := int64(256 + len(leaves) - 1)
		p, err := tlog.ProveRecord(th.N, index, hr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, th.N, th.Hash, index, tlog.RecordHash(leaves[len(leaves)-1])); err != nil {
			t.Fatalf("inclusion of %d from tiles: %v", index, err)
		}

		for _, path := range []string{"/tlog/tile/0/1", "/tlog/tile/0/001.p/256", "/tlog/tile/9/000", "/tlog/tile/0/009"} {
			got := e.do(http.MethodGet, path, "", "")
			if got.status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, got.status)
				continue
			}
			got.problem(t)
		}
		if p := e.do(http.MethodGet, "/tlog/tile/0/1", "", "").problem(t); !namesField(p, "path", "tile-path") {
			t.Errorf("bad tile path: %+v", p.Errors)
		}

		// A witness cosigns through the endpoint.
		signer, err := auditlog.NewWitnessSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		msg, state, err := auditlog.Cosign(ctx, httpLog{e}, logKey, auditlog.WitnessState{}, signer)
		if err != nil {
			t.Fatal(err)
		}
		post := func(body []byte) response {
			return e.do(http.MethodPost, "/tlog/cosignature", "", string(body), "Content-Type", "text/plain")
		}
		r = post(msg)
		var out struct {
			Items []struct {
				Witness string `json:"witness"`
				Size    uint64 `json:"size"`
				Stored  bool   `json:"stored"`
			} `json:"items"`
		}
		if err := json.Unmarshal(r.body, &out); r.status != http.StatusOK || err != nil || len(out.Items) != 1 || !out.Items[0].Stored ||
			out.Items[0].Witness != "witness.example" || out.Items[0].Size != state.Size {
			t.Fatalf("POST cosignature: %d %s", r.status, r.body)
		}
		r = e.do(http.MethodGet, "/tlog/checkpoint", "", "")
		if _, _, names, err := auditlog.VerifyWitnessed(r.body, logKey, []string{vkey}, 1); err != nil || len(names) != 1 {
			t.Fatalf("served checkpoint not cosigned: %v\n%s", err, r.body)
		}

		// A later checkpoint, then the earlier cosignature again: a replay.
		offset.Add(int64(2 * auditlog.WitnessWindow))
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		later, _, err := auditlog.Cosign(ctx, httpLog{e}, logKey, state, signer)
		if err != nil {
			t.Fatal(err)
		}
		if r := post(later); r.status != http.StatusOK {
			t.Fatalf("later cosignature: %d %s", r.status, r.body)
		}
		strangerSkey, _, err := auditlog.GenerateWitnessKey("stranger")
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := auditlog.NewWitnessSigner(strangerSkey)
		if err != nil {
			t.Fatal(err)
		}
		strangerMsg, err := note.Sign(&note.Note{Text: string(msg[:indexBlank(msg)])}, stranger)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			body   []byte
			status int
			rule   string
		}{
			{"garbage", []byte("not a note"), http.StatusUnprocessableEntity, "signed-note"},
			{"unknown witness", strangerMsg, http.StatusUnprocessableEntity, "witness-unknown"},
			{"replay", msg, http.StatusConflict, "replay"},
		} {
			r := post(tc.body)
			if r.status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
				continue
			}
			if p := r.problem(t); !namesField(p, "body", tc.rule) {
				t.Errorf("%s: %+v, want body/%s", tc.name, p.Errors, tc.rule)
			}
		}
	})
}

// indexBlank returns the length of the note's text: up to and including
// the newline before the blank line.
func indexBlank(msg []byte) int {
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] == '\n' && msg[i+1] == '\n' {
			return i + 1
		}
	}
	return len(msg)
}
