package ca

import (
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

func TestCRLRoundTrip(t *testing.T) {
	thisUpdate, nextUpdate := t0.Add(day), t0.Add(8*day)
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg, "Root")
			other := newFixture(t, alg, "Root")
			revoked := []Revoked{
				{Serial: big.NewInt(1001), At: t0.Add(2 * time.Hour), Reason: ReasonKeyCompromise},
				{Serial: new(big.Int).Lsh(big.NewInt(1), 127), At: t0.Add(3 * time.Hour), Reason: ReasonUnspecified},
			}
			der, err := f.ca.CRL(revoked, big.NewInt(42), thisUpdate, nextUpdate)
			if err != nil {
				t.Fatalf("CRL() error = %v", err)
			}
			crl, err := ParseCRL(der)
			if err != nil {
				t.Fatalf("ParseCRL() error = %v", err)
			}
			if crl.Number == nil || crl.Number.Int64() != 42 {
				t.Errorf("Number = %v, want 42", crl.Number)
			}
			if !crl.ThisUpdate.Equal(thisUpdate) || !crl.NextUpdate.Equal(nextUpdate) {
				t.Errorf("ThisUpdate, NextUpdate = %v, %v; want %v, %v", crl.ThisUpdate, crl.NextUpdate, thisUpdate, nextUpdate)
			}
			if string(crl.RawIssuer) != string(f.root.RawSubject) || string(crl.AuthorityKeyId) != string(f.root.SubjectKeyId) {
				t.Errorf("RawIssuer/AuthorityKeyId do not name the root")
			}
			got := crl.Entries()
			if len(got) != len(revoked) {
				t.Fatalf("Entries() = %d entries, want %d", len(got), len(revoked))
			}
			for i := range revoked {
				if got[i].Serial.Cmp(revoked[i].Serial) != 0 || !got[i].At.Equal(revoked[i].At) || got[i].Reason != revoked[i].Reason {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], revoked[i])
				}
				ok, at := crl.IsRevoked(revoked[i].Serial)
				if !ok || !at.Equal(revoked[i].At) {
					t.Errorf("IsRevoked(%x) = %v, %v; want true, %v", revoked[i].Serial, ok, at, revoked[i].At)
				}
			}
			if ok, at := crl.IsRevoked(big.NewInt(1002)); ok || !at.IsZero() {
				t.Errorf("IsRevoked(unlisted) = %v, %v; want false, zero", ok, at)
			}
			if ok, _ := crl.IsRevoked(nil); ok {
				t.Error("IsRevoked(nil) = true, want false")
			}
			if err := crl.CheckSignatureFrom(f.root); err != nil {
				t.Errorf("CheckSignatureFrom(root) = %v, want nil", err)
			}
			if err := crl.CheckSignatureFrom(other.root); err == nil {
				t.Error("CheckSignatureFrom(other root with the same name) = nil, want error")
			}
			if err := crl.CheckSignatureFrom(nil); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("CheckSignatureFrom(nil) = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestEmptyCRL(t *testing.T) {
	f := newFixture(t, keys.SM2SM3, "Root")
	der, err := f.ca.CRL(nil, big.NewInt(0), t0, t0.Add(day))
	if err != nil {
		t.Fatalf("CRL(nil) error = %v", err)
	}
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatalf("ParseCRL() error = %v", err)
	}
	if got := crl.Entries(); len(got) != 0 {
		t.Errorf("Entries() = %v, want none", got)
	}
	if err := crl.CheckSignatureFrom(f.root); err != nil {
		t.Errorf("CheckSignatureFrom(root) = %v, want nil", err)
	}
}

func TestCRLErrors(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	ok := Revoked{Serial: big.NewInt(5), At: t0, Reason: ReasonSuperseded}
	tests := []struct {
		name       string
		revoked    []Revoked
		number     *big.Int
		this, next time.Time
	}{
		{"nil number", nil, nil, t0, t0.Add(day)},
		{"negative number", nil, big.NewInt(-1), t0, t0.Add(day)},
		{"next before this", nil, big.NewInt(1), t0.Add(day), t0},
		{"next equals this", nil, big.NewInt(1), t0, t0},
		{"fractional thisUpdate", nil, big.NewInt(1), t0.Add(time.Millisecond), t0.Add(day)},
		{"zero nextUpdate", nil, big.NewInt(1), t0, time.Time{}},
		{"nil serial", []Revoked{{At: t0}}, big.NewInt(1), t0, t0.Add(day)},
		{"zero serial", []Revoked{{Serial: big.NewInt(0), At: t0}}, big.NewInt(1), t0, t0.Add(day)},
		{"duplicate serial", []Revoked{ok, ok}, big.NewInt(1), t0, t0.Add(day)},
		{"zero revocation time", []Revoked{{Serial: big.NewInt(5)}}, big.NewInt(1), t0, t0.Add(day)},
		{"fractional revocation time", []Revoked{{Serial: big.NewInt(5), At: t0.Add(time.Nanosecond)}}, big.NewInt(1), t0, t0.Add(day)},
		{"reason 7", []Revoked{{Serial: big.NewInt(5), At: t0, Reason: 7}}, big.NewInt(1), t0, t0.Add(day)},
		{"reason removeFromCRL", []Revoked{{Serial: big.NewInt(5), At: t0, Reason: 8}}, big.NewInt(1), t0, t0.Add(day)},
		{"reason 11", []Revoked{{Serial: big.NewInt(5), At: t0, Reason: 11}}, big.NewInt(1), t0, t0.Add(day)},
		{"negative reason", []Revoked{{Serial: big.NewInt(5), At: t0, Reason: -1}}, big.NewInt(1), t0, t0.Add(day)},
	}
	for _, tt := range tests {
		if _, err := f.ca.CRL(tt.revoked, tt.number, tt.this, tt.next); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: CRL() error = %v, want ErrInvalidRequest", tt.name, err)
		}
	}
}

func TestParseCRLMalformed(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	der, err := f.ca.CRL([]Revoked{{Serial: big.NewInt(9), At: t0}}, big.NewInt(1), t0, t0.Add(day))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a CRL")},
		{"truncated", der[:len(der)-1]},
		{"half", der[:len(der)/2]},
		{"trailing byte", append(append([]byte{}, der...), 0)},
		{"certificate instead", f.root.Raw},
	}
	for _, tt := range tests {
		if c, err := ParseCRL(tt.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCRL() = %v, %v; want ErrMalformed", tt.name, c, err)
		}
	}
}

func TestVerifyRevoked(t *testing.T) {
	revokedAt := t0.Add(100 * day)
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg, "Root")
			impostor := newFixture(t, alg, "Root") // same name, other key
			seal := f.issue(t, alg, "Seal", Seal, t0, t0.Add(year))
			kept := f.issue(t, alg, "Kept", Seal, t0, t0.Add(year))
			entry := []Revoked{{Serial: seal.SerialNumber, At: revokedAt, Reason: ReasonKeyCompromise}}
			crl := mustCRL(t, f.ca, entry)
			forged := mustCRL(t, impostor.ca, []Revoked{{Serial: kept.SerialNumber, At: t0, Reason: ReasonKeyCompromise}})
			tests := []struct {
				name string
				cert *smx509.Certificate
				at   time.Time
				crls []*CRL
				want Reason
			}{
				{"1s before revocation", seal, revokedAt.Add(-time.Second), []*CRL{crl}, ""},
				{"at revocation", seal, revokedAt, []*CRL{crl}, ReasonRevoked},
				{"after revocation", seal, revokedAt.Add(time.Second), []*CRL{crl}, ReasonRevoked},
				{"not listed", kept, revokedAt, []*CRL{crl}, ""},
				{"no CRL", seal, revokedAt, nil, ""},
				{"nil CRL", seal, revokedAt, []*CRL{nil}, ""},
				{"CRL signed by another key is ignored", kept, revokedAt, []*CRL{forged}, ""},
			}
			for _, tt := range tests {
				err := VerifyWithOptions([]*smx509.Certificate{tt.cert}, VerifyOptions{
					Roots: []*smx509.Certificate{f.root}, At: tt.at, Usage: Seal, CRLs: tt.crls,
				})
				if got := reasonOf(err); got != tt.want {
					t.Errorf("%s: VerifyWithOptions() reason = %q (%v), want %q", tt.name, got, err, tt.want)
				}
			}
		})
	}
}

func mustCRL(t testing.TB, ca *CA, revoked []Revoked) *CRL {
	t.Helper()
	der, err := ca.CRL(revoked, big.NewInt(1), t0, t0.Add(year))
	if err != nil {
		t.Fatalf("CRL() error = %v", err)
	}
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatalf("ParseCRL() error = %v", err)
	}
	return crl
}

func TestParseCRLDuplicateSerialKeepsEarliest(t *testing.T) {
	// (*CA).CRL refuses duplicates, so build one with smx509 directly.
	f := newFixture(t, keys.Ed25519, "Root")
	tmpl := &smx509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: t0,
		NextUpdate: t0.Add(day),
		RevokedCertificateEntries: []smx509.RevocationListEntry{
			{SerialNumber: big.NewInt(3), RevocationTime: t0.Add(2 * time.Hour), ReasonCode: ReasonSuperseded},
			{SerialNumber: big.NewInt(3), RevocationTime: t0.Add(time.Hour), ReasonCode: ReasonKeyCompromise},
		},
	}
	der, err := smx509.CreateRevocationList(nil, tmpl, f.root, f.key.CryptoSigner())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatalf("ParseCRL() error = %v", err)
	}
	want := []Revoked{{Serial: big.NewInt(3), At: t0.Add(time.Hour), Reason: ReasonKeyCompromise}}
	got := crl.Entries()
	for i := range got {
		got[i].At = got[i].At.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Entries() = %+v, want %+v", got, want)
	}
}
