package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// State is the review state of a version of a license type (R-CAT-3).
type State string

// The states.
const (
	// Draft: being written; its template may change.
	Draft State = "draft"
	// Pending: submitted to the platform operator for review.
	Pending State = "pending"
	// Approved: usable for issuance; never changes again.
	Approved State = "approved"
	// Rejected: refused with a reason; a corrected template is a new version.
	Rejected State = "rejected"
)

// Action moves a version from one state to another.
type Action string

// The actions.
const (
	Submit   Action = "submit"   // the author sends the draft for review
	Withdraw Action = "withdraw" // the author takes a pending version back to draft
	Approve  Action = "approve"  // the platform operator accepts it
	Reject   Action = "reject"   // the platform operator refuses it, with a reason
)

// transitions is the whole state machine: an action not listed for a state
// is refused. Approved and Rejected are final.
var transitions = []struct {
	from   State
	action Action
	to     State
}{
	{Draft, Submit, Pending},
	{Pending, Withdraw, Draft},
	{Pending, Approve, Approved},
	{Pending, Reject, Rejected},
}

// Next returns the state action leads to from state, and whether the
// transition exists.
func Next(from State, a Action) (State, bool) {
	for _, t := range transitions {
		if t.from == from && t.action == a {
			return t.to, true
		}
	}
	return "", false
}

// Event records one transition: who, when and why.
type Event struct {
	Action Action    `json:"action"`
	By     string    `json:"by"` // the account id of the actor
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Version is one version of a license type's template. Licenses keep the
// number of the version they were issued under (R-CAT-2).
type Version struct {
	TypeCode string   `json:"type_code"`
	Number   int      `json:"number"` // 1, 2, ... per type
	Template Template `json:"template"`
	State    State    `json:"state"`
	Author   string   `json:"author"`           // the account id that wrote the draft
	Events   []Event  `json:"events,omitempty"` // every transition, oldest first
}

// maxReason is the longest reason of a transition, in characters.
const maxReason = 500

// NewVersion returns a draft version of the type written by author.
func NewVersion(typeCode string, number int, t Template, author string) (Version, error) {
	var fs apperr.Fields
	if number < 1 {
		fs.Add("number", "range", "version numbers start at 1")
	}
	fs.Text("author", author, 100, true)
	if err := fs.Err(); err != nil {
		return Version{}, err
	}
	return Version{TypeCode: typeCode, Number: number, Template: t, State: Draft, Author: author}, nil
}

// Apply performs action by the account by at the time at, with a reason
// (required to reject, optional otherwise), and returns the version in its
// new state; v itself is not changed. It refuses, with an *apperr.Error:
//
//   - Conflict (field "state", rule "transition"): the action is not one
//     the current state allows;
//   - Invalid: the reason is missing for a rejection or not clean text;
//     to approve, the template does not pass Template.Validate;
//   - Forbidden (rule "four-eyes"): the author reviews its own version; the
//     platform operator who approves or rejects is someone else.
func (v Version) Apply(a Action, by string, at time.Time, reason string) (Version, error) {
	to, ok := Next(v.State, a)
	if !ok {
		return Version{}, &apperr.Error{Kind: apperr.Conflict,
			Detail: fmt.Sprintf("version %d of %s is %s: it cannot %s", v.Number, v.TypeCode, v.State, a),
			Fields: []apperr.FieldError{{Field: "state", Rule: "transition", Detail: fmt.Sprintf("%s does not allow %s", v.State, a)}}}
	}
	var fs apperr.Fields
	fs.Text("by", by, 100, true)
	if a == Reject && strings.TrimSpace(reason) == "" {
		fs.Add("reason", "required", "a rejection says why")
	} else {
		fs.Name("reason", reason, maxReason, false)
	}
	if err := fs.Err(); err != nil {
		return Version{}, err
	}
	if (a == Approve || a == Reject) && by == v.Author {
		return Version{}, &apperr.Error{Kind: apperr.Forbidden,
			Detail: "a version is reviewed by someone other than its author",
			Fields: []apperr.FieldError{{Field: "by", Rule: "four-eyes", Detail: "the author cannot review its own version"}}}
	}
	if a == Approve || a == Submit {
		if err := v.Template.Validate(); err != nil {
			return Version{}, err
		}
	}
	next := v
	next.State = to
	next.Events = append(slices.Clip(v.Events), Event{Action: a, By: by, At: at, Reason: reason})
	return next, nil
}

// Edit returns the version with a new template. Only a draft changes: an
// approved version is immutable, so the licenses issued under it keep
// meaning what they said (Conflict, rule "immutable" on "state").
func (v Version) Edit(t Template) (Version, error) {
	if v.State != Draft {
		return Version{}, &apperr.Error{Kind: apperr.Conflict,
			Detail: fmt.Sprintf("version %d of %s is %s: only a draft changes; write a new version", v.Number, v.TypeCode, v.State),
			Fields: []apperr.FieldError{{Field: "state", Rule: "immutable", Detail: "only a draft changes"}}}
	}
	v.Template = t
	return v, nil
}

// Usable reports whether licenses may be issued under the version: nil when
// it is approved, else a Conflict naming its state (rule "approved").
func (v Version) Usable() error {
	if v.State == Approved {
		return nil
	}
	return &apperr.Error{Kind: apperr.Conflict,
		Detail: fmt.Sprintf("version %d of %s is %s, not approved by the platform operator", v.Number, v.TypeCode, v.State),
		Fields: []apperr.FieldError{{Field: "version", Rule: "approved", Detail: fmt.Sprintf("the version is %s", v.State)}}}
}

// Pick returns the version number of the type among versions, if it is
// usable: NotFound (field "type" or "version", rule "exists") when there is
// no such type or version, else what Usable says.
func Pick(versions []Version, typeCode string, number int) (Version, error) {
	typeKnown := false
	for _, v := range versions {
		if v.TypeCode != typeCode {
			continue
		}
		typeKnown = true
		if v.Number == number {
			if err := v.Usable(); err != nil {
				return Version{}, err
			}
			return v, nil
		}
	}
	field, detail := "version", fmt.Sprintf("license type %s has no version %d", typeCode, number)
	if !typeKnown {
		field, detail = "type", fmt.Sprintf("no license type has code %s", typeCode)
	}
	return Version{}, &apperr.Error{Kind: apperr.NotFound, Detail: detail,
		Fields: []apperr.FieldError{{Field: field, Rule: "exists", Detail: detail}}}
}
