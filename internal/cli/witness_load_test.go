package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// TestCosignaturesAcrossServeProcesses has 20 witnesses submit their
// cosignatures at once through two serve processes on one PostgreSQL,
// then one cosignature 20 times at once: each is kept once, no request
// fails, and either process serves the checkpoint with all 20.
func TestCosignaturesAcrossServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	ctx := context.Background()
	p := issueOnPostgres(t)
	const racers = 20
	signers, vkeys := make([]note.Signer, racers), make([]string, racers)
	serve := []string{"--data", p.data, "--db", p.dsn, "--public-url", platform.DefaultPublicURL}
	for i := range racers {
		skey, vkey, err := auditlog.GenerateWitnessKey(fmt.Sprintf("w%02d.witness.example", i))
		if err != nil {
			t.Fatal(err)
		}
		if signers[i], err = auditlog.NewWitnessSigner(skey); err != nil {
			t.Fatal(err)
		}
		vkeys[i] = vkey
		serve = append(serve, "--witness", vkey)
	}
	servers := []*serveProcess{startServe(t, serve...), startServe(t, serve...)}
	defer func() {
		for _, s := range servers {
			s.stop(t)
		}
	}()
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: racers}}}
	var key struct {
		VerifierKey string `json:"verifier_key"`
	}
	h.must(servers[0].addr, p.issuerToken, http.MethodGet, "/api/v1/audit/checkpoint-key", nil, &key, http.StatusOK)

	// Every witness cosigns the checkpoint the first process serves. They
	// fetch it once: the log may grow between one witness's fetch and the
	// next, and a witness that cosigned a newer checkpoint would be right
	// but would not count towards the one the others cosigned.
	live, err := newHTTPLogSource("http://"+servers[0].addr, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := live.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src := fixedCheckpoint{LogSource: live, checkpoint: cp}
	msgs := make([][]byte, racers)
	for i, s := range signers {
		if msgs[i], _, err = auditlog.Cosign(ctx, src, key.VerifierKey, auditlog.WitnessState{}, s); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(name string, body func(i int) []byte) {
		t.Helper()
		statuses, answers := make([]int, racers), make([][]byte, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+servers[i%len(servers)].addr+"/tlog/cosignature", bytes.NewReader(body(i)))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "text/plain")
				resp, err := h.c.Do(req)
				if err != nil {
					answers[i] = []byte(err.Error())
					return
				}
				answers[i], _ = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("%s: submission %d answered %d: %s\n%s", name, i, s, answers[i], serverErrors(servers))
			}
		}
	}
	submit("twenty witnesses", func(i int) []byte { return msgs[i] })
	submit("one cosignature twenty times", func(int) []byte { return msgs[0] })

	// Either process serves the checkpoint with the twenty cosignatures,
	// each once.
	for _, s := range servers {
		resp, err := h.c.Get("http://" + s.addr + "/tlog/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		cp, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, _, cosigned, err := auditlog.VerifyWitnessed(cp, key.VerifierKey, vkeys, racers)
		if err != nil || len(cosigned) != racers {
			t.Fatalf("checkpoint served by %s: %d cosignatures %v, want %d:\n%s", s.addr, len(cosigned), err, racers, cp)
		}
		if n := bytes.Count(cp, []byte("\n— w")); n != racers {
			t.Fatalf("checkpoint served by %s has %d witness lines, want %d:\n%s", s.addr, n, racers, cp)
		}
	}
	// And the log holds one audit.cosigned entry a witness, integrated
	// within a poll or two of the integrators.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			Items []struct {
				Action string `json:"action"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(p.must("audit", "list", "--limit", "1000", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range page.Items {
			if e.Action == "audit.cosigned" {
				n++
			}
		}
		if n == racers {
			break
		}
		if n > racers || time.Now().After(deadline) {
			t.Fatalf("%d audit.cosigned entries, want %d", n, racers)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d witnesses, then one cosignature %d times, through %d serve processes on one PostgreSQL: each kept once", racers, racers, len(servers))
}

// fixedCheckpoint serves one checkpoint, and the log's tiles.
type fixedCheckpoint struct {
	auditlog.LogSource
	checkpoint []byte
}

func (f fixedCheckpoint) Checkpoint(context.Context) ([]byte, error) { return f.checkpoint, nil }
