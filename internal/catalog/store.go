package catalog

import (
	"context"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// Entry is a license type as the catalog keeps it: the type, who defined
// it, and the newest version the platform operator approved.
type Entry struct {
	Type
	// Owner is the credit code of the organization that defined the type
	// and proposes its versions: the platform organization, or the one
	// issuer a type defined by an issuer names.
	Owner     string
	CreatedBy string // the account id, or auditlog.Operator
	CreatedAt time.Time
	// Approved is the number of the newest approved version, 0 while the
	// type has none and so cannot be issued (R-CAT-3). Read only.
	Approved int
}

// TypeFilter selects types; zero fields do not filter.
type TypeFilter struct {
	// Issuer keeps the types the organization may issue: those naming it
	// and those open to any issuer.
	Issuer     string
	Owner      string
	Level      Level
	HolderKind HolderKind
	// Usable keeps the types with an approved version.
	Usable bool
	After  string // the code the page starts after
	Limit  int
}

// VersionFilter selects the versions of one type; zero fields do not
// filter.
type VersionFilter struct {
	TypeCode string
	State    State
	After    int // the number the page starts after
	Limit    int
}

// Reader reads the catalog. Methods return apperr kinds: NotFound.
type Reader interface {
	GetType(ctx context.Context, code string) (Entry, error)
	ListTypes(ctx context.Context, f TypeFilter) ([]Entry, error) // by code
	GetVersion(ctx context.Context, typeCode string, number int) (Version, error)
	ListVersions(ctx context.Context, f VersionFilter) ([]Version, error) // by number
	// LastVersion returns the highest version number of the type, 0 when
	// it has none.
	LastVersion(ctx context.Context, typeCode string) (int, error)
	// LatestApproved returns the approved version of the type with the
	// highest number, or NotFound.
	LatestApproved(ctx context.Context, typeCode string) (Version, error)
}

// Tx is what a change of the catalog gets: the transaction it runs in. It
// re-reads what it decides on through Reader; writes return Conflict for
// a duplicate or a state that moved.
type Tx interface {
	Reader

	InsertType(ctx context.Context, e Entry) error
	InsertVersion(ctx context.Context, v Version) error
	// UpdateVersion stores v's state and its last transition, if the
	// stored version is still in state from.
	UpdateVersion(ctx context.Context, v Version, from State) error

	// Every change of the catalog is appended to the audit log in the same
	// transaction.
	auditlog.Appender
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error
