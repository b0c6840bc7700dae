package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestReplaysKeepNoSecretInClear creates a token and an organization with
// Idempotency-Keys, replays both, and then looks at what is stored: the
// SQLite files byte by byte, the PostgreSQL replay table row by row. Neither
// the token's secret nor the responsible person's phone may be there in
// clear, though the replays return them.
func TestReplaysKeepNoSecretInClear(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, postgres bool) (*store.DB, string, string) {
		db, dsn, dir := storetest.OpenLocked(t, postgres)
		storetest.Unlock(t, db)
		return db, dsn, dir
	}
	t.Run("sqlite", func(t *testing.T) {
		db, _, dir := open(t, false)
		secrets := replaySecrets(t, db)
		files, _ := filepath.Glob(filepath.Join(dir, store.DBFile+"*"))
		if len(files) == 0 {
			t.Fatal("no database file")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds %q in clear", filepath.Base(f), s)
				}
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db, dsn, _ := open(t, true)
		secrets := replaySecrets(t, db)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.QueryContext(ctx, `SELECT request_hash, COALESCE(response, ''::bytea) FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var hash, resp []byte
			if err := rows.Scan(&hash, &resp); err != nil {
				t.Fatal(err)
			}
			n++
			for _, s := range secrets {
				if bytes.Contains(resp, []byte(s)) {
					t.Errorf("a stored replay holds %q in clear", s)
				}
			}
		}
		if err := rows.Err(); err != nil || n < 2 {
			t.Fatalf("%d replay records (%v), want 2", n, err)
		}
	})
}

// replaySecrets sends the requests with keys, checks their replays and
// returns the values that must not be stored in clear.
func replaySecrets(t *testing.T, db *store.DB) []string {
	t.Helper()
	e := newEnv(t, db)
	admin := e.tokens[authz.PlatformAdmin]
	const phone = "13512345678"
	body := fmt.Sprintf(`{"credit_code":%q,"name":"保密单位","region":"610100","kinds":["using-unit"],"responsible":{"name":"钱七","phone":%q,"email":"qian@example.cn"}}`, code(t, 60), phone)
	acc, err := e.svc.CreateAccount(context.Background(), org.NewAccount{Org: e.orgA, Name: "robot", Roles: []authz.Role{authz.Issuer}})
	if err != nil {
		t.Fatal(err)
	}
	var secret string
	for i := range 2 {
		r := e.do("POST", "/api/v1/orgs", admin, body, "Idempotency-Key", "org-60")
		if r.status != http.StatusCreated || !bytes.Contains(r.body, []byte(phone)) || (i == 1) != (r.header.Get("Idempotent-Replayed") == "true") {
			t.Fatalf("create org, try %d: %d %s", i+1, r.status, r.body)
		}
		r = e.do("POST", "/api/v1/tokens", admin, fmt.Sprintf(`{"account_id":%q}`, acc.ID), "Idempotency-Key", "token-1")
		var tok struct{ Token string }
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &tok) != nil || tok.Token == "" || (i == 1 && tok.Token != secret) {
			t.Fatalf("create token, try %d: %d %s", i+1, r.status, r.body)
		}
		secret = tok.Token
	}
	if r := e.do("GET", "/api/v1/me", secret, ""); r.status != http.StatusOK {
		t.Fatalf("the replayed secret does not log in: %d", r.status)
	}
	return []string{secret, phone, "qian@example.cn"}
}
