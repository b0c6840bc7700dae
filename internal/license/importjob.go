package license

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// ImportState is the state of an import job.
type ImportState string

// The import job states. A job that is not done may be resumed.
const (
	ImportRunning   ImportState = "running"
	ImportDone      ImportState = "done"
	ImportCancelled ImportState = "cancelled"
	ImportFailed    ImportState = "failed"
)

// ImportCounts are the rows of a job's committed batches: licenses
// issued, given a new version, found unchanged, and rows rejected (by
// validation or by the store: a number another license holds).
type ImportCounts struct {
	Imported  int64 `json:"imported"`
	Versioned int64 `json:"versioned"`
	Unchanged int64 `json:"unchanged"`
	Rejected  int64 `json:"rejected"`
	Batches   int64 `json:"batches"`
}

// ImportJob is the import of one file of one issuer and license type
// (docs/import.md). Checkpoint counts the file's data rows whose batch has
// committed: a resumed job reads on after it.
type ImportJob struct {
	ID          string
	Issuer      string
	TypeCode    string
	TypeVersion int
	FileName    string
	// FileDigest is the SHA-256 of the file (hex), which finds the
	// unfinished job of the same file again.
	FileDigest string
	// Mapping is the column mapping the job reads the file with (JSON).
	Mapping string
	// Increment says that the file is a day's increment of licenses issued
	// offline, due on the day their cases completed; otherwise it is stock,
	// due within StockWorkingDays (AggregationDue). A resumed job keeps
	// what it started with.
	Increment  bool
	State      ImportState
	Checkpoint int64
	Counts     ImportCounts
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewImport is what starting an import names.
type NewImport struct {
	Type        string
	TypeVersion int
	FileName    string
	FileDigest  string
	Mapping     string
	Increment   bool
}

// ImportRow is a row of a file that passed validation (importer.Record):
// a license as it is to be imported, under its paper-era number.
type ImportRow struct {
	Row         int
	Number      string
	HolderID    string
	HolderName  string
	ValidFrom   time.Time
	ValidUntil  *time.Time
	CompletedOn time.Time
	Face        []byte
}

// content is what tells a row changed from one imported before: every
// value the row gives, in one unambiguous string.
func (r ImportRow) content() string {
	until := ""
	if r.ValidUntil != nil {
		until = strconv.FormatInt(r.ValidUntil.UnixMicro(), 10)
	}
	return strings.Join([]string{r.HolderID, r.HolderName, strconv.FormatInt(r.ValidFrom.UnixMicro(), 10), until,
		r.CompletedOn.Format(time.DateOnly), string(r.Face)}, "\x00")
}

// ImportBatch is the rows (From, To] of a job's file: the valid ones, and
// how many of them validation rejected.
type ImportBatch struct {
	From, To int64
	Rows     []ImportRow
	Rejected int64
	// Each signs every license by itself instead of the batch once (the
	// comparison of the bench).
	Each bool
}

// ImportRefusal is a valid row the store refuses.
type ImportRefusal struct {
	Row    int
	Number string
	Rule   string
	Detail string
}

// ImportResult is a committed batch: the job as it left it and the rows
// it refused.
type ImportResult struct {
	Job     ImportJob
	Refused []ImportRefusal
}

// Imported is a license found under a number a batch imports.
type Imported struct {
	ID     string
	Issuer string
	// Digest is the keyed digest of the row the license was last imported
	// from; empty for a license issued, not imported.
	Digest string
}

// LicenseImport records the row a license was imported from.
type LicenseImport struct {
	LicenseID string
	Digest    string
	// CompletedOn is the row's business completion date (办结日期); Due
	// the last day its aggregation was in time, Late whether ImportedAt
	// came after it.
	CompletedOn time.Time
	Due         time.Time
	ImportedAt  time.Time
	Increment   bool
	Late        bool
}

// ImportReader reads import jobs and the licenses under numbers.
type ImportReader interface {
	GetImportJob(ctx context.Context, id string) (ImportJob, error)
	// UnfinishedImport returns the newest job of the issuer, type, file
	// digest and mapping that is not done; NotFound when there is none.
	UnfinishedImport(ctx context.Context, issuer, typeCode, digest, mapping string) (ImportJob, error)
	// ImportedLicenses returns the licenses of the type under the numbers,
	// by number.
	ImportedLicenses(ctx context.Context, typeCode string, numbers []string) (map[string]Imported, error)
}

// ImportTx is what the transactions of an import write.
type ImportTx interface {
	ImportReader
	auditlog.Appender
	InsertImportJob(ctx context.Context, j ImportJob) error
	// UpdateImportJob writes j's state, checkpoint, counts and time over
	// the job provided that it is still in state at checkpoint; Conflict
	// when it is not.
	UpdateImportJob(ctx context.Context, j ImportJob, state ImportState, checkpoint int64) error
	// PutLicenseImports records (or replaces) the row each license was
	// imported from.
	PutLicenseImports(ctx context.Context, job string, ls []LicenseImport) error
}

// StartImport starts the import of a file, or resumes the unfinished job
// of the same file (issuer, type, file digest and mapping), which it sets
// running again: a job killed or cancelled goes on after its checkpoint.
// resumed says which. The job's creation is audited, as is a resumption.
func (s *Service) StartImport(ctx context.Context, actor *authz.Actor, n NewImport) (j ImportJob, resumed bool, err error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return ImportJob{}, false, err
	}
	e, v, err := s.usableType(ctx, issuer, NewLicense{Type: n.Type, TypeVersion: n.TypeVersion})
	if err != nil {
		return ImportJob{}, false, err
	}
	var fs apperr.Fields
	fs.Text("file_name", n.FileName, 255, true)
	if len(n.FileDigest) != 64 {
		fs.Add("file_digest", "sha256", "the file's SHA-256, 64 hex digits")
	}
	if err := fs.Err(); err != nil {
		return ImportJob{}, false, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id, err := timeID("imp", now)
	if err != nil {
		return ImportJob{}, false, err
	}
	err = s.importTx(ctx, func(st ImportTx) error {
		j, resumed = ImportJob{}, false
		prev, err := st.UnfinishedImport(ctx, issuer, e.Code, n.FileDigest, n.Mapping)
		switch {
		case err == nil:
			j, resumed = prev, true
			j.UpdatedAt = now
			if err := st.UpdateImportJob(ctx, withState(j, ImportRunning), prev.State, prev.Checkpoint); err != nil {
				return err
			}
			j.State = ImportRunning
		case errors.Is(err, apperr.NotFound):
			j = ImportJob{ID: id, Issuer: issuer, TypeCode: e.Code, TypeVersion: v.Number, FileName: n.FileName, FileDigest: n.FileDigest,
				Mapping: n.Mapping, Increment: n.Increment, State: ImportRunning, CreatedBy: actor.AccountID, CreatedAt: now, UpdatedAt: now}
			if err := st.InsertImportJob(ctx, j); err != nil {
				return err
			}
		default:
			return err
		}
		what := map[bool]string{false: "start", true: "resume"}[resumed]
		return s.recordImport(ctx, st, j, actor.AccountID, what, map[string]string{"file_digest": j.FileDigest,
			"checkpoint": strconv.FormatInt(j.Checkpoint, 10), "increment": strconv.FormatBool(j.Increment)})
	})
	if err != nil {
		return ImportJob{}, false, err
	}
	return j, resumed, nil
}

func withState(j ImportJob, st ImportState) ImportJob {
	j.State = st
	return j
}

// FinishImport ends a running job: done, cancelled (it may be resumed)
// or failed. The end is audited with the job's counts.
func (s *Service) FinishImport(ctx context.Context, actor *authz.Actor, id string, state ImportState) (ImportJob, error) {
	if _, err := issuerOf(actor); err != nil {
		return ImportJob{}, err
	}
	if state != ImportDone && state != ImportCancelled && state != ImportFailed {
		return ImportJob{}, fieldErr(apperr.Invalid, "state", "enum", "done, cancelled or failed")
	}
	var j ImportJob
	err := s.importTx(ctx, func(st ImportTx) error {
		var err error
		if j, err = s.ownImport(ctx, st, actor, id); err != nil {
			return err
		}
		if j.State != ImportRunning {
			return fieldErr(apperr.Conflict, "state", "import-running", fmt.Sprintf("import %s is %s, not running", j.ID, j.State))
		}
		next := withState(j, state)
		next.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := st.UpdateImportJob(ctx, next, j.State, j.Checkpoint); err != nil {
			return err
		}
		j = next
		return s.recordImport(ctx, st, j, actor.AccountID, string(state), countDetails(j.Counts, j.Checkpoint))
	})
	return j, err
}

// GetImport returns an import job of the actor's organization.
func (s *Service) GetImport(ctx context.Context, actor *authz.Actor, id string) (ImportJob, error) {
	if _, err := issuerOf(actor); err != nil {
		return ImportJob{}, err
	}
	var j ImportJob
	err := s.importTx(ctx, func(st ImportTx) error {
		var err error
		j, err = s.ownImport(ctx, st, actor, id)
		return err
	})
	return j, err
}

// ownImport reads the job in st: another organization's is NotFound.
func (s *Service) ownImport(ctx context.Context, st ImportTx, actor *authz.Actor, id string) (ImportJob, error) {
	j, err := st.GetImportJob(ctx, id)
	if err == nil && j.Issuer != actor.Org {
		err = apperr.New(apperr.NotFound, "no import %s", id)
	}
	return j, err
}

// importTx runs fn in one transaction of the store.
func (s *Service) importTx(ctx context.Context, fn func(ImportTx) error) error {
	return s.tx(ctx, func(st Tx) error { return fn(st) })
}

func countDetails(c ImportCounts, checkpoint int64) map[string]string {
	return map[string]string{"imported": strconv.FormatInt(c.Imported, 10), "versioned": strconv.FormatInt(c.Versioned, 10),
		"unchanged": strconv.FormatInt(c.Unchanged, 10), "rejected": strconv.FormatInt(c.Rejected, 10),
		"batches": strconv.FormatInt(c.Batches, 10), "checkpoint": strconv.FormatInt(checkpoint, 10)}
}

// recordImport appends the audit entry license.import.<what> of job j.
func (s *Service) recordImport(ctx context.Context, st auditlog.Appender, j ImportJob, actor, what string, details map[string]string) error {
	details["type"], details["type_version"] = j.TypeCode, strconv.Itoa(j.TypeVersion)
	return auditlog.Append(ctx, st, auditlog.Entry{At: j.UpdatedAt, Actor: actor, Org: j.Issuer, Action: "license.import." + what,
		Subject: j.ID, Details: details})
}

// importItem is one row of a batch as the store decides it.
type importItem struct {
	row    ImportRow
	digest string
	// cur is the license a changed row gives a new version of.
	cur *License
	l   License
}

// ImportBatch writes one batch of a running job, in ONE transaction: the
// job is read again and must still be running at checkpoint b.From; each
// row is looked up by (type, number): a number no license holds is issued
// (under that number), one imported before from the same content is
// unchanged, from other content gets a new version (the old one
// superseded), and a number another issuer's license or an issued (not
// imported) license holds is refused. The new licenses and versions are
// signed together as one batch (docs/license-format.md), or each by
// itself with b.Each; the job's checkpoint moves to b.To with its counts;
// and ONE audit entry records the batch, its signed root committing to
// every license in it — not one per license. Each license version still
// has its outbox event.
func (s *Service) ImportBatch(ctx context.Context, actor *authz.Actor, jobID string, b ImportBatch) (ImportResult, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return ImportResult{}, err
	}
	if b.To < b.From || int64(len(b.Rows))+b.Rejected != b.To-b.From || len(b.Rows) > MaxBatch {
		return ImportResult{}, fieldErr(apperr.Invalid, "rows", "count",
			fmt.Sprintf("a batch covers the rows (from, to], at most %d, each valid or rejected", MaxBatch))
	}
	job, err := s.GetImport(ctx, actor, jobID)
	if err != nil {
		return ImportResult{}, err
	}
	e, v, err := s.usableType(ctx, issuer, NewLicense{Type: job.TypeCode, TypeVersion: job.TypeVersion})
	if err != nil {
		return ImportResult{}, err
	}
	o, err := s.orgs.GetOrg(ctx, issuer)
	if err != nil {
		return ImportResult{}, fmt.Errorf("issuing organization %s: %w", issuer, err)
	}
	sealID, err := s.sealOf(ctx, issuer)
	if err != nil {
		return ImportResult{}, err
	}
	if err := s.seals.CheckBound(ctx, seal.BoundSign{Org: issuer, SealID: sealID, LicenseType: e.Code}); err != nil {
		return ImportResult{}, err
	}
	items := make([]importItem, len(b.Rows))
	numbers := make([]string, len(b.Rows))
	for i, r := range b.Rows {
		if items[i].digest, err = s.store.ImportDigest(r.content()); err != nil {
			return ImportResult{}, err
		}
		items[i].row, numbers[i] = r, r.Number
	}
	now := s.now().UTC().Truncate(time.Second)
	// Identifiers are drawn before the transaction, as issuance does: one
	// draw for the batch (a retried or failed transaction leaves a gap).
	first, err := s.store.NextLicenseSeqs(ctx, e.Code, issuer, len(items))
	if err != nil {
		return ImportResult{}, err
	}
	batchID, err := timeID("lba", now)
	if err != nil {
		return ImportResult{}, err
	}
	var out ImportResult
	err = s.bulkTx(ctx, func(st Tx) error {
		j, err := st.GetImportJob(ctx, jobID)
		if err != nil {
			return err
		}
		if j.State != ImportRunning || j.Checkpoint != b.From {
			return fieldErr(apperr.Conflict, "checkpoint", "moved-on",
				fmt.Sprintf("import %s is %s at row %d, not running at row %d: another run went on with it", j.ID, j.State, j.Checkpoint, b.From))
		}
		found, err := st.ImportedLicenses(ctx, e.Code, numbers)
		if err != nil {
			return err
		}
		a := importApply{s: s, st: st, e: e, v: v, o: o, actor: actor.AccountID, sealID: sealID, now: now, batchID: batchID, job: j}
		work, refused, counts, err := a.classify(ctx, items, found, first)
		if err != nil {
			return err
		}
		root, err := a.write(ctx, work, b.Each)
		if err != nil {
			return err
		}
		counts.Rejected += b.Rejected + int64(len(refused))
		counts.Batches = 1
		next := j
		next.Checkpoint, next.UpdatedAt = b.To, now
		next.Counts = ImportCounts{Imported: j.Counts.Imported + counts.Imported, Versioned: j.Counts.Versioned + counts.Versioned,
			Unchanged: j.Counts.Unchanged + counts.Unchanged, Rejected: j.Counts.Rejected + counts.Rejected, Batches: j.Counts.Batches + 1}
		if err := st.UpdateImportJob(ctx, next, j.State, j.Checkpoint); err != nil {
			return err
		}
		details := countDetails(counts, b.To)
		details["from"], details["batch"], details["root"], details["seal"] = strconv.FormatInt(b.From, 10), batchID, root, sealID
		delete(details, "batches")
		if err := s.recordImport(ctx, st, next, actor.AccountID, "batch", details); err != nil {
			return err
		}
		out = ImportResult{Job: next, Refused: refused}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return out, nil
}

// importApply is the state of one batch's transaction.
type importApply struct {
	s       *Service
	st      Tx
	e       catalog.Entry
	v       catalog.Version
	o       org.Org
	actor   string
	sealID  string
	now     time.Time
	batchID string
	job     ImportJob
}

// classify decides each row against the licenses found under the numbers:
// the rows to write (new licenses with identifiers from first on, new
// versions), the refused ones and the counts.
func (a *importApply) classify(ctx context.Context, items []importItem, found map[string]Imported, first uint64) ([]importItem, []ImportRefusal, ImportCounts, error) {
	var c ImportCounts
	var refused []ImportRefusal
	work := make([]importItem, 0, len(items))
	seen := make(map[string]bool, len(items))
	refuse := func(r ImportRow, rule, detail string) {
		refused = append(refused, ImportRefusal{Row: r.Row, Number: r.Number, Rule: rule, Detail: detail})
	}
	for i := range items {
		it := items[i]
		r := it.row
		if seen[r.Number] {
			refuse(r, "duplicate", "the number is on an earlier row of the same batch")
			continue
		}
		seen[r.Number] = true
		ex, ok := found[r.Number]
		switch {
		case !ok:
			id, err := ids.NewLicenseID(a.e.Code, a.o.CreditCode, first+uint64(i)) // #nosec G115 -- i < MaxBatch
			if err != nil {
				return nil, nil, c, apperr.Wrap(apperr.Conflict, err, "license identifiers of type %s and issuer %s are exhausted", a.e.Code, a.o.CreditCode)
			}
			it.l = License{ID: id, Number: r.Number, TypeCode: a.e.Code, TypeVersion: a.v.Number, Issuer: a.o.CreditCode, HolderKind: a.e.HolderKind,
				HolderID: r.HolderID, HolderName: r.HolderName, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil, State: Active, Version: 1,
				SealID: a.sealID, IssuedBy: a.actor, IssuedAt: a.now, UpdatedAt: a.now}
			c.Imported++
		case ex.Issuer != a.o.CreditCode || ex.Digest == "":
			refuse(r, "taken", "another license of the type has this number")
			continue
		case ex.Digest == it.digest:
			c.Unchanged++
			continue
		default:
			cur, err := a.st.GetLicense(ctx, ex.ID)
			if err != nil {
				return nil, nil, c, err
			}
			if cur.HolderID != r.HolderID || cur.HolderName != r.HolderName {
				refuse(r, "holder-changed", "an import changes a license's content, not its holder")
				continue
			}
			if t, _ := transitionOf(Change); !t.Allows(cur.State) {
				refuse(r, "license-state", fmt.Sprintf("the license is %s: only an active license gets a new version", cur.State))
				continue
			}
			next := cur
			next.TypeVersion, next.ValidFrom, next.ValidUntil = a.v.Number, r.ValidFrom, r.ValidUntil
			next.Version, next.SealID, next.UpdatedAt = cur.Version+1, a.sealID, a.now
			it.cur, it.l = &cur, next
			c.Versioned++
		}
		work = append(work, it)
	}
	return work, refused, c, nil
}

// write signs and stores the licenses and versions of work and returns
// the batch's root (hex): the signed batch header's, or with each (every
// license signed by itself) the root of the seal's one audit entry for
// the batch's signatures; "" when there is nothing to sign.
func (a *importApply) write(ctx context.Context, work []importItem, each bool) (string, error) {
	if len(work) == 0 {
		return "", nil
	}
	st := a.st
	// added collects the new licenses to insert together.
	added := make([]License, 0, len(work))
	writer := func(it *importItem) func(context.Context, License) error {
		if it.cur == nil {
			return func(_ context.Context, l License) error { added = append(added, l); return nil }
		}
		cur := *it.cur
		return func(ctx context.Context, l License) error { return st.UpdateLicense(ctx, l, cur.State, cur.Version) }
	}
	docs := make([]codec.License, len(work))
	ins, digests := make([][]byte, len(work)), make([][]byte, len(work))
	allocs, err := a.s.status.AllocateN(ctx, st, a.o.CreditCode, len(work))
	if err != nil {
		return "", err
	}
	for i := range work {
		if docs[i], ins[i], digests[i], err = a.s.draftIn(ctx, &work[i].l, a.o, work[i].row.Face, allocs[i], writer(&work[i])); err != nil {
			return "", err
		}
	}
	// Inserted before the seal signs, as draft records each license.
	if err := st.InsertLicenses(ctx, added); err != nil {
		return "", err
	}
	bs := seal.BoundSign{Org: a.o.CreditCode, SealID: a.sealID, LicenseType: a.e.Code,
		Title: fmt.Sprintf("license import batch %s (%d licenses)", a.batchID, len(docs)), Actor: a.actor}
	var signed []codec.Document
	useIDs := make([]string, len(work))
	var root string
	if each {
		if signed, useIDs, root, err = a.s.sealEach(ctx, st, bs, docs, digests); err != nil {
			return "", err
		}
	} else {
		var useID string
		if signed, useID, err = a.s.sealBatch(ctx, st, a.batchID, bs, docs, digests); err != nil {
			return "", err
		}
		root = signed[0].Batch.Header.Root
		for i := range useIDs {
			useIDs[i] = useID
		}
	}
	vs := make([]Version, len(work))
	for i := range work {
		if vs[i], err = versionOf(work[i].l, signed[i], ins[i], useIDs[i], a.now); err != nil {
			return "", err
		}
	}
	if err := st.InsertLicenseVersions(ctx, vs); err != nil {
		return "", err
	}
	ls := make([]LicenseImport, len(work))
	events := make([]OutboxEvent, 0, len(work))
	for i := range work {
		it := &work[i]
		done := it.row.CompletedOn
		ls[i] = LicenseImport{LicenseID: it.l.ID, Digest: it.digest, CompletedOn: done, Due: AggregationDue(done, a.job.Increment),
			ImportedAt: a.now, Increment: a.job.Increment, Late: AggregationLate(done, a.now, a.job.Increment)}
		if it.cur == nil {
			e, err := issuedOutboxEvent(it.l)
			if err != nil {
				return "", err
			}
			events = append(events, e)
		} else if err := a.changed(ctx, it); err != nil {
			return "", err
		}
	}
	if err := st.InsertOutboxes(ctx, events); err != nil {
		return "", err
	}
	return root, st.PutLicenseImports(ctx, a.job.ID, ls)
}

// changed writes what a new version of a license has besides the version:
// its transition record, the old version superseded and its outbox event.
func (a *importApply) changed(ctx context.Context, it *importItem) error {
	cur := *it.cur
	if err := a.s.status.ChangeState(ctx, a.st, cur.Slot, cur.State.StatusState(), status.Superseded); err != nil {
		return err
	}
	t, _ := transitionOf(Change)
	r := Record{LicenseID: cur.ID, Operation: Change, From: cur.State, To: it.l.State, Reason: "import " + a.job.ID, Actor: a.actor,
		At: a.now, Version: it.l.Version}
	var err error
	if r.Seq, err = a.st.InsertLicenseTransition(ctx, r); err != nil {
		return err
	}
	payload, err := json.Marshal(transitionEvent{ID: it.l.ID, Number: it.l.Number, Type: it.l.TypeCode, Issuer: it.l.Issuer,
		Operation: string(r.Operation), From: string(r.From), To: string(r.To), Version: r.Version, Seq: r.Seq, At: r.At.Format(time.RFC3339)})
	if err != nil {
		return err
	}
	return a.st.InsertOutbox(ctx, t.Topic+"/"+it.l.ID+"/"+strconv.FormatInt(r.Seq, 10), t.Topic, payload, r.At)
}
