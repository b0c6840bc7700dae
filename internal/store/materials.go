package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

// The encrypted column of issuance materials (see encryptedColumns).
const (
	licenseMaterialsTable = "license_materials"
	licenseMaterialCol    = "content"
)

// licenseMaterialRef is the row key an encrypted material is bound to.
func licenseMaterialRef(id string, seq int) string { return id + "/" + strconv.Itoa(seq) }

// InsertMaterial implements license.Tx. The seq is the license's material
// counter advanced in this transaction: a second transaction adding to the
// same license waits on the row (PostgreSQL) or the database (SQLite) and,
// on PostgreSQL, is retried after the first commits, so seqs are distinct
// and contiguous.
func (tx *Tx) InsertMaterial(ctx context.Context, m license.MaterialInfo, content []byte) (license.MaterialInfo, error) {
	err := mapErr(tx.queryRow(ctx, `UPDATE licenses SET materials = materials + 1 WHERE id = ? RETURNING materials`, m.LicenseID).Scan(&m.Seq))
	if err != nil {
		return license.MaterialInfo{}, fmt.Errorf("material of license %s: %w", m.LicenseID, err)
	}
	ref := licenseMaterialRef(m.LicenseID, m.Seq)
	sealed, err := tx.encrypt(ctx, FieldKey, licenseMaterialsTable, ref, licenseMaterialCol, string(content))
	if err != nil {
		return license.MaterialInfo{}, fmt.Errorf("insert material %s: %w", ref, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO license_materials (ref, license_id, seq, name, media_type, size, sm3, content, added_by, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ref, m.LicenseID, m.Seq, m.Name, m.MediaType, m.Size, m.SM3, sealed, m.AddedBy, micros(m.AddedAt))
	if err != nil {
		return license.MaterialInfo{}, fmt.Errorf("insert material %s: %w", ref, err)
	}
	return m, nil
}

const materialColumns = `license_id, seq, name, media_type, size, sm3, added_by, added_at`

func scanMaterial(s scanner, extra ...any) (license.MaterialInfo, error) {
	var m license.MaterialInfo
	var at int64
	if err := s.Scan(append([]any{&m.LicenseID, &m.Seq, &m.Name, &m.MediaType, &m.Size, &m.SM3, &m.AddedBy, &at}, extra...)...); err != nil {
		return license.MaterialInfo{}, mapErr(err)
	}
	m.AddedAt = fromMicros(at)
	return m, nil
}

// ListMaterials implements license.Reader.
func (h handle) ListMaterials(ctx context.Context, licenseID string) ([]license.MaterialInfo, error) {
	rows, err := h.query(ctx, `SELECT `+materialColumns+` FROM license_materials WHERE license_id = ? ORDER BY seq`, licenseID)
	ms, err := collect(rows, err, func(s scanner) (license.MaterialInfo, error) { return scanMaterial(s) })
	if err != nil {
		return nil, fmt.Errorf("materials of license %s: %w", licenseID, err)
	}
	return ms, nil
}

// Material implements license.Reader.
func (h handle) Material(ctx context.Context, licenseID string, seq int) (license.MaterialInfo, []byte, error) {
	ref := licenseMaterialRef(licenseID, seq)
	var sealed []byte
	m, err := scanMaterial(h.queryRow(ctx, `SELECT `+materialColumns+`, content FROM license_materials WHERE ref = ?`, ref), &sealed)
	if err != nil {
		return license.MaterialInfo{}, nil, fmt.Errorf("material %s: %w", ref, err)
	}
	plain, err := h.decrypt(ctx, FieldKey, licenseMaterialsTable, ref, licenseMaterialCol, sealed)
	if err != nil {
		return license.MaterialInfo{}, nil, err
	}
	return m, []byte(plain), nil
}
