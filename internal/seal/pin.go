package seal

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/password"
)

// MinPINLength is the shortest PIN accepted.
const MinPINLength = 6

// ErrPINLocked means the seal's PIN was mistyped too often; only an approved
// pin-reset application unlocks it.
var ErrPINLocked = errors.New("the seal is locked after too many wrong PINs")

// SetPIN sets or changes a seal's PIN (R-SEAL-4). Only a keeper may; a PIN
// that is set must be given to change it, and giving it counts as a try
// like signing does.
func (s *Service) SetPIN(ctx context.Context, actor *authz.Actor, id, current, next string) (Seal, error) {
	x, err := s.GetSeal(ctx, id)
	if err != nil {
		return Seal{}, err
	}
	if err := keeperOf(actor, x); err != nil {
		return Seal{}, err
	}
	if x.State == Cancelled {
		return Seal{}, apperr.New(apperr.Conflict, "seal %s is cancelled", x.ID)
	}
	if utf8.RuneCountInString(next) < MinPINLength || len(next) > 64 {
		return Seal{}, &apperr.Error{Kind: apperr.Invalid, Detail: "the PIN is too short or too long",
			Fields: []apperr.FieldError{{Field: "new_pin", Rule: "pin-length", Detail: fmt.Sprintf("%d to 64 characters", MinPINLength)}}}
	}
	var proven string // the PIN hash current was checked against; "" when no PIN was set
	if x.PINHash != "" {
		if proven, err = s.tryPIN(ctx, x.ID, current, "pin"); err != nil {
			return Seal{}, err
		}
	}
	done := false
	defer func() {
		if proven != "" && !done {
			s.forgiveTry(ctx, x.ID, proven)
		}
	}()
	h, err := password.Hash(next, s.rand)
	if err != nil {
		return Seal{}, err
	}
	now := s.now()
	var out Seal
	err = s.tx(ctx, func(st Tx) error {
		cur, err := keptSeal(ctx, st, actor, x.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.State == Cancelled:
			return apperr.New(apperr.Conflict, "seal %s is cancelled", cur.ID)
		case proven != "" && cur.Locked:
			return apperr.Wrap(apperr.Conflict, ErrPINLocked, "seal %s is locked: apply for a PIN reset", cur.ID)
		case cur.PINHash != proven && proven == "":
			return apperr.New(apperr.Conflict, "a PIN was set for seal %s meanwhile; give it to change it", cur.ID)
		case cur.PINHash != proven:
			return apperr.New(apperr.Conflict, "the PIN of seal %s was changed or reset meanwhile", cur.ID)
		}
		cur.PINHash, cur.PINSetAt, cur.PINFailures = h, &now, 0
		cur.Version++
		cur.UpdatedAt = now
		if err := st.UpdateSeal(ctx, cur); err != nil {
			return err
		}
		out = cur
		return s.event(ctx, st, cur, actor.AccountID, "pin-set", "", "")
	})
	if err != nil {
		return Seal{}, err
	}
	done = true
	return out, nil
}

// tryPIN checks pin against the seal's PIN (R-SEAL-4) and returns the hash
// it matched.
//
// A try is claimed before the PIN is evaluated: the claim counts it as a
// failure, atomically and only while fewer than MaxPINFailures are
// counted, so however many requests race, at most MaxPINFailures PINs are
// ever evaluated between two right ones. Argon2id is slow; evaluating
// outside a transaction keeps the store's write lock short. A wrong PIN
// then settles in a transaction that re-reads the seal and locks it when
// the count is full, once, with its seal.locked entry. A right PIN leaves
// its try counted until the caller's transaction, which re-reads the seal,
// refuses a locked one or one whose PIN changed, and clears the count. So
// a right PIN racing the last wrong ones may find the seal locked: the
// safe side.
func (s *Service) tryPIN(ctx context.Context, id, pin, field string) (string, error) {
	hash, ok, err := s.store.ClaimPINTry(ctx, id, s.cfg.MaxPINFailures)
	if err != nil {
		return "", err
	}
	if !ok {
		x, err := s.GetSeal(ctx, id)
		if err != nil {
			return "", err
		}
		if x.PINHash == "" {
			return "", apperr.New(apperr.Conflict, "seal %s has no PIN yet: its keeper sets one first", x.ID)
		}
		// Either locked, or the last tries are being evaluated and will
		// lock it unless one is right.
		return "", apperr.Wrap(apperr.Conflict, ErrPINLocked, "seal %s is locked or has no PIN try left: apply for a PIN reset", x.ID)
	}
	err = password.Verify(hash, pin)
	if err == nil {
		return hash, nil
	}
	if !errors.Is(err, password.ErrMismatch) {
		return "", err
	}
	left := 0
	err = s.tx(ctx, func(st Tx) error {
		cur, err := st.GetSeal(ctx, id)
		if err != nil {
			return err
		}
		left = s.cfg.MaxPINFailures - cur.PINFailures
		if cur.Locked || cur.PINHash != hash || cur.PINFailures < s.cfg.MaxPINFailures {
			return nil
		}
		cur.Locked = true
		cur.Version++
		cur.UpdatedAt = s.now()
		if err := st.UpdateSeal(ctx, cur); err != nil {
			return err
		}
		return s.event(ctx, st, cur, "", "locked", fmt.Sprintf("%d wrong PINs", cur.PINFailures), "")
	})
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("wrong PIN; %d tries left before the seal locks", left)
	if left <= 0 {
		detail = "wrong PIN; the seal is now locked until an approved PIN reset"
	}
	return "", &apperr.Error{Kind: apperr.Invalid, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: "pin", Detail: detail}}}
}

// provenPIN checks, in the transaction that acts on a right PIN, that the
// seal is not locked and still has the PIN that was proven, and clears its
// count of tries.
func provenPIN(cur *Seal, proven string) error {
	switch {
	case cur.Locked:
		return apperr.Wrap(apperr.Conflict, ErrPINLocked, "seal %s was locked meanwhile: apply for a PIN reset", cur.ID)
	case cur.PINHash != proven:
		return apperr.New(apperr.Conflict, "the PIN of seal %s was changed or reset meanwhile", cur.ID)
	}
	cur.PINFailures = 0
	return nil
}

// forgiveTry clears the count of tries after a right PIN whose action
// failed for another reason, unless the seal was locked or its PIN changed
// meanwhile. It is best effort: a try left counted only brings the lock
// nearer, the safe side.
func (s *Service) forgiveTry(ctx context.Context, id, proven string) {
	ctx = context.WithoutCancel(ctx)
	_ = s.tx(ctx, func(st Tx) error {
		cur, err := st.GetSeal(ctx, id)
		if err != nil || cur.PINFailures == 0 || provenPIN(&cur, proven) != nil {
			return err
		}
		cur.Version++
		cur.UpdatedAt = s.now()
		return st.UpdateSeal(ctx, cur)
	})
}
