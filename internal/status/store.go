package status

import (
	"context"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

// Reader is what publishing reads: a list, its set bits and its change
// counter. *store.DB implements it.
type Reader interface {
	// GetStatusList returns the list ref names; apperr.NotFound when there
	// is none.
	GetStatusList(ctx context.Context, ref ListRef) (List, error)
	// StatusListChanges returns the change counter of the list: a number
	// that grows with every committed change of one of its bits, so that a
	// published credential can be kept until it changes. apperr.NotFound
	// when there is no such list.
	StatusListChanges(ctx context.Context, ref ListRef) (int64, error)
	// StatusListBits returns the indices whose bit of purpose p is set, in
	// ascending order.
	StatusListBits(ctx context.Context, ref ListRef, p Purpose) ([]int, error)
	// StatusLists returns every list, in order of issuer, purpose set and
	// number.
	StatusLists(ctx context.Context) ([]List, error)
	// StatusBit returns the bit of purpose p at index of the list ref
	// names, as committed now, and the list's size; apperr.NotFound when
	// there is no such list. An index outside the list reads as clear.
	StatusBit(ctx context.Context, ref ListRef, p Purpose, index int) (set bool, size int, err error)
}

// Tx is what allocation and changes of state get: the transaction of the
// operation that issues a license or changes its state, so that the index,
// the bits and the license commit together or not at all. It does not
// audit: the operation that calls it (issuance, a change of state) writes
// the audit entry of the whole act.
type Tx interface {
	Reader
	Store
	// SlotBits returns the bits of the claimed slot s; apperr.NotFound when
	// s was never claimed.
	SlotBits(ctx context.Context, s Slot) (Bits, error)
	// SetSlotBits changes the bits of the claimed slot s from cur, which
	// SlotBits read in the same transaction, to next, writing only the
	// purposes whose bit differs, and counts one change of the list. It does
	// not judge the change (Service.SetState does). Touching nothing but the
	// bits that change matters on PostgreSQL: even a delete that finds
	// nothing locks the index range it looked in, so that concurrent
	// changes of other slots of the list would conflict with it.
	SetSlotBits(ctx context.Context, s Slot, cur, next Bits, at time.Time) error
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// Purpose is a statusPurpose of the wire format, named here so that the
// store and the HTTP layer, which do not reach the codecs, can speak of it.
type Purpose = statuslist.Purpose

// The purposes of the lists the platform publishes.
const (
	PurposeRevocation = statuslist.PurposeRevocation
	PurposeSuspension = statuslist.PurposeSuspension
)
