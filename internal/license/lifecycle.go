package license

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// The lifecycle states besides Active (docs/licenses.md, "Lifecycle").
// Revoked, Cancelled and Abolished are terminal: no operation leaves them.
const (
	Suspended    State = "suspended"     // 挂起
	Pledged      State = "pledged"       // 质押
	ReportedLost State = "reported-lost" // 挂失
	Expired      State = "expired"
	Revoked      State = "revoked"   // 吊销
	Cancelled    State = "cancelled" // 注销
	Abolished    State = "abolished" // 废止
)

// States are every lifecycle state, in the order the documentation lists
// them.
func States() []State {
	return []State{Active, Suspended, Pledged, ReportedLost, Expired, Revoked, Cancelled, Abolished}
}

// Terminal reports whether no operation leaves state s.
func (s State) Terminal() bool { return s == Revoked || s == Cancelled || s == Abolished }

// StatusState is the state of the status lists whose bits a credential in
// license state s has (status.BitsOf): the names are the same, so that a
// license state the status package does not know fails there, loudly.
func (s State) StatusState() status.State { return status.State(s) }

// Operation is a lifecycle operation on an issued license.
type Operation string

// The operations. Expire is the clock's alone (ExpireDue) and Transfer a
// transfer job's (RunTransfer); the others are an issuer's (Transition).
const (
	Change     Operation = "change"      // 变更: a new version with other face data
	Renew      Operation = "renew"       // 延续: a new version with a new validity
	Suspend    Operation = "suspend"     // 挂起
	Resume     Operation = "resume"      // 恢复, and the withdrawal of a loss report
	Pledge     Operation = "pledge"      // 质押
	Release    Operation = "release"     // 解除质押
	Revoke     Operation = "revoke"      // 吊销
	Cancel     Operation = "cancel"      // 注销
	Abolish    Operation = "abolish"     // 废止
	ReportLost Operation = "report-lost" // 挂失
	Reissue    Operation = "reissue"     // 补办: a new version replacing the lost one
	Expire     Operation = "expire"      // 到期, by the clock
	Transfer   Operation = "transfer"    // 转移: to a new issuing organization, by a transfer job
)

// byIssuer reports whether an issuer applies op through Transition.
func (op Operation) byIssuer() bool { return op != Expire && op != Transfer }

// Operations are the operations an issuer applies: every operation of the
// table but Expire and Transfer.
func Operations() []Operation {
	var out []Operation
	for _, t := range Transitions() {
		if t.Operation.byIssuer() {
			out = append(out, t.Operation)
		}
	}
	return out
}

// Transition is one row of the transition table: an operation, the states
// it is allowed from and the state it leads to.
type Transition struct {
	Operation Operation
	From      []State
	// To is the state the operation leads to; empty for one that keeps
	// the state (Target).
	To State
	// Resign: the operation signs a new version of the license with a new
	// status index, and the old version is superseded.
	Resign bool
	// Topic is the outbox topic of the operation (docs/notify.md).
	Topic string
}

// Transitions is the transition table, the only one: Transition and
// ExpireDue decide by it, and docs/licenses.md renders it (a test keeps
// the two equal).
//
// One operation has one target state, so an operation that interrupts
// another state cannot restore it afterwards. Hence a loss report is made
// only of an active license (a suspended or pledged one is resumed or
// released first), and its withdrawal is Resume, back to active; a
// suspension is of an active license only, for the same reason.
func Transitions() []Transition {
	live := []State{Active, Suspended, Pledged, ReportedLost, Expired}
	return []Transition{
		{Operation: Change, From: []State{Active}, To: Active, Resign: true, Topic: "license.changed"},
		{Operation: Renew, From: []State{Active, Expired}, To: Active, Resign: true, Topic: "license.renewed"},
		{Operation: Suspend, From: []State{Active}, To: Suspended, Topic: "license.suspended"},
		{Operation: Resume, From: []State{Suspended, ReportedLost}, To: Active, Topic: "license.resumed"},
		{Operation: Pledge, From: []State{Active}, To: Pledged, Topic: "license.pledged"},
		{Operation: Release, From: []State{Pledged}, To: Active, Topic: "license.released"},
		{Operation: ReportLost, From: []State{Active}, To: ReportedLost, Topic: "license.reported-lost"},
		{Operation: Reissue, From: []State{ReportedLost}, To: Active, Resign: true, Topic: "license.reissued"},
		{Operation: Revoke, From: live, To: Revoked, Topic: "license.revoked"},
		{Operation: Cancel, From: live, To: Cancelled, Topic: "license.cancelled"},
		{Operation: Abolish, From: live, To: Abolished, Topic: "license.abolished"},
		{Operation: Expire, From: []State{Active, Suspended, Pledged, ReportedLost}, To: Expired, Topic: "license.expired"},
		// A transfer keeps the state; a license in a terminal state moves
		// without a new version (transfer.go).
		{Operation: Transfer, From: States(), Resign: true, Topic: "license.transferred"},
	}
}

// Target is the state the operation leads to from s.
func (t Transition) Target(s State) State {
	if t.To == "" {
		return s
	}
	return t.To
}

// transitionOf returns the table's row of op.
func transitionOf(op Operation) (Transition, bool) {
	for _, t := range Transitions() {
		if t.Operation == op {
			return t, true
		}
	}
	return Transition{}, false
}

// Allows reports whether the operation is allowed from state s.
func (t Transition) Allows(s State) bool { return slices.Contains(t.From, s) }

// refusal is the Conflict of an operation the table does not allow from
// the license's current state, which it names.
func (t Transition) refusal(id string, cur State) error {
	from := make([]string, len(t.From))
	for i, s := range t.From {
		from[i] = string(s)
	}
	detail := fmt.Sprintf("license %s is %s; %s is allowed only from %s", id, cur, t.Operation, strings.Join(from, ", "))
	return &apperr.Error{Kind: apperr.Conflict, Detail: detail, Fields: []apperr.FieldError{{Field: "operation", Rule: "transition", Detail: detail,
		Params: map[string]any{"State": string(cur), "Operation": string(t.Operation)}}}}
}

// Record is one transition of a license as its history keeps it.
type Record struct {
	LicenseID string
	// Seq numbers the transitions of the license, from 1.
	Seq       int64
	Operation Operation
	From      State
	To        State
	Reason    string
	Actor     string // the account, or "system" for expiry
	At        time.Time
	// Version is the license's version after the transition.
	Version int64
}

// HistoryFilter selects a page of a license's transitions, by Seq.
type HistoryFilter struct {
	LicenseID string
	After     int64
	Limit     int
}
