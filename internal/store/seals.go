package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

var (
	_ seal.Store   = (*DB)(nil)
	_ seal.Tx      = (*Tx)(nil)
	_ seal.BoundTx = (*Tx)(nil)
)

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

const appColumns = `id, org, action, seal_id, seal_kind, name, reason, justification, attachments, image, width_mm, height_mm,
	keepers, use_policy, status, applicant, approver, comment, created_at, decided_at, bind_service, bind_types, bind_until`

func scanApplication(s scanner) (seal.Application, error) {
	var a seal.Application
	var sealID sql.NullString
	var action, kind, attachments, keepers, policy, status string
	var created int64
	var decided, until sql.NullInt64
	var service, types string
	if err := s.Scan(&a.ID, &a.Org, &action, &sealID, &kind, &a.Name, &a.Reason, &a.Justification, &attachments, &a.Image,
		&a.WidthMM, &a.HeightMM, &keepers, &policy, &status, &a.Applicant, &a.Approver, &a.Comment, &created, &decided,
		&service, &types, &until); err != nil {
		return seal.Application{}, mapErr(err)
	}
	a.Binding = seal.BindTerms{Service: seal.BoundService(service), LicenseTypes: splitList(types), Until: timePtr(until)}
	a.Action, a.SealID, a.SealKind, a.Keepers = seal.Action(action), sealID.String, seal.Kind(kind), splitList(keepers)
	a.Policy, a.Status, a.CreatedAt, a.DecidedAt = seal.Policy(policy), seal.AppStatus(status), fromMicros(created), timePtr(decided)
	if err := json.Unmarshal([]byte(attachments), &a.Attachments); err != nil {
		return seal.Application{}, fmt.Errorf("application %s attachments: %w", a.ID, err)
	}
	return a, nil
}

// InsertApplication implements seal.Tx.
func (tx *Tx) InsertApplication(ctx context.Context, a seal.Application) error {
	att, err := json.Marshal(a.Attachments)
	if err != nil {
		return err
	}
	if a.Attachments == nil {
		att = []byte("[]")
	}
	_, err = tx.exec(ctx, `INSERT INTO seal_applications (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Org, string(a.Action), nullString(a.SealID), string(a.SealKind), a.Name, a.Reason, a.Justification, string(att), a.Image,
		a.WidthMM, a.HeightMM, strings.Join(a.Keepers, ","), string(a.Policy), string(a.Status), a.Applicant, a.Approver, a.Comment,
		micros(a.CreatedAt), nullMicros(a.DecidedAt), string(a.Binding.Service), strings.Join(a.Binding.LicenseTypes, ","), nullMicros(a.Binding.Until))
	if err != nil {
		return fmt.Errorf("insert seal application: %w", err)
	}
	return nil
}

// GetApplication implements seal.Reader.
func (h handle) GetApplication(ctx context.Context, id string) (seal.Application, error) {
	a, err := scanApplication(h.queryRow(ctx, `SELECT `+appColumns+` FROM seal_applications WHERE id = ?`, id))
	if err != nil {
		return seal.Application{}, fmt.Errorf("get seal application %s: %w", id, err)
	}
	return a, nil
}

// ListApplications implements seal.Reader.
func (h handle) ListApplications(ctx context.Context, f seal.Filter) ([]seal.Application, error) {
	where, args := []string{`id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"org", f.Org}, {"status", string(f.Status)}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	rows, err := h.query(ctx, `SELECT `+appColumns+` FROM seal_applications WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, scanApplication)
	if err != nil {
		return nil, fmt.Errorf("list seal applications: %w", err)
	}
	return out, nil
}

// DecideApplication implements seal.Tx.
func (tx *Tx) DecideApplication(ctx context.Context, a seal.Application) error {
	res, err := tx.exec(ctx, `UPDATE seal_applications SET status = ?, approver = ?, comment = ?, decided_at = ?, seal_id = ?
		WHERE id = ? AND status = 'pending'`, string(a.Status), a.Approver, a.Comment, nullMicros(a.DecidedAt), nullString(a.SealID), a.ID)
	if err != nil {
		return fmt.Errorf("decide seal application %s: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "application %s was decided meanwhile", a.ID)
	}
	return nil
}

// NextSealSeq implements seal.Reader.
func (h handle) NextSealSeq(ctx context.Context, org string, k seal.Kind) (int, error) {
	var n sql.NullInt64
	if err := mapErr(h.queryRow(ctx, `SELECT MAX(seq) FROM seals WHERE org = ? AND kind = ?`, org, string(k)).Scan(&n)); err != nil {
		return 0, fmt.Errorf("next seal sequence: %w", err)
	}
	return int(n.Int64) + 1, nil
}

// CountSeals implements seal.Reader.
func (h handle) CountSeals(ctx context.Context, org string, k seal.Kind) (int, error) {
	var n int
	if err := mapErr(h.queryRow(ctx, `SELECT COUNT(*) FROM seals WHERE org = ? AND kind = ? AND state <> 'cancelled'`, org, string(k)).Scan(&n)); err != nil {
		return 0, fmt.Errorf("count seals: %w", err)
	}
	return n, nil
}

const sealColumns = `id, org, kind, seq, name, state, key_id, cert_fingerprint, valid_from, valid_to, image_format, image, image_hash,
	width_mm, height_mm, structure, keepers, use_policy, pin_hash, pin_set_at, pin_failures, locked, filing_state, version, created_at, updated_at`

func scanSeal(s scanner) (seal.Seal, error) {
	var x seal.Seal
	var kind, state, format, keepers, policy string
	var from, to, created, updated int64
	var pinSet sql.NullInt64
	var locked int
	if err := s.Scan(&x.ID, &x.Org, &kind, &x.Seq, &x.Name, &state, &x.KeyID, &x.CertFingerprint, &from, &to, &format, &x.Image.Data,
		&x.Image.Hash, &x.Image.WidthMM, &x.Image.HeightMM, &x.Structure, &keepers, &policy, &x.PINHash, &pinSet, &x.PINFailures,
		&locked, &x.FilingState, &x.Version, &created, &updated); err != nil {
		return seal.Seal{}, mapErr(err)
	}
	x.Kind, x.State, x.Image.Format, x.Keepers, x.Policy = seal.Kind(kind), seal.State(state), seal.ImageFormat(format), splitList(keepers), seal.Policy(policy)
	x.ValidFrom, x.ValidTo, x.CreatedAt, x.UpdatedAt, x.PINSetAt, x.Locked = fromMicros(from), fromMicros(to), fromMicros(created), fromMicros(updated), timePtr(pinSet), locked != 0
	return x, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertSeal implements seal.Tx.
func (tx *Tx) InsertSeal(ctx context.Context, s seal.Seal) error {
	_, err := tx.exec(ctx, `INSERT INTO seals (`+sealColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Org, string(s.Kind), s.Seq, s.Name, string(s.State), s.KeyID, s.CertFingerprint, micros(s.ValidFrom), micros(s.ValidTo),
		string(s.Image.Format), s.Image.Data, s.Image.Hash, s.Image.WidthMM, s.Image.HeightMM, s.Structure, strings.Join(s.Keepers, ","),
		string(s.Policy), s.PINHash, nullMicros(s.PINSetAt), s.PINFailures, boolInt(s.Locked), s.FilingState, s.Version,
		micros(s.CreatedAt), micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert seal %s: %w", s.ID, err)
	}
	return nil
}

// GetSeal implements seal.Reader.
func (h handle) GetSeal(ctx context.Context, id string) (seal.Seal, error) {
	s, err := scanSeal(h.queryRow(ctx, `SELECT `+sealColumns+` FROM seals WHERE id = ?`, id))
	if err != nil {
		return seal.Seal{}, fmt.Errorf("get seal %s: %w", id, err)
	}
	return s, nil
}

// ListSeals implements seal.Reader.
func (h handle) ListSeals(ctx context.Context, f seal.Filter) ([]seal.Seal, error) {
	where, args := []string{`id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"org", f.Org}, {"kind", string(f.Kind)}, {"state", string(f.State)}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	rows, err := h.query(ctx, `SELECT `+sealColumns+` FROM seals WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, scanSeal)
	if err != nil {
		return nil, fmt.Errorf("list seals: %w", err)
	}
	return out, nil
}

// UpdateSeal implements seal.Tx: optimistic, on the version.
func (tx *Tx) UpdateSeal(ctx context.Context, s seal.Seal) error {
	res, err := tx.exec(ctx, `UPDATE seals SET name = ?, state = ?, key_id = ?, cert_fingerprint = ?, valid_from = ?, valid_to = ?,
		image_format = ?, image = ?, image_hash = ?, width_mm = ?, height_mm = ?, structure = ?, keepers = ?, use_policy = ?,
		pin_hash = ?, pin_set_at = ?, pin_failures = ?, locked = ?, filing_state = ?, version = ?, updated_at = ?
		WHERE id = ? AND version = ?`,
		s.Name, string(s.State), s.KeyID, s.CertFingerprint, micros(s.ValidFrom), micros(s.ValidTo), string(s.Image.Format), s.Image.Data,
		s.Image.Hash, s.Image.WidthMM, s.Image.HeightMM, s.Structure, strings.Join(s.Keepers, ","), string(s.Policy), s.PINHash,
		nullMicros(s.PINSetAt), s.PINFailures, boolInt(s.Locked), s.FilingState, s.Version, micros(s.UpdatedAt), s.ID, s.Version-1)
	if err != nil {
		return fmt.Errorf("update seal %s: %w", s.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "seal %s was changed meanwhile; read it again", s.ID)
	}
	return nil
}

// ClaimPINTry implements seal.Store. It is one conditional UPDATE: on
// PostgreSQL, run on its own at READ COMMITTED, a second claimer waits for
// the row and re-checks the condition on the row as the first left it, so
// concurrent claims never take more than max tries and never need a retry;
// SQLite runs one writer at a time anyway. That is why it is on DB and
// commits by itself: in a SERIALIZABLE transaction racing claims would
// conflict and retry.
func (d *DB) ClaimPINTry(ctx context.Context, id string, max int) (string, bool, error) {
	var hash string
	err := d.retry(ctx, func() error {
		return mapErr(d.queryRow(ctx, `UPDATE seals SET pin_failures = pin_failures + 1, version = version + 1
		WHERE id = ? AND locked = 0 AND pin_hash <> '' AND pin_failures < ? RETURNING pin_hash`, id, max).Scan(&hash))
	})
	switch {
	case errNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("claim a PIN try of seal %s: %w", id, err)
	}
	return hash, true, nil
}

// InsertMaking implements seal.Tx.
func (tx *Tx) InsertMaking(ctx context.Context, m seal.Making) error {
	_, err := tx.exec(ctx, `INSERT INTO seal_makings (seal_id, n, cert_fingerprint, structure, valid_from, valid_to, application_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.SealID, m.N, m.CertFingerprint, m.Structure, micros(m.ValidFrom), micros(m.ValidTo), m.ApplicationID, micros(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert seal making: %w", err)
	}
	return nil
}

// ListMakings implements seal.Reader.
func (h handle) ListMakings(ctx context.Context, sealID string) ([]seal.Making, error) {
	rows, err := h.query(ctx, `SELECT seal_id, n, cert_fingerprint, structure, valid_from, valid_to, application_id, created_at
		FROM seal_makings WHERE seal_id = ? ORDER BY n`, sealID)
	out, err := collect(rows, err, func(s scanner) (seal.Making, error) {
		var m seal.Making
		var from, to, created int64
		err := s.Scan(&m.SealID, &m.N, &m.CertFingerprint, &m.Structure, &from, &to, &m.ApplicationID, &created)
		m.ValidFrom, m.ValidTo, m.CreatedAt = fromMicros(from), fromMicros(to), fromMicros(created)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("list seal makings: %w", err)
	}
	return out, nil
}

// InsertSealEvent implements seal.Tx.
func (tx *Tx) InsertSealEvent(ctx context.Context, e seal.Event) error {
	_, err := tx.exec(ctx, `INSERT INTO seal_events (id, seal_id, at, actor, action, state, reason, application_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.SealID, micros(e.At), e.Actor, e.Action, string(e.State), e.Reason, e.ApplicationID)
	if err != nil {
		return fmt.Errorf("insert seal event: %w", err)
	}
	return nil
}

// ListSealEvents implements seal.Reader.
func (h handle) ListSealEvents(ctx context.Context, sealID string) ([]seal.Event, error) {
	rows, err := h.query(ctx, `SELECT id, seal_id, at, actor, action, state, reason, application_id FROM seal_events WHERE seal_id = ? ORDER BY at, id`, sealID)
	out, err := collect(rows, err, func(s scanner) (seal.Event, error) {
		var e seal.Event
		var at int64
		err := s.Scan(&e.ID, &e.SealID, &at, &e.Actor, &e.Action, &e.State, &e.Reason, &e.ApplicationID)
		e.At = fromMicros(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list seal events: %w", err)
	}
	return out, nil
}

const useRequestColumns = `id, seal_id, doc_hash, title, purpose, requester, needed, approvals, status, comment, created_at, decided_at`

func scanUseRequest(s scanner) (seal.UseRequest, error) {
	var r seal.UseRequest
	var approvals, status string
	var created int64
	var decided sql.NullInt64
	if err := s.Scan(&r.ID, &r.SealID, &r.DocHash, &r.Title, &r.Purpose, &r.Requester, &r.Needed, &approvals, &status, &r.Comment, &created, &decided); err != nil {
		return seal.UseRequest{}, mapErr(err)
	}
	r.Approvals, r.Status, r.CreatedAt, r.DecidedAt = splitList(approvals), seal.UseStatus(status), fromMicros(created), timePtr(decided)
	return r, nil
}

// InsertUseRequest implements seal.Tx.
func (tx *Tx) InsertUseRequest(ctx context.Context, r seal.UseRequest) error {
	_, err := tx.exec(ctx, `INSERT INTO seal_use_requests (`+useRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.SealID, r.DocHash, r.Title, r.Purpose, r.Requester, r.Needed, strings.Join(r.Approvals, ","), string(r.Status), r.Comment,
		micros(r.CreatedAt), nullMicros(r.DecidedAt))
	if err != nil {
		return fmt.Errorf("insert seal use request: %w", err)
	}
	return nil
}

// GetUseRequest implements seal.Reader.
func (h handle) GetUseRequest(ctx context.Context, id string) (seal.UseRequest, error) {
	r, err := scanUseRequest(h.queryRow(ctx, `SELECT `+useRequestColumns+` FROM seal_use_requests WHERE id = ?`, id))
	if err != nil {
		return seal.UseRequest{}, fmt.Errorf("get seal use request %s: %w", id, err)
	}
	return r, nil
}

// UpdateUseRequest implements seal.Tx.
func (tx *Tx) UpdateUseRequest(ctx context.Context, r seal.UseRequest, from seal.UseStatus) error {
	res, err := tx.exec(ctx, `UPDATE seal_use_requests SET approvals = ?, status = ?, comment = ?, decided_at = ? WHERE id = ? AND status = ?`,
		strings.Join(r.Approvals, ","), string(r.Status), r.Comment, nullMicros(r.DecidedAt), r.ID, string(from))
	if err != nil {
		return fmt.Errorf("update seal use request %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "use request %s changed meanwhile", r.ID)
	}
	return nil
}

const useColumns = `id, seal_id, kind, request_id, binding_id, title, doc_hash, signer, signed_at, cert_fingerprint, signature`

// InsertUse implements seal.Tx and seal.BoundTx.
func (tx *Tx) InsertUse(ctx context.Context, u seal.Use) error {
	if _, err := tx.exec(ctx, `INSERT INTO seal_uses (`+useColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, useArgs(nil, u)...); err != nil {
		return fmt.Errorf("insert seal use: %w", err)
	}
	return nil
}

// InsertUses implements seal.BoundTx: InsertUse for the uses of one
// signing of many documents, with few statements.
func (tx *Tx) InsertUses(ctx context.Context, us []seal.Use) error {
	err := tx.insertRows(ctx, "seal_uses", strings.Split(useColumns, ", "), len(us), func(dst []any, i int) ([]any, error) {
		return useArgs(dst, us[i]), nil
	})
	if err != nil {
		return fmt.Errorf("insert %d seal uses: %w", len(us), err)
	}
	return nil
}

// useArgs appends the values of useColumns for u.
func useArgs(dst []any, u seal.Use) []any {
	kind := u.Kind
	if kind == "" {
		kind = seal.UseByRequest
	}
	return append(dst, u.ID, u.SealID, string(kind), nullString(u.RequestID), nullString(u.BindingID), u.Title, u.DocHash, u.Signer,
		micros(u.SignedAt), u.CertFingerprint, u.Signature)
}

// ListUses implements seal.Reader.
func (h handle) ListUses(ctx context.Context, sealID string) ([]seal.Use, error) {
	rows, err := h.query(ctx, `SELECT `+useColumns+` FROM seal_uses WHERE seal_id = ? ORDER BY signed_at, id`, sealID)
	out, err := collect(rows, err, func(s scanner) (seal.Use, error) {
		var u seal.Use
		var kind string
		var request, binding sql.NullString
		var at int64
		err := s.Scan(&u.ID, &u.SealID, &kind, &request, &binding, &u.Title, &u.DocHash, &u.Signer, &at, &u.CertFingerprint, &u.Signature)
		u.Kind, u.RequestID, u.BindingID, u.SignedAt = seal.UseKind(kind), request.String, binding.String, fromMicros(at)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("list seal uses: %w", err)
	}
	return out, nil
}

const bindingColumns = `id, seal_id, org, service, license_types, valid_until, application_id, bound_by, bound_at,
	ended_at, ended_by, end_reason, end_application_id`

func scanBinding(s scanner) (seal.Binding, error) {
	var b seal.Binding
	var service, types string
	var until, ended sql.NullInt64
	var bound int64
	if err := s.Scan(&b.ID, &b.SealID, &b.Org, &service, &types, &until, &b.ApplicationID, &b.BoundBy, &bound,
		&ended, &b.EndedBy, &b.EndReason, &b.EndApplicationID); err != nil {
		return seal.Binding{}, mapErr(err)
	}
	b.Service, b.LicenseTypes, b.Until, b.BoundAt, b.EndedAt = seal.BoundService(service), splitList(types), timePtr(until), fromMicros(bound), timePtr(ended)
	return b, nil
}

// InsertBinding implements seal.Tx. A second binding in force of the same
// seal to the same service is a Conflict (the partial unique index).
func (tx *Tx) InsertBinding(ctx context.Context, b seal.Binding) error {
	_, err := tx.exec(ctx, `INSERT INTO seal_bindings (`+bindingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.SealID, b.Org, string(b.Service), strings.Join(b.LicenseTypes, ","), nullMicros(b.Until), b.ApplicationID, b.BoundBy,
		micros(b.BoundAt), nullMicros(b.EndedAt), b.EndedBy, b.EndReason, b.EndApplicationID)
	if err != nil {
		return fmt.Errorf("insert seal binding: %w", err)
	}
	return nil
}

// EndBinding implements seal.Tx.
func (tx *Tx) EndBinding(ctx context.Context, b seal.Binding) error {
	res, err := tx.exec(ctx, `UPDATE seal_bindings SET ended_at = ?, ended_by = ?, end_reason = ?, end_application_id = ?
		WHERE id = ? AND ended_at IS NULL`, nullMicros(b.EndedAt), b.EndedBy, b.EndReason, b.EndApplicationID, b.ID)
	if err != nil {
		return fmt.Errorf("end seal binding %s: %w", b.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "binding %s was ended meanwhile", b.ID)
	}
	return nil
}

// ActiveBinding implements seal.Reader and seal.BoundTx.
func (h handle) ActiveBinding(ctx context.Context, sealID string, svc seal.BoundService) (seal.Binding, error) {
	b, err := scanBinding(h.queryRow(ctx, `SELECT `+bindingColumns+` FROM seal_bindings WHERE seal_id = ? AND service = ? AND ended_at IS NULL`,
		sealID, string(svc)))
	if err != nil {
		return seal.Binding{}, fmt.Errorf("get the binding of seal %s: %w", sealID, err)
	}
	return b, nil
}

// InsertArchive implements seal.Tx.
func (tx *Tx) InsertArchive(ctx context.Context, id, useID, docHash, title string, content []byte, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO seal_archive (id, use_id, doc_hash, title, content, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, useID, docHash, title, content, micros(at))
	if err != nil {
		return fmt.Errorf("archive signed document: %w", err)
	}
	return nil
}

// SealTx runs fn in one transaction; it is the seal.TxFunc of this store.
func (d *DB) SealTx(ctx context.Context, fn func(seal.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
