package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestImportChunksAtRest stores the chunks of an uploaded file: the raw
// column is not the file, which reads back equal; a chunk moved to
// another place does not decrypt; a data key rotation re-encrypts it.
func TestImportChunksAtRest(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		j := license.ImportJob{ID: "imp_1", Issuer: "11350100MB0000027N", TypeCode: "PC0001", TypeVersion: 1, FileName: "a.csv",
			FileDigest: "00", State: license.ImportRunning, CreatedBy: "acc", CreatedAt: now, UpdatedAt: now}
		chunks := [][]byte{[]byte("number,holder_id\nA1,11010519491231002X\n"), []byte("A2,11010519491231002X\n")}
		storetest.Write(t, db, func(tx *store.Tx) error {
			if err := tx.InsertImportJob(ctx, j); err != nil {
				return err
			}
			for i, c := range chunks {
				if err := tx.PutImportChunk(ctx, j.ID, i, c); err != nil {
					return err
				}
			}
			return tx.InsertImportUpload(ctx, license.ImportUpload{JobID: j.ID, Format: "csv", Encoding: "utf-8", Sign: "batch", BatchSize: 10,
				Size: int64(len(chunks[0]) + len(chunks[1])), Chunks: 2, Rows: 2})
		})
		raw, err := store.RawColumn(ctx, db, "import_chunks", "data", "ref", "imp_1/000000")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("11010519491231002X")) || bytes.Contains(raw, []byte("number")) {
			t.Fatalf("chunk stored in clear: %q", raw)
		}
		for i, c := range chunks {
			if got, err := db.ImportChunk(ctx, j.ID, i); err != nil || !bytes.Equal(got, c) {
				t.Fatalf("chunk %d read back %q, %v", i, got, err)
			}
		}
		raw2, err := store.RawColumn(ctx, db, "import_chunks", "data", "ref", "imp_1/000001")
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRawColumn(ctx, db, "import_chunks", "data", raw, "ref", "imp_1/000001"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportChunk(ctx, j.ID, 1); err == nil {
			t.Fatal("a chunk moved to another place decrypted")
		}
		if err := store.SetRawColumn(ctx, db, "import_chunks", "data", raw2, "ref", "imp_1/000001"); err != nil {
			t.Fatal(err)
		}
		res, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.FieldKey}})
		if err != nil || len(res) != 1 || !res[0].Done {
			t.Fatalf("rotate: %+v, %v", res, err)
		}
		after, err := store.RawColumn(ctx, db, "import_chunks", "data", "ref", "imp_1/000000")
		if err != nil || bytes.Equal(after, raw) {
			t.Fatalf("rotation left the chunk under the old key (%v)", err)
		}
		if got, err := db.ImportChunk(ctx, j.ID, 0); err != nil || !bytes.Equal(got, chunks[0]) {
			t.Fatalf("after rotation: %q, %v", got, err)
		}
	})
}
