package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// approveShipped defines the shipped license type code and approves its
// template, version 1, as the platform admin; it returns its definition.
func (e *env) approveShipped(t *testing.T, code string) catalog.Definition {
	t.Helper()
	ctx := context.Background()
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code != code {
			continue
		}
		if _, err := e.p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
		if _, err := e.p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template); err != nil {
			t.Fatal(err)
		}
		e.do(http.MethodPost, "/api/v1/catalog/types/"+code+"/versions/1/approve", e.tokens[authz.PlatformAdmin], `{}`).
			want(t, http.StatusOK, "approve "+code)
		return d
	}
	t.Fatalf("no shipped type %s", code)
	return catalog.Definition{}
}

// importEnv is the license environment with the business license BL0001
// approved, which the generated rows are of.
func importEnv(t *testing.T, db *store.DB) licenseEnv {
	t.Helper()
	return importEnvAt(t, db, time.Now)
}

// importEnvAt is importEnv on a clock.
func importEnvAt(t *testing.T, db *store.DB, now func() time.Time) licenseEnv {
	t.Helper()
	le := newLicenseEnvAt(t, db, now)
	le.approveShipped(t, "BL0001")
	return le
}

// importFile is a generated CSV file of n rows and how many are good; the
// numbers carry prefix, so that files of other prefixes share none.
func importFile(t *testing.T, seed uint64, n int, prefix string) ([]byte, int64) {
	t.Helper()
	opt := gen.Options{Seed: seed, BadFraction: 0.2, Now: time.Now(), NumberPrefix: prefix}
	var b bytes.Buffer
	if err := gen.New(opt).WriteCSV(&b, n, gen.CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), gen.GoodRows(opt, n)
}

// upload posts a file to import.
func (le licenseEnv) upload(token, query, contentType string, body []byte, headers ...string) response {
	return le.do(http.MethodPost, "/api/v1/imports?"+query, token, string(body), append([]string{"Content-Type", contentType}, headers...)...)
}

func (le licenseEnv) runner(owner string) importer.Runner {
	return importer.Runner{Store: le.p.Licenses, Owner: owner, OnError: func(err error) { le.t.Errorf("runner %s: %v", owner, err) }}
}

func (le licenseEnv) importJob(t *testing.T, id string) api.Import {
	t.Helper()
	var j api.Import
	le.do(http.MethodGet, "/api/v1/imports/"+id, le.issuer, "").want(t, http.StatusOK, "get import").decode(t, &j)
	return j
}

// TestImportAPI uploads a file over the API, has a serve process's runner
// run it, and follows it: the job ends done with exact counts, its report
// names every rejected row with values masked, and another organization
// sees none of it.
func TestImportAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := importEnv(t, db)
		const n = 250
		file, good := importFile(t, 7, n, "A")
		r := le.upload(le.issuer, "type=BL0001&batch=100&name=stock.csv", "text/csv", file, "Idempotency-Key", "up-1").
			want(t, http.StatusAccepted, "upload")
		var j api.Import
		r.decode(t, &j)
		if loc := r.header.Get("Location"); loc != "/api/v1/imports/"+j.ID {
			t.Fatalf("Location %q for %s", loc, j.ID)
		}
		if j.State != "queued" || j.Rows != n || j.Format != "csv" || j.FileName != "stock.csv" || j.BatchSize != 100 || j.Size != int64(len(file)) {
			t.Fatalf("uploaded job %+v", j)
		}
		// The same key and file answer the same job; no second one.
		var again api.Import
		le.upload(le.issuer, "type=BL0001&batch=100&name=stock.csv", "text/csv", file, "Idempotency-Key", "up-1").
			want(t, http.StatusAccepted, "upload again").decode(t, &again)
		if again.ID != j.ID {
			t.Fatalf("replayed upload answered %s, want %s", again.ID, j.ID)
		}
		// Another upload of the file while its job is not done is refused.
		if p := le.upload(le.issuer, "type=BL0001&batch=100", "text/csv", file).want(t, http.StatusConflict, "same file").problem(t); !namesField(p, "file", "unfinished") {
			t.Fatalf("problem %+v", p)
		}

		le.runner("p1").RunOnce(context.Background())
		j = le.importJob(t, j.ID)
		if j.State != "done" || j.Imported != good || j.Rejected != n-good || j.Checkpoint != n || j.Batches != 3 || j.Unchanged != 0 || j.Versioned != 0 {
			t.Fatalf("job after the run %+v, want %d imported, %d rejected", j, good, n-good)
		}
		if j.RowsPerS <= 0 || j.ETASeconds != nil {
			t.Fatalf("rate %v, ETA %v of a done job", j.RowsPerS, j.ETASeconds)
		}

		// The report, two pages, a problem or more for each rejected row.
		rows := map[int64]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			var rep api.ImportReport
			le.do(http.MethodGet, "/api/v1/imports/"+j.ID+"/report?limit=30&cursor="+url.QueryEscape(cursor), le.issuer, "").
				want(t, http.StatusOK, "report").decode(t, &rep)
			for _, p := range rep.Problems {
				rows[p.Row] = true
				if p.Field == "holder_id" && p.Value != "" && !strings.Contains(p.Value, "*") {
					t.Errorf("row %d: holder identifier %q in clear", p.Row, p.Value)
				}
			}
			if rep.NextCursor == "" {
				if pages == 0 {
					t.Fatal("one page of 30 held every problem")
				}
				break
			}
			cursor = rep.NextCursor
		}
		if int64(len(rows)) != n-good {
			t.Fatalf("the report names %d rows, want %d", len(rows), n-good)
		}

		var list api.Page[api.Import]
		le.do(http.MethodGet, "/api/v1/imports", le.issuer, "").want(t, http.StatusOK, "list").decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != j.ID {
			t.Fatalf("list %+v", list)
		}
		// Another organization's issuer sees nothing of it.
		for _, path := range []string{"/api/v1/imports/" + j.ID, "/api/v1/imports/" + j.ID + "/report"} {
			le.do(http.MethodGet, path, le.otherIssuer, "").want(t, http.StatusNotFound, path)
		}
		for _, action := range []string{"cancel", "resume"} {
			le.do(http.MethodPost, "/api/v1/imports/"+j.ID+"/"+action, le.otherIssuer, "").want(t, http.StatusNotFound, action)
		}
		le.do(http.MethodGet, "/api/v1/imports", le.otherIssuer, "").want(t, http.StatusOK, "other list").decode(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("another organization lists %+v", list.Items)
		}
		// Only an issuer uploads.
		le.upload(le.admin, "type=BL0001", "text/csv", file).want(t, http.StatusForbidden, "org admin uploads")
	})
}

// cancelling is a runner's store that cancels the job over the API once
// its first batch has committed.
type cancelling struct {
	importer.Store
	once   sync.Once
	cancel func(id string)
}

func (c *cancelling) RenewImportLease(ctx context.Context, id, owner string) error {
	c.once.Do(func() { c.cancel(id) })
	return c.Store.RenewImportLease(ctx, id, owner)
}

// TestImportCancelResume cancels a job after its first batch: it stops at
// that batch's checkpoint, resumes over the API, and ends with the counts
// of one uninterrupted run.
func TestImportCancelResume(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := importEnv(t, db)
		const n = 200
		file, good := importFile(t, 11, n, "C")
		var j api.Import
		le.upload(le.issuer, "type=BL0001&batch=50&sign=each&increment=true", "text/csv", file).want(t, http.StatusAccepted, "upload").decode(t, &j)
		if !j.Increment || j.Sign != "each" {
			t.Fatalf("uploaded job %+v, want a day's increment signed license by license", j)
		}
		c := &cancelling{Store: le.p.Licenses, cancel: func(id string) {
			le.do(http.MethodPost, "/api/v1/imports/"+id+"/cancel", le.issuer, "").want(t, http.StatusOK, "cancel")
		}}
		importer.Runner{Store: c, Owner: "p1", OnError: func(err error) { t.Errorf("runner: %v", err) }}.RunOnce(context.Background())
		j = le.importJob(t, j.ID)
		if j.State != "cancelled" || j.Checkpoint != 50 || j.Batches != 1 {
			t.Fatalf("cancelled job %+v, want stopped after its first batch", j)
		}
		// A cancelled job is not run; a second cancel is refused.
		le.runner("p2").RunOnce(context.Background())
		if j = le.importJob(t, j.ID); j.State != "cancelled" {
			t.Fatalf("a runner ran the cancelled job: %+v", j)
		}
		le.do(http.MethodPost, "/api/v1/imports/"+j.ID+"/cancel", le.issuer, "").want(t, http.StatusConflict, "cancel again")

		// Many clients resume, cancel and resume again at once: each time
		// one of them does it, and every other is refused.
		for _, action := range []string{"resume", "cancel", "resume"} {
			const racers = 10
			statuses := make([]int, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() { statuses[i] = le.do(http.MethodPost, "/api/v1/imports/"+j.ID+"/"+action, le.issuer, "").status })
			}
			wg.Wait()
			got := map[int]int{}
			for _, st := range statuses {
				got[st]++
			}
			if got[http.StatusOK] != 1 || got[http.StatusConflict] != racers-1 {
				t.Fatalf("%d clients %s at once: %v", racers, action, got)
			}
		}
		if j = le.importJob(t, j.ID); j.State != "queued" || j.Checkpoint != 50 {
			t.Fatalf("resumed job %+v", j)
		}
		le.runner("p2").RunOnce(context.Background())
		j = le.importJob(t, j.ID)
		if j.State != "done" || j.Imported != good || j.Rejected != n-good || j.Checkpoint != n || j.Batches != 4 || j.Unchanged != 0 {
			t.Fatalf("job after resuming %+v, want %d imported, %d rejected", j, good, n-good)
		}
		le.do(http.MethodPost, "/api/v1/imports/"+j.ID+"/resume", le.issuer, "").want(t, http.StatusConflict, "resume a done job")
	})
}

// TestImportBadUploads: a file refused at the upload is a problem naming
// its field and rule, and leaves no job.
func TestImportBadUploads(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := importEnv(t, db)
		file, _ := importFile(t, 3, 20, "B")
		small := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL, ImportMaxSize: 1024})
		cases := []struct {
			name, query, contentType string
			body                     []byte
			h                        http.Handler
			status                   int
			field, rule              string
		}{
			{"binary", "type=BL0001", "text/csv", []byte("number,name\x00\x01\x02\n1,2\n"), nil, http.StatusUnprocessableEntity, "file", "file"},
			{"not a workbook", "type=BL0001", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", file, nil,
				http.StatusUnprocessableEntity, "file", "file"},
			{"wrong header", "type=BL0001", "text/csv", []byte("编号,名称\n1,某公司\n"), nil, http.StatusUnprocessableEntity, "mapping.number", "required"},
			{"a mapping of unknown members", "type=BL0001&mapping=" + url.QueryEscape(`{"numbr":"x"}`), "text/csv", file, nil,
				http.StatusUnprocessableEntity, "mapping", "mapping"},
			{"wrong media type", "type=BL0001", "application/json", file, nil, http.StatusUnsupportedMediaType, "Content-Type", "import-media-type"},
			{"oversize", "type=BL0001", "text/csv", file, small.h, http.StatusRequestEntityTooLarge, "file", "max-size"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var r response
				if c.h != nil {
					r = small.do(http.MethodPost, "/api/v1/imports?"+c.query, le.issuer, string(c.body), "Content-Type", c.contentType)
				} else {
					r = le.upload(le.issuer, c.query, c.contentType, c.body)
				}
				p := r.want(t, c.status, c.name).problem(t)
				if !namesField(p, c.field, c.rule) {
					t.Fatalf("problem %+v, want field %s rule %s", p, c.field, c.rule)
				}
			})
		}
		// Oversize with an Idempotency-Key: refused before the body is read whole.
		small.do(http.MethodPost, "/api/v1/imports?type=BL0001", le.issuer, string(file), "Content-Type", "text/csv", "Idempotency-Key", "big").
			want(t, http.StatusRequestEntityTooLarge, "oversize with a key")
		if p := le.upload(le.issuer, "type=XX9999", "text/csv", file).want(t, http.StatusUnprocessableEntity, "unknown type").problem(t); !namesField(p, "type", "exists") {
			t.Fatalf("unknown type: %+v", p)
		}
		var list api.Page[api.Import]
		le.do(http.MethodGet, "/api/v1/imports", le.issuer, "").want(t, http.StatusOK, "list").decode(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("refused uploads left jobs: %+v", list.Items)
		}
	})
}

// TestImportConcurrent: many clients upload at once, each file becomes
// one job; runners of two processes run them all at once, and each job
// runs once, ending with exact counts.
func TestImportConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := importEnv(t, db)
		const clients, n = 8, 40
		files, goods := make([][]byte, clients), make([]int64, clients)
		for i := range clients {
			files[i], goods[i] = importFile(t, uint64(100+i), n, fmt.Sprintf("K%d-", i))
		}
		ids := make([]string, clients)
		statuses := make([]int, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				r := le.upload(le.issuer, "type=BL0001&batch=10", "text/csv", files[i])
				statuses[i] = r.status
				var j api.Import
				if r.status == http.StatusAccepted {
					if err := json.Unmarshal(r.body, &j); err == nil {
						ids[i] = j.ID
					}
				}
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusAccepted || ids[i] == "" {
				t.Fatalf("client %d: %d", i, s)
			}
		}
		// Two processes' runners race for the jobs.
		second := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL})
		r2 := importer.Runner{Store: second.p.Licenses, Owner: "p2", OnError: func(err error) { t.Errorf("runner p2: %v", err) }}
		for range 2 {
			wg.Go(func() { le.runner("p1").RunOnce(context.Background()) })
			wg.Go(func() { r2.RunOnce(context.Background()) })
			wg.Wait()
		}
		for i, id := range ids {
			j := le.importJob(t, id)
			if j.State != "done" || j.Imported != goods[i] || j.Rejected != n-goods[i] || j.Batches != n/10 || j.Checkpoint != n {
				t.Errorf("job %d %+v, want %d imported in %d batches", i, j, goods[i], n/10)
			}
		}
	})
}

// TestImportLeaseTakeover: a job whose runner died holding its lease is
// not run by another until the lease runs out; then it is, to done with
// exact counts, and the dead runner can no longer renew its lease.
func TestImportLeaseTakeover(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var skew atomic.Int64
		le := importEnvAt(t, db, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
		const n = 60
		file, good := importFile(t, 5, n, "T")
		var j api.Import
		le.upload(le.issuer, "type=BL0001&batch=20", "text/csv", file).want(t, http.StatusAccepted, "upload").decode(t, &j)
		ctx := context.Background()
		if _, err := le.p.Licenses.ClaimImport(ctx, j.ID, "dead"); err != nil {
			t.Fatal(err)
		}
		le.runner("p2").RunOnce(ctx)
		if j = le.importJob(t, j.ID); j.State != "running" || j.Checkpoint != 0 {
			t.Fatalf("a job under another's lease was run: %+v", j)
		}
		skew.Store(int64(2 * time.Minute))
		le.runner("p2").RunOnce(ctx)
		if j = le.importJob(t, j.ID); j.State != "done" || j.Imported != good || j.Rejected != n-good || j.Batches != 3 {
			t.Fatalf("job taken over %+v, want %d imported in 3 batches", j, good)
		}
		if err := le.p.Licenses.RenewImportLease(ctx, j.ID, "dead"); apperr.KindOf(err) != apperr.Conflict {
			t.Fatalf("the dead runner renewed its lease: %v", err)
		}
	})
}
