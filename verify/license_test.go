package verify_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/verify"
)

// The license fixture: a business license of the issuer below, signed
// with the issuer's license-issuing seal (kind 09) a minute after t0.
const (
	issuerCredit     = "11350102003603210T"
	licenseSealCode  = "350102" + issuerCredit + "09" + "001" + "3"
	licenseID        = "BL000111350102003603210T00000000425"
	revocationList   = "https://zz.example.gov.cn/status/11350102003603210T/revocation/1"
	suspensionList   = "https://zz.example.gov.cn/status/11350102003603210T/suspension/1"
	licenseIndex     = 41
	statusListLength = 16 << 10 // bytes: the W3C minimum of 131,072 bits
)

func sampleLicense() license.License {
	until := t0.AddDate(1, 0, 0)
	return license.License{
		Format: license.Format, ID: licenseID, Number: "350102202600000042",
		Type:     license.Type{Code: "BL0001", Version: 1},
		Issuer:   license.Issuer{CreditCode: issuerCredit, Name: "福州市鼓楼区市场监督管理局"},
		Holder:   license.Holder{Kind: license.HolderOrganization, Identifier: "91350100M000100Y43", Name: "福州闽江示例科技有限公司"},
		IssuedAt: t0, ValidFrom: t0, ValidUntil: &until,
		Face: json.RawMessage(`{"name":"福州闽江示例科技有限公司","legal_representative":"林晓峰","registered_capital":"500.00"}`),
		Status: []license.StatusEntry{
			{Purpose: license.PurposeRevocation, ListURL: revocationList, Index: licenseIndex},
			{Purpose: license.PurposeSuspension, ListURL: suspensionList, Index: licenseIndex},
		},
		Version: 1,
	}
}

// signLicense signs l with the platform's seal at p.signedAt, as the
// issuing service will, and returns the document.
func (p *platform) signLicense(t testing.TB, l license.License) []byte {
	t.Helper()
	digest, err := license.Digest(l)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, err := ses.Sign(context.Background(), p.seal, digest, p.signedAt, l.ID, p.signerCert, p.signer)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := license.Encode(license.Document{License: l, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// encodeList encodes a status list of statusListLength bytes with the
// given bits set, as W3C Bitstring Status List v1.0 does.
func encodeList(t testing.TB, set ...int) string {
	t.Helper()
	bits := make([]byte, statusListLength)
	for _, i := range set {
		bits[i/8] |= 0x80 >> (i % 8)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(gzipped(t, bits))
}

// fetched is when the bundle's status lists were read.
var fetched = t0.Add(12 * time.Hour)

// licenseBundle is the platform's bundle with clear status lists (but for
// other licenses' bits) and version 1 of BL0001 approved.
func (p *platform) licenseBundle(t testing.TB) verify.Bundle {
	b := p.bundle()
	b.SetStatusList(verify.StatusSnapshot{ListURL: suspensionList, Purpose: "suspension", EncodedList: encodeList(t, 3, licenseIndex+1), FetchedAt: fetched})
	b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, 0, licenseIndex-1), FetchedAt: fetched})
	b.SetTypeVersions("BL0001", []int64{1})
	b.SetTypeVersions("PC0001", []int64{1, 2})
	return b
}

func TestLicense(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	good := p.signLicense(t, sampleLicense())
	at := t0.Add(24 * time.Hour)
	tests := []struct {
		name   string
		change func(b *verify.Bundle, doc *[]byte, at *time.Time)
		// fail maps each check that must fail to a part of its reason;
		// unknown lists the checks that must be unknown.
		fail    map[string]string
		unknown []string
	}{
		{name: "good"},
		{name: "one byte changed in the face", change: func(_ *verify.Bundle, doc *[]byte, _ *time.Time) {
			*doc = bytes.Replace(*doc, []byte("林晓峰"), []byte("林晓锋"), 1)
		}, fail: map[string]string{verify.CheckSignature: "changed after it was signed"}},
		{name: "one byte changed in the validity", change: func(_ *verify.Bundle, doc *[]byte, _ *time.Time) {
			*doc = bytes.Replace(*doc, []byte(`"valid_until":"2027`), []byte(`"valid_until":"2028`), 1)
		}, fail: map[string]string{verify.CheckSignature: "changed after it was signed"}},
		{name: "one byte changed in the identifier", change: func(_ *verify.Bundle, doc *[]byte, _ *time.Time) {
			*doc = bytes.Replace(*doc, []byte(licenseID), []byte(licenseID[:34]+"6"), 1)
		}, fail: map[string]string{verify.CheckStructure: "check character", verify.CheckSignature: "changed after it was signed"}},
		{name: "signature of another document", change: func(_ *verify.Bundle, doc *[]byte, _ *time.Time) {
			d, err := license.Decode(*doc)
			if err != nil {
				t.Fatal(err)
			}
			d.Signature = p.sigDER // the seal's signature over a contract
			if *doc, err = license.Encode(d); err != nil {
				t.Fatal(err)
			}
		}, fail: map[string]string{verify.CheckSignature: "changed after it was signed"}},
		{name: "revoked", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, licenseIndex), FetchedAt: fetched})
		}, fail: map[string]string{verify.CheckStatus: "revoked according to the revocation list; status as of 2026-11-23T20:00:00Z (43200 s old)"}},
		{name: "suspended", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			b.SetStatusList(verify.StatusSnapshot{ListURL: suspensionList, Purpose: "suspension", EncodedList: encodeList(t, licenseIndex), FetchedAt: fetched})
		}, fail: map[string]string{verify.CheckStatus: "suspended"}},
		{name: "expired", change: func(_ *verify.Bundle, _ *[]byte, at *time.Time) { *at = t0.AddDate(1, 0, 0) },
			// A year on, the bundle's status lists are stale too.
			fail:    map[string]string{verify.CheckValidity: "expired at 2027-11-23T08:00:00Z", verify.CheckStatus: "older than the maximum age"},
			unknown: []string{verify.CheckStatus}},
		{name: "not yet valid", change: func(_ *verify.Bundle, _ *[]byte, at *time.Time) { *at = t0.Add(-time.Second) },
			fail: map[string]string{verify.CheckValidity: "not valid before 2026-11-23T08:00:00Z"}},
		{name: "unknown root", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			_, other := newRoot(t, "SM2-SM3", "another root")
			b.RootPEMs = []string{pemOf(other.Raw)}
		}, fail: map[string]string{verify.CheckCertificateChain: "signer certificate"}},
		{name: "seal certificate revoked before signing", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			b.SetRevoked(verify.Fingerprint(p.signerCert), p.signedAt.Add(-time.Second))
		}, fail: map[string]string{verify.CheckCertificateChain: "signer certificate was revoked"}},
		{name: "seal cancelled before signing", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			b.SetHistory(licenseSealCode, []verify.StateChange{{At: t0, State: verify.SealActive}, {At: p.signedAt.Add(-30 * time.Second), State: verify.SealCancelled}})
		}, fail: map[string]string{verify.CheckSealState: "was cancelled at"}},
		{name: "no status snapshot", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) { b.StatusLists = nil },
			fail: map[string]string{verify.CheckStatus: "no snapshot"}, unknown: []string{verify.CheckStatus}},
		{name: "list shorter than the W3C minimum", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) {
			b.SetStatusList(verify.StatusSnapshot{ListURL: suspensionList, Purpose: "suspension", EncodedList: "u" + base64.RawURLEncoding.EncodeToString(gzipped(t, []byte{0})), FetchedAt: fetched})
		}, fail: map[string]string{verify.CheckStatus: "8 entries, want 131072"}, unknown: []string{verify.CheckStatus}},
		{name: "status lists older than the maximum age", change: func(_ *verify.Bundle, _ *[]byte, at *time.Time) {
			*at = fetched.Add(verify.DefaultMaxStatusAge + time.Second)
		}, fail: map[string]string{verify.CheckStatus: "status as of 2026-11-23T20:00:00Z (86401 s old), older than the maximum age of 24h0m0s"},
			unknown: []string{verify.CheckStatus}},
		{name: "revoked in stale lists", change: func(b *verify.Bundle, _ *[]byte, at *time.Time) {
			b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, licenseIndex), FetchedAt: fetched})
			*at = fetched.Add(30 * 24 * time.Hour)
		}, fail: map[string]string{verify.CheckStatus: "revoked according to the revocation list; status as of 2026-11-23T20:00:00Z (2592000 s old)"}},
		{name: "type version not approved", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) { b.SetTypeVersions("BL0001", []int64{2}) },
			fail: map[string]string{verify.CheckTypeVersion: "version 1 of license type BL0001 is not an approved version"}},
		{name: "type unknown", change: func(b *verify.Bundle, _ *[]byte, _ *time.Time) { b.TypeVersions = b.TypeVersions[1:] },
			fail: map[string]string{verify.CheckTypeVersion: "not an approved version"}},
		{name: "not a document", change: func(_ *verify.Bundle, doc *[]byte, _ *time.Time) { *doc = p.sigDER },
			fail: map[string]string{verify.CheckStructure: "not a signed license document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, doc, at := p.licenseBundle(t), bytes.Clone(good), at
			if tc.change != nil {
				tc.change(&b, &doc, &at)
			}
			v := verify.License(context.Background(), doc, &b, at)
			checkLicenseVerdict(t, v, tc.fail, tc.unknown)
		})
	}
}

// checkLicenseVerdict checks that exactly the checks in fail failed, each
// with its reason, that exactly those in unknown are unknown, and that the
// verdict is valid exactly when nothing failed.
func checkLicenseVerdict(t *testing.T, v verify.Verdict, fail map[string]string, unknown []string) {
	t.Helper()
	if v.Valid != (len(fail) == 0) {
		t.Errorf("valid %v, want %v: %+v", v.Valid, len(fail) == 0, v.Checks)
	}
	seen := map[string]bool{}
	for _, c := range v.Checks {
		if seen[c.Name] {
			t.Errorf("check %s listed twice", c.Name)
		}
		seen[c.Name] = true
		want, mustFail := fail[c.Name]
		switch {
		case c.Informational:
		case mustFail && (c.OK || !strings.Contains(c.Reason, want)):
			t.Errorf("check %s: ok %v, reason %q; want it to fail with %q", c.Name, c.OK, c.Reason, want)
		case !mustFail && !c.OK:
			t.Errorf("check %s failed: %s", c.Name, c.Reason)
		}
		if isUnknown := strings.Contains(strings.Join(unknown, " "), c.Name); c.Unknown != isUnknown && !c.Informational {
			t.Errorf("check %s: unknown %v, want %v", c.Name, c.Unknown, isUnknown)
		}
	}
	for name := range fail {
		if !seen[name] {
			t.Errorf("check %s missing from %+v", name, v.Checks)
		}
	}
	if fail[verify.CheckStructure] == "" {
		want := []string{verify.CheckStructure, verify.CheckSignature, verify.CheckMakerSignature, verify.CheckSignerCertificate,
			verify.CheckSealValidity, verify.CheckCertificateChain, verify.CheckSealState, verify.CheckSealNow,
			verify.CheckIssuerSeal, verify.CheckValidity, verify.CheckStatus, verify.CheckTypeVersion}
		if seen[verify.CheckBatchInclusion] { // a batch-signed document
			want = append(want[:2], append([]string{verify.CheckBatchInclusion}, want[2:]...)...)
		}
		var got []string
		for _, c := range v.Checks {
			got = append(got, c.Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("checks %v, want %v", got, want)
		}
		if v.LicenseID != licenseID || v.SealCode == "" {
			t.Errorf("license %q sealed by %q, want %s and its seal", v.LicenseID, v.SealCode, licenseID)
		}
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return gz.Bytes()
}

// TestLicenseStatusAge: a passing status check says how old its lists
// were at the verdict's instant.
func TestLicenseStatusAge(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.licenseBundle(t)
	at := fetched.Add(90 * time.Minute)
	v := verify.License(context.Background(), p.signLicense(t, sampleLicense()), &b, at)
	for _, c := range v.Checks {
		if c.Name != verify.CheckStatus {
			continue
		}
		if !c.OK || !c.AsOf.Equal(fetched) || !strings.Contains(c.Reason, "status as of 2026-11-23T20:00:00Z (5400 s old)") {
			t.Fatalf("status check %+v, want OK as of %s, 5400 s old", c, fetched)
		}
		return
	}
	t.Fatal("no status check")
}

// TestLicenseMaxStatusAge: the caller sets how old the status lists may
// be; none set, any age passes.
func TestLicenseMaxStatusAge(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.licenseBundle(t)
	doc := p.signLicense(t, sampleLicense())
	at := fetched.Add(2 * time.Hour)
	for _, c := range []struct {
		name    string
		opt     verify.LicenseOption
		unknown bool
	}{
		{"within the default", nil, false},
		{"older than an hour", verify.MaxStatusAge(time.Hour), true},
		{"within three hours", verify.MaxStatusAge(3 * time.Hour), false},
		{"no limit", verify.MaxStatusAge(0), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []verify.LicenseOption
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			v := verify.License(context.Background(), doc, &b, at, opts...)
			var unknown []string
			fail := map[string]string{}
			if c.unknown {
				unknown, fail[verify.CheckStatus] = []string{verify.CheckStatus}, "(7200 s old), older than the maximum age of 1h0m0s"
			}
			checkLicenseVerdict(t, v, fail, unknown)
		})
	}
}

// TestLicenseWithoutTypeVersions: a trust that lists no type versions
// leaves the type-version check informational and unknown.
func TestLicenseWithoutTypeVersions(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.licenseBundle(t)
	b.TypeVersions = nil
	v := verify.License(context.Background(), p.signLicense(t, sampleLicense()), &b, t0.Add(time.Hour))
	last := v.Checks[len(v.Checks)-1]
	if !v.Valid || last.Name != verify.CheckTypeVersion || last.OK || !last.Unknown || !last.Informational {
		t.Fatalf("verdict %+v, want valid with an informational unknown type-version check", v)
	}
}

// TestLicenseIssuerSeal: only the issuer's own license-issuing seal signs
// its licenses.
func TestLicenseIssuerSeal(t *testing.T) {
	for _, c := range []struct{ name, seal, want string }{
		{"contract seal of another organization", sealCode, "belongs to 911000000000000001"},
		{"contract seal of the issuer", "350102" + issuerCredit + "04" + "001" + "X", "is of kind 04"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPlatformWith(t, platformOptions{sealCode: c.seal})
			b := p.licenseBundle(t)
			v := verify.License(context.Background(), p.signLicense(t, sampleLicense()), &b, t0.Add(time.Hour))
			checkLicenseVerdict(t, v, map[string]string{verify.CheckIssuerSeal: c.want}, nil)
			if v.SealCode != c.seal {
				t.Errorf("sealed by %q, want %q", v.SealCode, c.seal)
			}
		})
	}
}

// TestLicenseOffline verifies through a signed bundle, as a relying party
// does: the bundle's signature covers its status lists, so a cleared bit
// is a broken bundle, not a good license.
func TestLicenseOffline(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.licenseBundle(t)
	b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, licenseIndex), FetchedAt: fetched})
	file := sign(t, b, p.rootKey, p.root)
	opened, err := verify.OpenBundle(file, verify.Fingerprint(p.root.Raw))
	if err != nil {
		t.Fatal(err)
	}
	doc := p.signLicense(t, sampleLicense())
	v := verify.License(context.Background(), doc, opened, t0.Add(time.Hour))
	checkLicenseVerdict(t, v, map[string]string{verify.CheckStatus: "revoked"}, nil)

	cleared := bytes.Replace(file, []byte(encodeList(t, licenseIndex)), []byte(encodeList(t)), 1)
	if bytes.Equal(cleared, file) {
		t.Fatal("fixture: the revocation list is not in the bundle")
	}
	if _, err := verify.OpenBundle(cleared, ""); !errors.Is(err, verify.ErrBundleSignature) {
		t.Fatalf("bundle with a cleared bit: %v, want ErrBundleSignature", err)
	}

	// A seal-only bundle (no status lists, no type versions) reads as
	// before: no new member appears in it.
	plain := sign(t, p.bundle(), p.rootKey, p.root)
	if bytes.Contains(plain, []byte("status_lists")) || bytes.Contains(plain, []byte("type_versions")) {
		t.Fatalf("a seal-only bundle carries license members:\n%s", plain)
	}
}

func TestOpenBundleRefusesBadStatusLists(t *testing.T) {
	p := newPlatform(t)
	for name, change := range map[string]func(*verify.Bundle){
		"undecodable list": func(b *verify.Bundle) {
			b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: "zAAAA", FetchedAt: fetched})
		},
		"lists out of order": func(b *verify.Bundle) {
			b.StatusLists = []verify.StatusSnapshot{
				{ListURL: suspensionList, Purpose: "suspension", EncodedList: encodeList(t), FetchedAt: fetched},
				{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t), FetchedAt: fetched},
			}
		},
		"types out of order": func(b *verify.Bundle) {
			b.TypeVersions = []verify.TypeVersions{{Type: "PC0001", Approved: []int64{1}}, {Type: "BL0001", Approved: []int64{1}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := p.bundle()
			change(&b)
			if _, err := verify.OpenBundle(sign(t, b, p.rootKey, p.root), ""); !errors.Is(err, verify.ErrMalformedBundle) {
				t.Fatalf("OpenBundle: %v, want ErrMalformedBundle", err)
			}
		})
	}
}

func TestDecodeBitstring(t *testing.T) {
	bits, err := verify.DecodeBitstring(encodeList(t, 0, 9, statusListLength*8-1))
	if err != nil {
		t.Fatal(err)
	}
	// Bit 0 is the most significant bit of byte 0 (W3C Bitstring Status
	// List v1.0, "Bitstring Encoding").
	if len(bits) != statusListLength || bits[0] != 0x80 || bits[1] != 0x40 || bits[statusListLength-1] != 0x01 {
		t.Fatalf("decoded %x…%x, want 80 40 … 01", bits[:2], bits[len(bits)-1:])
	}
	for name, enc := range map[string]string{
		"no multibase prefix":  strings.TrimPrefix(encodeList(t), "u"),
		"padded base64":        "u" + base64.URLEncoding.EncodeToString(gzipped(t, []byte{1})),
		"not gzip":             "u" + base64.RawURLEncoding.EncodeToString([]byte("plain")),
		"compression bomb":     "u" + base64.RawURLEncoding.EncodeToString(gzipped(t, make([]byte, 1<<24+1))),
		"shorter than 131,072": "u" + base64.RawURLEncoding.EncodeToString(gzipped(t, make([]byte, statusListLength-1))),
	} {
		if _, err := verify.DecodeBitstring(enc); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestEveryChangedByteFailsSignature changes, one at a time, every letter
// and digit of the stored license member to another of its kind: each
// change that leaves the document JSON fails the signature check, whether
// or not it also breaks a rule of the format.
func TestEveryChangedByteFailsSignature(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.licenseBundle(t)
	doc := p.signLicense(t, sampleLicense())
	start := len(`{"license":`)
	end := bytes.LastIndex(doc, []byte(`,"signature":`))
	ctx, at := context.Background(), t0.Add(time.Hour)
	changed, syntax := 0, 0
	for i := start; i < end; i++ {
		c := doc[i]
		other, ok := nextOfKind(c)
		if !ok {
			continue
		}
		bad := bytes.Clone(doc)
		bad[i] = other
		if !json.Valid(bad) {
			syntax++ // an escape such as \n turned into \o: nothing left to hash
			continue
		}
		changed++
		v := verify.License(ctx, bad, &b, at)
		failed := false
		for _, c := range v.Checks {
			failed = failed || (c.Name == verify.CheckSignature && !c.OK)
		}
		if v.Valid || !failed {
			t.Fatalf("byte %d changed from %q to %q: valid %v, signature check failed %v: %+v", i, c, other, v.Valid, failed, v.Checks)
		}
	}
	t.Logf("%d changes, %d broke the JSON", changed, syntax)
	if changed < 400 || syntax > 5 {
		t.Fatalf("%d changes tried, %d broke the JSON: the walk is broken", changed, syntax)
	}
}

// nextOfKind returns the next digit, lower- or upper-case letter after c,
// wrapping round; ok is false for any other byte.
func nextOfKind(c byte) (other byte, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return '0' + (c-'0'+1)%10, true
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+1)%26, true
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+1)%26, true
	}
	return 0, false
}
