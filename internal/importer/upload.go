package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// Store is what uploading and running import jobs needs:
// license.Service.
type Store interface {
	Licenses
	ImportType(ctx context.Context, actor *authz.Actor, code string, version int) (catalog.Entry, catalog.Version, error)
	QueueImport(ctx context.Context, actor *authz.Actor, n license.NewImport, u license.ImportUpload,
		chunks func() (func() ([]byte, error), error)) (license.UploadedImport, error)
	RunnableImports(ctx context.Context, owner string, limit int) ([]string, error)
	ClaimImport(ctx context.Context, id, owner string) (license.UploadedImport, error)
	RenewImportLease(ctx context.Context, id, owner string) error
	ReleaseImport(ctx context.Context, id, owner string)
	ImportChunk(ctx context.Context, id string, seq int) ([]byte, error)
	AddImportProblems(ctx context.Context, id string, ps []license.ImportProblem) error
}

// DefaultMaxUpload bounds an uploaded file when the configuration names
// no bound.
const DefaultMaxUpload = 256 << 20

// ErrTooLarge is wrapped by the refusal of an upload over the bound.
var ErrTooLarge = errors.New("the file is larger than the upload limit")

// Upload is what an upload names beside its file.
type Upload struct {
	Type        string
	TypeVersion int
	// Mapping is the mapping's JSON text, "" for none.
	Mapping  string
	FileName string
	Format   Format
	Encoding Encoding
	// Sign is batch or each; BatchSize the rows of a batch.
	Sign      string
	BatchSize int
	// Increment marks a day's increment rather than stock (the
	// aggregation deadline, license.AggregationDue).
	Increment bool
}

// Uploads takes files uploaded over the API and files them as import
// jobs run by the serve processes (Runner).
type Uploads struct {
	Store Store
	// MaxSize bounds an upload in bytes (DefaultMaxUpload when 0).
	MaxSize int64
	// TempDir holds the sealed spool of an upload being checked ("" for
	// the system's).
	TempDir string
}

// Upload reads the file of body, checks it and queues its job. Nothing
// is stored unless the whole file was read within the bound, is of its
// format, and its header fits the mapping (the refusal names the field,
// as import check's does); the file is then stored with the job in one
// transaction (license.Service.QueueImport).
func (u Uploads) Upload(ctx context.Context, actor *authz.Actor, up Upload, body io.Reader) (license.UploadedImport, error) {
	var fs apperr.Fields
	if up.Sign != "batch" && up.Sign != "each" {
		fs.Add("sign", "enum", "batch or each")
	}
	if up.BatchSize < 1 || up.BatchSize > license.MaxBatch {
		fs.Add("batch", "range", fmt.Sprintf("1 to %d rows", license.MaxBatch))
	}
	fs.Text("file_name", up.FileName, 255, true)
	var m Mapping
	if strings.TrimSpace(up.Mapping) != "" {
		var err error
		if m, err = ParseMapping(strings.NewReader(up.Mapping)); err != nil {
			fs.Add("mapping", "mapping", err.Error())
		}
	}
	if err := fs.Err(); err != nil {
		return license.UploadedImport{}, err
	}
	e, v, err := u.Store.ImportType(ctx, actor, strings.TrimSpace(up.Type), up.TypeVersion)
	if err != nil {
		return license.UploadedImport{}, err
	}
	max := u.Limit()
	sp, err := newSpool(u.TempDir, license.ImportChunkSize)
	if err != nil {
		return license.UploadedImport{}, err
	}
	defer func() { _ = sp.Close() }()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(sp, h), io.LimitReader(body, max+1)); err != nil {
		return license.UploadedImport{}, err
	}
	if sp.size > max {
		return license.UploadedImport{}, fmt.Errorf("%w: %d bytes at most", ErrTooLarge, max)
	}
	if err := sp.finish(); err != nil {
		return license.UploadedImport{}, err
	}
	rows, enc, err := u.check(sp, e, v, m, Options{Format: up.Format, Encoding: up.Encoding})
	if err != nil {
		return license.UploadedImport{}, err
	}
	return u.Store.QueueImport(ctx, actor, license.NewImport{Type: e.Code, TypeVersion: v.Number, FileName: up.FileName,
		FileDigest: hex.EncodeToString(h.Sum(nil)), Mapping: up.Mapping, Increment: up.Increment}, license.ImportUpload{Format: string(up.Format), Encoding: string(enc),
		Sign: up.Sign, BatchSize: up.BatchSize, Size: sp.size, Rows: rows}, sp.next)
}

// check reads the spooled file as the job will: the header must fit the
// mapping, the file must be of its format to its end; it returns the
// rows and the encoding taken. A file refused as a whole is Invalid,
// field file.
func (u Uploads) check(sp *spool, e catalog.Entry, v catalog.Version, m Mapping, opt Options) (int64, Encoding, error) {
	next, err := sp.next()
	if err != nil {
		return 0, "", err
	}
	r, err := Open(&chunkReader{next: next}, opt)
	if err != nil {
		return 0, "", fileRefusal(err)
	}
	defer func() { _ = r.Close() }()
	if err := NewValidator(e, v.Template, m, time.Now).Bind(r.Header()); err != nil {
		return 0, "", err
	}
	var rows int64
	for {
		_, err := r.Next()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return rows, r.Encoding(), nil
		case err != nil && !errors.As(err, &re):
			return 0, "", fileRefusal(err)
		}
		rows++
	}
}

// fileRefusal is the refusal of a file that cannot be read as a whole.
func fileRefusal(err error) error {
	if _, ok := errors.AsType[*apperr.Error](err); ok {
		return err
	}
	return &apperr.Error{Kind: apperr.Invalid, Detail: err.Error(), Err: err,
		Fields: []apperr.FieldError{{Field: "file", Rule: "file", Detail: err.Error()}}}
}

// Limit is the largest file Upload takes, in bytes.
func (u Uploads) Limit() int64 {
	if u.MaxSize <= 0 {
		return DefaultMaxUpload
	}
	return u.MaxSize
}
