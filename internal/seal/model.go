package seal

import (
	"context"
	"slices"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/pki"
)

// Kind is what a seal is for (R-SEAL-1).
type Kind string

// The seal kinds.
const (
	LegalName      Kind = "legal-name"                // 单位法定名称章
	Department     Kind = "department"                // 内设机构章
	Branch         Kind = "branch"                    // 分支机构章
	Contract       Kind = "contract"                  // 合同专用章
	Finance        Kind = "finance"                   // 财务专用章
	Invoice        Kind = "invoice"                   // 发票专用章
	Inspection     Kind = "inspection"                // 检验检测专用章
	Customs        Kind = "customs"                   // 报关专用章
	LicenseIssuing Kind = "license-issuing"           // 证照专用章
	LegalRep       Kind = "legal-representative"      // 法定代表人名章
	Manager        Kind = "manager"                   // 负责人名章
	FinanceHead    Kind = "finance-head"              // 财务负责人名章
	AuthorizedRep  Kind = "authorized-representative" // 授权代表名章
)

// Kinds lists the kinds in the order of their codes (01, 02, …).
func Kinds() []Kind {
	return []Kind{LegalName, Department, Branch, Contract, Finance, Invoice, Inspection, Customs, LicenseIssuing,
		LegalRep, Manager, FinanceHead, AuthorizedRep}
}

// Code is the two-digit kind code inside a seal code.
func (k Kind) Code() int { return slices.Index(Kinds(), k) + 1 }

// Personal reports whether the kind is a person's name seal; GB/T 38540
// records it in the seal's type.
func (k Kind) Personal() bool { return k.Code() >= LegalRep.Code() }

// State is a seal's lifecycle state. Expiry is not a state: a seal is valid
// exactly while its certificate is (R-SEAL-3).
type State string

// The states.
const (
	Active    State = "active"
	Suspended State = "suspended"
	Cancelled State = "cancelled"
)

// Policy is how many approvers a use of the seal needs (R-SEAL-5).
type Policy string

// The policies.
const (
	NoApproval   Policy = "none"
	OneApprover  Policy = "one"
	TwoApprovers Policy = "two"
)

// Needed is the number of approvals the policy asks for.
func (p Policy) Needed() int { return map[Policy]int{OneApprover: 1, TwoApprovers: 2}[p] }

// Action is what an application asks for (R-SEAL-3, R-SEAL-4).
type Action string

// The actions.
const (
	Make     Action = "make"
	Renew    Action = "renew"
	Change   Action = "change"
	Suspend  Action = "suspend"
	Restore  Action = "restore"
	Cancel   Action = "cancel"
	PINReset Action = "pin-reset"
	Bind     Action = "bind"   // a license-issuing seal to the issuing service
	Unbind   Action = "unbind" // ends the binding in force
)

// Actions lists every action.
func Actions() []Action {
	return []Action{Make, Renew, Change, Suspend, Restore, Cancel, PINReset, Bind, Unbind}
}

// BoundService is a service a seal may be bound to, to sign without a PIN.
type BoundService string

// LicenseIssuance is the issuing service: it signs each license it issues
// with the issuer's bound license-issuing seal.
const LicenseIssuance BoundService = "license-issuance"

// AppStatus is where an application stands.
type AppStatus string

// The statuses.
const (
	Pending  AppStatus = "pending"
	Approved AppStatus = "approved"
	Rejected AppStatus = "rejected"
)

// Attachment names a supporting document by its hash.
type Attachment struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Application asks the competent approver for an action on a seal.
type Application struct {
	ID            string
	Org           string
	Action        Action
	SealID        string // the seal acted on; "" for make
	SealKind      Kind   // make
	Name          string // make, change
	Reason        string
	Justification string // a second seal of the same kind needs one
	Attachments   []Attachment
	Image         []byte // make, change
	WidthMM       int
	HeightMM      int
	Keepers       []string  // account IDs; make
	Policy        Policy    // make
	Binding       BindTerms // bind: what the binding allows
	Status        AppStatus
	Applicant     string
	Approver      string
	Comment       string
	CreatedAt     time.Time
	DecidedAt     *time.Time
}

// BindTerms are what a bind application asks for and its approval allows:
// the service that may sign with the seal without a PIN, the license types
// it may sign (none: every type) and when the binding lapses (nil: when it
// is unbound or the seal cancelled).
type BindTerms struct {
	Service      BoundService
	LicenseTypes []string
	Until        *time.Time
}

// Binding is a license-issuing seal bound to a service. It is in force
// until it is ended (EndedAt) or lapses (Until).
type Binding struct {
	ID     string
	SealID string
	Org    string
	BindTerms
	ApplicationID    string
	BoundBy          string
	BoundAt          time.Time
	EndedAt          *time.Time
	EndedBy          string
	EndReason        string
	EndApplicationID string
}

// Allows reports whether the binding allows signing a license of type
// code (any type when the binding names none).
func (b Binding) Allows(code string) bool {
	return len(b.LicenseTypes) == 0 || slices.Contains(b.LicenseTypes, code)
}

// Seal is an electronic seal.
type Seal struct {
	ID              string // the seal code
	Org             string
	Kind            Kind
	Seq             int
	Name            string
	State           State
	KeyID           string
	CertFingerprint string
	ValidFrom       time.Time
	ValidTo         time.Time
	Image           Image
	Structure       []byte // SES_Seal, DER
	Keepers         []string
	Policy          Policy
	PINHash         string
	PINSetAt        *time.Time
	PINFailures     int
	Locked          bool
	FilingState     string
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Filing states.
const (
	FilingQueued = "queued" // the filing record waits in the outbox
	FilingFiled  = "filed"  // the upstream platform acknowledged it
)

// Making is one seal structure made for a seal (first making, renewals).
type Making struct {
	SealID          string
	N               int
	CertFingerprint string
	Structure       []byte
	ValidFrom       time.Time
	ValidTo         time.Time
	ApplicationID   string
	CreatedAt       time.Time
}

// Event is a state change of a seal: who, when, why.
type Event struct {
	ID            string
	SealID        string
	At            time.Time
	Actor         string
	Action        string
	State         State
	Reason        string
	ApplicationID string
}

// UseStatus is where a use request stands.
type UseStatus string

// The use request statuses.
const (
	UsePending  UseStatus = "pending"
	UseApproved UseStatus = "approved"
	UseRejected UseStatus = "rejected"
	UseUsed     UseStatus = "used"
)

// UseRequest asks to apply a seal to one document (R-SEAL-5).
type UseRequest struct {
	ID        string
	SealID    string
	DocHash   string // SM3, hex
	Title     string
	Purpose   string
	Requester string
	Needed    int
	Approvals []string
	Status    UseStatus
	Comment   string
	CreatedAt time.Time
	DecidedAt *time.Time
}

// UseKind is what allowed a signature: an approved use request and the
// keeper's PIN, or a binding to a service.
type UseKind string

// The use kinds.
const (
	UseByRequest UseKind = "request"
	UseBound     UseKind = "bound"
)

// Use is the record of one signature made with a seal.
type Use struct {
	ID              string
	SealID          string
	Kind            UseKind
	RequestID       string // request
	BindingID       string // bound
	Title           string // bound: the document signed
	DocHash         string
	Signer          string
	SignedAt        time.Time
	CertFingerprint string
	Signature       []byte // SES_Signature, DER
}

// Filter selects seals or applications; zero fields do not filter.
type Filter struct {
	Org    string
	Kind   Kind
	State  State
	Status AppStatus
	After  string
	Limit  int
}

// Reader reads seals, their applications, makings, events and uses.
// Methods return apperr kinds: NotFound.
type Reader interface {
	GetApplication(ctx context.Context, id string) (Application, error)
	ListApplications(ctx context.Context, f Filter) ([]Application, error)

	NextSealSeq(ctx context.Context, org string, k Kind) (int, error)
	CountSeals(ctx context.Context, org string, k Kind) (int, error) // not cancelled
	GetSeal(ctx context.Context, id string) (Seal, error)
	ListSeals(ctx context.Context, f Filter) ([]Seal, error)
	ListMakings(ctx context.Context, sealID string) ([]Making, error)
	ListSealEvents(ctx context.Context, sealID string) ([]Event, error)

	GetUseRequest(ctx context.Context, id string) (UseRequest, error)
	ListUses(ctx context.Context, sealID string) ([]Use, error)

	// ActiveBinding returns the binding of the seal to the service that
	// has not been ended (it may have lapsed); NotFound when there is none.
	ActiveBinding(ctx context.Context, sealID string, svc BoundService) (Binding, error)
}

// Store is what the service holds outside a transaction: the reads, and
// the claim of a PIN try.
type Store interface {
	Reader
	// ClaimPINTry counts one PIN try against the seal, atomically, if the
	// seal has a PIN, is not locked and has fewer than max tries counted,
	// and returns the PIN hash the try is to be checked against; ok is
	// false when no try was left to claim. It commits by itself, before the
	// slow PIN check and apart from any transaction, so that racing tries
	// queue on the seal's row instead of conflicting (see tryPIN).
	ClaimPINTry(ctx context.Context, id string, max int) (pinHash string, ok bool, err error)
}

// Tx is what a change or use of a seal gets: the transaction it runs in.
// It re-reads what it decides on through Reader; writes return Conflict
// for a duplicate or a version that moved.
type Tx interface {
	Reader

	InsertApplication(ctx context.Context, a Application) error
	DecideApplication(ctx context.Context, a Application) error // pending → a.Status

	InsertSeal(ctx context.Context, s Seal) error
	UpdateSeal(ctx context.Context, s Seal) error // s.Version-1 must be stored
	InsertMaking(ctx context.Context, m Making) error
	InsertSealEvent(ctx context.Context, e Event) error

	InsertUseRequest(ctx context.Context, r UseRequest) error
	UpdateUseRequest(ctx context.Context, r UseRequest, from UseStatus) error
	InsertUse(ctx context.Context, u Use) error
	InsertArchive(ctx context.Context, id, useID, docHash, title string, content []byte, at time.Time) error

	InsertBinding(ctx context.Context, b Binding) error
	// EndBinding records b.EndedAt, EndedBy, EndReason and
	// EndApplicationID; Conflict when the binding was ended already.
	EndBinding(ctx context.Context, b Binding) error

	// A filing is queued for the upstream platform in the transaction that
	// makes the seal.
	notify.OutboxWriter
	// A seal's key and certificate are stored, and a cancelled seal's
	// certificate revoked, in the transaction that changes the seal.
	keyring.Inserter
	pki.Writer
	// Every change and use of a seal is appended to the audit log in the
	// same transaction.
	auditlog.Appender
}

// BoundTx is what signing with a bound seal needs of the transaction of
// the caller (license issuance passes its own, which embeds it): re-read
// the seal and its binding, record the use, append the audit entry.
type BoundTx interface {
	GetSeal(ctx context.Context, id string) (Seal, error)
	ActiveBinding(ctx context.Context, sealID string, svc BoundService) (Binding, error)
	// The seal's key and certificates are read in the transaction too.
	MaterialReader
	InsertUse(ctx context.Context, u Use) error
	// InsertUses is InsertUse for the uses of one signing of many
	// documents (SignBoundEach), written with a few statements.
	InsertUses(ctx context.Context, us []Use) error
	auditlog.Appender
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error
