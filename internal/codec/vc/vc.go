package vc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// Names written into every exported credential.
const (
	// Vocabulary is the base IRI of the terms the credential uses beyond
	// the VC v2 context: the credential's second @context entry makes it
	// the @vocab, an inline context that needs nothing fetched. Each term
	// is the anchor of its row in docs/vc.md.
	Vocabulary = "https://github.com/zhengzhao/zhengzhao/blob/main/docs/vc.md#"
	// TypeLicense is the credential type of an exported license.
	TypeLicense = "ZhengzhaoLicense"
	// TypeSealSignature is the type of the evidence: the GB/T 38540 seal
	// signature of the license document.
	TypeSealSignature = "GBT38540SealSignature"
	// MediaType is the media type of a credential with an embedded proof
	// (VC Data Model v2.0 §C.1), as status lists are served.
	MediaType = "application/vc"
	// DocumentMediaType is the media type of the signed license document
	// the credential's relatedResource names.
	DocumentMediaType = "application/json"
)

// MaxSize bounds a credential Verify reads: it restates one license
// document, of at most license.MaxDocumentSize bytes, without its
// signature.
const MaxSize = 2 * license.MaxDocumentSize

// ErrMalformed reports a credential whose shape is not the one New makes,
// or one that does not restate the signed document it is checked against.
var ErrMalformed = errors.New("vc: malformed license credential")

// vocabContext is the inline context that maps every term the VC v2
// context does not define into Vocabulary.
var vocabContext = json.RawMessage(`{"@vocab":"` + Vocabulary + `"}`)

// sm3Multihash is the multihash prefix of an SM3 digest: the multicodec
// sm3-256 (0x534d) as an unsigned varint, then the digest length 32.
var sm3Multihash = []byte{0xcd, 0xa6, 0x01, 0x20}

// Credential is a license as a Verifiable Credential v2.0. Times are XML
// Schema date-times in UTC to the second, as the license carries them.
type Credential struct {
	Context           []json.RawMessage  `json:"@context"`
	ID                string             `json:"id"`
	Type              []string           `json:"type"`
	Issuer            Issuer             `json:"issuer"`
	ValidFrom         string             `json:"validFrom"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	CredentialSubject Subject            `json:"credentialSubject"`
	CredentialStatus  []statuslist.Entry `json:"credentialStatus"`
	RelatedResource   []Resource         `json:"relatedResource"`
	Evidence          []Evidence         `json:"evidence"`
	Proof             *statuslist.Proof  `json:"proof,omitempty"`
}

// Issuer is the organization whose seal signed the license.
type Issuer struct {
	ID   string `json:"id"` // IssuerID of its credit code
	Name string `json:"name"`
}

// Subject is the holder and what the license says about them. It has no
// id: a holder has no identifier a relying party could resolve, and the
// citizen ID number is not one to put in a URL.
type Subject struct {
	Name               string          `json:"name"`
	HolderKind         string          `json:"holderKind"`
	HolderIdentifier   string          `json:"holderIdentifier"`
	LicenseID          string          `json:"licenseId"`
	LicenseNumber      string          `json:"licenseNumber"`
	LicenseType        string          `json:"licenseType"`
	LicenseTypeVersion int64           `json:"licenseTypeVersion"`
	LicenseVersion     int64           `json:"licenseVersion"`
	IssuedAt           string          `json:"issuedAt"`
	Supersedes         string          `json:"supersedes,omitempty"` // the credential ID of the version it replaces
	Face               json.RawMessage `json:"face"`
}

// Resource is a relatedResource (VC Data Model v2.0 §5.3): the signed
// license document, by address and digests of its bytes.
type Resource struct {
	ID        string `json:"id"`
	MediaType string `json:"mediaType"`
	// DigestSRI is "sha384-" and the base64 SHA-384 of the document, the
	// digest generic verifiers compute.
	DigestSRI string `json:"digestSRI"`
	// DigestMultibase is "u" and the base64url (no padding) multihash
	// sm3-256 of the document.
	DigestMultibase string `json:"digestMultibase"`
}

// Evidence names the issuer's seal signature the credential restates.
type Evidence struct {
	Type     string `json:"type"`     // TypeSealSignature
	Document string `json:"document"` // the Resource's ID
	Format   string `json:"format"`   // the document format, license.Format
	// DigestAlgorithm is "SM3"; DataHash is, in lower-case hex, the SM3 of
	// the license's RFC 8785 canonical JSON (of its batch header, for a
	// batch-signed document): the dataHash the SES_Signature signed.
	DigestAlgorithm string `json:"digestAlgorithm"`
	DataHash        string `json:"dataHash"`
}

// ID returns the credential identifier of a license version:
// urn:zhengzhao:license:{id}:{version}.
func ID(licenseID string, version int64) string {
	return "urn:zhengzhao:license:" + licenseID + ":" + strconv.FormatInt(version, 10)
}

// IssuerID returns the issuer identifier of a unified social credit code:
// urn:uscc:{code}. It names the organization, not the platform, so it stays
// the same wherever the license is exported.
func IssuerID(creditCode string) string { return "urn:uscc:" + creditCode }

// DocumentURL returns the address below the platform's public base URL of
// the signed document of a license version.
func DocumentURL(base, licenseID string, version int64) string {
	return strings.TrimSuffix(base, "/") + "/api/v1/licenses/" + url.PathEscape(licenseID) + "/versions/" +
		strconv.FormatInt(version, 10) + "/document"
}

// New returns the unsigned credential of the signed license document doc
// (read strictly with license.Decode, whose errors it wraps). base is the
// platform's public base URL, under which DocumentURL names the document.
// New does not check the seal signature: the platform exports what it
// issued and stored, and verify.License checks the document.
func New(doc []byte, base string) (*Credential, error) {
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("license credential: base URL %q is not an absolute http(s) URL", base)
	}
	d, err := license.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("license credential: %w", err)
	}
	l := d.License
	// The dataHash the seal signed: the license's digest, or for a
	// batch-signed document its batch header's.
	signed, err := d.SignedData()
	if err != nil {
		return nil, fmt.Errorf("license credential: %w", err)
	}
	digest := sm3.Sum(signed)
	status := make([]statuslist.Entry, 0, len(l.Status))
	for _, s := range l.Status {
		e, err := statuslist.NewEntry(s.ListURL, statuslist.Purpose(s.Purpose), int(s.Index))
		if err != nil {
			return nil, fmt.Errorf("license credential: status entry %s: %w", s.Purpose, err)
		}
		status = append(status, e)
	}
	docURL := DocumentURL(base, l.ID, l.Version)
	sri := sha512.Sum384(doc)
	sm := sm3.Sum(doc)
	c := &Credential{
		Context:   []json.RawMessage{json.RawMessage(strconv.Quote(statuslist.ContextV2)), vocabContext},
		ID:        ID(l.ID, l.Version),
		Type:      []string{statuslist.TypeVerifiableCredential, TypeLicense},
		Issuer:    Issuer{ID: IssuerID(l.Issuer.CreditCode), Name: l.Issuer.Name},
		ValidFrom: date(l.ValidFrom),
		CredentialSubject: Subject{
			Name: l.Holder.Name, HolderKind: string(l.Holder.Kind), HolderIdentifier: l.Holder.Identifier,
			LicenseID: l.ID, LicenseNumber: l.Number, LicenseType: l.Type.Code, LicenseTypeVersion: l.Type.Version,
			LicenseVersion: l.Version, IssuedAt: date(l.IssuedAt), Face: l.Face,
		},
		CredentialStatus: status,
		RelatedResource: []Resource{{ID: docURL, MediaType: DocumentMediaType,
			DigestSRI:       "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
			DigestMultibase: "u" + base64.RawURLEncoding.EncodeToString(append(slices.Clone(sm3Multihash), sm[:]...))}},
		Evidence: []Evidence{{Type: TypeSealSignature, Document: docURL, Format: l.Format, DigestAlgorithm: "SM3",
			DataHash: hex.EncodeToString(digest[:])}},
	}
	if l.ValidUntil != nil {
		c.ValidUntil = date(*l.ValidUntil)
	}
	if l.Supersedes != nil {
		c.CredentialSubject.Supersedes = ID(l.Supersedes.ID, l.Supersedes.Version)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func date(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Validate checks the shape of c, not its proof nor that it restates a
// document (Describes does): the two contexts, the two types, the
// identifiers, the validity period, one status entry per purpose, one
// related resource and one evidence as New writes them. Failures wrap
// ErrMalformed.
func (c *Credential) Validate() error {
	if problem := c.problem(); problem != "" {
		return fmt.Errorf("%w: %s", ErrMalformed, problem)
	}
	return nil
}

func (c *Credential) problem() string {
	s := c.CredentialSubject
	switch {
	case len(c.Context) != 2 || !sameJSON(c.Context[0], strconv.Quote(statuslist.ContextV2)) || !sameJSON(c.Context[1], string(vocabContext)):
		return "@context must be " + statuslist.ContextV2 + " and the zhengzhao vocabulary"
	case !slices.Equal(c.Type, []string{statuslist.TypeVerifiableCredential, TypeLicense}):
		return "type must be " + statuslist.TypeVerifiableCredential + ", " + TypeLicense
	case c.ID != ID(s.LicenseID, s.LicenseVersion):
		return fmt.Sprintf("id %q is not the credential ID of license %s version %d", c.ID, s.LicenseID, s.LicenseVersion)
	case !strings.HasPrefix(c.Issuer.ID, IssuerID("")) || c.Issuer.Name == "":
		return fmt.Sprintf("issuer %q is not a named urn:uscc: organization", c.Issuer.ID)
	case len(c.RelatedResource) != 1 || len(c.Evidence) != 1:
		return "want one relatedResource and one evidence"
	}
	if p := c.periodProblem(); p != "" {
		return p
	}
	if p := c.statusProblem(); p != "" {
		return p
	}
	r, e := c.RelatedResource[0], c.Evidence[0]
	switch {
	case r.MediaType != DocumentMediaType || !strings.HasPrefix(r.DigestSRI, "sha384-") || !strings.HasPrefix(r.DigestMultibase, "u"):
		return "relatedResource must give the document's media type, digestSRI (sha384) and digestMultibase (base64url)"
	case e.Type != TypeSealSignature || e.Document != r.ID || e.DigestAlgorithm != "SM3" || len(e.DataHash) != 2*sm3.Size:
		return "evidence must be the " + TypeSealSignature + " of the related resource, with its SM3 dataHash"
	}
	if u, err := url.Parse(r.ID); err != nil || !u.IsAbs() {
		return fmt.Sprintf("relatedResource id %q is not an absolute URL", r.ID)
	}
	return ""
}

func (c *Credential) periodProblem() string {
	from, err := time.Parse(time.RFC3339, c.ValidFrom)
	if err != nil {
		return fmt.Sprintf("validFrom %q is not a date-time", c.ValidFrom)
	}
	if c.ValidUntil == "" {
		return ""
	}
	until, err := time.Parse(time.RFC3339, c.ValidUntil)
	switch {
	case err != nil:
		return fmt.Sprintf("validUntil %q is not a date-time", c.ValidUntil)
	case !until.After(from):
		return fmt.Sprintf("validUntil %s is not after validFrom %s", c.ValidUntil, c.ValidFrom)
	}
	return ""
}

// statusProblem requires one valid entry per purpose, in the order the
// license lists them.
func (c *Credential) statusProblem() string {
	purposes := license.Purposes()
	if len(c.CredentialStatus) != len(purposes) {
		return fmt.Sprintf("credentialStatus has %d entries, want one per purpose %v", len(c.CredentialStatus), purposes)
	}
	for i, e := range c.CredentialStatus {
		if _, err := e.Index(); err != nil {
			return err.Error()
		}
		if string(e.StatusPurpose) != string(purposes[i]) {
			return fmt.Sprintf("credentialStatus[%d] is for %s, want %s", i, e.StatusPurpose, purposes[i])
		}
	}
	return ""
}

// sameJSON reports whether two JSON texts are the same value.
func sameJSON(a json.RawMessage, b string) bool {
	x, err := canon.Transform(a)
	if err != nil {
		return false
	}
	y, err := canon.Transform([]byte(b))
	return err == nil && bytes.Equal(x, y)
}

// Secure returns c, signed with signer, as JSON: a Data Integrity proof
// made by statuslist.CreateProof (ecdsa-jcs-2019 for an ECDSA P-256 key,
// zhengzhao-sm2-jcs-2026 for SM2), replacing any proof c had.
func Secure(ctx context.Context, c *Credential, opts statuslist.ProofOptions, signer keys.Signer) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	unsigned := *c
	unsigned.Proof = nil
	doc, err := json.Marshal(unsigned)
	if err != nil {
		return nil, fmt.Errorf("secure license credential: %w", err)
	}
	p, err := statuslist.CreateProof(ctx, doc, opts, signer)
	if err != nil {
		return nil, fmt.Errorf("secure license credential: %w", err)
	}
	unsigned.Proof = &p
	out, err := json.Marshal(unsigned)
	if err != nil {
		return nil, fmt.Errorf("secure license credential: %w", err)
	}
	return out, nil
}

// Verify checks the proof of the secured credential doc against pub (see
// statuslist.VerifyProof; failures wrap statuslist.ErrVerification) and
// returns the credential once it reads strictly — no unknown member, no
// member name in another case, nothing Go would read differently from
// what was signed — and its shape is valid (ErrMalformed otherwise). The
// caller picks pub: the trust list's key named by the proof's
// verificationMethod.
func Verify(doc []byte, pub crypto.PublicKey) (*Credential, error) {
	if len(doc) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(doc), MaxSize)
	}
	if _, err := statuslist.VerifyProof(doc, pub); err != nil {
		return nil, fmt.Errorf("license credential: %w", err)
	}
	var c Credential
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// encoding/json matches names in any case and keeps the last of a
	// repeated one; writing the credential back and comparing canonical
	// forms refuses whatever it read differently from what was signed.
	got, err := canon.JSON(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	want, err := canon.Transform(doc)
	if err != nil || !bytes.Equal(got, want) {
		return nil, fmt.Errorf("%w: the credential does not read back as signed", ErrMalformed)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Describes reports whether c restates the signed license document doc:
// its digests are the document's, and every other member but the proof is
// what New makes of doc under the base URL c names the document with.
// Otherwise the error wraps ErrMalformed (or license.ErrInvalid for a doc
// that does not read).
func (c *Credential) Describes(doc []byte) error {
	if len(c.RelatedResource) != 1 {
		return fmt.Errorf("%w: want one relatedResource", ErrMalformed)
	}
	base, _, ok := strings.Cut(c.RelatedResource[0].ID, "/api/v1/licenses/")
	if !ok {
		return fmt.Errorf("%w: relatedResource %q is not a license document address", ErrMalformed, c.RelatedResource[0].ID)
	}
	want, err := New(doc, base)
	if err != nil {
		return err
	}
	got := *c
	got.Proof = nil
	a, err := canon.JSON(got)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	b, err := canon.JSON(want)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("%w: the credential does not restate the document", ErrMalformed)
	}
	return nil
}
