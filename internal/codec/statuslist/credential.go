package statuslist

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Names of the Verifiable Credentials Data Model v2.0 and Bitstring Status
// List v1.0 vocabularies used in the documents.
const (
	ContextV2                = "https://www.w3.org/ns/credentials/v2"
	TypeVerifiableCredential = "VerifiableCredential" //nolint:gosec // G101: a type name of the VC data model, not a secret
	TypeStatusListCredential = "BitstringStatusListCredential"
	TypeStatusList           = "BitstringStatusList"
	TypeStatusListEntry      = "BitstringStatusListEntry"
)

// Purpose is a statusPurpose. Only the two the platform publishes are
// accepted: refresh and message (which needs statusSize > 1) are not.
type Purpose string

const (
	// PurposeRevocation marks a credential that is no longer valid, for
	// good: a set bit is never cleared (Bitstring Status List v1.0 §2.1).
	PurposeRevocation Purpose = "revocation"
	// PurposeSuspension marks a credential that is not to be accepted for
	// now; the bit can be cleared again.
	PurposeSuspension Purpose = "suspension"
)

// Valid reports whether p is one of the purposes this package handles.
func (p Purpose) Valid() bool { return p == PurposeRevocation || p == PurposeSuspension }

// ErrOutsideValidity reports a status list credential used before its
// validFrom or at or after its validUntil. A verifier must fetch a current
// list; the stale one says nothing about the present.
var ErrOutsideValidity = errors.New("statuslist: status list credential outside its validity period")

// Credential is a BitstringStatusListCredential (Bitstring Status List
// v1.0 §2.2) in the Verifiable Credentials Data Model v2.0 shape. Times are
// XML Schema date-times in UTC to the second, as NewCredential writes them.
type Credential struct {
	Context           []string `json:"@context"`
	ID                string   `json:"id"`
	Type              []string `json:"type"`
	Issuer            string   `json:"issuer"`
	ValidFrom         string   `json:"validFrom"`
	ValidUntil        string   `json:"validUntil"`
	CredentialSubject Subject  `json:"credentialSubject"`
	Proof             *Proof   `json:"proof,omitempty"`
}

// Subject is the credentialSubject of a status list credential: the list.
type Subject struct {
	ID            string  `json:"id"`
	Type          string  `json:"type"`
	StatusPurpose Purpose `json:"statusPurpose"`
	EncodedList   string  `json:"encodedList"`
	// TTL is the time to live in milliseconds (§2.2 ttl): how long a
	// verifier may cache the list before it should fetch it again. Zero
	// leaves it out.
	TTL int64 `json:"ttl,omitempty"`
}

// Params describe a status list credential to make.
type Params struct {
	// ID is the absolute URL the credential is published at; entries name
	// it as their statusListCredential.
	ID string
	// Issuer is the absolute URL (or DID) of the platform that signs it.
	Issuer string
	// Purpose is the one statusPurpose of the list.
	Purpose Purpose
	// ValidFrom and ValidUntil bound the period in which the credential
	// may be relied on; ValidUntil must be after ValidFrom.
	ValidFrom, ValidUntil time.Time
	// TTL, when positive, is written as the list's ttl, in milliseconds.
	TTL time.Duration
}

// NewCredential returns the unsigned status list credential of list. Its
// subject's id is the credential's id with the fragment "#list".
func NewCredential(p Params, list *Bitstring) (*Credential, error) {
	encoded, err := list.Encode()
	if err != nil {
		return nil, err
	}
	c := &Credential{
		Context:    []string{ContextV2},
		ID:         p.ID,
		Type:       []string{TypeVerifiableCredential, TypeStatusListCredential},
		Issuer:     p.Issuer,
		ValidFrom:  p.ValidFrom.UTC().Format(time.RFC3339),
		ValidUntil: p.ValidUntil.UTC().Format(time.RFC3339),
		CredentialSubject: Subject{
			ID:            p.ID + "#list",
			Type:          TypeStatusList,
			StatusPurpose: p.Purpose,
			EncodedList:   encoded,
			TTL:           p.TTL.Milliseconds(),
		},
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("new status list credential: %w", err)
	}
	return c, nil
}

// Validate checks the shape of c, not its proof: the v2 context first, both
// types, absolute URLs for id and issuer, a valid period, a subject of type
// BitstringStatusList with a known purpose and an encodedList. It does not
// expand the list (List does). Failures wrap ErrMalformed.
func (c *Credential) Validate() error {
	s := c.CredentialSubject
	var problem string
	switch {
	case len(c.Context) == 0 || c.Context[0] != ContextV2:
		problem = "@context must start with " + ContextV2
	case !slices.Contains(c.Type, TypeVerifiableCredential) || !slices.Contains(c.Type, TypeStatusListCredential):
		problem = "type must include " + TypeVerifiableCredential + " and " + TypeStatusListCredential
	case !absoluteURL(c.ID):
		problem = fmt.Sprintf("id %q is not an absolute URL", c.ID)
	case !absoluteURL(c.Issuer):
		problem = fmt.Sprintf("issuer %q is not an absolute URL", c.Issuer)
	case s.Type != TypeStatusList:
		problem = fmt.Sprintf("credentialSubject.type %q, want %q", s.Type, TypeStatusList)
	case !s.StatusPurpose.Valid():
		problem = fmt.Sprintf("credentialSubject.statusPurpose %q, want revocation or suspension", s.StatusPurpose)
	case s.EncodedList == "":
		problem = "credentialSubject.encodedList is empty"
	case s.TTL < 0:
		problem = "credentialSubject.ttl is negative"
	}
	if problem != "" {
		return fmt.Errorf("%w: %s", ErrMalformed, problem)
	}
	from, until, err := c.period()
	if err != nil {
		return err
	}
	if !until.After(from) {
		return fmt.Errorf("%w: validUntil %s is not after validFrom %s", ErrMalformed, c.ValidUntil, c.ValidFrom)
	}
	return nil
}

// period parses validFrom and validUntil.
func (c *Credential) period() (from, until time.Time, err error) {
	from, err = time.Parse(time.RFC3339, c.ValidFrom)
	if err != nil {
		return from, until, fmt.Errorf("%w: validFrom %q: %w", ErrMalformed, c.ValidFrom, err)
	}
	until, err = time.Parse(time.RFC3339, c.ValidUntil)
	if err != nil {
		return from, until, fmt.Errorf("%w: validUntil %q: %w", ErrMalformed, c.ValidUntil, err)
	}
	return from, until, nil
}

// CheckValidity reports an error wrapping ErrOutsideValidity when at is
// before validFrom or not before validUntil.
func (c *Credential) CheckValidity(at time.Time) error {
	from, until, err := c.period()
	if err != nil {
		return err
	}
	if at.Before(from) || !at.Before(until) {
		return fmt.Errorf("%w: %s is outside [%s, %s)", ErrOutsideValidity, at.UTC().Format(time.RFC3339), c.ValidFrom, c.ValidUntil)
	}
	return nil
}

// List expands the credential's encodedList (see Decode).
func (c *Credential) List() (*Bitstring, error) {
	return Decode(c.CredentialSubject.EncodedList)
}

// Sign adds to c a proof made by signer (see CreateProof), replacing any
// proof it had.
func (c *Credential) Sign(ctx context.Context, opts ProofOptions, signer keys.Signer) error {
	c.Proof = nil
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("sign status list credential: %w", err)
	}
	p, err := CreateProof(ctx, doc, opts, signer)
	if err != nil {
		return fmt.Errorf("sign status list credential: %w", err)
	}
	c.Proof = &p
	return nil
}

// ParseCredential verifies the proof of the secured status list credential
// doc against pub (see VerifyProof) and returns the credential once its
// shape is valid (see Validate). A proof that fails wraps ErrVerification,
// a bad shape ErrMalformed. It neither expands the list nor checks the
// validity period: see List and CheckValidity.
func ParseCredential(doc []byte, pub crypto.PublicKey) (*Credential, error) {
	if _, err := VerifyProof(doc, pub); err != nil {
		return nil, fmt.Errorf("status list credential: %w", err)
	}
	var c Credential
	if err := unmarshalExact(doc, &c); err != nil {
		return nil, fmt.Errorf("status list credential: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("status list credential: %w", err)
	}
	return &c, nil
}

// Entry is a BitstringStatusListEntry (Bitstring Status List v1.0 §2.1),
// the credentialStatus a license carries: which list, which purpose and
// which index. statusSize is always 1 and left out.
type Entry struct {
	ID                   string  `json:"id,omitempty"`
	Type                 string  `json:"type"`
	StatusPurpose        Purpose `json:"statusPurpose"`
	StatusListIndex      string  `json:"statusListIndex"`
	StatusListCredential string  `json:"statusListCredential"`
}

// NewEntry returns the entry for index in the list published at
// listCredential, with id listCredential#index.
func NewEntry(listCredential string, purpose Purpose, index int) (Entry, error) {
	e := Entry{
		ID:                   listCredential + "#" + strconv.Itoa(index),
		Type:                 TypeStatusListEntry,
		StatusPurpose:        purpose,
		StatusListIndex:      strconv.Itoa(index),
		StatusListCredential: listCredential,
	}
	if _, err := e.Index(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Index validates e and returns its index. The index is a base-10 integer
// without sign or leading zeros below MaxSize; anything else, a wrong type,
// an unknown purpose or a statusListCredential that is not an absolute URL
// gives an error wrapping ErrMalformed.
func (e Entry) Index() (int, error) {
	switch {
	case e.Type != TypeStatusListEntry:
		return 0, fmt.Errorf("%w: entry type %q, want %q", ErrMalformed, e.Type, TypeStatusListEntry)
	case !e.StatusPurpose.Valid():
		return 0, fmt.Errorf("%w: entry statusPurpose %q, want revocation or suspension", ErrMalformed, e.StatusPurpose)
	case !absoluteURL(e.StatusListCredential):
		return 0, fmt.Errorf("%w: statusListCredential %q is not an absolute URL", ErrMalformed, e.StatusListCredential)
	}
	s := e.StatusListIndex
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= MaxSize || strconv.Itoa(i) != s {
		return 0, fmt.Errorf("%w: statusListIndex %q is not a decimal index below %d", ErrMalformed, s, MaxSize)
	}
	return i, nil
}

// Check returns the status bit of e in c (Bitstring Status List v1.0 §3.2,
// Validate Algorithm, from step 5): true means revoked or suspended, as
// the purpose says. c must come from ParseCredential (its proof verified)
// and the caller checks its validity period. The entry's purpose and
// statusListCredential must be the credential's purpose and id, or the
// error wraps ErrVerification; a list too short or too long wraps
// ErrListLength, an index past its end ErrRange.
func Check(e Entry, c *Credential) (bool, error) {
	i, err := e.Index()
	if err != nil {
		return false, err
	}
	if e.StatusPurpose != c.CredentialSubject.StatusPurpose {
		return false, fmt.Errorf("%w: entry purpose %s, list purpose %s", ErrVerification, e.StatusPurpose, c.CredentialSubject.StatusPurpose)
	}
	if e.StatusListCredential != c.ID {
		return false, fmt.Errorf("%w: entry names list %q, credential is %q", ErrVerification, e.StatusListCredential, c.ID)
	}
	list, err := c.List()
	if err != nil {
		return false, err
	}
	return list.Get(i)
}

// unmarshalExact decodes a verified credential into c, first refusing a
// member whose name differs only in letter case from one c has, in the
// credential or its subject (see refuseFolded).
func unmarshalExact(doc []byte, c *Credential) error {
	var top struct {
		Subject json.RawMessage `json:"credentialSubject"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := refuseFolded(doc, "@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject", "proof"); err != nil {
		return err
	}
	if err := refuseFolded(top.Subject, "id", "type", "statusPurpose", "encodedList", "ttl"); err != nil {
		return err
	}
	if err := json.Unmarshal(doc, c); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// refuseFolded refuses, with ErrMalformed, a JSON object with a member
// whose name differs only in letter case from one of names. encoding/json
// matches names without regard to case, so {"encodedList": A,
// "EncodedList": B} would let this package read B where a case-sensitive
// reader reads A: one signed document, two meanings.
func refuseFolded(obj []byte, names ...string) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(obj, &members); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for name := range members {
		for _, known := range names {
			if name != known && strings.EqualFold(name, known) {
				return fmt.Errorf("%w: member %q is not %q", ErrMalformed, name, known)
			}
		}
	}
	return nil
}

// absoluteURL reports whether s parses as an absolute URI (a scheme and
// something after it), which covers https URLs and DIDs.
func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}
