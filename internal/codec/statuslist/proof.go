package statuslist

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

const (
	// ProofType is the type of every proof this package makes or reads
	// (Verifiable Credential Data Integrity 1.0, DataIntegrityProof).
	ProofType = "DataIntegrityProof"
	// SuiteECDSAJCS2019 is the ecdsa-jcs-2019 cryptosuite of "Data
	// Integrity ECDSA Cryptosuites v1.0" §3.3, with curve P-256 and
	// SHA-256 (P-384 is not supported).
	SuiteECDSAJCS2019 = "ecdsa-jcs-2019"
	// SuiteSM2JCS is this platform's own cryptosuite: the construction of
	// ecdsa-jcs-2019 with SM3 in place of SHA-256 and SM2 (GB/T 32918.2,
	// default user ID "1234567812345678") in place of ECDSA P-256. It is
	// NOT a W3C-registered suite and generic Data Integrity libraries do
	// not know it; it exists because the platform's keys are SM2 by
	// default (R-SEC-1). Verifiers outside the platform verify it with
	// this package or from its description in docs/status-lists.md.
	SuiteSM2JCS = "zhengzhao-sm2-jcs-2026"
	// ProofPurposeAssertion is the proof purpose of every proof this
	// package makes and the only one Verify accepts.
	ProofPurposeAssertion = "assertionMethod"
)

// ErrVerification reports a document whose proof does not verify
// (STATUS_VERIFICATION_ERROR of Bitstring Status List v1.0 §3.5): no proof,
// an unknown type, cryptosuite or purpose, contexts that do not match, a
// signature that is malformed or made over other bytes or with another key,
// or an entry whose purpose or list is not the credential's. The document
// must not be trusted; retrying with the same input cannot help. When the
// signature itself fails, the error also wraps keys.ErrBadSignature or
// keys.ErrAlgorithmMismatch.
var ErrVerification = errors.New("statuslist: verification failed")

// ErrUnsupportedKey is returned (wrapped) by CreateProof for a signer whose
// algorithm has no cryptosuite here (Ed25519: eddsa-jcs-2022 is not
// implemented). It is a configuration error.
var ErrUnsupportedKey = errors.New("statuslist: no cryptosuite for this key")

// Proof is a Data Integrity proof (DataIntegrityProof) as it appears in a
// secured document. Context is the document's @context copied into the
// proof (ecdsa-jcs-2019 §3.3.1 step 2), kept as raw JSON.
type Proof struct {
	Context            json.RawMessage `json:"@context,omitempty"`
	Type               string          `json:"type"`
	Cryptosuite        string          `json:"cryptosuite"`
	Created            string          `json:"created,omitempty"`
	VerificationMethod string          `json:"verificationMethod"`
	ProofPurpose       string          `json:"proofPurpose"`
	ProofValue         string          `json:"proofValue,omitempty"`
}

// ProofOptions are the caller's choices for a new proof.
type ProofOptions struct {
	// VerificationMethod is the URL (or DID URL) of the public key that
	// verifies the proof, as relying parties find it in the platform's
	// trust list. Required.
	VerificationMethod string
	// Created is the time of the proof, written in UTC to the second; the
	// zero time leaves it out.
	Created time.Time
}

// suite is one cryptosuite: the algorithm of its keys and its hash.
type suite struct {
	alg  keys.Algorithm
	hash func() hash.Hash
}

// suiteNamed returns the cryptosuite called name, if this package
// implements it.
func suiteNamed(name string) (suite, bool) {
	switch name {
	case SuiteECDSAJCS2019:
		return suite{alg: keys.ECDSAP256, hash: sha256.New}, true
	case SuiteSM2JCS:
		return suite{alg: keys.SM2SM3, hash: sm3.New}, true
	}
	return suite{}, false
}

// SuiteFor returns the cryptosuite that signs with alg: ecdsa-jcs-2019 for
// ECDSA P-256, SuiteSM2JCS for SM2. Other algorithms give an error wrapping
// ErrUnsupportedKey.
func SuiteFor(alg keys.Algorithm) (string, error) {
	switch alg {
	case keys.ECDSAP256:
		return SuiteECDSAJCS2019, nil
	case keys.SM2SM3:
		return SuiteSM2JCS, nil
	}
	return "", fmt.Errorf("%w: %s", ErrUnsupportedKey, alg)
}

// CreateProof makes the proof of the JSON object doc with signer, per
// "Data Integrity ECDSA Cryptosuites v1.0" §3.3.1 (Create Proof,
// ecdsa-jcs-2019) and the same steps for SuiteSM2JCS:
//
//  1. the proof options, with doc's @context when it has one, are the proof
//     configuration, canonicalized with JCS (RFC 8785);
//  2. doc is canonicalized with JCS;
//  3. hashData = H(canonical proof configuration) || H(canonical doc), H
//     being SHA-256 (SM3 for SuiteSM2JCS);
//  4. the signer signs hashData (hashing it once more, as ECDSA and SM2
//     sign messages); the signature r||s, 32 bytes each, is proofValue in
//     multibase base58btc ('z').
//
// doc must be one JSON object without a "proof" member (one proof per
// document; proof sets and chains are not supported).
func CreateProof(ctx context.Context, doc []byte, opts ProofOptions, signer keys.Signer) (Proof, error) {
	name, err := SuiteFor(signer.Algorithm())
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %w", err)
	}
	if opts.VerificationMethod == "" {
		return Proof{}, errors.New("create proof: no verification method")
	}
	members, err := object(doc)
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %w", err)
	}
	if _, ok := members["proof"]; ok {
		return Proof{}, fmt.Errorf("create proof: %w: the document already has a proof", ErrMalformed)
	}
	p := Proof{
		Context:            members["@context"],
		Type:               ProofType,
		Cryptosuite:        name,
		VerificationMethod: opts.VerificationMethod,
		ProofPurpose:       ProofPurposeAssertion,
	}
	if !opts.Created.IsZero() {
		p.Created = opts.Created.UTC().Format(time.RFC3339)
	}
	config, err := json.Marshal(p)
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %w", err)
	}
	s, _ := suiteNamed(name)
	hashData, err := hashData(s, config, doc)
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %w", err)
	}
	der, err := signer.Sign(ctx, hashData)
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %w", err)
	}
	raw, err := derToRaw(der)
	if err != nil {
		return Proof{}, fmt.Errorf("create proof: %s signature: %w", signer.Algorithm(), err)
	}
	p.ProofValue = "z" + encodeBase58(raw)
	return p, nil
}

// VerifyProof checks the proof of the secured JSON document doc against
// pub, per "Data Integrity ECDSA Cryptosuites v1.0" §3.3.2 (Verify Proof,
// ecdsa-jcs-2019) and the same steps for SuiteSM2JCS, and returns the
// proof. doc must be one JSON object (no duplicate member names) with one
// proof object of type DataIntegrityProof, purpose assertionMethod, a
// cryptosuite implemented here whose key algorithm is pub's, and, when the
// proof has an @context, a document @context that starts with it. Any
// failure gives an error wrapping ErrVerification.
//
// The caller chooses pub: typically the trust list's key named by the
// returned proof's VerificationMethod, which it must then compare.
func VerifyProof(doc []byte, pub crypto.PublicKey) (Proof, error) {
	p, err := verifyProof(doc, pub)
	if err != nil {
		return Proof{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	return p, nil
}

func verifyProof(doc []byte, pub crypto.PublicKey) (Proof, error) {
	members, err := object(doc)
	if err != nil {
		return Proof{}, err
	}
	rawProof, ok := members["proof"]
	if !ok {
		return Proof{}, errors.New("the document has no proof")
	}
	delete(members, "proof")
	options, err := object(rawProof)
	if err != nil {
		return Proof{}, fmt.Errorf("proof: %w (one proof object; proof sets are not supported)", err)
	}
	if err := refuseFolded(rawProof, "@context", "type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"); err != nil {
		return Proof{}, fmt.Errorf("proof: %w", err)
	}
	var p Proof
	if err := json.Unmarshal(rawProof, &p); err != nil {
		return Proof{}, fmt.Errorf("proof: %w", err)
	}
	s, ok := suiteNamed(p.Cryptosuite)
	switch {
	case p.Type != ProofType:
		return Proof{}, fmt.Errorf("proof type %q, want %q", p.Type, ProofType)
	case !ok:
		return Proof{}, fmt.Errorf("unknown cryptosuite %q", p.Cryptosuite)
	case p.ProofPurpose != ProofPurposeAssertion:
		return Proof{}, fmt.Errorf("proof purpose %q, want %q", p.ProofPurpose, ProofPurposeAssertion)
	case p.VerificationMethod == "":
		return Proof{}, errors.New("proof has no verification method")
	}
	if p.Created != "" {
		if _, err := time.Parse(time.RFC3339, p.Created); err != nil {
			return Proof{}, fmt.Errorf("proof created %q is not a date-time: %w", p.Created, err)
		}
	}
	if len(p.ProofValue) < 1 || p.ProofValue[0] != 'z' {
		return Proof{}, errors.New("proofValue is not multibase base58btc (prefix 'z')")
	}
	sig, err := decodeBase58(p.ProofValue[1:])
	if err != nil {
		return Proof{}, fmt.Errorf("proofValue: %w", err)
	}
	delete(options, "proofValue")
	if proofCtx, ok := options["@context"]; ok {
		if err := contextStartsWith(members["@context"], proofCtx); err != nil {
			return Proof{}, err
		}
		members["@context"] = proofCtx
	}
	unsecured, err := json.Marshal(members)
	if err != nil {
		return Proof{}, fmt.Errorf("document: %w", err)
	}
	config, err := json.Marshal(options)
	if err != nil {
		return Proof{}, fmt.Errorf("proof: %w", err)
	}
	hashData, err := hashData(s, config, unsecured)
	if err != nil {
		return Proof{}, err
	}
	der, err := rawToDER(sig)
	if err != nil {
		return Proof{}, fmt.Errorf("proofValue: %w: %w", keys.ErrBadSignature, err)
	}
	if err := keys.Verify(s.alg, pub, hashData, der); err != nil {
		return Proof{}, fmt.Errorf("%s proof: %w", p.Cryptosuite, err)
	}
	return p, nil
}

// hashData returns H(JCS(config)) || H(JCS(doc)) (ecdsa-jcs-2019 §3.3.4
// Hashing, the proof configuration's hash first).
func hashData(s suite, config, doc []byte) ([]byte, error) {
	canonConfig, err := canon.Transform(config)
	if err != nil {
		return nil, fmt.Errorf("proof configuration: %w", err)
	}
	canonDoc, err := canon.Transform(doc)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	h := s.hash()
	h.Write(canonConfig)
	out := h.Sum(nil)
	h.Reset()
	h.Write(canonDoc)
	return h.Sum(out), nil
}

// object splits one JSON object into its members. Invalid JSON, another
// JSON value or a member name that appears twice gives an error wrapping
// ErrMalformed: a duplicate would let the signed bytes and the value a
// reader sees differ.
func object(raw []byte) (map[string]json.RawMessage, error) {
	if _, err := canon.Transform(raw); err != nil { // also refuses duplicate names
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	return m, nil
}

// contextStartsWith checks that the document's @context begins with every
// value of the proof's @context, in order (ecdsa-jcs-2019 §3.3.2 step 4).
// Either may be one value or an array of them; values compare by their
// canonical JSON.
func contextStartsWith(docCtx, proofCtx json.RawMessage) error {
	d, err := contextValues(docCtx)
	if err != nil {
		return fmt.Errorf("document @context: %w", err)
	}
	p, err := contextValues(proofCtx)
	if err != nil {
		return fmt.Errorf("proof @context: %w", err)
	}
	if len(p) > len(d) {
		return errors.New("the document @context does not start with the proof @context")
	}
	for i := range p {
		if !bytes.Equal(p[i], d[i]) {
			return errors.New("the document @context does not start with the proof @context")
		}
	}
	return nil
}

// contextValues returns the canonical JSON of each value of an @context.
func contextValues(raw json.RawMessage) ([][]byte, error) {
	if raw == nil {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	out := make([][]byte, len(list))
	for i, v := range list {
		c, err := canon.Transform(v)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// sigHalf is the size of r and of s in a P-256 or SM2 signature.
const sigHalf = 32

// derToRaw turns an ASN.1 DER ECDSA or SM2 signature SEQUENCE{r, s} into
// the fixed r||s form the cryptosuites carry (IEEE P1363).
func derToRaw(der []byte) ([]byte, error) {
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("not a DER SEQUENCE{r, s}")
	}
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*sigHalf || s.BitLen() > 8*sigHalf {
		return nil, errors.New("r or s out of range")
	}
	out := make([]byte, 2*sigHalf)
	r.FillBytes(out[:sigHalf])
	s.FillBytes(out[sigHalf:])
	return out, nil
}

// rawToDER turns an r||s signature into ASN.1 DER for keys.Verify.
func rawToDER(raw []byte) ([]byte, error) {
	if len(raw) != 2*sigHalf {
		return nil, fmt.Errorf("signature of %d bytes, want %d", len(raw), 2*sigHalf)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:sigHalf]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[sigHalf:]))
	})
	return b.Bytes()
}
