package license

import (
	"context"
	"slices"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// Catalog is what issuance reads of the license catalog.
type Catalog interface {
	GetType(ctx context.Context, code string) (catalog.Entry, error)
	GetVersion(ctx context.Context, typeCode string, number int) (catalog.Version, error)
	Latest(ctx context.Context, typeCode string) (catalog.Version, error)
}

// Orgs is what issuance reads of organizations: the issuer's name and
// region.
type Orgs interface {
	GetOrg(ctx context.Context, creditCode string) (org.Org, error)
}

// Seals is what issuance needs of the seal service: the issuer's
// license-issuing seals, their bindings, and signing with a bound seal in
// the issuing transaction.
type Seals interface {
	ListSeals(ctx context.Context, f seal.Filter, cursor string) (page.Page[seal.Seal], error)
	Binding(ctx context.Context, sealID string) (seal.Binding, error)
	InForce(b seal.Binding) bool
	CheckBound(ctx context.Context, req seal.BoundSign) error
	SignBound(ctx context.Context, st seal.BoundTx, req seal.BoundSign) ([]byte, seal.Use, error)
	SignBoundEach(ctx context.Context, st seal.BoundTx, req seal.BoundSign, docs []seal.BoundDoc) (seal.BoundEach, error)
}

// Status allocates a license version's index in its issuer's status
// lists, in the issuing transaction, and sets the bits of its state in the
// transaction of a lifecycle operation.
type Status interface {
	Allocate(ctx context.Context, tx status.Tx, issuer string) (status.Allocation, error)
	// AllocateN is Allocate for the n versions of a batch.
	AllocateN(ctx context.Context, tx status.Tx, issuer string, n int) ([]status.Allocation, error)
	ChangeState(ctx context.Context, tx status.Tx, slot status.Slot, from, to status.State) error
}

// Deps are what the license service is built from; every field is
// required but BaseURL and CredentialSigner, which only the export of
// credentials needs, and BulkTx.
type Deps struct {
	Store Store
	Tx    TxFunc
	// BulkTx, when set, runs the transaction of an import batch, which
	// writes its rows in bulk (the store's WithBulkTx); Tx otherwise.
	BulkTx  TxFunc
	Catalog Catalog
	Orgs    Orgs
	Seals   Seals
	Status  Status
	Now     func() time.Time
	// BaseURL is the platform's public base URL: an exported credential
	// names the signed document below it.
	BaseURL string
	// CredentialSigner signs exported credentials: the platform's
	// status-list key (docs/vc.md, "The key").
	CredentialSigner status.SignerFunc
	// Transfers and TransferTx are the issuer transfer jobs (transfer.go).
	Transfers  TransferReader
	TransferTx TransferTxFunc
	// Presenter is the platform's presentation key, which only QR
	// presentations need (present.go).
	Presenter PresentationKeyFunc
	// Printer renders printed copies (printcopy.go), which only
	// Printout needs.
	Printer Printer
	// Reconcile reads lateness reports and the platform's side of
	// reconciliations (reconcile.go).
	Reconcile ReconcileReader
}

// Service issues licenses and reads them back.
//
// Who does what (deny by default): an account with the issuer role issues
// licenses of the types its own organization issues, and reads its own
// organization's licenses.
type Service struct {
	store   Store
	tx      TxFunc
	bulkTx  TxFunc
	catalog Catalog
	orgs    Orgs
	seals   Seals
	status  Status
	now     func() time.Time
	baseURL string
	signer  status.SignerFunc
	// transfers and transferTx keep the issuer transfer jobs.
	transfers  TransferReader
	transferTx TransferTxFunc
	presenter  PresentationKeyFunc
	printer    Printer
	reconcile  ReconcileReader
}

// New returns the license service.
func New(d Deps) *Service {
	bulkTx := d.BulkTx
	if bulkTx == nil {
		bulkTx = d.Tx
	}
	return &Service{store: d.Store, tx: d.Tx, bulkTx: bulkTx, catalog: d.Catalog, orgs: d.Orgs, seals: d.Seals, status: d.Status, now: d.Now,
		baseURL: d.BaseURL, signer: d.CredentialSigner, transfers: d.Transfers, transferTx: d.TransferTx, presenter: d.Presenter,
		printer: d.Printer, reconcile: d.Reconcile}
}

// issuerOf returns the organization actor issues for: an issuer account's
// own organization. Forbidden otherwise.
func issuerOf(actor *authz.Actor) (string, error) {
	if actor == nil || actor.Org == "" || !slices.Contains(actor.Roles, authz.Issuer) {
		return "", &apperr.Error{Kind: apperr.Forbidden, Detail: "only an issuer account issues and reads licenses",
			Fields: []apperr.FieldError{{Field: "actor", Rule: "issuer-role", Detail: "the issuer role is required"}}}
	}
	return actor.Org, nil
}
