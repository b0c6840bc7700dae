package license

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// The kinds of aggregation a lateness report counts: a license issued on
// the platform (its issuance is its completion, never late), one of a
// day's increment of licenses issued offline, one of stock.
const (
	KindIssued    = "issued"
	KindIncrement = "increment"
	KindStock     = "stock"
)

// LatenessKinds lists the kinds a lateness report counts.
func LatenessKinds() []string { return []string{KindIssued, KindIncrement, KindStock} }

// DiffKinds lists the kinds of differences a reconciliation names.
func DiffKinds() []string { return []string{DiffMissing, DiffExtra, DiffVersion} }

// MaxLatenessMonths bounds the months one lateness report spans: five
// years, as the usage report.
const MaxLatenessMonths = 60

// MaxFirstDifferences bounds the differing numbers a reconciliation lists.
const MaxFirstDifferences = 20

// maxListErrors bounds the field errors reported of a stated list: a
// wrong file would otherwise answer with one error per line.
const maxListErrors = 20

// LatenessQuery asks for the aggregation of the licenses whose cases
// completed from the month From to the month To ("YYYY-MM", both
// included, To empty: From alone) of Issuer (empty: the caller's own
// organization; every issuer for the platform's admins).
type LatenessQuery struct {
	From, To string
	Issuer   string
}

// LatenessFilter is what the store counts: the licenses of Issuer (empty:
// every issuer) whose cases completed on or after From and before To.
type LatenessFilter struct {
	Issuer   string
	From, To time.Time
}

// LatenessRow counts the licenses of one issuer and type whose cases
// completed in one month (China Standard Time), of one kind, that reached
// the platform in time and late.
type LatenessRow struct {
	Issuer string
	Type   string
	Month  string
	Kind   string
	OnTime int64
	Late   int64
}

// Tally is a count of licenses and the digest of their sorted (number,
// version) pairs (Digester).
type Tally struct {
	Count  int64
	Digest string
}

// Pair is a license number and its version: the number of face versions
// the license has had (1 for a license never changed), which is the
// version of its current document.
type Pair struct {
	Number  string
	Version int64
}

// The kinds of a difference between an issuer's list and the platform's.
const (
	// DiffMissing is a number the issuer holds and the platform does not.
	DiffMissing = "missing"
	// DiffExtra is a number the platform holds and the issuer does not.
	DiffExtra = "extra"
	// DiffVersion is a number both hold at other versions.
	DiffVersion = "version"
)

// Difference is a number on which the issuer and the platform differ;
// a version is 0 on the side that lacks the number.
type Difference struct {
	Number          string `json:"number"`
	Kind            string `json:"kind"`
	StatedVersion   int64  `json:"stated_version"`
	PlatformVersion int64  `json:"platform_version"`
}

// NewReconciliation is what an issuer states it holds of a type: a count
// and a digest, or its list of pairs (Listed), from which the service
// computes both and finds the differing numbers. Reconcile sorts List in
// place.
type NewReconciliation struct {
	Type   string
	Issuer string
	Count  int64
	Digest string
	Listed bool
	List   []Pair
}

// Reconciliation is a recorded comparison (对账) of what an issuer stated
// against what the platform held of its licenses of a type.
type Reconciliation struct {
	ID       string
	Issuer   string
	TypeCode string
	Stated   Tally
	Platform Tally
	// Match is true when the counts and the digests are equal.
	Match bool
	// Listed says that the issuer sent its list: the differences below
	// are then counted; without it they are zero.
	Listed         bool
	Missing        int64
	Extra          int64
	VersionDiffers int64
	// First are the first MaxFirstDifferences differing numbers, in the
	// numbers' byte order.
	First     []Difference
	CreatedBy string
	CreatedAt time.Time
}

// ReconcileFilter lists the reconciliations of Issuer (empty: every
// issuer), newest first, after the cursor After.
type ReconcileFilter struct {
	Issuer string
	After  string
	Limit  int
}

// ReconcileReader is what lateness reports and reconciliations read.
type ReconcileReader interface {
	// LatenessReport counts, in one query, the licenses by issuer, type,
	// month of completion and kind, on time and late.
	LatenessReport(ctx context.Context, f LatenessFilter) ([]LatenessRow, error)
	// LicensePairs calls fn with the (number, version) of every license
	// of the issuer and type, in the numbers' byte order, streamed.
	LicensePairs(ctx context.Context, issuer, typeCode string, fn func(Pair) error) error
	ListReconciliations(ctx context.Context, f ReconcileFilter) ([]Reconciliation, error)
}

// ReconcileTx records a reconciliation with its audit entry.
type ReconcileTx interface {
	auditlog.Appender
	InsertReconciliation(ctx context.Context, r Reconciliation) error
}

// Digester computes a Tally: SHA-256 over the lines "number\tversion\n"
// (the version in decimal) of pairs written in the numbers' byte order.
// The zero value is not usable; NewDigester returns one.
type Digester struct {
	h    hash.Hash
	n    int64
	last string
	buf  []byte
}

// NewDigester returns an empty Digester.
func NewDigester() *Digester { return &Digester{h: sha256.New()} }

// Add writes the next pair; false when its number is not after the last
// one's (the list is not sorted, or repeats a number).
func (d *Digester) Add(p Pair) bool {
	if d.n > 0 && p.Number <= d.last {
		return false
	}
	d.buf = append(strconv.AppendInt(append(append(d.buf[:0], p.Number...), '\t'), p.Version, 10), '\n')
	d.h.Write(d.buf)
	d.n++
	d.last = p.Number
	return true
}

// Tally returns the count and the digest (hex) of the pairs written.
func (d *Digester) Tally() Tally {
	return Tally{Count: d.n, Digest: hex.EncodeToString(d.h.Sum(nil))}
}

// SortPairs sorts pairs by number in byte order, as digests are made.
func SortPairs(pairs []Pair) {
	slices.SortFunc(pairs, func(a, b Pair) int { return strings.Compare(a.Number, b.Number) })
}

// aggregationScope returns the issuer whose licenses actor reads or
// reconciles, "" for every issuer, and who acts. The operator on the
// platform host (nil actor) and platform admins of the platform
// organization read any issuer's, or every issuer's; an organization's
// issuers and admins only their own.
func (s *Service) aggregationScope(ctx context.Context, actor *authz.Actor, asked string) (string, string, error) {
	asked = ids.NormalizeCreditCode(asked)
	if asked != "" {
		var fs apperr.Fields
		addIDError(&fs, "issuer", ids.ValidateCreditCode(asked))
		if err := fs.Err(); err != nil {
			return "", "", err
		}
	}
	if actor == nil {
		return asked, auditlog.Operator, nil
	}
	if actor.Holder == nil && slices.Contains(actor.Roles, authz.PlatformAdmin) {
		o, err := s.orgs.GetOrg(ctx, actor.Org)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return "", "", err
		}
		if err == nil && o.HasKind(org.KindPlatform) {
			return asked, actor.AccountID, nil
		}
	}
	if actor.Holder != nil || actor.Org == "" || !slices.ContainsFunc(actor.Roles, func(r authz.Role) bool {
		return r == authz.Issuer || r == authz.OrgAdmin
	}) {
		return "", "", fieldErr(apperr.Forbidden, "actor", "issuer-role", "only an issuer's staff and platform admins read its aggregation")
	}
	if asked != "" && asked != actor.Org {
		return "", "", fieldErr(apperr.Forbidden, "issuer", "own-org", "an organization reads and reconciles its own licenses only")
	}
	return actor.Org, actor.AccountID, nil
}

// Lateness returns, per issuer, type, month of completion and kind, how
// many licenses reached the platform in time and how many late
// (AggregationDue): the imported ones as their last import recorded, the
// issued ones (their issuance is their completion) always in time.
func (s *Service) Lateness(ctx context.Context, actor *authz.Actor, q LatenessQuery) ([]LatenessRow, error) {
	issuer, _, err := s.aggregationScope(ctx, actor, q.Issuer)
	if err != nil {
		return nil, err
	}
	var fs apperr.Fields
	q.From, q.To = strings.TrimSpace(q.From), strings.TrimSpace(q.To)
	if q.To == "" {
		q.To = q.From
	}
	month := func(field, v string) time.Time {
		t, err := time.ParseInLocation("2006-01", v, AggregationZone)
		switch {
		case v == "":
			fs.Add(field, "required", "a month, YYYY-MM")
		case err != nil:
			fs.Add(field, "month", "a month, YYYY-MM")
		}
		return t
	}
	from, to := month("from", q.From), month("to", q.To)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	switch n := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1; {
	case n < 1:
		fs.Add("to", "not-before-from", "to is not before from")
	case n > MaxLatenessMonths:
		fs.Add("to", "max-span", fmt.Sprintf("a report spans at most %d months", MaxLatenessMonths))
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return s.reconcile.LatenessReport(ctx, LatenessFilter{Issuer: issuer, From: from, To: to.AddDate(0, 1, 0)})
}

// checkReconciliation checks what the issuer stated and, when it listed
// its pairs, sorts them and computes their tally.
func checkReconciliation(n *NewReconciliation) error {
	var fs apperr.Fields
	n.Type = strings.ToUpper(strings.TrimSpace(n.Type))
	fs.Name("type", n.Type, 64, true)
	if n.Listed {
		if n.Count != 0 || n.Digest != "" {
			fs.Add("licenses", "exclusive", "a list, or a count and a digest, not both")
		}
		// Each pair is named by its place in the list as sent, before
		// the sort.
		for i, p := range n.List {
			if len(fs) >= maxListErrors {
				break
			}
			field := fmt.Sprintf("licenses[%d]", i)
			fs.Name(field+".number", p.Number, maxImportNumber, true)
			if p.Version < 1 {
				fs.Add(field+".version", "range", "a version is 1 or more")
			}
		}
		if err := fs.Err(); err != nil {
			return err
		}
		SortPairs(n.List)
		d := NewDigester()
		for _, p := range n.List {
			if !d.Add(p) {
				return fieldErr(apperr.Invalid, "licenses", "duplicate", fmt.Sprintf("the number %q is listed twice", p.Number))
			}
		}
		t := d.Tally()
		n.Count, n.Digest = t.Count, t.Digest
		return fs.Err()
	}
	if n.Count < 0 {
		fs.Add("count", "range", "a count is 0 or more")
	}
	n.Digest = strings.ToLower(strings.TrimSpace(n.Digest))
	if b, err := hex.DecodeString(n.Digest); err != nil || len(b) != sha256.Size {
		fs.Add("digest", "sha256", "the SHA-256 of the sorted lines \"number\\tversion\\n\", 64 hex digits")
	}
	return fs.Err()
}

// maxImportNumber is the longest license number an import takes.
const maxImportNumber = 64

// Reconcile compares what an issuer states it holds of a type with the
// platform's licenses of that issuer and type, and records the result
// with its audit entry (license.reconcile) in one transaction. The
// platform's side is streamed from the store in the numbers' byte order,
// in memory bounded whatever the number of licenses, outside the
// recording transaction: a read of millions of rows must not hold the
// store's writer (SQLite has one), and the comparison guards no state —
// it is a statement of what the platform held when it read, which the
// record's time gives. A listed side is merged against the stream to
// count and name the differing numbers.
func (s *Service) Reconcile(ctx context.Context, actor *authz.Actor, n NewReconciliation) (Reconciliation, error) {
	issuer, by, err := s.aggregationScope(ctx, actor, n.Issuer)
	if err != nil {
		return Reconciliation{}, err
	}
	if issuer == "" {
		return Reconciliation{}, fieldErr(apperr.Invalid, "issuer", "required", "the issuer whose licenses to reconcile")
	}
	if err := checkReconciliation(&n); err != nil {
		return Reconciliation{}, err
	}
	e, err := s.catalog.GetType(ctx, n.Type)
	if errors.Is(err, apperr.NotFound) {
		return Reconciliation{}, fieldErr(apperr.Invalid, "type", "exists", fmt.Sprintf("no license type %s", n.Type))
	}
	if err != nil {
		return Reconciliation{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id, err := timeID("rec", now)
	if err != nil {
		return Reconciliation{}, err
	}
	r := Reconciliation{ID: id, Issuer: issuer, TypeCode: e.Code, Stated: Tally{Count: n.Count, Digest: n.Digest}, Listed: n.Listed,
		CreatedBy: by, CreatedAt: now}
	d, m := NewDigester(), merger{r: &r, list: n.List}
	err = s.reconcile.LicensePairs(ctx, issuer, e.Code, func(p Pair) error {
		if !d.Add(p) {
			return fmt.Errorf("licenses of %s %s out of byte order at %q", issuer, e.Code, p.Number)
		}
		if n.Listed {
			m.platform(p)
		}
		return nil
	})
	if err != nil {
		return Reconciliation{}, err
	}
	if n.Listed {
		m.rest()
	}
	r.Platform = d.Tally()
	r.Match = r.Platform == r.Stated
	err = s.reconcileTx(ctx, func(st ReconcileTx) error {
		if err := st.InsertReconciliation(ctx, r); err != nil {
			return err
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: by, Org: issuer, Action: "license.reconcile", Subject: r.ID,
			Details: map[string]string{"type": r.TypeCode, "match": strconv.FormatBool(r.Match), "listed": strconv.FormatBool(r.Listed),
				"stated_count": strconv.FormatInt(r.Stated.Count, 10), "stated_digest": r.Stated.Digest,
				"platform_count": strconv.FormatInt(r.Platform.Count, 10), "platform_digest": r.Platform.Digest,
				"missing": strconv.FormatInt(r.Missing, 10), "extra": strconv.FormatInt(r.Extra, 10),
				"version": strconv.FormatInt(r.VersionDiffers, 10)}})
	})
	if err != nil {
		return Reconciliation{}, err
	}
	return r, nil
}

// reconcileTx runs fn in one transaction of the store.
func (s *Service) reconcileTx(ctx context.Context, fn func(ReconcileTx) error) error {
	return s.tx(ctx, func(st Tx) error { return fn(st) })
}

// merger walks the issuer's sorted list along the platform's stream.
type merger struct {
	r    *Reconciliation
	list []Pair
	i    int
}

func (m *merger) differ(number, kind string, stated, held int64) {
	switch kind {
	case DiffMissing:
		m.r.Missing++
	case DiffExtra:
		m.r.Extra++
	default:
		m.r.VersionDiffers++
	}
	if len(m.r.First) < MaxFirstDifferences {
		m.r.First = append(m.r.First, Difference{Number: number, Kind: kind, StatedVersion: stated, PlatformVersion: held})
	}
}

// platform takes the platform's next pair.
func (m *merger) platform(p Pair) {
	for ; m.i < len(m.list) && m.list[m.i].Number < p.Number; m.i++ {
		m.differ(m.list[m.i].Number, DiffMissing, m.list[m.i].Version, 0)
	}
	if m.i < len(m.list) && m.list[m.i].Number == p.Number {
		if v := m.list[m.i].Version; v != p.Version {
			m.differ(p.Number, DiffVersion, v, p.Version)
		}
		m.i++
		return
	}
	m.differ(p.Number, DiffExtra, 0, p.Version)
}

// rest takes the issuer's numbers after the platform's last.
func (m *merger) rest() {
	for ; m.i < len(m.list); m.i++ {
		m.differ(m.list[m.i].Number, DiffMissing, m.list[m.i].Version, 0)
	}
}

// ReconcileCursor is the cursor key of r in a list, newest first.
func ReconcileCursor(r Reconciliation) string {
	return strconv.FormatInt(r.CreatedAt.UnixMicro(), 10) + "|" + r.ID
}

// ListReconciliations returns a page of the reconciliations of an issuer
// (the caller's own organization; any or every issuer's for platform
// admins), newest first.
func (s *Service) ListReconciliations(ctx context.Context, actor *authz.Actor, issuer string, limit int, cursor string) (page.Page[Reconciliation], error) {
	issuer, _, err := s.aggregationScope(ctx, actor, issuer)
	if err != nil {
		return page.Page[Reconciliation]{}, err
	}
	return page.Fetch(limit, cursor, func(limit int, after string) ([]Reconciliation, error) {
		return s.reconcile.ListReconciliations(ctx, ReconcileFilter{Issuer: issuer, After: after, Limit: limit})
	}, ReconcileCursor)
}
