package license

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Imports uploaded over the API (docs/import.md, "Importing over the
// API"): the file is kept in the store, encrypted, and the job is run by
// whichever serve process claims it first. A claim is a lease, renewed
// after every batch: a process that dies leaves the job to another once
// the lease runs out, and that one resumes after the checkpoint. Two
// runners never both write a batch: ImportBatch re-reads the checkpoint
// inside its transaction.

// ImportLease is how long a runner holds an uploaded job past its claim
// or its last batch.
const ImportLease = time.Minute

// ImportChunkSize is the most bytes of an uploaded file one stored chunk
// holds.
const ImportChunkSize = 1 << 20

// ImportUpload is what running an uploaded job needs, and its lease.
type ImportUpload struct {
	JobID    string
	Format   string
	Encoding string
	// Sign is batch (one signature per batch) or each.
	Sign      string
	BatchSize int
	Size      int64
	Chunks    int
	// Rows is the data rows of the file, counted at the upload.
	Rows       int64
	LeaseOwner string
	LeaseUntil time.Time
	// RunStarted and RunFrom are when the current run claimed the job and
	// its checkpoint then: the run's rows a second.
	RunStarted time.Time
	RunFrom    int64
}

// UploadedImport is an import job with its upload (zero for a job of
// the command line).
type UploadedImport struct {
	Job    ImportJob
	Upload ImportUpload
}

// ImportProblem is a problem of a rejected row as the job's report keeps
// it, its value masked; Pos orders the problems of one row.
type ImportProblem struct {
	Row    int64
	Pos    int
	Column string
	Field  string
	Rule   string
	Value  string
	Detail string
}

// Key is the problem's place in the report, its page cursor.
func (p ImportProblem) Key() string { return strconv.FormatInt(p.Row, 10) + "." + strconv.Itoa(p.Pos) }

// ParseImportProblemKey reads a Key.
func ParseImportProblemKey(k string) (row int64, pos int, err error) {
	if k == "" {
		return 0, -1, nil
	}
	r, p, ok := strings.Cut(k, ".")
	if row, err = strconv.ParseInt(r, 10, 64); err == nil && ok {
		pos, err = strconv.Atoi(p)
	}
	if err != nil || !ok {
		return 0, 0, fieldErr(apperr.Invalid, "cursor", "cursor", "not a cursor of this report")
	}
	return row, pos, nil
}

// UploadTx is what the transactions of an uploaded job read and write
// beyond ImportTx.
type UploadTx interface {
	ImportTx
	InsertImportUpload(ctx context.Context, u ImportUpload) error
	GetImportUpload(ctx context.Context, job string) (ImportUpload, error)
	// UpdateImportUpload writes u's lease and run over the upload
	// provided its lease owner is still owner; Conflict when it is not.
	UpdateImportUpload(ctx context.Context, u ImportUpload, owner string) error
	PutImportChunk(ctx context.Context, job string, seq int, data []byte) error
	ImportChunk(ctx context.Context, job string, seq int) ([]byte, error)
	// ListImports returns up to limit jobs of issuer after the
	// identifier after, in identifier (creation) order.
	ListImports(ctx context.Context, issuer, after string, limit int) ([]UploadedImport, error)
	// RunnableImports returns up to limit identifiers of running
	// uploaded jobs owner may claim at now: not leased, leased to owner,
	// or whose lease has run out.
	RunnableImports(ctx context.Context, owner string, now time.Time, limit int) ([]string, error)
	// AddImportProblems keeps the problems, once each.
	AddImportProblems(ctx context.Context, job string, ps []ImportProblem) error
	// ImportProblems returns up to limit problems of job after (row,
	// pos), in order.
	ImportProblems(ctx context.Context, job string, row int64, pos, limit int) ([]ImportProblem, error)
}

// uploadTx runs fn in one transaction of the store.
func (s *Service) uploadTx(ctx context.Context, fn func(UploadTx) error) error {
	return s.tx(ctx, func(st Tx) error {
		u, ok := st.(UploadTx)
		if !ok {
			return apperr.New(apperr.Unavailable, "this store keeps no uploaded imports")
		}
		return fn(u)
	})
}

// ImportType returns the license type and template version an import by
// actor reads its file with: the newest approved version, or version.
func (s *Service) ImportType(ctx context.Context, actor *authz.Actor, code string, version int) (catalog.Entry, catalog.Version, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return catalog.Entry{}, catalog.Version{}, err
	}
	return s.usableType(ctx, issuer, NewLicense{Type: code, TypeVersion: version})
}

// QueueImport files the import of an uploaded file: the job, running and
// not leased, its upload and the file's chunks (each at most
// ImportChunkSize, encrypted by the store) in ONE transaction with the
// audit entry license.import.upload. chunks returns a function yielding
// the chunks in order from the first, nil at the end: it is called again
// when the transaction is retried. A file of the issuer and type with a job not done is
// refused (Conflict, field file, rule unfinished): that job is resumed,
// not imported twice at once.
func (s *Service) QueueImport(ctx context.Context, actor *authz.Actor, n NewImport, u ImportUpload,
	chunks func() (func() ([]byte, error), error)) (UploadedImport, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return UploadedImport{}, err
	}
	e, v, err := s.usableType(ctx, issuer, NewLicense{Type: n.Type, TypeVersion: n.TypeVersion})
	if err != nil {
		return UploadedImport{}, err
	}
	var fs apperr.Fields
	fs.Text("file_name", n.FileName, 255, true)
	if len(n.FileDigest) != 64 {
		fs.Add("file_digest", "sha256", "the file's SHA-256, 64 hex digits")
	}
	if u.Sign != "batch" && u.Sign != "each" {
		fs.Add("sign", "enum", "batch or each")
	}
	if u.BatchSize < 1 || u.BatchSize > MaxBatch {
		fs.Add("batch", "range", fmt.Sprintf("1 to %d rows", MaxBatch))
	}
	if err := fs.Err(); err != nil {
		return UploadedImport{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id, err := timeID("imp", now)
	if err != nil {
		return UploadedImport{}, err
	}
	var out UploadedImport
	err = s.uploadTx(ctx, func(st UploadTx) error {
		prev, err := st.UnfinishedImport(ctx, issuer, e.Code, n.FileDigest, n.Mapping)
		switch {
		case err == nil:
			return fieldErr(apperr.Conflict, "file", "unfinished",
				fmt.Sprintf("import %s of this file is %s, not done: resume it (POST /api/v1/imports/%s/resume)", prev.ID, prev.State, prev.ID))
		case !errors.Is(err, apperr.NotFound):
			return err
		}
		j := ImportJob{ID: id, Issuer: issuer, TypeCode: e.Code, TypeVersion: v.Number, FileName: n.FileName, FileDigest: n.FileDigest,
			Mapping: n.Mapping, Increment: n.Increment, State: ImportRunning, CreatedBy: actor.AccountID, CreatedAt: now, UpdatedAt: now}
		if err := st.InsertImportJob(ctx, j); err != nil {
			return err
		}
		up := u
		up.JobID, up.Chunks, up.LeaseOwner, up.LeaseUntil, up.RunStarted, up.RunFrom = j.ID, 0, "", time.Time{}, time.Time{}, 0
		next, err := chunks()
		if err != nil {
			return err
		}
		for {
			c, err := next()
			if err != nil {
				return err
			}
			if c == nil {
				break
			}
			if len(c) > ImportChunkSize {
				return fmt.Errorf("import chunk of %d bytes: at most %d", len(c), ImportChunkSize)
			}
			if err := st.PutImportChunk(ctx, j.ID, up.Chunks, c); err != nil {
				return err
			}
			up.Chunks++
		}
		if err := st.InsertImportUpload(ctx, up); err != nil {
			return err
		}
		out = UploadedImport{Job: j, Upload: up}
		return s.recordImport(ctx, st, j, actor.AccountID, "upload", map[string]string{"file_digest": j.FileDigest,
			"size": strconv.FormatInt(up.Size, 10), "rows": strconv.FormatInt(up.Rows, 10), "format": up.Format, "sign": up.Sign,
			"batch_size": strconv.Itoa(up.BatchSize), "increment": strconv.FormatBool(j.Increment)})
	})
	return out, err
}

// GetUploadedImport returns an import job of the actor's organization
// with its upload; another organization's is NotFound.
func (s *Service) GetUploadedImport(ctx context.Context, actor *authz.Actor, id string) (UploadedImport, error) {
	if _, err := issuerOf(actor); err != nil {
		return UploadedImport{}, err
	}
	var out UploadedImport
	err := s.uploadTx(ctx, func(st UploadTx) error {
		var err error
		out, err = s.ownUpload(ctx, st, actor, id)
		return err
	})
	return out, err
}

// ownUpload reads job id and its upload in st: another organization's
// job, or one not uploaded, is NotFound.
func (s *Service) ownUpload(ctx context.Context, st UploadTx, actor *authz.Actor, id string) (UploadedImport, error) {
	j, err := s.ownImport(ctx, st, actor, strings.TrimSpace(id))
	if err != nil {
		return UploadedImport{}, err
	}
	u, err := st.GetImportUpload(ctx, j.ID)
	if err != nil {
		return UploadedImport{}, err
	}
	return UploadedImport{Job: j, Upload: u}, nil
}

// ListUploadedImports returns a page of the uploaded import jobs of the
// actor's organization, oldest first.
func (s *Service) ListUploadedImports(ctx context.Context, actor *authz.Actor, limit int, cursor string) (page.Page[UploadedImport], error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return page.Page[UploadedImport]{}, err
	}
	return page.Fetch(limit, cursor, func(limit int, after string) ([]UploadedImport, error) {
		var out []UploadedImport
		err := s.uploadTx(ctx, func(st UploadTx) error {
			var err error
			out, err = st.ListImports(ctx, issuer, after, limit)
			return err
		})
		return out, err
	}, func(u UploadedImport) string { return u.Job.ID })
}

// ImportReport returns a page of the problems of the rows job id
// rejected so far, in row order.
func (s *Service) ImportReport(ctx context.Context, actor *authz.Actor, id string, limit int, cursor string) (UploadedImport, page.Page[ImportProblem], error) {
	if _, err := issuerOf(actor); err != nil {
		return UploadedImport{}, page.Page[ImportProblem]{}, err
	}
	var u UploadedImport
	p, err := page.Fetch(limit, cursor, func(limit int, after string) ([]ImportProblem, error) {
		row, pos, err := ParseImportProblemKey(after)
		if err != nil {
			return nil, err
		}
		var out []ImportProblem
		err = s.uploadTx(ctx, func(st UploadTx) error {
			if u, err = s.ownUpload(ctx, st, actor, id); err != nil {
				return err
			}
			out, err = st.ImportProblems(ctx, u.Job.ID, row, pos, limit)
			return err
		})
		return out, err
	}, ImportProblem.Key)
	return u, p, err
}

// CancelImport stops an uploaded job that is running: the batch in
// flight finds the job cancelled when it commits and rolls back, so the
// job stops at its checkpoint. Audited as license.import.cancelled.
func (s *Service) CancelImport(ctx context.Context, actor *authz.Actor, id string) (UploadedImport, error) {
	if _, err := s.GetUploadedImport(ctx, actor, id); err != nil {
		return UploadedImport{}, err
	}
	if _, err := s.FinishImport(ctx, actor, strings.TrimSpace(id), ImportCancelled); err != nil {
		return UploadedImport{}, err
	}
	return s.GetUploadedImport(ctx, actor, id)
}

// ResumeImport queues a cancelled or failed uploaded job again, its
// lease cleared: a runner claims it and goes on after its checkpoint.
// Audited as license.import.resume.
func (s *Service) ResumeImport(ctx context.Context, actor *authz.Actor, id string) (UploadedImport, error) {
	if _, err := issuerOf(actor); err != nil {
		return UploadedImport{}, err
	}
	var out UploadedImport
	err := s.uploadTx(ctx, func(st UploadTx) error {
		cur, err := s.ownUpload(ctx, st, actor, id)
		if err != nil {
			return err
		}
		j := cur.Job
		if j.State != ImportCancelled && j.State != ImportFailed {
			return fieldErr(apperr.Conflict, "state", "import-stopped", fmt.Sprintf("import %s is %s: only a cancelled or failed import resumes", j.ID, j.State))
		}
		next := withState(j, ImportRunning)
		next.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := st.UpdateImportJob(ctx, next, j.State, j.Checkpoint); err != nil {
			return err
		}
		u := cur.Upload
		u.LeaseOwner, u.LeaseUntil = "", time.Time{}
		if err := st.UpdateImportUpload(ctx, u, cur.Upload.LeaseOwner); err != nil {
			return err
		}
		out = UploadedImport{Job: next, Upload: u}
		return s.recordImport(ctx, st, next, actor.AccountID, "resume", map[string]string{"file_digest": j.FileDigest,
			"checkpoint": strconv.FormatInt(j.Checkpoint, 10)})
	})
	return out, err
}

// RunnableImports returns up to limit uploaded jobs owner may claim now.
func (s *Service) RunnableImports(ctx context.Context, owner string, limit int) ([]string, error) {
	var out []string
	err := s.uploadTx(ctx, func(st UploadTx) error {
		var err error
		out, err = st.RunnableImports(ctx, owner, s.now().UTC(), limit)
		return err
	})
	return out, err
}

// ClaimImport takes the lease of uploaded job id for owner, in one
// transaction that re-reads it: it must be running and not leased to
// another runner whose lease is in force (Conflict, field id, rule
// leased). The run's start is noted for its rate.
func (s *Service) ClaimImport(ctx context.Context, id, owner string) (UploadedImport, error) {
	var out UploadedImport
	err := s.uploadTx(ctx, func(st UploadTx) error {
		j, err := st.GetImportJob(ctx, id)
		if err != nil {
			return err
		}
		u, err := st.GetImportUpload(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		switch {
		case j.State != ImportRunning:
			return fieldErr(apperr.Conflict, "id", "state", fmt.Sprintf("import %s is %s", j.ID, j.State))
		case u.LeaseOwner != "" && u.LeaseOwner != owner && u.LeaseUntil.After(now):
			return fieldErr(apperr.Conflict, "id", "leased", fmt.Sprintf("import %s is run by %s until %s", j.ID, u.LeaseOwner,
				u.LeaseUntil.Format(time.RFC3339)))
		}
		prev := u.LeaseOwner
		u.LeaseOwner, u.LeaseUntil, u.RunStarted, u.RunFrom = owner, now.Add(ImportLease), now.Truncate(time.Microsecond), j.Checkpoint
		out = UploadedImport{Job: j, Upload: u}
		return st.UpdateImportUpload(ctx, u, prev)
	})
	return out, err
}

// RenewImportLease extends owner's lease of job id; Conflict when another
// runner holds it now.
func (s *Service) RenewImportLease(ctx context.Context, id, owner string) error {
	return s.uploadTx(ctx, func(st UploadTx) error {
		u, err := st.GetImportUpload(ctx, id)
		if err != nil {
			return err
		}
		u.LeaseUntil = s.now().UTC().Add(ImportLease)
		return st.UpdateImportUpload(ctx, u, owner)
	})
}

// ReleaseImport gives up owner's lease of job id, best effort: a lease
// not released runs out.
func (s *Service) ReleaseImport(ctx context.Context, id, owner string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = s.uploadTx(ctx, func(st UploadTx) error {
		u, err := st.GetImportUpload(ctx, id)
		if err != nil || u.LeaseOwner != owner {
			return err
		}
		u.LeaseOwner, u.LeaseUntil = "", time.Time{}
		return st.UpdateImportUpload(ctx, u, owner)
	})
}

// ImportChunk returns chunk seq of the file of uploaded job id, decrypted.
func (s *Service) ImportChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	var out []byte
	err := s.uploadTx(ctx, func(st UploadTx) error {
		var err error
		out, err = st.ImportChunk(ctx, id, seq)
		return err
	})
	return out, err
}

// AddImportProblems keeps problems of job id's report, once each.
func (s *Service) AddImportProblems(ctx context.Context, id string, ps []ImportProblem) error {
	if len(ps) == 0 {
		return nil
	}
	return s.uploadTx(ctx, func(st UploadTx) error { return st.AddImportProblems(ctx, id, ps) })
}
