package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// Check is one verification check and its outcome.
type Check struct {
	// Name is one of the Check* names; API clients and the CLI print it,
	// so the names are stable.
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Informational checks report the present (is the seal still active?)
	// without deciding validity: a signature made while the seal was valid
	// stays valid.
	Informational bool `json:"informational,omitempty"`
	// Reason says why a check failed. A passing check may carry one too,
	// as a note that does not change the outcome: a version 5 seal's maker
	// certificate, judged at the seal's createDate, that has expired or
	// been revoked since.
	Reason string `json:"reason,omitempty"`
	// Unknown marks a check that could not be decided — a license's
	// status without a snapshot of its list. It is not OK: an unknown
	// check that is not informational makes the verdict not valid.
	Unknown bool `json:"unknown,omitempty"`
	// AsOf is when the facts a check relied on were read, for checks on
	// data that changes (a license's status): its age is At minus AsOf.
	AsOf time.Time `json:"as_of,omitzero"`
}

// Verdict is the answer of a verification: valid when every
// non-informational check passed.
type Verdict struct {
	Valid    bool      `json:"valid"`
	SealCode string    `json:"seal_code,omitempty"`
	SealName string    `json:"seal_name,omitempty"`
	SignedAt time.Time `json:"signed_at,omitzero"`
	// LicenseID is the identifier of the license a License verdict is
	// about, when its document could be read.
	LicenseID string  `json:"license_id,omitempty"`
	Checks    []Check `json:"checks"`
}

// settle decides the verdict: valid when every non-informational check
// passed.
func (v *Verdict) settle() {
	v.Valid = len(v.Checks) > 0
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			v.Valid = false
		}
	}
}

// The checks Seal lists, in this order. The first six are package ses's
// own checks of the signature's structure and cryptography; their names
// are the ses constants.
const (
	CheckStructure         = ses.CheckStructure         // the signature parses as a GB/T 38540 SES_Signature
	CheckSignature         = ses.CheckSignature         // the signer's signature over TBS_Sign
	CheckDocumentHash      = ses.CheckDocumentHash      // the signed hash is the document's SM3
	CheckMakerSignature    = ses.CheckMakerSignature    // the maker's signature over the seal structure
	CheckSignerCertificate = ses.CheckSignerCertificate // the signer's certificate is listed in the seal
	CheckSealValidity      = ses.CheckSealValidity      // the seal was within its validity at signing time
	CheckCertificateChain  = "certificate-chain"        // signer (at signing time) and maker (at signing time; version 5: at the seal's createDate) certificates chain to a trusted root, unrevoked
	CheckSealState         = "seal-state"               // the platform made this seal structure, and the seal was active at signing time
	CheckSealNow           = "seal-now"                 // informational: the seal is active and valid now
)

// Trust is what verification relies on beyond the signature itself: the
// trusted roots, each seal's state history and revocations. The platform's
// store backs it online; a Bundle backs it offline.
type Trust interface {
	// Roots returns the trusted root certificates.
	Roots(ctx context.Context) ([]*smx509.Certificate, error)
	// SealHistory returns the seal's state changes in time order; known is
	// false for a seal the platform did not make.
	SealHistory(ctx context.Context, code string) (history []StateChange, known bool, err error)
	// SealStructures returns the SHA-256 (hex) of every seal structure
	// (SESeal, DER) the platform made for the seal: the first making and
	// each renewal. A signature must carry one of them, which ties its
	// maker certificate, its listed signer certificates, the seal's name
	// and picture to the platform's records.
	SealStructures(ctx context.Context, code string) ([]string, error)
	// RevokedAt returns when the certificate with this SHA-256 fingerprint
	// (hex) was revoked, or nil.
	RevokedAt(ctx context.Context, fingerprint string) (*time.Time, error)
}

// SealState is a seal's lifecycle state as verification needs it. The
// values are the platform's seal states; a seal signs only while active.
type SealState string

// The seal states.
const (
	SealActive    SealState = "active"
	SealSuspended SealState = "suspended"
	SealCancelled SealState = "cancelled"
)

// StateChange is one entry of a seal's state history: from At on, the seal
// was in State.
type StateChange struct {
	At    time.Time `json:"at"`
	State SealState `json:"state"`
}

// activeWithin reports whether the seal was active at some instant of
// [from, from+1s). GB/T 38540 records the signing time in whole seconds,
// and a seal signs only while active, so a signature made in that second is
// consistent with the history exactly when this holds — also when the seal
// was made or suspended within the same second. It also returns the state
// at from and whether the history says anything about from.
func activeWithin(h []StateChange, from time.Time) (bool, SealState, bool) {
	st, found := stateAt(h, from)
	if found && st == SealActive {
		return true, st, true
	}
	if from.Nanosecond() != 0 {
		// A signing time with fractions of a second (another producer's)
		// is exact: no second of doubt to give it.
		return false, st, found
	}
	for _, c := range h {
		if c.At.After(from) && c.At.Before(from.Add(time.Second)) && c.State == SealActive {
			return true, SealActive, true
		}
	}
	return false, st, found
}

// stateAt returns the state a history says the seal had at t.
func stateAt(h []StateChange, t time.Time) (SealState, bool) {
	var st SealState
	found := false
	for _, c := range h {
		if c.At.After(t) {
			break
		}
		st, found = c.State, true
	}
	return st, found
}

// Seal checks a GB/T 38540 signature (SES_Signature, DER) over a document,
// or over its SM3 digest when document is nil, and lists every check with
// its reason (验章). now is the present, for the informational seal-now
// check only: validity is decided at the signing time the signature
// records. Seal never fails: what cannot be checked is a failed check.
//
// Both GB/T 38540-2020 (version 4) and GM/T 0031-2025 (version 5)
// signatures are accepted. For version 5 the maker certificate is judged
// at the seal's createDate, as that standard requires, and one expired or
// revoked since is only a note on the certificate-chain check. Time stamps
// (the signature's, and a version 5 seal's) are not verified in either
// version: they neither help nor hurt a verdict, so a version 5 seal's
// createDate is taken on the maker's word, backed by the platform's
// record of the structure it made (seal-state).
func Seal(ctx context.Context, trust Trust, sigDER, document, digest []byte, now time.Time) Verdict {
	var v Verdict
	add := func(name string, err error, informational bool) {
		c := Check{Name: name, OK: err == nil, Informational: informational}
		if err != nil {
			var ce *ses.CheckError
			if errors.As(err, &ce) {
				c.Reason = ce.Err.Error()
			} else {
				c.Reason = err.Error()
			}
		}
		v.Checks = append(v.Checks, c)
	}
	sig, err := ses.ParseSignature(sigDER)
	add(CheckStructure, err, false)
	if err != nil {
		return v
	}
	tbs := sig.TBS
	v.SealCode, v.SealName, v.SignedAt = tbs.Seal.Info.ID, tbs.Seal.Info.Property.Name, tbs.Time
	add(CheckSignature, sig.VerifySignature(), false)
	switch {
	case document != nil:
		add(CheckDocumentHash, sig.CheckDocument(document), false)
	default:
		add(CheckDocumentHash, sig.CheckDigest(digest), false)
	}
	memo := cacheOf(trust)
	add(CheckMakerSignature, verifyMaker(memo, &tbs.Seal), false)
	add(CheckSignerCertificate, sig.CheckSignerCertificate(), false)
	add(CheckSealValidity, tbs.Seal.CheckValidity(tbs.Time), false)
	note, err := checkChains(ctx, trust, memo, sig, now)
	add(CheckCertificateChain, err, false)
	if err == nil && note != "" {
		v.Checks[len(v.Checks)-1].Reason = note
	}
	code := tbs.Seal.Info.ID
	history, known, err := trust.SealHistory(ctx, code)
	switch {
	case err != nil:
		add(CheckSealState, fmt.Errorf("seal history of %s: %w", code, err), false)
	case !known:
		add(CheckSealState, fmt.Errorf("seal %s was not made by this platform", code), false)
	default:
		// Anyone holding a seal certificate under a trusted root can make a
		// structure naming any seal code; only the platform's record of
		// what it made tells the real one.
		if err := madeByPlatform(ctx, trust, code, tbs.Seal.Raw); err != nil {
			add(CheckSealState, err, false)
			break
		}
		active, st, ok := activeWithin(history, tbs.Time)
		switch {
		case !ok && !active:
			add(CheckSealState, fmt.Errorf("seal %s did not exist yet at %s", code, tbs.Time.Format(time.RFC3339)), false)
		case !active:
			add(CheckSealState, fmt.Errorf("seal %s was %s at %s", code, st, tbs.Time.Format(time.RFC3339)), false)
		default:
			add(CheckSealState, nil, false)
		}
		var nowErr error
		if st, _ := stateAt(history, now); st != SealActive {
			nowErr = fmt.Errorf("seal %s is %s now", code, st)
		} else if err := tbs.Seal.CheckValidity(now); err != nil {
			nowErr = fmt.Errorf("seal %s has expired", code)
		}
		add(CheckSealNow, nowErr, true)
	}
	v.settle()
	return v
}

// madeByPlatform checks that the seal structure a signature carries is one
// the platform made for the seal it names.
func madeByPlatform(ctx context.Context, trust Trust, code string, structure []byte) error {
	made, err := trust.SealStructures(ctx, code)
	if err != nil {
		return fmt.Errorf("seal structures of %s: %w", code, err)
	}
	if !slices.Contains(made, sha256Hex(structure)) {
		return fmt.Errorf("the seal structure in the signature is not one the platform made for seal %s (forged or altered)", code)
	}
	return nil
}

// checkChains verifies the signer certificate (for seals) at the signing
// time and the maker certificate (as an issuer) at makerTime to the
// trusted roots, and that neither was revoked by then. For a version 5
// seal it returns a note when the maker certificate, valid at createDate,
// has expired or been revoked by now.
func checkChains(ctx context.Context, trust Trust, memo *Cache, sig *ses.Signature, now time.Time) (string, error) {
	roots, err := trust.Roots(ctx)
	if err != nil {
		return "", fmt.Errorf("trusted roots: %w", err)
	}
	var rk [sha256.Size]byte
	if memo != nil {
		rk = rootsKey(roots)
	}
	seal := &sig.TBS.Seal
	v5 := seal.Info.Header.Version == ses.Version5
	note := ""
	for _, c := range []struct {
		der     []byte
		purpose ca.Purpose
		who     string
		at      time.Time
		noteNow bool // note an expiry or revocation after at
	}{
		{sig.SignerCert, ca.Seal, "signer", sig.TBS.Time, false},
		{seal.MakerCert, ca.Issuer, "maker", makerTime(sig), v5},
	} {
		notAfter, err := verifyChain(memo, chainKey{leaf: sha256.Sum256(c.der), roots: rk, purpose: c.purpose}, c.who, c.der, roots, c.at)
		if err != nil {
			return "", err
		}
		revoked, err := trust.RevokedAt(ctx, Fingerprint(c.der))
		if err != nil {
			return "", fmt.Errorf("revocation of the %s certificate: %w", c.who, err)
		}
		if revoked != nil && !c.at.Before(*revoked) {
			return "", fmt.Errorf("%s certificate was revoked at %s", c.who, revoked.Format(time.RFC3339))
		}
		if c.noteNow {
			created := c.at.UTC().Format(time.RFC3339)
			switch {
			case revoked != nil:
				note = fmt.Sprintf("the maker certificate was revoked at %s, after the seal's createDate %s; GM/T 0031-2025 judges it at createDate",
					revoked.UTC().Format(time.RFC3339), created)
			case now.After(notAfter):
				note = fmt.Sprintf("the maker certificate expired at %s, after the seal's createDate %s; GM/T 0031-2025 judges it at createDate",
					notAfter.UTC().Format(time.RFC3339), created)
			}
		}
	}
	return note, nil
}

// verifyChain checks that the certificate der (the who's) chains to roots
// at instant at for its purpose, unless memo knows it does, and returns
// the certificate's expiry.
func verifyChain(memo *Cache, k chainKey, who string, der []byte, roots []*smx509.Certificate, at time.Time) (time.Time, error) {
	if notAfter, ok := memo.chain(k, at); ok {
		return notAfter, nil
	}
	x, err := ca.ParseDER(der)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s certificate: %w", who, err)
	}
	if err := ca.Verify([]*smx509.Certificate{x}, roots, at, k.purpose); err != nil {
		return time.Time{}, fmt.Errorf("%s certificate at %s: %w", who, at.UTC().Format(time.RFC3339), err)
	}
	memo.rememberChain(k, x, roots)
	return x.NotAfter, nil
}

// verifyMaker checks the maker's signature on a seal structure, unless
// memo knows it verified these very bytes before.
func verifyMaker(memo *Cache, s *ses.Seal) error {
	var sum [sha256.Size]byte
	if memo != nil {
		sum = sha256.Sum256(s.Raw)
		if memo.structureVerified(sum) {
			return nil
		}
	}
	if err := s.VerifyMaker(); err != nil {
		return err
	}
	memo.rememberStructure(sum)
	return nil
}

// makerTime is when the maker certificate must have been valid: at the
// signing time for a version 4 seal, as this package has always judged it;
// at the seal's createDate for version 5, because GM/T 0031-2025 ties the
// maker certificate to the making of the seal, which a seal outlives.
func makerTime(sig *ses.Signature) time.Time {
	if sig.TBS.Seal.Info.Header.Version == ses.Version5 {
		return sig.TBS.Seal.Info.Property.Created
	}
	return sig.TBS.Time
}

// Fingerprint is the SHA-256 of a certificate's DER, lower-case hex: how
// the platform names certificates, revocations and the root that signs a
// trust bundle.
func Fingerprint(der []byte) string { return sha256Hex(der) }

// StructureHash is the SHA-256 of a seal structure's DER, lower-case hex,
// as Trust.SealStructures lists them.
func StructureHash(der []byte) string { return sha256Hex(der) }

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
