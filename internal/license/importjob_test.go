package license_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// importRows are n valid rows of residence permits numbered prefix-i.
func (f fixture) importRows(t *testing.T, prefix string, n int) []license.ImportRow {
	t.Helper()
	ctx := context.Background()
	e, err := f.p.Catalog.GetType(ctx, "PC0001")
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.p.Catalog.Latest(ctx, "PC0001")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]license.ImportRow, n)
	for i := range out {
		nl := f.permit()
		nl.HolderName = fmt.Sprintf("王建国%d", i)
		c, err := license.Check(e, v.Template, nl, f.clk.now())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = license.ImportRow{Row: i + 2, Number: fmt.Sprintf("%s-%d", prefix, i), HolderID: c.HolderID, HolderName: nl.HolderName,
			ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, CompletedOn: c.ValidFrom, Face: c.Face}
	}
	return out
}

// startImport starts a job of the issuer for a file of the digest.
func (f fixture) startImport(t *testing.T, digest string) license.ImportJob {
	t.Helper()
	j, _, err := f.p.Licenses.StartImport(context.Background(), f.issuer, license.NewImport{Type: "PC0001", FileName: "permits.csv",
		FileDigest: strings.Repeat(digest, 64/len(digest))})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestImportBatch writes batches of a job: new numbers are issued, the
// same rows again are unchanged, a changed row is a new version, a number
// of an issued (not imported) license and a repeated number are refused;
// the checkpoint must be the job's, and the job resumes where it stands.
func TestImportBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		issued, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		j := f.startImport(t, "a")
		rows := f.importRows(t, "P", 10)
		res, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: 11, Rows: rows, Rejected: 1})
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Job.Counts; res.Job.Checkpoint != 11 || c != (license.ImportCounts{Imported: 10, Rejected: 1, Batches: 1}) {
			t.Fatalf("job after the first batch: %+v", res.Job)
		}
		// A batch from another checkpoint is refused: another run went on.
		_, err = f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: 10, Rows: rows})
		if !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a batch at an old checkpoint: %v", err)
		}
		changed := append([]license.ImportRow(nil), rows[:3]...)
		changed[1].ValidFrom = changed[1].ValidFrom.AddDate(0, 0, -1)
		until := changed[1].ValidFrom.AddDate(5, 0, 0)
		changed[1].ValidUntil = &until
		taken := rows[0]
		taken.Number = issued.License.Number
		changed = append(changed, taken, rows[2])
		res, err = f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 11, To: 16, Rows: changed})
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Job.Counts; c != (license.ImportCounts{Imported: 10, Versioned: 1, Unchanged: 2, Rejected: 3, Batches: 2}) {
			t.Fatalf("counts %+v", c)
		}
		var rules []string
		for _, r := range res.Refused {
			rules = append(rules, r.Rule)
		}
		if fmt.Sprint(rules) != "[taken duplicate]" {
			t.Errorf("refused %+v", res.Refused)
		}
		found, err := db.ListLicenses(ctx, license.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		versions := map[string]int64{}
		for _, l := range found {
			versions[l.Number] = l.Version
		}
		if len(found) != 11 || versions["P-1"] != 2 || versions["P-0"] != 1 {
			t.Fatalf("%d licenses, versions %v", len(found), versions)
		}
		// A second start of the same file resumes the job at its
		// checkpoint; once done, a start is a new job.
		again, resumed, err := f.p.Licenses.StartImport(ctx, f.issuer, license.NewImport{Type: "PC0001", FileName: "permits.csv", FileDigest: j.FileDigest})
		if err != nil || !resumed || again.ID != j.ID || again.Checkpoint != 16 {
			t.Fatalf("restart: %+v resumed %v: %v", again, resumed, err)
		}
		if _, err := f.p.Licenses.FinishImport(ctx, f.issuer, j.ID, license.ImportDone); err != nil {
			t.Fatal(err)
		}
		next, resumed, err := f.p.Licenses.StartImport(ctx, f.issuer, license.NewImport{Type: "PC0001", FileName: "permits.csv", FileDigest: j.FileDigest})
		if err != nil || resumed || next.ID == j.ID || next.Checkpoint != 0 {
			t.Fatalf("a new run of a done file: %+v resumed %v: %v", next, resumed, err)
		}
		// Another organization neither reads nor writes the job.
		if _, err := f.p.Licenses.ImportBatch(ctx, f.other, next.ID, license.ImportBatch{From: 0, To: 1, Rows: rows[:1]}); err == nil {
			t.Fatal("another organization wrote a batch of the job")
		}
	})
}

// TestImportBatchConcurrent has many clients write batches at once on
// both stores: eight racing on the same batch of one job (exactly one
// commits, the others are refused, nothing is written twice), and eight
// jobs importing overlapping numbers (each number ends as one license,
// imported once and unchanged for the others).
func TestImportBatchConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const clients = 8
		j := f.startImport(t, "b")
		rows := f.importRows(t, "S", 20)
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half sign each license by itself: both ways race alike.
				_, errs[i] = f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: 20, Rows: rows, Each: i%2 == 1})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, apperr.Conflict):
				t.Errorf("a racing batch: %v", err)
			}
		}
		got, err := f.p.Licenses.GetImport(ctx, f.issuer, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || got.Checkpoint != 20 || got.Counts.Imported != 20 {
			t.Fatalf("%d batches committed, job %+v", won, got)
		}

		// Jobs of different files, the same numbers.
		shared := f.importRows(t, "M", 30)
		counts := make([]license.ImportCounts, clients)
		clear(errs)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				job := f.startImport(t, fmt.Sprintf("%x", i+1))
				for from := 0; from < len(shared); from += 10 {
					res, err := f.p.Licenses.ImportBatch(ctx, f.issuer, job.ID, license.ImportBatch{From: int64(from), To: int64(from + 10),
						Rows: shared[from : from+10], Each: i%2 == 1})
					if err != nil {
						errs[i] = err
						return
					}
					counts[i] = res.Job.Counts
				}
			}()
		}
		wg.Wait()
		importedOnce(t, db, errs, counts, 30, 50)
		t.Logf("%s: %d transactions started again", db.Dialect(), db.Retries())
	})
}

// TestImportBatchEach signs every license of an import batch by itself:
// ONE audit entry records the batch's signatures (their count and the root
// over their digests, which the batch's entry names too), not one per
// license; each license has its own seal use and verifies alone, and a
// changed one fails.
func TestImportBatchEach(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		j := f.startImport(t, "e")
		const n = 9
		rows := f.importRows(t, "E", n)
		if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: n, Rows: rows, Each: true}); err != nil {
			t.Fatal(err)
		}
		// A changed row is a new version, signed by itself too.
		changed := rows[2]
		changed.ValidFrom = changed.ValidFrom.AddDate(0, 0, -1)
		until := changed.ValidFrom.AddDate(5, 0, 0)
		changed.ValidUntil = &until
		if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: n, To: n + 1, Rows: []license.ImportRow{changed},
			Each: true}); err != nil {
			t.Fatal(err)
		}
		if got := f.audited(t, "seal.sign.bound"); len(got) != 0 {
			t.Fatalf("%d seal.sign.bound entries, want none: the batch's signatures have one entry", len(got))
		}
		signings, batches := f.audited(t, "seal.sign.bound.each"), f.audited(t, "license.import.batch")
		if len(signings) != 2 || len(batches) != 2 {
			t.Fatalf("%d seal.sign.bound.each and %d license.import.batch entries, want 2 of each", len(signings), len(batches))
		}
		uses, err := f.p.Seals.Uses(ctx, f.sealID)
		if err != nil {
			t.Fatal(err)
		}
		byHash := map[string]seal.Use{}
		for _, u := range uses {
			byHash[u.DocHash] = u
		}
		found, err := db.ListLicenses(ctx, license.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != n {
			t.Fatalf("%d licenses, want %d", len(found), n)
		}
		var first [][]byte // the version 1 digests: the first batch's leaves
		for _, l := range found {
			doc, err := f.p.Licenses.Document(ctx, f.issuer, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			d, err := codec.Decode(doc)
			if err != nil {
				t.Fatal(err)
			}
			if d.Batch != nil {
				t.Fatalf("license %s carries a batch: %+v", l.ID, d.Batch)
			}
			v, err := f.p.Trust.Verify(ctx, nil, doc)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Valid {
				t.Fatalf("license %s does not verify: %+v", l.ID, v.Checks)
			}
			digest, err := codec.Digest(d.License)
			if err != nil {
				t.Fatal(err)
			}
			if u, ok := byHash[fmt.Sprintf("%x", digest)]; !ok || u.Title != "license "+l.ID || !bytes.Equal(u.Signature, d.Signature) {
				t.Fatalf("license %s version %d: no use of its own digest %x and signature (%+v)", l.ID, l.Version, digest, u)
			}
			if l.Number == changed.Number {
				if l.Version != 2 {
					t.Fatalf("changed license at version %d", l.Version)
				}
				if got, want := signings[1].Details["root"], rootOf(digest); got != want || batches[1].Details["root"] != want {
					t.Errorf("second batch: root %s, batch root %s, want %s", got, batches[1].Details["root"], want)
				}
				v1, err := db.LicenseDocument(ctx, l.ID, 1)
				if err != nil {
					t.Fatal(err)
				}
				old, err := codec.Decode(v1)
				if err != nil {
					t.Fatal(err)
				}
				if digest, err = codec.Digest(old.License); err != nil {
					t.Fatal(err)
				}
			}
			first = append(first, digest)
		}
		if e := signings[0]; e.Details["count"] != fmt.Sprint(n) || e.Details["root"] != rootOf(first...) || batches[0].Details["root"] != e.Details["root"] {
			t.Errorf("first batch: signing entry %v, batch root %s, want the root %s of its %d digests", e.Details, batches[0].Details["root"], rootOf(first...), n)
		}
		doc, err := f.p.Licenses.Document(ctx, f.issuer, found[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Replace(doc, []byte(found[0].HolderName), []byte("王建图"), 1)
		if bytes.Equal(tampered, doc) {
			t.Fatal("nothing tampered")
		}
		v, err := f.p.Trust.Verify(ctx, nil, tampered)
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid {
			t.Errorf("a changed license verifies: %+v", v.Checks)
		}
	})
}

// rootOf is the root SignBoundEach names for digests: the batch tree over
// them in ascending order.
func rootOf(digests ...[]byte) string {
	sorted := slices.Clone(digests)
	slices.SortFunc(sorted, bytes.Compare)
	h, _, err := codec.BuildBatch("check", sorted)
	if err != nil {
		return err.Error()
	}
	return h.Root
}
