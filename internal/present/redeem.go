package present

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/verify"
)

// RedeemAction is the audit action of an online redemption, accepted or
// refused.
const RedeemAction = "presentation.redeem"

// CheckReplay is the check a redemption adds to those of
// verify.Presentation: the payload was not redeemed before.
const CheckReplay = "replay"

// ClockSkew is the skew a redemption allows on both ends of a payload's
// validity window. The platform's own clock made iat and exp and judges
// them, so it only covers the clocks of several serve processes.
const ClockSkew = verify.DefaultClockSkew

// MaxMatterLength is the longest matter (事项) a redemption names, in
// characters.
const MaxMatterLength = 200

// Tx is what a redemption reads and writes in its transaction.
type Tx interface {
	auditlog.Tx
	// LiveStatus returns the current state and end of validity of a
	// license and the bits refs name, as committed now; apperr.NotFound
	// when there is no such license.
	LiveStatus(ctx context.Context, id string, refs []BitRef) (license.State, *time.Time, []Bit, error)
	auditlog.BatchAppender
	// ClaimRedemptions records each claim's digest until it expires, and
	// says of each whether it was new: false when it was recorded before,
	// or claimed earlier in claims (ON CONFLICT DO NOTHING).
	ClaimRedemptions(ctx context.Context, claims []Claim) ([]bool, error)
}

// Claim is a redemption record: a payload's Digest, kept until Expires.
type Claim struct {
	Digest  []byte
	Expires time.Time
}

// BitRef names a status bit: a list, a purpose and an index.
type BitRef struct {
	List    status.ListRef
	Purpose status.Purpose
	Index   int
}

// Bit is a status bit as read, and the size of its list; Found is false
// when there is no such list. An index outside the list reads as clear.
type Bit struct {
	Found, Set bool
	Size       int
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// Purger deletes redemption records whose payload has expired.
type Purger interface {
	// PurgeRedemptions deletes up to limit records that expired before
	// before, and says how many it deleted.
	PurgeRedemptions(ctx context.Context, before time.Time, limit int) (int, error)
}

// Keys is what a redemption reads of the key ring: the platform's
// presentation keys.
type Keys interface {
	Page(ctx context.Context, f keyring.Filter, limit int, cursor string) (page.Page[keyring.Key], error)
}

// Deps are what the service is built from; Now defaults to time.Now.
type Deps struct {
	Tx       TxFunc
	Purger   Purger
	Keys     Keys
	Platform func(ctx context.Context) (string, error) // the platform organization's credit code
	BaseURL  string                                    // where the platform publishes its status lists
	Now      func() time.Time
}

// Service redeems presentations. It is safe for concurrent use.
type Service struct {
	d     Deps
	keys  *keyCache
	batch *batcher
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d, keys: &keyCache{keys: d.Keys, platform: d.Platform, now: d.Now}, batch: &batcher{tx: d.Tx}}
}

// Redeem checks a QR payload for the using unit actor, for a matter when
// given, and accepts it once: its format, that its kid names one of the
// platform's presentation keys (a retired one too, for payloads issued
// before it was retired), the signature, the validity window (ClockSkew),
// the license's state and status bits as this transaction reads them, and
// that no redemption recorded its kid and nonce before. The verdict lists
// the checks that ran, each with its reason, and carries what the payload
// discloses only when it is valid. Every redemption, refused or not, is
// recorded in the audit log in the transaction that decides it, with the
// redemption record of an accepted one: two redemptions of one payload,
// in any processes on one database, accept it once. The transaction may
// decide other redemptions of this process too (batcher). An error means
// nothing was decided and nothing recorded.
func (s *Service) Redeem(ctx context.Context, actor *authz.Actor, payload, matter string) (verify.PresentationVerdict, error) {
	payload, matter = strings.TrimSpace(payload), strings.TrimSpace(matter)
	if err := checkInput(payload, matter); err != nil {
		return verify.PresentationVerdict{}, err
	}
	now := s.d.Now()
	// The checks that need no store run before the transaction, so that
	// the signature is not verified while it holds SQLite's write lock;
	// the status check is decided again in it.
	t := &deferredTrust{s: s, at: now}
	pre := verify.Presentation(ctx, payload, t, now, verify.ClockSkew(ClockSkew))
	var out verify.PresentationVerdict
	err := s.batch.do(ctx, &job{
		decide: func(ctx context.Context, tx Tx) (*Claim, error) {
			out = pre
			out.Checks = append(make([]verify.Check, 0, len(pre.Checks)+1), pre.Checks...)
			if out.Presented == nil {
				return nil, nil
			}
			return s.decide(ctx, tx, &out, t.entries, now)
		},
		record: func(claimed, fresh bool) auditlog.Entry {
			if claimed {
				c := verify.Check{Name: CheckReplay, OK: fresh, Reason: "first use of this payload"}
				if !fresh {
					c.Reason = qr.ErrReplayed.Error() + ": this payload was redeemed before; ask the holder to show a fresh code"
				}
				out.Checks = append(out.Checks, c)
			}
			settle(&out.Verdict)
			return s.entry(actor, matter, out, now)
		},
	})
	if err != nil {
		return verify.PresentationVerdict{}, err
	}
	if !out.Valid {
		out.Presented = nil // a refused payload discloses nothing
	}
	return out, nil
}

// checkInput refuses what is not a redemption request at all.
func checkInput(payload, matter string) error {
	var fs apperr.Fields
	if payload == "" {
		fs.Add("payload", "required", "give the QR payload (ZZ1:…)")
	}
	switch {
	case !utf8.ValidString(matter):
		fs.Add("matter", "utf8", "the matter is UTF-8 text")
	case strings.IndexFunc(matter, unicode.IsControl) >= 0:
		fs.Add("matter", "no-control", "the matter holds no control characters")
	case utf8.RuneCountInString(matter) > MaxMatterLength:
		fs.Add("matter", "max-length", fmt.Sprintf("the matter is at most %d characters", MaxMatterLength))
	}
	return fs.Err()
}

// decide replaces the status check of v, whose signature verified, by the
// license's live status as tx reads it and, when every check passed,
// returns the claim of the payload's one use.
func (s *Service) decide(ctx context.Context, tx Tx, v *verify.PresentationVerdict, entries []statusEntry, now time.Time) (*Claim, error) {
	live, err := s.liveStatus(ctx, tx, v.Presented.LicenseID, entries, now)
	if err != nil {
		return nil, err
	}
	for i := range v.Checks {
		if v.Checks[i].Name == verify.CheckStatus {
			v.Checks[i] = live
		}
	}
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			return nil, nil // refused already: the payload keeps its one use
		}
	}
	return &Claim{Digest: Digest(v.Presented.KID, v.Presented.Nonce), Expires: v.Presented.Expires.Add(ClockSkew)}, nil
}

// Digest is the key of a payload's redemption record: the SHA-256 of a
// fixed label, its kid and its nonce in lower-case hex as verify.Presented
// has them, the two separated by a colon (hex has none, so no two pairs
// give one input). Neither the payload nor anything it discloses is kept.
func Digest(kidHex, nonceHex string) []byte {
	sum := sha256.Sum256([]byte("zhengzhao presentation redemption\x00" + strings.ToLower(kidHex) + ":" + strings.ToLower(nonceHex)))
	return sum[:]
}

// liveStatus is the status check of a redemption: the license's state
// and end of validity, and its bits in the lists the payload names, as tx
// reads them now. A license suspended, revoked, reported lost or ended a
// moment ago is refused at once, whatever the payload says.
func (s *Service) liveStatus(ctx context.Context, tx Tx, id string, entries []statusEntry, now time.Time) (verify.Check, error) {
	c := verify.Check{Name: verify.CheckStatus, AsOf: now.UTC()}
	if len(entries) == 0 { // verify.Presentation judged the entries unreadable
		c.Unknown, c.Reason = true, "status unknown: the payload names no status list entry this platform reads"
		return c, nil
	}
	// The license and the bits in one read. The entries are judged in
	// order after the license's state, as the payload lists them: those
	// before the first that names no list of this platform are read.
	refs, bad := make([]BitRef, 0, len(entries)), -1
	for i, e := range entries {
		ref, p, ok := status.ParseListURL(s.d.BaseURL, e.listURL)
		if !ok || string(p) != e.purpose || e.index < 0 {
			bad = i
			break
		}
		refs = append(refs, BitRef{List: ref, Purpose: p, Index: int(e.index)})
	}
	state, until, bits, err := tx.LiveStatus(ctx, id, refs)
	switch {
	case errors.Is(err, apperr.NotFound):
		c.Reason = fmt.Sprintf("the platform has no license %s", id)
		return c, nil
	case err != nil:
		return c, err
	case state != license.Active && state != license.Pledged:
		c.Reason = fmt.Sprintf("the license is %s", state)
		return c, nil
	case until != nil && !now.Before(*until):
		c.Reason = fmt.Sprintf("the license expired at %s", until.UTC().Format(time.RFC3339))
		return c, nil
	}
	for i, b := range bits {
		e := entries[i]
		switch {
		case !b.Found:
			c.Reason = fmt.Sprintf("the platform has no status list %s", e.listURL)
			return c, nil
		case e.index >= int64(b.Size):
			c.Reason = fmt.Sprintf("index %d is outside status list %s", e.index, e.listURL)
			return c, nil
		case b.Set:
			word := "revoked"
			if refs[i].Purpose == statuslist.PurposeSuspension {
				word = "suspended"
			}
			c.Reason = fmt.Sprintf("%s according to the %s list, as committed now", word, e.purpose)
			return c, nil
		}
	}
	if bad >= 0 {
		c.Reason = fmt.Sprintf("%s is not a %s list of this platform", entries[bad].listURL, entries[bad].purpose)
		return c, nil
	}
	c.OK, c.Reason = true, "in force, neither revoked nor suspended, as committed now"
	return c, nil
}

// settle decides v as verify does: valid when every non-informational
// check passed.
func settle(v *verify.Verdict) {
	v.Valid = len(v.Checks) > 0
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			v.Valid = false
		}
	}
}

// entry is the audit entry of a redemption: who (the account, its unit),
// the matter, the outcome and the checks that failed, the license and the
// key when known; never a disclosed value.
func (s *Service) entry(actor *authz.Actor, matter string, v verify.PresentationVerdict, now time.Time) auditlog.Entry {
	e := auditlog.Entry{At: now, Actor: auditlog.Operator, Action: RedeemAction, Subject: v.LicenseID,
		Details: map[string]string{"valid": strconv.FormatBool(v.Valid)}}
	if actor != nil {
		e.Actor, e.Org = actor.AccountID, actor.Org
		e.Details["unit"] = actor.Org
	} else if id, err := ids.ParseLicenseID(v.LicenseID); err == nil {
		e.Org = id.Issuer
	}
	if matter != "" {
		e.Details["matter"] = matter
	}
	if v.Presented != nil {
		e.Details["kid"] = v.Presented.KID
	}
	var failed []string
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			failed = append(failed, c.Name)
			if _, ok := e.Details["reason"]; !ok && c.Name != verify.CheckFormat {
				// The platform's own words: a key, a time, a state. A format
				// failure is only named, so nothing of a payload is kept.
				e.Details["reason"] = c.Reason
			}
		}
	}
	if len(failed) > 0 {
		e.Details["failed"] = strings.Join(failed, ",")
	}
	return e
}

// statusEntry is a status-list entry a payload names.
type statusEntry struct {
	listURL, purpose string
	index            int64
}

// deferredTrust is the trust of the checks before the transaction: the
// platform's presentation keys, and status entries recorded for the
// transaction to decide (reported clear meanwhile).
type deferredTrust struct {
	s       *Service
	at      time.Time
	entries []statusEntry
}

// PresentationKey implements verify.PresentationTrust.
func (t *deferredTrust) PresentationKey(ctx context.Context, kid []byte) (verify.PresentationKey, crypto.PublicKey, bool, error) {
	e, found, err := t.s.keys.lookup(ctx, kid)
	return e.key, e.pub, found, err
}

// Status implements verify.StatusSource: it records the entry.
func (t *deferredTrust) Status(_ context.Context, listURL, purpose string, index int64) (bool, time.Time, error) {
	t.entries = append(t.entries, statusEntry{listURL: listURL, purpose: purpose, index: index})
	return false, t.at, nil
}

// PurgeBatch is how many expired redemption records one statement deletes.
const PurgeBatch = 1000

// Purge deletes the redemption records whose payload has expired (with
// ClockSkew); several processes may run it at once. It returns how many
// it deleted.
func (s *Service) Purge(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.d.Purger.PurgeRedemptions(ctx, s.d.Now(), PurgeBatch)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
	}
}

// RunPurge purges every interval until ctx ends; serve runs it in every
// process.
func (s *Service) RunPurge(ctx context.Context, interval time.Duration, onError func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
