package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

var _ license.UploadTx = (*Tx)(nil)

// The encrypted column of uploaded import files (see encryptedColumns).
const (
	importChunksTable = "import_chunks"
	importChunkCol    = "data"
)

// importChunkRef is the row key an encrypted chunk is bound to; the seq
// is zero-padded so that refs sort as the file does.
func importChunkRef(job string, seq int) string { return fmt.Sprintf("%s/%06d", job, seq) }

const uploadColumns = `job_id, format, encoding, sign, batch_size, size, chunks, rows, lease_owner, lease_until, run_started, run_from`

func scanUpload(s scanner, extra ...any) (license.ImportUpload, error) {
	var u license.ImportUpload
	var until, started int64
	err := s.Scan(append([]any{&u.JobID, &u.Format, &u.Encoding, &u.Sign, &u.BatchSize, &u.Size, &u.Chunks, &u.Rows, &u.LeaseOwner, &until,
		&started, &u.RunFrom}, extra...)...)
	if err != nil {
		return license.ImportUpload{}, mapErr(err)
	}
	if until != 0 {
		u.LeaseUntil = fromMicros(until)
	}
	if started != 0 {
		u.RunStarted = fromMicros(started)
	}
	return u, nil
}

// InsertImportUpload implements license.UploadTx.
func (tx *Tx) InsertImportUpload(ctx context.Context, u license.ImportUpload) error {
	_, err := tx.exec(ctx, `INSERT INTO import_uploads (`+uploadColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.JobID, u.Format,
		u.Encoding, u.Sign, u.BatchSize, u.Size, u.Chunks, u.Rows, u.LeaseOwner, microsOrZero(u.LeaseUntil), microsOrZero(u.RunStarted), u.RunFrom)
	if err != nil {
		return fmt.Errorf("insert import upload %s: %w", u.JobID, err)
	}
	return nil
}

// GetImportUpload implements license.UploadTx.
func (h handle) GetImportUpload(ctx context.Context, job string) (license.ImportUpload, error) {
	u, err := scanUpload(h.queryRow(ctx, `SELECT `+uploadColumns+` FROM import_uploads WHERE job_id = ?`, job))
	if err != nil {
		return license.ImportUpload{}, fmt.Errorf("upload of import %s: %w", job, err)
	}
	return u, nil
}

// UpdateImportUpload implements license.UploadTx.
func (tx *Tx) UpdateImportUpload(ctx context.Context, u license.ImportUpload, owner string) error {
	res, err := tx.exec(ctx, `UPDATE import_uploads SET lease_owner = ?, lease_until = ?, run_started = ?, run_from = ? WHERE job_id = ?
		AND lease_owner = ?`, u.LeaseOwner, microsOrZero(u.LeaseUntil), microsOrZero(u.RunStarted), u.RunFrom, u.JobID, owner)
	if err != nil {
		return fmt.Errorf("update import upload %s: %w", u.JobID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "import %s is held by another runner", u.JobID)
	}
	return nil
}

// PutImportChunk implements license.UploadTx: the chunk encrypted under
// the field data key, bound to its ref.
func (tx *Tx) PutImportChunk(ctx context.Context, job string, seq int, data []byte) error {
	ref := importChunkRef(job, seq)
	sealed, err := tx.encrypt(ctx, FieldKey, importChunksTable, ref, importChunkCol, string(data))
	if err != nil {
		return fmt.Errorf("import chunk %s: %w", ref, err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO import_chunks (ref, job_id, seq, data) VALUES (?, ?, ?, ?)`, ref, job, seq, sealed); err != nil {
		return fmt.Errorf("insert import chunk %s: %w", ref, err)
	}
	return nil
}

// ImportChunk implements license.UploadTx.
func (h handle) ImportChunk(ctx context.Context, job string, seq int) ([]byte, error) {
	ref := importChunkRef(job, seq)
	var sealed []byte
	if err := mapErr(h.queryRow(ctx, `SELECT data FROM import_chunks WHERE ref = ?`, ref).Scan(&sealed)); err != nil {
		return nil, fmt.Errorf("import chunk %s: %w", ref, err)
	}
	plain, err := h.decrypt(ctx, FieldKey, importChunksTable, ref, importChunkCol, sealed)
	if err != nil {
		return nil, err
	}
	return []byte(plain), nil
}

// ListImports implements license.UploadTx.
func (h handle) ListImports(ctx context.Context, issuer, after string, limit int) ([]license.UploadedImport, error) {
	// The columns of the two tables have distinct names.
	rows, err := h.query(ctx, `SELECT `+uploadColumns+`, `+importColumns+` FROM import_jobs JOIN import_uploads ON job_id = id
		WHERE issuer = ? AND id > ? ORDER BY id LIMIT ?`, issuer, after, limit)
	out, err := collect(rows, err, scanUploaded)
	if err != nil {
		return nil, fmt.Errorf("import jobs of %s: %w", issuer, err)
	}
	return out, nil
}

// scanUploaded reads the columns of an upload and then of its job.
func scanUploaded(s scanner) (license.UploadedImport, error) {
	var up license.ImportUpload
	j, err := scanImport(scannerFunc(func(dest ...any) error {
		var err error
		up, err = scanUpload(s, dest...)
		return err
	}))
	if err != nil {
		return license.UploadedImport{}, err
	}
	return license.UploadedImport{Job: j, Upload: up}, nil
}

// scannerFunc is a scanner of a function.
type scannerFunc func(dest ...any) error

func (f scannerFunc) Scan(dest ...any) error { return f(dest...) }

// RunnableImports implements license.UploadTx.
func (h handle) RunnableImports(ctx context.Context, owner string, now time.Time, limit int) ([]string, error) {
	rows, err := h.query(ctx, `SELECT j.id FROM import_jobs j JOIN import_uploads u ON u.job_id = j.id WHERE j.state = 'running'
		AND (u.lease_owner = '' OR u.lease_owner = ? OR u.lease_until < ?) ORDER BY j.id LIMIT ?`, owner, micros(now), limit)
	out, err := collect(rows, err, func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("runnable import jobs: %w", err)
	}
	return out, nil
}

// AddImportProblems implements license.UploadTx: one statement for the
// problems, a problem kept before left as it is.
func (h handle) AddImportProblems(ctx context.Context, job string, ps []license.ImportProblem) error {
	// 8 values a problem, well under the bound on parameters of both
	// databases at a few hundred problems a statement.
	const per = 500
	for len(ps) > 0 {
		n := min(len(ps), per)
		var q strings.Builder
		q.WriteString(`INSERT INTO import_problems (job_id, row_num, pos, col, field, rule, value, detail) VALUES `)
		args := make([]any, 0, 8*n)
		for i, p := range ps[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, job, p.Row, p.Pos, p.Column, p.Field, p.Rule, p.Value, p.Detail)
		}
		q.WriteString(` ON CONFLICT (job_id, row_num, pos) DO NOTHING`)
		if _, err := h.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("keep %d problems of import %s: %w", n, job, err)
		}
		ps = ps[n:]
	}
	return nil
}

// ImportProblems implements license.UploadTx.
func (h handle) ImportProblems(ctx context.Context, job string, row int64, pos, limit int) ([]license.ImportProblem, error) {
	rows, err := h.query(ctx, `SELECT row_num, pos, col, field, rule, value, detail FROM import_problems WHERE job_id = ?
		AND (row_num > ? OR (row_num = ? AND pos > ?)) ORDER BY row_num, pos LIMIT ?`, job, row, row, pos, limit)
	out, err := collect(rows, err, func(s scanner) (license.ImportProblem, error) {
		var p license.ImportProblem
		return p, s.Scan(&p.Row, &p.Pos, &p.Column, &p.Field, &p.Rule, &p.Value, &p.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("problems of import %s: %w", job, err)
	}
	return out, nil
}
