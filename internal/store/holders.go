package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

var (
	_ holder.Store = (*DB)(nil)
	_ holder.Tx    = (*Tx)(nil)
)

// The encrypted column of holders (see encryptedColumns).
const (
	holdersTable     = "holders"
	holderIdentifier = "identifier"
)

// blindIndex is the blind index named purpose of value: equal values index
// equally, and the index reveals nothing else without the master key.
func (h handle) blindIndex(purpose, value string) (string, error) {
	if h.keys == nil {
		return "", apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	k, err := h.keys.blindIndexKey(purpose)
	if err != nil {
		return "", err
	}
	return envelope.BlindIndex(k, value), nil
}

// DeriveHolderSecret implements holder.Store.
func (h handle) DeriveHolderSecret(purpose, value string) (string, error) {
	return h.blindIndex(purpose, value)
}

const holderColumns = `id, kind, identifier, identifier_index, name, created_at`

func (h handle) scanHolder(ctx context.Context, row scanner) (holder.Holder, error) {
	var out holder.Holder
	var kind string
	var ident []byte
	var created int64
	if err := row.Scan(&out.ID, &kind, &ident, &out.Index, &out.Name, &created); err != nil {
		return holder.Holder{}, mapErr(err)
	}
	plain, err := h.decrypt(ctx, FieldKey, holdersTable, out.ID, holderIdentifier, ident)
	if err != nil {
		return holder.Holder{}, err
	}
	out.Kind, out.Identifier, out.CreatedAt = catalog.HolderKind(kind), plain, fromMicros(created)
	return out, nil
}

// GetHolder implements holder.Reader.
func (h handle) GetHolder(ctx context.Context, id string) (holder.Holder, error) {
	out, err := h.scanHolder(ctx, h.queryRow(ctx, `SELECT `+holderColumns+` FROM holders WHERE id = ?`, id))
	if err != nil {
		return holder.Holder{}, fmt.Errorf("holder %s: %w", id, err)
	}
	return out, nil
}

// HolderByIdentifier implements holder.Reader.
func (h handle) HolderByIdentifier(ctx context.Context, kind catalog.HolderKind, identifier string) (holder.Holder, error) {
	index, err := h.holderIndex(identifier)
	if err != nil {
		return holder.Holder{}, err
	}
	out, err := h.scanHolder(ctx, h.queryRow(ctx, `SELECT `+holderColumns+` FROM holders WHERE kind = ? AND identifier_index = ?`,
		string(kind), index))
	if err != nil {
		return holder.Holder{}, fmt.Errorf("holder by identifier: %w", err)
	}
	return out, nil
}

// InsertHolder implements holder.Tx: the identifier encrypted, and its
// blind index the one licenses keep of their holder.
func (tx *Tx) InsertHolder(ctx context.Context, hd holder.Holder) error {
	ident, err := tx.encrypt(ctx, FieldKey, holdersTable, hd.ID, holderIdentifier, hd.Identifier)
	if err != nil {
		return fmt.Errorf("insert holder %s: %w", hd.ID, err)
	}
	index, err := tx.holderIndex(hd.Identifier)
	if err != nil {
		return fmt.Errorf("insert holder %s: %w", hd.ID, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO holders (`+holderColumns+`) VALUES (?, ?, ?, ?, ?, ?)`, hd.ID, string(hd.Kind), ident, index, hd.Name,
		micros(hd.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert holder %s: %w", hd.ID, err)
	}
	return nil
}

// subjectIndex is the blind index of an identity's subject.
func (h handle) subjectIndex(id holder.Identity) (string, error) {
	return h.blindIndex("holder-subject", id.Issuer+"\x00"+id.Subject)
}

// HolderOfIdentity implements holder.Reader.
func (h handle) HolderOfIdentity(ctx context.Context, id holder.Identity, kind catalog.HolderKind) (string, error) {
	sub, err := h.subjectIndex(id)
	if err != nil {
		return "", err
	}
	var holderID string
	err = mapErr(h.queryRow(ctx, `SELECT holder_id FROM holder_identities WHERE issuer = ? AND subject_index = ? AND kind = ?`,
		id.Issuer, sub, string(kind)).Scan(&holderID))
	if err != nil {
		return "", fmt.Errorf("holder of identity: %w", err)
	}
	return holderID, nil
}

// LinkHolderIdentity implements holder.Tx.
func (tx *Tx) LinkHolderIdentity(ctx context.Context, id holder.Identity, kind catalog.HolderKind, holderID string, at time.Time) error {
	sub, err := tx.subjectIndex(id)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO holder_identities (issuer, subject_index, kind, holder_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		id.Issuer, sub, string(kind), holderID, micros(at))
	if err != nil {
		return fmt.Errorf("link identity to holder %s: %w", holderID, err)
	}
	return nil
}

const holderSessionColumns = `id, holder_id, hash, prefix, method, representative, created_at, last_seen, expires_at, revoked_at`

func scanHolderSession(s scanner) (holder.Session, error) {
	var out holder.Session
	var created, seen, expires int64
	var revoked sql.NullInt64
	if err := s.Scan(&out.ID, &out.HolderID, &out.Hash, &out.Prefix, &out.Method, &out.Representative, &created, &seen, &expires, &revoked); err != nil {
		return holder.Session{}, mapErr(err)
	}
	out.CreatedAt, out.LastSeen, out.ExpiresAt, out.RevokedAt = fromMicros(created), fromMicros(seen), fromMicros(expires), timePtr(revoked)
	return out, nil
}

// GetHolderSession implements holder.Reader.
func (h handle) GetHolderSession(ctx context.Context, id string) (holder.Session, error) {
	s, err := scanHolderSession(h.queryRow(ctx, `SELECT `+holderSessionColumns+` FROM holder_sessions WHERE id = ?`, id))
	if err != nil {
		return holder.Session{}, fmt.Errorf("holder session %s: %w", id, err)
	}
	return s, nil
}

// HolderSessionByHash implements holder.Store.
func (h handle) HolderSessionByHash(ctx context.Context, hash []byte) (holder.Session, error) {
	s, err := scanHolderSession(h.queryRow(ctx, `SELECT `+holderSessionColumns+` FROM holder_sessions WHERE hash = ?`, hash))
	if err != nil {
		return holder.Session{}, fmt.Errorf("holder session: %w", err)
	}
	return s, nil
}

// InsertHolderSession implements holder.Tx.
func (tx *Tx) InsertHolderSession(ctx context.Context, s holder.Session) error {
	_, err := tx.exec(ctx, `INSERT INTO holder_sessions (`+holderSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		s.ID, s.HolderID, s.Hash, s.Prefix, s.Method, s.Representative, micros(s.CreatedAt), micros(s.LastSeen), micros(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert holder session %s: %w", s.ID, err)
	}
	return nil
}

// RevokeHolderSession implements holder.Tx.
func (tx *Tx) RevokeHolderSession(ctx context.Context, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE holder_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
	if err != nil {
		return fmt.Errorf("revoke holder session %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "holder session %s changed meanwhile", id)
	}
	return nil
}

// TouchHolderSession implements holder.Store: one conditional UPDATE of
// the session's own row, which only moves forward.
func (d *DB) TouchHolderSession(ctx context.Context, id string, at time.Time) error {
	_, err := d.exec(ctx, `UPDATE holder_sessions SET last_seen = ? WHERE id = ? AND last_seen < ?`, micros(at), id, micros(at))
	if err != nil {
		return fmt.Errorf("touch holder session %s: %w", id, err)
	}
	return nil
}

// BeginHolderLogin implements holder.Store. Logins never finished are
// deleted here, a few at a time, once expired.
func (d *DB) BeginHolderLogin(ctx context.Context, stateHash []byte, now, expires time.Time) error {
	if _, err := d.exec(ctx, `INSERT INTO holder_logins (state_hash, expires_at) VALUES (?, ?)`, stateHash, micros(expires)); err != nil {
		return fmt.Errorf("begin holder login: %w", err)
	}
	_, err := d.exec(ctx, `DELETE FROM holder_logins WHERE state_hash IN (SELECT state_hash FROM holder_logins WHERE expires_at < ? LIMIT 10)`,
		micros(now))
	if err != nil {
		return fmt.Errorf("delete expired holder logins: %w", err)
	}
	return nil
}

// TakeHolderLogin implements holder.Store: the one DELETE that finds the
// row succeeds, so a state is used once however many callbacks race.
func (d *DB) TakeHolderLogin(ctx context.Context, stateHash []byte, now time.Time) error {
	var expires int64
	err := mapErr(d.queryRow(ctx, `DELETE FROM holder_logins WHERE state_hash = ? RETURNING expires_at`, stateHash).Scan(&expires))
	if err != nil {
		return fmt.Errorf("holder login: %w", err)
	}
	if !now.Before(fromMicros(expires)) {
		return apperr.New(apperr.NotFound, "the login expired")
	}
	return nil
}

// HolderTx runs fn in one transaction; it is the holder.TxFunc of this
// store.
func (d *DB) HolderTx(ctx context.Context, fn func(holder.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// HolderNotices implements license.Reader: a view over the issuances and
// the transitions of the licenses of the holder's kind and index (index
// licenses_holder finds them; a holder has few).
func (h handle) HolderNotices(ctx context.Context, f license.NoticeFilter) ([]license.Notice, error) {
	args := []any{string(f.HolderKind), f.HolderIndex, string(f.HolderKind), f.HolderIndex}
	where := ``
	if f.AfterID != "" {
		at := micros(f.AfterAt)
		where = `WHERE at < ? OR (at = ? AND (license_id < ? OR (license_id = ? AND seq < ?)))`
		args = append(args, at, at, f.AfterID, f.AfterID, f.AfterSeq)
	}
	rows, err := h.query(ctx, `SELECT license_id, issuer, seq, operation, from_state, to_state, version, at FROM (
		SELECT l.id AS license_id, l.issuer AS issuer, 0 AS seq, 'issue' AS operation, '' AS from_state, 'active' AS to_state,
			1 AS version, l.issued_at AS at
		FROM licenses l WHERE l.holder_kind = ? AND l.holder_index = ?
		UNION ALL
		SELECT t.license_id, l.issuer, t.seq, t.operation, t.from_state, t.to_state, t.version, t.at
		FROM license_transitions t JOIN licenses l ON l.id = t.license_id WHERE l.holder_kind = ? AND l.holder_index = ?
	) notices `+where+` ORDER BY at DESC, license_id DESC, seq DESC LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, func(s scanner) (license.Notice, error) {
		var n license.Notice
		var from, to string
		var at int64
		if err := s.Scan(&n.LicenseID, &n.Issuer, &n.Seq, &n.Operation, &from, &to, &n.Version, &at); err != nil {
			return license.Notice{}, err
		}
		n.From, n.To, n.At = license.State(from), license.State(to), fromMicros(at)
		return n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("holder notices: %w", err)
	}
	return out, nil
}
