package verify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/verify"
)

// presenter is the platform's presentation key as a test holds it.
type presenter struct {
	key *keys.SoftwareKey
	pk  verify.PresentationKey
}

func newPresenter(t testing.TB, alg keys.Algorithm) presenter {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := verify.NewPresentationKey(k.Public(), t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return presenter{key: k, pk: pk}
}

func TestOpenBundleRefusesBadPresentationKeys(t *testing.T) {
	p := newPlatform(t)
	a, b := newPresenter(t, keys.SM2SM3), newPresenter(t, keys.ECDSAP256)
	for name, change := range map[string]func(*verify.Bundle){
		"kid not the key's": func(bu *verify.Bundle) {
			k := a.pk
			k.KID = "0011223344556677"
			bu.SetPresentationKey(k)
		},
		"alg not the key's": func(bu *verify.Bundle) {
			k := a.pk
			k.Alg = string(keys.ECDSAP256)
			bu.SetPresentationKey(k)
		},
		"not a key": func(bu *verify.Bundle) {
			k := a.pk
			k.PublicKeyPEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
			bu.SetPresentationKey(k)
		},
		"out of order": func(bu *verify.Bundle) {
			bu.SetPresentationKey(a.pk)
			bu.SetPresentationKey(b.pk)
			bu.PresentationKeys[0], bu.PresentationKeys[1] = bu.PresentationKeys[1], bu.PresentationKeys[0]
		},
	} {
		t.Run(name, func(t *testing.T) {
			bu := p.bundle()
			change(&bu)
			if _, err := verify.OpenBundle(sign(t, bu, p.rootKey, p.root), ""); !errors.Is(err, verify.ErrMalformedBundle) {
				t.Fatalf("OpenBundle: %v, want ErrMalformedBundle", err)
			}
		})
	}
	bu := p.bundle()
	bu.SetPresentationKey(a.pk)
	bu.SetPresentationKey(b.pk)
	opened, err := verify.OpenBundle(sign(t, bu, p.rootKey, p.root), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(opened.PresentationKeys) != 2 || opened.PresentationKeys[0].KID >= opened.PresentationKeys[1].KID {
		t.Errorf("presentation keys %+v", opened.PresentationKeys)
	}
}

// shownAt is when the test payloads are issued: an hour after the
// bundle's status lists were read.
var shownAt = fetched.Add(time.Hour)

// presentedClaims are the claims of a payload of sampleLicense.
func presentedClaims() qr.Claims {
	return qr.Claims{Issuer: "https://zz.example.gov.cn", IssuedAt: shownAt, LicenseID: licenseID, TypeCode: "BL0001", TypeVersion: 1,
		IssuerCode: issuerCredit, Holder: "福州闽江示例科技有限公司", Fields: map[string]any{"legal_representative": "林晓峰"},
		RevocationList: revocationList, SuspensionList: suspensionList, StatusIndex: licenseIndex}
}

// payload signs c with the presenter's key under kid (its own when nil).
func (pr presenter) payload(t testing.TB, c qr.Claims, kid []byte) string {
	t.Helper()
	if kid == nil {
		var err error
		if kid, err = hex.DecodeString(pr.pk.KID); err != nil {
			t.Fatal(err)
		}
	}
	s, err := qr.Encode(context.Background(), c, pr.key, kid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// presentationBundle is the license bundle listing pr's key, opened.
func (p *platform) presentationBundle(t testing.TB, pr presenter, change func(*verify.Bundle)) *verify.Bundle {
	t.Helper()
	b := p.licenseBundle(t)
	b.SetPresentationKey(pr.pk)
	if change != nil {
		change(&b)
	}
	opened, err := verify.OpenBundle(sign(t, b, p.rootKey, p.root), verify.Fingerprint(p.root.Raw))
	if err != nil {
		t.Fatal(err)
	}
	return opened
}

func TestPresentation(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	pr, other := newPresenter(t, keys.SM2SM3), newPresenter(t, keys.ECDSAP256)
	good := pr.payload(t, presentedClaims(), nil)
	tests := []struct {
		name    string
		payload string
		bundle  func(*verify.Bundle)
		at      time.Time
		fail    map[string]string // failing check → part of its reason
		unknown []string
		claims  bool // the verdict carries the claims
	}{
		{name: "valid", payload: good, at: shownAt.Add(30 * time.Second), claims: true},
		{name: "at the last second", payload: good, at: shownAt.Add(60 * time.Second), claims: true},
		{name: "expired after 61 s", payload: good, at: shownAt.Add(61 * time.Second), claims: true,
			fail: map[string]string{verify.CheckExpiry: "expired"}},
		{name: "not yet valid", payload: good, at: shownAt.Add(-2 * time.Second), claims: true,
			fail: map[string]string{verify.CheckExpiry: "not yet valid"}},
		{name: "revoked after a fresh bundle", payload: good, at: shownAt.Add(10 * time.Second), claims: true,
			bundle: func(b *verify.Bundle) {
				b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, licenseIndex), FetchedAt: shownAt})
			},
			fail: map[string]string{verify.CheckStatus: "revoked according to the revocation list; status as of " + shownAt.Format(time.RFC3339) + " (10 s old)"}},
		{name: "suspended", payload: good, at: shownAt.Add(10 * time.Second), claims: true,
			bundle: func(b *verify.Bundle) {
				b.SetStatusList(verify.StatusSnapshot{ListURL: suspensionList, Purpose: "suspension", EncodedList: encodeList(t, licenseIndex), FetchedAt: shownAt})
			},
			fail: map[string]string{verify.CheckStatus: "suspended"}},
		{name: "stale bundle", payload: good, at: fetched.Add(25 * time.Hour), claims: true,
			unknown: []string{verify.CheckStatus}, fail: map[string]string{verify.CheckExpiry: "expired"}},
		{name: "wrong key", payload: other.payload(t, presentedClaims(), mustHex(t, pr.pk.KID)), at: shownAt,
			fail: map[string]string{verify.CheckKey: "is SM2-SM3, the payload is signed with ECDSA-P256-SHA256"}},
		{name: "same algorithm, wrong key", payload: newPresenter(t, keys.SM2SM3).payload(t, presentedClaims(), mustHex(t, pr.pk.KID)), at: shownAt,
			fail: map[string]string{verify.CheckSignature: "signature does not verify"}},
		{name: "unknown kid", payload: other.payload(t, presentedClaims(), nil), at: shownAt,
			fail: map[string]string{verify.CheckKey: "signing key not trusted"}},
		{name: "key retired before", payload: good, at: shownAt,
			bundle: func(b *verify.Bundle) {
				k := b.PresentationKeys[0]
				until := shownAt.Add(-time.Minute)
				k.ValidUntil = &until
				b.SetPresentationKey(k)
			},
			fail: map[string]string{verify.CheckKey: "after presentation key"}},
		{name: "wrongly prefixed", payload: "ZZ2:" + good[4:], at: shownAt, fail: map[string]string{verify.CheckFormat: "not a ZZ1 payload"}},
		{name: "truncated", payload: good[:len(good)-6], at: shownAt, fail: map[string]string{verify.CheckFormat: "not Base45 over zlib"}},
		{name: "oversized", payload: good + strings.Repeat("0", qr.MaxPayload), at: shownAt, fail: map[string]string{verify.CheckFormat: "too large"}},
		{name: "empty", payload: "", at: shownAt, fail: map[string]string{verify.CheckFormat: "not a ZZ1 payload"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := verify.Presentation(ctx, tc.payload, p.presentationBundle(t, pr, tc.bundle), tc.at)
			if v.Valid != (len(tc.fail) == 0 && len(tc.unknown) == 0) {
				t.Errorf("valid = %v; checks %+v", v.Valid, v.Checks)
			}
			for _, c := range v.Checks {
				want, fails := tc.fail[c.Name]
				switch {
				case slices.Contains(tc.unknown, c.Name):
					if c.OK || !c.Unknown {
						t.Errorf("%s: %+v, want unknown", c.Name, c)
					}
				case fails:
					if c.OK || !strings.Contains(c.Reason, want) {
						t.Errorf("%s: %+v, want a failure saying %q", c.Name, c, want)
					}
				case !c.OK:
					t.Errorf("%s failed: %s", c.Name, c.Reason)
				}
			}
			if got := v.Presented != nil; got != tc.claims {
				t.Fatalf("claims in the verdict: %v, want %v", got, tc.claims)
			}
			if tc.claims && (v.Presented.LicenseID != licenseID || v.Presented.Fields["legal_representative"] != "林晓峰" ||
				v.Presented.KID != pr.pk.KID || len(v.Presented.Nonce) != 2*qr.NonceSize || v.LicenseID != licenseID) {
				t.Errorf("presented %+v", v.Presented)
			}
		})
	}
	t.Run("every changed character", func(t *testing.T) {
		b := p.presentationBundle(t, pr, nil)
		const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
		for i := range len(good) {
			for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, good[i])+1)%len(alphabet)]} {
				changed := good[:i] + string(r) + good[i+1:]
				if v := verify.Presentation(ctx, changed, b, shownAt); v.Valid {
					t.Fatalf("a payload changed at %d is valid", i)
				}
			}
		}
	})
	t.Run("a bundle built by hand", func(t *testing.T) {
		b := p.licenseBundle(t)
		b.SetPresentationKey(pr.pk)
		if v := verify.Presentation(ctx, good, &b, shownAt); !v.Valid {
			t.Errorf("checks %+v", v.Checks)
		}
	})
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzPresentation(f *testing.F) {
	p := newPlatform(f)
	pr := newPresenter(f, keys.SM2SM3)
	good := pr.payload(f, presentedClaims(), nil)
	b := p.presentationBundle(f, pr, nil)
	for _, s := range []string{good, good[:40], "ZZ1:", "ZZ1:%%%", "", strings.Repeat("A", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Another encoding of the same signed bytes may be valid too; what
		// matters is an answer, never a panic.
		if v := verify.Presentation(context.Background(), s, b, shownAt); len(v.Checks) == 0 {
			t.Fatal("no checks")
		}
	})
}
