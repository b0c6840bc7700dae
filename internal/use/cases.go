package use

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// CaseAttachedAction records a license a use returned being kept with a
// case of the unit after the use (R-USE-6); a use that names its case
// says so in its license.used entries instead.
const CaseAttachedAction = "use.case-attached"

// MaxCase is the longest case number, in characters.
const MaxCase = 64

// useIDPattern is the form of a use's identifier (Service.newID).
var useIDPattern = regexp.MustCompile(`^use_[0-9a-f]{24}$`)

// CaseRecord is one license kept with a case of a using unit: which
// license, which use returned it (and so which audit entry says what the
// unit saw), for which matter, when and by whom. It holds no face value.
type CaseRecord struct {
	Org           string // the using unit
	Case          string
	LicenseID     string
	Use           string // the use that returned the license
	Matter        string
	MatterVersion int
	UsedBy        string // the account that used it
	UsedAt        time.Time
	AttachedBy    string // the account that attached it (UsedBy when the use named the case)
	AttachedAt    time.Time
	// Read from the license when the case is listed, not stored.
	TypeCode string
	Number   string
	// Entry is the index of the use's license.used audit entry of the
	// license; nil while the entry waits to be integrated.
	Entry *uint64
}

// CaseFilter selects the records of one case of one unit.
type CaseFilter struct {
	Org   string
	Case  string
	After string // "use|license" of the last record of the previous page
	Limit int
}

// Attachment names what a unit attaches to a case after the use: one
// license one of its uses returned.
type Attachment struct {
	Case      string
	Use       string
	LicenseID string
}

// CaseTx is what attaching a license to a case runs in: the use's audit
// entry is read and the record written with its own entry, together.
type CaseTx interface {
	Reader
	// UsedEntry returns the license.used entry of the license by the use,
	// integrated or pending, or NotFound.
	UsedEntry(ctx context.Context, licenseID, useID string) (auditlog.Entry, error)
	// InsertCaseRecord stores r unless the case holds it already; it
	// reports whether it stored it.
	InsertCaseRecord(ctx context.Context, r CaseRecord) (bool, error)
	auditlog.Appender
}

// CaseTxFunc runs fn in one transaction of the store.
type CaseTxFunc func(ctx context.Context, fn func(CaseTx) error) error

// NormalizeCase returns a case number as the archive keeps it: trimmed.
func NormalizeCase(c string) string { return strings.TrimSpace(c) }

// checkCase adds what is wrong with a case number to fs. A case number is
// the unit's own (e.g. "（2026）京0105民初1234号"): any readable text up to
// MaxCase characters that can stand as one segment of a URL path.
func checkCase(fs *apperr.Fields, c string) {
	if !fs.Name("case", c, MaxCase, true) {
		return
	}
	if strings.ContainsAny(c, `/\?#%`) {
		fs.Add("case", "case-number", `a case number holds none of / \ ? # %`)
	}
}

// caseRecords returns the records of a use of unit that named a case: one
// per license returned.
func caseRecords(unit, actor, useID, kase string, r Result, now time.Time) []CaseRecord {
	out := make([]CaseRecord, len(r.Licenses))
	for i, l := range r.Licenses {
		out[i] = CaseRecord{Org: unit, Case: kase, LicenseID: l.ID, Use: useID, Matter: r.Matter, MatterVersion: r.MatterVersion,
			UsedBy: actor, UsedAt: now, AttachedBy: actor, AttachedAt: now}
	}
	return out
}

// Attach keeps a license one of the unit's uses returned with a case of
// the unit (R-USE-6), in one transaction with its audit entry. Attaching
// what the case holds already changes nothing and answers the record.
func (s *Service) Attach(ctx context.Context, actor *authz.Actor, a Attachment) (CaseRecord, error) {
	if actor == nil || !unitStaff(actor, actor.Org) {
		return CaseRecord{}, apperr.New(apperr.Forbidden, "only a using unit's staff keep licenses with their own unit's cases")
	}
	unit := actor.Org
	a.Case, a.Use, a.LicenseID = NormalizeCase(a.Case), strings.TrimSpace(a.Use), strings.TrimSpace(a.LicenseID)
	var fs apperr.Fields
	checkCase(&fs, a.Case)
	switch {
	case a.Use == "":
		fs.Add("use", "required", "the use that returned the license is required")
	case !useIDPattern.MatchString(a.Use):
		fs.Add("use", "use-id", "a use's id, as POST /api/v1/uses answered it")
	}
	if a.LicenseID == "" {
		fs.Add("license", "required", "the license is required")
	} else if err := ids.ValidateLicenseID(a.LicenseID); err != nil {
		addIDErr(&fs, "license", err)
	}
	if err := fs.Err(); err != nil {
		return CaseRecord{}, err
	}
	var out CaseRecord
	err := s.cases(ctx, func(tx CaseTx) error {
		e, err := tx.UsedEntry(ctx, a.LicenseID, a.Use)
		if err == nil && e.Details["unit"] != unit {
			// Another unit's use is no use of this unit: the same answer
			// as none, so that nothing is learnt of it.
			err = apperr.New(apperr.NotFound, "not found")
		}
		if errors.Is(err, apperr.NotFound) {
			return fieldErr(apperr.NotFound, "use", "exists", fmt.Sprintf("no use %s of your unit returned license %s", a.Use, a.LicenseID))
		}
		if err != nil {
			return err
		}
		version, err := strconv.Atoi(e.Details["matter_version"])
		if err != nil {
			return fmt.Errorf("use %s: audit entry without its matter version: %w", a.Use, err)
		}
		now := s.now()
		r := CaseRecord{Org: unit, Case: a.Case, LicenseID: a.LicenseID, Use: a.Use, Matter: e.Details["matter"], MatterVersion: version,
			UsedBy: e.Actor, UsedAt: e.At, AttachedBy: actor.AccountID, AttachedAt: now}
		added, err := tx.InsertCaseRecord(ctx, r)
		if err != nil {
			return err
		}
		if added {
			if err := auditlog.Append(ctx, tx, auditlog.Entry{At: now, Actor: actor.AccountID, Org: unit, Action: CaseAttachedAction,
				Subject: a.LicenseID, Details: map[string]string{"case": a.Case, "use": a.Use, "matter": r.Matter}}); err != nil {
				return err
			}
		}
		out, err = tx.GetCaseRecord(ctx, unit, a.Case, a.LicenseID, a.Use)
		return err
	})
	return out, err
}

// ListCase returns one page of the records of a case, in the order of the
// uses: a unit's staff their own unit's (org empty or their own), platform
// admins and auditors of the platform organization any unit's they name.
func (s *Service) ListCase(ctx context.Context, actor *authz.Actor, org, kase, cursor string, limit int) (page.Page[CaseRecord], error) {
	org, kase = ids.NormalizeCreditCode(org), NormalizeCase(kase)
	unit, err := s.listScope(ctx, actor, org)
	if err != nil {
		return page.Page[CaseRecord]{}, err
	}
	var fs apperr.Fields
	checkCase(&fs, kase)
	if unit == "" {
		fs.Add("org", "required", "name the unit whose case to read")
	}
	if err := fs.Err(); err != nil {
		return page.Page[CaseRecord]{}, err
	}
	return page.Fetch(limit, cursor, func(limit int, after string) ([]CaseRecord, error) {
		return s.store.ListCaseRecords(ctx, CaseFilter{Org: unit, Case: kase, After: after, Limit: limit})
	}, func(r CaseRecord) string { return r.Use + "|" + r.LicenseID })
}
