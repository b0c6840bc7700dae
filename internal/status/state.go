package status

import (
	"errors"
	"fmt"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

// State is the lifecycle state of a license credential (one signed version
// of a license, R-ISS-4) as far as its status bits are concerned. The
// license package maps its own states onto these.
type State string

const (
	// Active: issued and in force.
	Active State = "active"
	// Pledged (质押): in force, and pledged as collateral. The license
	// still proves what it says, so verifiers accept it; the pledge is
	// shown by online verification, not by a bit.
	Pledged State = "pledged"
	// Expired: past the end of its validity. The credential says when it
	// ends and verifiers check that, so no bit is set; setting one would
	// rewrite lists for every expiry without telling anyone anything.
	Expired State = "expired"
	// Suspended (挂起): not to be accepted until it is resumed.
	Suspended State = "suspended"
	// ReportedLost (挂失): the holder reported it lost; not to be accepted
	// until the report is withdrawn, or for good once a replacement is
	// issued (then it is Superseded).
	ReportedLost State = "reported-lost"
	// Revoked (吊销) by the issuer as a sanction.
	Revoked State = "revoked"
	// Cancelled (注销): ended at the holder's request or because its
	// subject ceased to exist.
	Cancelled State = "cancelled"
	// Abolished (废止): declared void by the issuer.
	Abolished State = "abolished"
	// Superseded: replaced by a newer credential of the same license (a
	// change, a renewal, a reissue after loss, a transfer re-signed by a
	// new owner). Each credential has its own index, so the old one is
	// revoked while the new one stays valid.
	Superseded State = "superseded"
)

// Bits are the status bits of a credential, one per purpose.
type Bits struct {
	Revocation bool // set for good: the credential is no longer valid
	Suspension bool // set for now: the credential is not to be accepted
}

// Bit returns the bit of purpose p.
func (b Bits) Bit(p statuslist.Purpose) bool {
	switch p {
	case statuslist.PurposeRevocation:
		return b.Revocation
	case statuslist.PurposeSuspension:
		return b.Suspension
	}
	return false
}

// ErrUnknownState is returned (wrapped) for a state this package does not
// know: a programming error in the caller's mapping.
var ErrUnknownState = errors.New("status: unknown lifecycle state")

// ErrIrreversible is returned (wrapped) by CheckChange for a change that
// would clear a revocation bit: Bitstring Status List v1.0 §2.1 makes
// revocation permanent, and a verifier that saw the bit set may have
// acted on it. The change must be refused; a license that is valid again
// is a new credential with a new index.
var ErrIrreversible = errors.New("status: a revoked credential cannot become valid again")

// BitsOf returns the bits a credential in state s has.
//
//	state                                     revocation  suspension
//	active, pledged, expired                  0           0
//	suspended, reported-lost                  0           1
//	revoked, cancelled, abolished, superseded 1           0
func BitsOf(s State) (Bits, error) {
	switch s {
	case Active, Pledged, Expired:
		return Bits{}, nil
	case Suspended, ReportedLost:
		return Bits{Suspension: true}, nil
	case Revoked, Cancelled, Abolished, Superseded:
		return Bits{Revocation: true}, nil
	}
	return Bits{}, fmt.Errorf("%w: %q", ErrUnknownState, string(s))
}

// CheckChange returns the bits of a credential moving from state from to
// state to, or an error wrapping ErrIrreversible when from has its
// revocation bit set and to has not.
func CheckChange(from, to State) (Bits, error) {
	old, err := BitsOf(from)
	if err != nil {
		return Bits{}, err
	}
	next, err := BitsOf(to)
	if err != nil {
		return Bits{}, err
	}
	if old.Revocation && !next.Revocation {
		return Bits{}, fmt.Errorf("%w: %s to %s", ErrIrreversible, from, to)
	}
	return next, nil
}
