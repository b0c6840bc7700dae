package statuslist

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

var (
	t0       = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	listURL  = "https://zz.example.gov.cn/status/v1/91350100M000100Y43/1/revocation"
	keyURL   = "https://zz.example.gov.cn/trust/keys/platform-2026#key-1"
	platform = "https://zz.example.gov.cn"
)

// signedList makes a revocation list with the given entries set, signed
// by signer, and returns its JSON.
func signedList(t testing.TB, signer keys.Signer, set ...int) []byte {
	t.Helper()
	list, err := New(MinSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range set {
		if err := list.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	c, err := NewCredential(Params{ID: listURL, Issuer: platform, Purpose: PurposeRevocation,
		ValidFrom: t0, ValidUntil: t0.Add(5 * time.Minute), TTL: 5 * time.Second}, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sign(context.Background(), ProofOptions{VerificationMethod: keyURL, Created: t0}, signer); err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCredentialRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		alg   keys.Algorithm
		suite string
	}{
		{keys.SM2SM3, SuiteSM2JCS},
		{keys.ECDSAP256, SuiteECDSAJCS2019},
	} {
		t.Run(string(tt.alg), func(t *testing.T) {
			k, err := keys.GenerateSoftware(tt.alg, nil)
			if err != nil {
				t.Fatal(err)
			}
			doc := signedList(t, k, 94567, 7)
			c, err := ParseCredential(doc, k.Public())
			if err != nil {
				t.Fatalf("ParseCredential error = %v", err)
			}
			if c.Proof == nil || c.Proof.Cryptosuite != tt.suite || c.Proof.VerificationMethod != keyURL || c.Proof.Created != "2026-11-30T08:00:00Z" {
				t.Errorf("proof = %+v, want suite %s", c.Proof, tt.suite)
			}
			if c.CredentialSubject.TTL != 5000 || c.CredentialSubject.ID != listURL+"#list" {
				t.Errorf("subject = %+v", c.CredentialSubject)
			}
			for _, probe := range []struct {
				index int
				want  bool
			}{{94567, true}, {7, true}, {0, false}, {94566, false}, {MinSize - 1, false}} {
				e, err := NewEntry(listURL, PurposeRevocation, probe.index)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Check(e, c)
				if err != nil || got != probe.want {
					t.Errorf("Check(%d) = %v, %v; want %v", probe.index, got, err, probe.want)
				}
			}
		})
	}
}

// TestCredentialTampered changes a signed list after signing: each change
// must make the proof fail, whatever the key.
func TestCredentialTampered(t *testing.T) {
	k, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := signedList(t, k, 94567)
	// A list in which the revoked entry is cleared again, as an attacker
	// would serve it.
	cleared := signedList(t, k)
	var a, b Credential
	if err := json.Unmarshal(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cleared, &b); err != nil {
		t.Fatal(err)
	}
	swapped := strings.Replace(string(doc), a.CredentialSubject.EncodedList, b.CredentialSubject.EncodedList, 1)
	tests := []struct {
		name string
		doc  string
	}{
		{"list swapped", swapped},
		{"validUntil extended", strings.Replace(string(doc), `"validUntil":"2026-11-30T08:05:00Z"`, `"validUntil":"2027-11-30T08:05:00Z"`, 1)},
		{"purpose changed", strings.Replace(string(doc), `"statusPurpose":"revocation"`, `"statusPurpose":"suspension"`, 1)},
		{"id changed", strings.Replace(string(doc), `"id":"`+listURL+`"`, `"id":"`+listURL+`x"`, 1)},
		{"proof removed", string(doc[:strings.Index(string(doc), `,"proof"`)]) + "}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.doc == string(doc) {
				t.Fatal("the change did not apply")
			}
			if _, err := ParseCredential([]byte(tt.doc), k.Public()); !errors.Is(err, ErrVerification) {
				t.Errorf("ParseCredential error = %v, want ErrVerification", err)
			}
		})
	}
	if _, err := ParseCredential(doc, other.Public()); !errors.Is(err, ErrVerification) || !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("ParseCredential with another key error = %v, want ErrVerification and keys.ErrBadSignature", err)
	}
	ec, _ := keys.GenerateSoftware(keys.ECDSAP256, nil)
	if _, err := ParseCredential(doc, ec.Public()); !errors.Is(err, keys.ErrAlgorithmMismatch) {
		t.Errorf("ParseCredential with a P-256 key error = %v, want keys.ErrAlgorithmMismatch", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	k, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCredential(signedList(t, k, 1), k.Public())
	if err != nil {
		t.Fatal(err)
	}
	entry := func(purpose Purpose, list, index string) Entry {
		return Entry{Type: TypeStatusListEntry, StatusPurpose: purpose, StatusListIndex: index, StatusListCredential: list}
	}
	tests := []struct {
		name string
		e    Entry
		want error
	}{
		{"other purpose", entry(PurposeSuspension, listURL, "1"), ErrVerification},
		{"other list", entry(PurposeRevocation, listURL+"2", "1"), ErrVerification},
		{"index past the list", entry(PurposeRevocation, listURL, "131072"), ErrRange},
		{"negative index", entry(PurposeRevocation, listURL, "-1"), ErrMalformed},
		{"leading zero", entry(PurposeRevocation, listURL, "01"), ErrMalformed},
		{"plus sign", entry(PurposeRevocation, listURL, "+1"), ErrMalformed},
		{"not a number", entry(PurposeRevocation, listURL, "one"), ErrMalformed},
		{"huge", entry(PurposeRevocation, listURL, "99999999999999999999999"), ErrMalformed},
		{"message purpose", entry("message", listURL, "1"), ErrMalformed},
		{"relative list URL", entry(PurposeRevocation, "/status/1", "1"), ErrMalformed},
		{"wrong type", Entry{Type: "StatusList2021Entry", StatusPurpose: PurposeRevocation, StatusListIndex: "1", StatusListCredential: listURL}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Check(tt.e, c); !errors.Is(err, tt.want) {
				t.Errorf("Check error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckValidity(t *testing.T) {
	list, _ := New(MinSize)
	c, err := NewCredential(Params{ID: listURL, Issuer: platform, Purpose: PurposeSuspension, ValidFrom: t0, ValidUntil: t0.Add(time.Minute)}, list)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at time.Time
		ok bool
	}{
		{t0, true},
		{t0.Add(59 * time.Second), true},
		{t0.Add(-time.Second), false},
		{t0.Add(time.Minute), false},
	} {
		err := c.CheckValidity(tt.at)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrOutsideValidity)) {
			t.Errorf("CheckValidity(%s) = %v, want ok=%v", tt.at, err, tt.ok)
		}
	}
}

func TestNewCredentialRefuses(t *testing.T) {
	list, _ := New(MinSize)
	good := Params{ID: listURL, Issuer: platform, Purpose: PurposeRevocation, ValidFrom: t0, ValidUntil: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		change func(*Params)
	}{
		{"relative id", func(p *Params) { p.ID = "/status/1" }},
		{"no issuer", func(p *Params) { p.Issuer = "" }},
		{"refresh purpose", func(p *Params) { p.Purpose = "refresh" }},
		{"empty period", func(p *Params) { p.ValidUntil = p.ValidFrom }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.change(&p)
			if _, err := NewCredential(p, list); !errors.Is(err, ErrMalformed) {
				t.Errorf("NewCredential error = %v, want ErrMalformed", err)
			}
		})
	}
	c, err := NewCredential(good, list)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(c)
	want := `{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"` + listURL + `","type":["VerifiableCredential","BitstringStatusListCredential"],"issuer":"` + platform + `","validFrom":"2026-11-30T08:00:00Z","validUntil":"2026-11-30T09:00:00Z","credentialSubject":{"id":"` + listURL + `#list","type":"BitstringStatusList","statusPurpose":"revocation","encodedList":"`
	if !strings.HasPrefix(string(doc), want) {
		t.Errorf("credential JSON = %s\nwant prefix %s", doc, want)
	}
}

// TestEntryJSON pins the credentialStatus a license carries.
func TestEntryJSON(t *testing.T) {
	e, err := NewEntry(listURL, PurposeSuspension, 94567)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(e)
	want := `{"id":"` + listURL + `#94567","type":"BitstringStatusListEntry","statusPurpose":"suspension","statusListIndex":"94567","statusListCredential":"` + listURL + `"}`
	if string(got) != want {
		t.Errorf("entry JSON = %s\nwant %s", got, want)
	}
	if _, err := NewEntry(listURL, PurposeRevocation, -1); !errors.Is(err, ErrMalformed) {
		t.Errorf("NewEntry(-1) error = %v, want ErrMalformed", err)
	}
}

// TestParseCredentialCaseFolded refuses a signed list with a member that
// differs from a known one only in case: encoding/json would read it in
// place of the exact name, other readers would not.
func TestParseCredentialCaseFolded(t *testing.T) {
	k, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	cleared, err := New(MinSize)
	if err != nil {
		t.Fatal(err)
	}
	other, err := cleared.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, old, new string }{
		{"subject", `"encodedList":`, `"EncodedList":"` + other + `","encodedList":`},
		{"credential", `"validUntil":`, `"ValidUntil":"2099-01-01T00:00:00Z","validUntil":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(signedList(t, k, 5), &doc); err != nil {
				t.Fatal(err)
			}
			delete(doc, "proof")
			raw, _ := json.Marshal(doc)
			raw = []byte(strings.Replace(string(raw), tt.old, tt.new, 1))
			p, err := CreateProof(context.Background(), raw, ProofOptions{VerificationMethod: keyURL}, k)
			if err != nil {
				t.Fatal(err)
			}
			proof, _ := json.Marshal(p)
			signed := append(raw[:len(raw)-1:len(raw)-1], []byte(`,"proof":`+string(proof)+`}`)...)
			if _, err := VerifyProof(signed, k.Public()); err != nil {
				t.Fatalf("the altered document is not validly signed: %v", err)
			}
			if _, err := ParseCredential(signed, k.Public()); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseCredential error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestRefuseFolded(t *testing.T) {
	for _, tt := range []struct {
		obj string
		ok  bool
	}{
		{`{"encodedList":"u","other":1}`, true},
		{`{"EncodedList":"u"}`, false},
		{`{"encodedlist":"u","encodedList":"u"}`, false},
		{`{"ENCODEDLIST":1}`, false},
		{`[]`, false},
	} {
		err := refuseFolded([]byte(tt.obj), "encodedList", "id")
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("refuseFolded(%s) = %v, want ok=%v", tt.obj, err, tt.ok)
		}
	}
}
