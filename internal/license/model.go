package license

import (
	"context"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// State is the lifecycle state of a license.
type State string

// Active is the state of an issued license in force; the others are in
// lifecycle.go.
const Active State = "active"

// License is a license as the store keeps it. The face data lives in the
// signed document of each version (Version), encrypted at rest like the
// holder's identifier.
type License struct {
	// ID is the platform-wide identifier (docs/license-format.md).
	ID string
	// Number is the license number printed on the face; unique per type.
	Number      string
	TypeCode    string
	TypeVersion int
	// Issuer is the credit code of the issuing organization.
	Issuer     string
	HolderKind catalog.HolderKind
	// HolderID is the holder's citizen ID number or credit code,
	// normalized. The store keeps it encrypted and finds it by a blind
	// index.
	HolderID string
	// HolderIndex is the blind index of HolderID, set on reads: a signed-in
	// holder's own licenses are those of its kind and index.
	HolderIndex string
	HolderName  string
	ValidFrom   time.Time
	ValidUntil  *time.Time // nil for a license without an end
	State       State
	// Version counts the signed versions of the license, from 1.
	Version int64
	// Slot is the index of the current version in its issuer's status
	// lists; each version has its own.
	Slot status.Slot
	// SealID is the seal that signed the current version.
	SealID    string
	IssuedBy  string // the account that issued it
	IssuedAt  time.Time
	UpdatedAt time.Time
}

// Version is one signed version of a license: the document as the seal
// signed it (codec/license, canonical JSON).
type Version struct {
	LicenseID string
	Version   int64
	Document  []byte
	SealID    string
	UseID     string // the seal use that signed it
	// Slot is the version's own index in the status lists: a version that
	// is superseded is revoked there while its successor stays valid.
	Slot      status.Slot
	CreatedAt time.Time
}

// Filter selects licenses to list; zero fields do not filter.
type Filter struct {
	Issuer   string
	TypeCode string
	State    State
	// Holder is a normalized holder identifier; the store matches it by
	// its blind index, never by decrypting.
	Holder string
	// HolderKind and HolderIndex select a signed-in holder's licenses: its
	// kind and the blind index of its identifier.
	HolderKind  catalog.HolderKind
	HolderIndex string
	After       string // the identifier the page starts after
	Limit       int
}

// Reader reads licenses. *store.DB implements it. Methods return apperr
// kinds: NotFound.
type Reader interface {
	GetLicense(ctx context.Context, id string) (License, error)
	// HolderAuditEntries returns up to limit entries of the audit log
	// whose subject is a license of the holder of kind and blind index,
	// from index from on and below size, in index order, with their
	// leaves as hashed into the tree.
	HolderAuditEntries(ctx context.Context, kind catalog.HolderKind, index string, from, size uint64, limit int) ([]auditlog.Entry, [][]byte, error)
	ListLicenses(ctx context.Context, f Filter) ([]License, error)
	// LicenseDocument returns the signed document of a version of a
	// license.
	LicenseDocument(ctx context.Context, id string, version int64) ([]byte, error)
	// ListMaterials returns the materials of a license by seq, without
	// their content.
	ListMaterials(ctx context.Context, licenseID string) ([]MaterialInfo, error)
	// Material returns a material of a license and its content.
	Material(ctx context.Context, licenseID string, seq int) (MaterialInfo, []byte, error)
	// LicenseTransitions returns a page of the transitions of a license,
	// by Seq.
	LicenseTransitions(ctx context.Context, f HistoryFilter) ([]Record, error)
	// HolderNotices returns a page of the notices of the licenses of a
	// holder, by f.
	HolderNotices(ctx context.Context, f NoticeFilter) ([]Notice, error)
	// DueLicenses returns up to limit identifiers of licenses in a state
	// Expire is allowed from whose valid_until is at or before now.
	DueLicenses(ctx context.Context, now time.Time, limit int) ([]string, error)
	// GetGrant returns a holder's grant, with its license's issuer.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// ListGrants returns a page of grants by f, by ID.
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// ActiveGrant returns the newest grant of the license to the unit
	// for the matter that is active and not expired at t; NotFound when
	// there is none.
	ActiveGrant(ctx context.Context, licenseID, unit, matter string, at time.Time) (Grant, error)
	// GetOrg returns an organization, read in the caller's transaction:
	// a grant checks its using unit there; NotFound when there is none.
	GetOrg(ctx context.Context, creditCode string) (org.Org, error)
	// ApprovedMatter returns the matter of the unit by its code as its
	// newest approved version says it; NotFound when the unit has no such
	// matter or none of its versions is approved.
	ApprovedMatter(ctx context.Context, unit, code string) (Matter, error)
	// ApprovedMatters returns a page of the unit's matters with an
	// approved version, by code after after.
	ApprovedMatters(ctx context.Context, unit, after string, limit int) ([]Matter, error)
	// GetReissueRequest returns a reissue request, with its license's
	// issuer.
	GetReissueRequest(ctx context.Context, id string) (ReissueRequest, error)
	// OpenReissueRequest returns the open reissue request of a license;
	// NotFound when there is none.
	OpenReissueRequest(ctx context.Context, licenseID string) (ReissueRequest, error)
	// ListReissueRequests returns a page of the reissue requests of an
	// issuer's licenses by f, by ID.
	ListReissueRequests(ctx context.Context, f ReissueFilter) ([]ReissueRequest, error)
}

// Store is what the service holds: the reads and the two counters, which
// commit by themselves on purpose (a sequence is spent whether or not its
// issuance commits; gaps are allowed, duplicates are not), so that a
// counter row is locked for one UPDATE, not for a whole issuance.
type Store interface {
	Reader
	// Sequencer numbers the license numbers per NumberingRule.Scope.
	ids.Sequencer
	// NextLicenseSeq returns the next identifier sequence of the license
	// type and issuer, from 1.
	NextLicenseSeq(ctx context.Context, typeCode, issuer string) (uint64, error)
	// NextLicenseSeqs draws n identifier sequences at once and returns the
	// first; the others follow it.
	NextLicenseSeqs(ctx context.Context, typeCode, issuer string, n int) (uint64, error)
	// ImportDigest is the keyed digest of an imported row's content
	// (license_imports.digest).
	ImportDigest(content string) (string, error)
}

// Tx is what the issuing and the transition transactions read and write
// through: the license, its versions and transitions, the status slots
// (status.Tx), the seal use of a signature (seal.BoundTx, which carries
// the audit log's Appender) and the outbox event.
type Tx interface {
	// Reader reads in the transaction: a transition or an export decides
	// on the license as this transaction sees it.
	Reader
	// InsertLicense records the license: the intent, before the seal
	// signs. Conflict when its identifier or number is taken.
	InsertLicense(ctx context.Context, l License) error
	// UpdateLicense writes l over the license of its identifier provided
	// that the stored one is still in state and at version; Conflict when
	// it is not.
	UpdateLicense(ctx context.Context, l License, state State, version int64) error
	InsertLicenseVersion(ctx context.Context, v Version) error
	// InsertLicenses, InsertLicenseVersions and InsertOutboxes are
	// InsertLicense, InsertLicenseVersion and InsertOutbox for the rows of
	// a batch, written with a few statements rather than one a row.
	InsertLicenses(ctx context.Context, ls []License) error
	InsertLicenseVersions(ctx context.Context, vs []Version) error
	InsertOutboxes(ctx context.Context, es []OutboxEvent) error
	// InsertMaterial stores a material of a license, its content
	// encrypted, under the license's next seq, which it returns with m;
	// NotFound when there is no such license.
	InsertMaterial(ctx context.Context, m MaterialInfo, content []byte) (MaterialInfo, error)
	// InsertLicenseTransition appends r to the license's history, with
	// the next Seq, which it returns.
	InsertLicenseTransition(ctx context.Context, r Record) (int64, error)
	// InsertGrant records a holder's grant.
	InsertGrant(ctx context.Context, g Grant) error
	// WithdrawGrant marks an active grant withdrawn at at; Conflict when
	// it is not active.
	WithdrawGrant(ctx context.Context, id string, at time.Time) error
	// InsertReissueRequest records an open reissue request; Conflict when
	// the license has one open already.
	InsertReissueRequest(ctx context.Context, r ReissueRequest) error
	// CloseReissueRequest writes r's state, answer and closing over the
	// request provided that it is still open; Conflict when it is not.
	CloseReissueRequest(ctx context.Context, r ReissueRequest) error
	status.Tx
	seal.BoundTx
	notify.OutboxWriter
	ImportTx
	ReconcileTx
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// OutboxEvent is an event a transaction puts in the outbox, as
// notify.OutboxWriter's InsertOutbox names it.
type OutboxEvent struct {
	ID, Topic string
	Payload   []byte
	At        time.Time
}
