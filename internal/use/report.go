package use

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// ReportZone is the time zone whose calendar months a usage report counts
// in: China Standard Time, UTC+8 without daylight saving, as the issuers'
// own books are kept.
var ReportZone = time.FixedZone("CST", 8*3600)

// MaxReportMonths bounds the months one report spans: the five years the
// audit log is kept at least (R-SEC-2).
const MaxReportMonths = 60

// ReportQuery asks for the usage of licenses from the month From to the
// month To, both "YYYY-MM" and included (To empty: From alone), of the
// licenses of Issuer (empty: the caller's own organization; every issuer
// for the platform operator).
type ReportQuery struct {
	From, To string
	Issuer   string
}

// ReportFilter is what the store counts: the entries at or after From and
// before To about the licenses of Issuer (empty: every issuer).
type ReportFilter struct {
	Issuer   string
	From, To time.Time
}

// UsageRow counts, for the licenses of one issuer, the uses by one unit
// for one matter in one month: Uses the licenses returned by scoped uses
// (license.used) and the online redemptions accepted
// (presentation.redeem), Refusals the redemptions refused.
type UsageRow struct {
	Issuer   string
	Unit     string // empty: a redemption by no unit's account
	Matter   string // empty: a redemption that named no matter
	Month    string // YYYY-MM in ReportZone
	Uses     int64
	Refusals int64
}

// Report returns the usage of an issuer's licenses by unit, matter and
// month (R-SEC-2: issuers see how their licenses are used). The staff of
// an organization (issuers, its admins and auditors) read their own
// organization's licenses; the platform operator and auditors of the
// platform organization any issuer's, or every issuer's.
func (s *Service) Report(ctx context.Context, actor *authz.Actor, q ReportQuery) ([]UsageRow, error) {
	issuer := ids.NormalizeCreditCode(q.Issuer)
	all, err := s.readsAll(ctx, actor)
	switch {
	case err != nil:
		return nil, err
	case all:
	case actor == nil || actor.Holder != nil || !slices.ContainsFunc(actor.Roles, func(r authz.Role) bool {
		return r == authz.Issuer || r == authz.OrgAdmin || r == authz.Auditor
	}):
		return nil, apperr.New(apperr.Forbidden, "only an issuing organization's staff read the usage of its licenses")
	case issuer != "" && issuer != actor.Org:
		return nil, fieldErr(apperr.Forbidden, "issuer", "own-org", "an organization reads the usage of its own licenses only")
	default:
		issuer = actor.Org
	}
	f, err := reportFilter(issuer, q)
	if err != nil {
		return nil, err
	}
	return s.store.UsageReport(ctx, f)
}

// reportFilter checks the months and the issuer of q.
func reportFilter(issuer string, q ReportQuery) (ReportFilter, error) {
	var fs apperr.Fields
	q.From, q.To = strings.TrimSpace(q.From), strings.TrimSpace(q.To)
	if q.To == "" {
		q.To = q.From
	}
	month := func(field, v string) time.Time {
		if v == "" {
			fs.Add(field, "required", "a month, YYYY-MM")
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01", v, ReportZone)
		if err != nil {
			fs.Add(field, "month", "a month, YYYY-MM")
		}
		return t
	}
	from, to := month("from", q.From), month("to", q.To)
	if issuer != "" {
		if err := ids.ValidateCreditCode(issuer); err != nil {
			addIDErr(&fs, "issuer", err)
		}
	}
	if err := fs.Err(); err != nil {
		return ReportFilter{}, err
	}
	switch n := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1; {
	case n < 1:
		fs.Add("to", "not-before-from", "to is not before from")
	case n > MaxReportMonths:
		fs.Add("to", "max-span", fmt.Sprintf("a report spans at most %d months", MaxReportMonths))
	}
	return ReportFilter{Issuer: issuer, From: from, To: to.AddDate(0, 1, 0)}, fs.Err()
}
