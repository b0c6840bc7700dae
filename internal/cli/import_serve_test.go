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

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// stockFile is a generated CSV file of n business licenses and how many
// are valid; its numbers carry prefix, so that files of other prefixes
// share none.
func stockFile(t *testing.T, seed uint64, n int, prefix string) ([]byte, int64) {
	t.Helper()
	// Today is the validator's: a row completed after the generator's
	// default day is not in the future.
	opt := gen.Options{Seed: seed, BadFraction: 0.1, Now: time.Now(), NumberPrefix: prefix}
	var b bytes.Buffer
	if err := gen.New(opt).WriteCSV(&b, n, gen.CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), gen.GoodRows(opt, n)
}

// uploadImport posts file to the serve process at addr.
func uploadImport(c *http.Client, addr, token, query string, file []byte) (int, api.Import, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/api/v1/imports?"+query, bytes.NewReader(file))
	if err != nil {
		return 0, api.Import{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := c.Do(req)
	if err != nil {
		return 0, api.Import{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	var j api.Import
	if err == nil && resp.StatusCode == http.StatusAccepted {
		err = json.Unmarshal(b, &j)
	} else if err == nil {
		err = fmt.Errorf("%s", b)
	}
	return resp.StatusCode, j, err
}

// TestImportAcrossServeProcesses uploads files over the API to two real
// serve processes sharing one PostgreSQL, which race for the jobs: each
// job runs once and ends done with exact counts (every batch written once).
// Then a process is killed with SIGKILL in the middle of a job: another
// process takes the job over once its lease has run out and ends it with
// the counts of one uninterrupted run.
func TestImportAcrossServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	p := issueOnPostgres(t)
	serve := []string{"--data", p.data, "--db", p.dsn, "--public-url", platform.DefaultPublicURL}
	a, b := startServe(t, serve...), startServe(t, serve...)
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second}}
	get := func(addr, id string) api.Import {
		t.Helper()
		var j api.Import
		if s, body, err := h.call(addr, p.issuerToken, http.MethodGet, "/api/v1/imports/"+id, nil, &j); s != http.StatusOK || err != nil {
			t.Fatalf("get import %s: %d %s %v", id, s, body, err)
		}
		return j
	}
	wait := func(addr, id string, until func(api.Import) bool, within time.Duration) api.Import {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			j := get(addr, id)
			if until(j) {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("import %s: %+v after %s", id, j, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	done := func(j api.Import) bool { return j.State == "done" || j.State == "failed" || j.State == "cancelled" }

	const files, n, batch = 4, 400, 25
	ids, goods := make([]string, files), make([]int64, files)
	var wg sync.WaitGroup
	for i := range files {
		file, good := stockFile(t, uint64(20+i), n, fmt.Sprintf("S%d-", i))
		goods[i] = good
		wg.Go(func() {
			addr := []string{a.addr, b.addr}[i%2]
			s, j, err := uploadImport(h.c, addr, p.issuerToken, fmt.Sprintf("type=BL0001&batch=%d", batch), file)
			if s != http.StatusAccepted || err != nil {
				t.Errorf("upload %d: %d %v", i, s, err)
				return
			}
			ids[i] = j.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, id := range ids {
		j := wait(b.addr, id, done, 2*time.Minute)
		if j.State != "done" || j.Imported != goods[i] || j.Rejected != n-goods[i] || j.Checkpoint != n || j.Batches != n/batch {
			t.Errorf("job %d %+v, want done with %d imported in %d batches\n%s", i, j, goods[i], n/batch, serverErrors([]*serveProcess{a, b}))
		}
	}

	// One process alone takes a long job; it is killed in the middle.
	b.stop(t)
	const long = 3000
	file, good := stockFile(t, 99, long, "L-")
	s, j, err := uploadImport(h.c, a.addr, p.issuerToken, "type=BL0001&batch=10&sign=each", file)
	if s != http.StatusAccepted || err != nil {
		t.Fatalf("upload: %d %v", s, err)
	}
	wait(a.addr, j.ID, func(j api.Import) bool { return j.Checkpoint > 0 }, time.Minute)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-a.done; err == nil {
		t.Fatal("serve killed with SIGKILL exited cleanly")
	}
	a.stopped = true
	c := startServe(t, serve...)
	defer c.stop(t)
	killed := get(c.addr, j.ID)
	if killed.State != "running" || killed.Checkpoint >= long {
		t.Fatalf("the killed process's job %+v", killed)
	}
	j = wait(c.addr, j.ID, done, 3*time.Minute)
	if j.State != "done" || j.Imported != good || j.Rejected != long-good || j.Checkpoint != long || j.Batches != long/10 {
		t.Fatalf("taken-over job %+v, want done with %d imported in %d batches\n%s", j, good, long/10, serverErrors([]*serveProcess{c}))
	}
}
