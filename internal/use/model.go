package use

import (
	"context"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// State is the review state of a version of a matter.
type State string

// The states of a matter version. A version is written pending; only the
// platform operator moves it on, except that a newer change supersedes a
// version still pending.
const (
	Pending    State = "pending"
	Approved   State = "approved"
	Refused    State = "refused"
	Superseded State = "superseded"
)

// States lists the states in a stable order.
func States() []State { return []State{Pending, Approved, Refused, Superseded} }

// Need is one license type a matter needs, and the face fields of it the
// matter needs: precise and necessary, nothing else (R-USE-1, R-USE-2).
type Need struct {
	TypeCode string   `json:"type"`
	Fields   []string `json:"fields"`
}

// Matter is a matter (用证事项) of a using unit: its identity, and the
// numbers of its newest and of its usable version.
type Matter struct {
	Org       string // the using unit's credit code
	Code      string // unique within the unit
	CreatedBy string // the account id, or auditlog.Operator
	CreatedAt time.Time
	// Latest is the number of the newest version; Name is its name.
	Latest int
	Name   string
	// Approved is the number of the newest approved version, the one a use
	// acts under; 0 while none is approved. Read only.
	Approved int
}

// MatterVersion is one version of what a matter says. An approved
// version never changes; a change is a new version.
type MatterVersion struct {
	Org        string
	Code       string
	Number     int // 1, 2, ... per matter
	Name       string
	LegalBasis string // 设定依据: the law or rule that makes the matter need the licenses
	Needs      []Need
	State      State
	Author     string // the account id that wrote it, or auditlog.Operator
	ProposedAt time.Time
	// DecidedBy, DecidedAt and Reason record the review, or the change
	// that superseded the version; empty while pending.
	DecidedBy string
	DecidedAt time.Time
	Reason    string
}

// GrantState is the state of a type grant. Expired is not stored while a
// grant is left alone: an active grant whose ValidUntil has passed reads
// as expired.
type GrantState string

// The states of a type grant.
const (
	GrantActive    GrantState = "active"
	GrantExpired   GrantState = "expired"
	GrantWithdrawn GrantState = "withdrawn"
)

// TypeGrant lets one using unit use licenses of one type (一证一接口,
// R-USE-3), from its creation until ValidUntil (zero: no end) or its
// withdrawal. Grants are never deleted: each grant and withdrawal stays.
type TypeGrant struct {
	ID         string
	Org        string
	TypeCode   string
	ValidUntil time.Time // zero: until withdrawn
	State      GrantState
	GrantedBy  string
	GrantedAt  time.Time
	// ClosedBy, ClosedAt and Reason record the withdrawal, or the new
	// grant that closed an expired one.
	ClosedBy string
	ClosedAt time.Time
	Reason   string
}

// StateAt is the state of g at t: an active grant past its end is expired.
func (g TypeGrant) StateAt(t time.Time) GrantState {
	if g.State == GrantActive && g.Lapsed(t) {
		return GrantExpired
	}
	return g.State
}

// Lapsed reports whether g has an end at or before t.
func (g TypeGrant) Lapsed(t time.Time) bool {
	return !g.ValidUntil.IsZero() && !g.ValidUntil.After(t)
}

// InForce reports whether g lets its unit use its type at t.
func (g TypeGrant) InForce(t time.Time) bool { return g.StateAt(t) == GrantActive }

// MatterFilter selects matters; zero fields do not filter.
type MatterFilter struct {
	Org    string
	Usable bool // only the matters with an approved version
	After  string
	Limit  int
}

// VersionFilter selects matter versions; zero fields do not filter.
type VersionFilter struct {
	Org   string
	Code  string
	State State
	After string
	Limit int
}

// GrantFilter selects type grants; zero fields do not filter. Active and
// expired are decided against Now.
type GrantFilter struct {
	Org      string
	TypeCode string
	State    GrantState
	Now      time.Time
	After    string
	Limit    int
}

// Reader reads matters and type grants. Methods return apperr kinds:
// NotFound.
type Reader interface {
	GetMatter(ctx context.Context, org, code string) (Matter, error)
	// ListMatters orders by org, then code.
	ListMatters(ctx context.Context, f MatterFilter) ([]Matter, error)
	GetMatterVersion(ctx context.Context, org, code string, number int) (MatterVersion, error)
	// ListMatterVersions orders by org, code, then number.
	ListMatterVersions(ctx context.Context, f VersionFilter) ([]MatterVersion, error)
	// ApprovedMatterVersion returns the approved version of the matter with
	// the highest number, or NotFound.
	ApprovedMatterVersion(ctx context.Context, org, code string) (MatterVersion, error)

	GetTypeGrant(ctx context.Context, id string) (TypeGrant, error)
	// ListTypeGrants orders by id, which orders by creation.
	ListTypeGrants(ctx context.Context, f GrantFilter) ([]TypeGrant, error)
	// ActiveTypeGrant returns the grant of the type to the unit that is
	// still active (possibly past its end), or NotFound.
	ActiveTypeGrant(ctx context.Context, org, typeCode string) (TypeGrant, error)

	// GetCaseRecord returns one record of a case, or NotFound.
	GetCaseRecord(ctx context.Context, org, kase, licenseID, useID string) (CaseRecord, error)
	// ListCaseRecords orders by use, then license.
	ListCaseRecords(ctx context.Context, f CaseFilter) ([]CaseRecord, error)
	// UsageReport counts the integrated uses and refusals of the licenses
	// f selects by issuer, unit, matter and month (ReportZone).
	UsageReport(ctx context.Context, f ReportFilter) ([]UsageRow, error)
}

// Tx is what a change of matters or grants gets: the transaction it runs
// in. It re-reads what it decides on through Reader; writes return
// Conflict for a duplicate or a state that moved.
type Tx interface {
	Reader

	InsertMatter(ctx context.Context, m Matter) error
	InsertMatterVersion(ctx context.Context, v MatterVersion) error
	// UpdateMatterVersion stores v's state and decision, if the stored
	// version is still in state from.
	UpdateMatterVersion(ctx context.Context, v MatterVersion, from State) error

	InsertTypeGrant(ctx context.Context, g TypeGrant) error
	// CloseTypeGrant stores g's state and closing, if the stored grant is
	// still active.
	CloseTypeGrant(ctx context.Context, g TypeGrant) error

	// Every change is appended to the audit log in the same transaction.
	auditlog.Appender
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// GrantStates lists the states of a type grant in a stable order.
func GrantStates() []GrantState { return []GrantState{GrantActive, GrantExpired, GrantWithdrawn} }
