package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

var _ license.ImportTx = (*Tx)(nil)

const importColumns = `id, issuer, type_code, type_version, file_name, file_digest, mapping, state, checkpoint, imported, versioned,
	unchanged, rejected, batches, created_by, created_at, updated_at, increment`

func scanImport(s scanner) (license.ImportJob, error) {
	var j license.ImportJob
	var state string
	var created, updated, increment int64
	err := s.Scan(&j.ID, &j.Issuer, &j.TypeCode, &j.TypeVersion, &j.FileName, &j.FileDigest, &j.Mapping, &state, &j.Checkpoint,
		&j.Counts.Imported, &j.Counts.Versioned, &j.Counts.Unchanged, &j.Counts.Rejected, &j.Counts.Batches, &j.CreatedBy, &created, &updated, &increment)
	if err != nil {
		return license.ImportJob{}, mapErr(err)
	}
	j.State, j.CreatedAt, j.UpdatedAt = license.ImportState(state), fromMicros(created), fromMicros(updated)
	j.Increment = increment == 1
	return j, nil
}

// GetImportJob implements license.ImportReader.
func (h handle) GetImportJob(ctx context.Context, id string) (license.ImportJob, error) {
	j, err := scanImport(h.queryRow(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE id = ?`, id))
	if err != nil {
		return license.ImportJob{}, fmt.Errorf("import job %s: %w", id, err)
	}
	return j, nil
}

// UnfinishedImport implements license.ImportReader; the index
// import_jobs_file finds the job.
func (h handle) UnfinishedImport(ctx context.Context, issuer, typeCode, digest, mapping string) (license.ImportJob, error) {
	j, err := scanImport(h.queryRow(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE issuer = ? AND file_digest = ? AND state <> 'done'
		AND type_code = ? AND mapping = ? ORDER BY created_at DESC, id DESC LIMIT 1`, issuer, digest, typeCode, mapping))
	if err != nil {
		return license.ImportJob{}, fmt.Errorf("unfinished import of %s: %w", digest, err)
	}
	return j, nil
}

// ImportedLicenses implements license.ImportReader: one query through the
// unique index (type_code, number) for a whole batch.
func (h handle) ImportedLicenses(ctx context.Context, typeCode string, numbers []string) (map[string]license.Imported, error) {
	out := make(map[string]license.Imported, len(numbers))
	if len(numbers) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(numbers)+1)
	args = append(args, typeCode)
	for _, n := range numbers {
		args = append(args, n)
	}
	rows, err := h.query(ctx, `SELECT l.number, l.id, l.issuer, COALESCE(i.digest, '') FROM licenses l
		LEFT JOIN license_imports i ON i.license_id = l.id WHERE l.type_code = ? AND l.number IN (`+placeholders(len(numbers))+`)`, args...)
	found, err := collect(rows, err, func(s scanner) ([2]any, error) {
		var n string
		var x license.Imported
		err := s.Scan(&n, &x.ID, &x.Issuer, &x.Digest)
		return [2]any{n, x}, err
	})
	if err != nil {
		return nil, fmt.Errorf("licenses of type %s by number: %w", typeCode, err)
	}
	for _, f := range found {
		out[f[0].(string)] = f[1].(license.Imported)
	}
	return out, nil
}

// InsertImportJob implements license.ImportTx.
func (tx *Tx) InsertImportJob(ctx context.Context, j license.ImportJob) error {
	_, err := tx.exec(ctx, `INSERT INTO import_jobs (`+importColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.Issuer, j.TypeCode, j.TypeVersion, j.FileName, j.FileDigest, j.Mapping, string(j.State), j.Checkpoint, j.Counts.Imported,
		j.Counts.Versioned, j.Counts.Unchanged, j.Counts.Rejected, j.Counts.Batches, j.CreatedBy, micros(j.CreatedAt), micros(j.UpdatedAt),
		boolInt(j.Increment))
	if err != nil {
		return fmt.Errorf("insert import job %s: %w", j.ID, err)
	}
	return nil
}

// UpdateImportJob implements license.ImportTx.
func (tx *Tx) UpdateImportJob(ctx context.Context, j license.ImportJob, state license.ImportState, checkpoint int64) error {
	res, err := tx.exec(ctx, `UPDATE import_jobs SET state = ?, checkpoint = ?, imported = ?, versioned = ?, unchanged = ?, rejected = ?,
		batches = ?, updated_at = ? WHERE id = ? AND state = ? AND checkpoint = ?`, string(j.State), j.Checkpoint, j.Counts.Imported,
		j.Counts.Versioned, j.Counts.Unchanged, j.Counts.Rejected, j.Counts.Batches, micros(j.UpdatedAt), j.ID, string(state), checkpoint)
	if err != nil {
		return fmt.Errorf("update import job %s: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "import job %s changed meanwhile", j.ID)
	}
	return nil
}

// importsPerStatement bounds the rows of one INSERT into license_imports:
// eight parameters a row stay under SQLite's 32,766 and PostgreSQL's
// 65,535 bound parameters.
const importsPerStatement = 4000

// PutLicenseImports implements license.ImportTx: one statement for up to
// importsPerStatement licenses of the batch.
func (tx *Tx) PutLicenseImports(ctx context.Context, job string, ls []license.LicenseImport) error {
	for len(ls) > 0 {
		n := min(len(ls), importsPerStatement)
		if err := tx.putLicenseImports(ctx, job, ls[:n]); err != nil {
			return err
		}
		ls = ls[n:]
	}
	return nil
}

func (tx *Tx) putLicenseImports(ctx context.Context, job string, ls []license.LicenseImport) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO license_imports (license_id, job_id, digest, completed_on, due_on, imported_at, increment, late) VALUES `)
	args := make([]any, 0, 8*len(ls))
	for i, l := range ls {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, l.LicenseID, job, l.Digest, l.CompletedOn.In(license.AggregationZone).Format(time.DateOnly),
			l.Due.In(license.AggregationZone).Format(time.DateOnly), micros(l.ImportedAt), boolInt(l.Increment), boolInt(l.Late))
	}
	q.WriteString(` ON CONFLICT (license_id) DO UPDATE SET job_id = excluded.job_id, digest = excluded.digest,
		completed_on = excluded.completed_on, due_on = excluded.due_on, imported_at = excluded.imported_at, increment = excluded.increment,
		late = excluded.late`)
	if _, err := tx.exec(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("record %d imported licenses: %w", len(ls), err)
	}
	return nil
}

// ImportDigest implements license.Store: the blind index of the row's
// content, so that the digest reveals nothing of a holder's identifier
// (few enough to try them all) without the master key.
func (h handle) ImportDigest(content string) (string, error) {
	return h.blindIndex("license-import", content)
}

// NextLicenseSeqs implements license.Store: n identifier sequences in one
// auto-committed draw, as NextLicenseSeq.
func (d *DB) NextLicenseSeqs(ctx context.Context, typeCode, issuer string, n int) (uint64, error) {
	if n < 1 {
		return 0, nil
	}
	last, err := d.nextSequenceBy(ctx, "id/"+typeCode+"/"+issuer, n)
	if err != nil {
		return 0, err
	}
	return last - uint64(n) + 1, nil // #nosec G115 -- n >= 1
}
