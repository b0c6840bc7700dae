package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// TestStatesAreVerifyStates proves the conversion in historyOf is exact:
// package verify decides on its own copy of the state names.
func TestStatesAreVerifyStates(t *testing.T) {
	for st, want := range map[seal.State]verify.SealState{
		seal.Active: verify.SealActive, seal.Suspended: verify.SealSuspended, seal.Cancelled: verify.SealCancelled,
	} {
		if verify.SealState(st) != want {
			t.Errorf("seal state %q converts to %q, want %q", st, verify.SealState(st), want)
		}
	}
}

// TestTrustBundleSignedByRoot exports the bundle with a root of every
// algorithm and opens it pinned to that root.
func TestTrustBundleSignedByRoot(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				f := setupWithRoot(t, db, alg)
				b, err := f.svc.TrustBundle(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				root, _, _ := f.certs.Root(context.Background())
				if b.Signature == nil || b.Signature.Alg != string(alg) || b.Signature.Root != root.Fingerprint {
					t.Fatalf("signature %+v, want %s by root %s", b.Signature, alg, root.Fingerprint)
				}
				f.openBundle(t)
			})
		})
	}
}

// TestTrustBundleOffline follows a seal through a signature and its
// cancellation, then verifies offline from the exported bundle, and proves
// that a bundle changed anywhere after signing is refused.
func TestTrustBundleOffline(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		doc := []byte("盖章文件")
		x, req := f.pinSeal(t, doc)
		signed, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "135790"})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.add(time.Hour)
		app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Cancel, SealID: x.ID, Reason: "撤销"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, app.ID, true, ""); err != nil {
			t.Fatal(err)
		}

		b, err := f.svc.TrustBundle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := b.SealHistory(ctx, x.ID)
		if len(h) == 0 || h[len(h)-1].State != verify.SealCancelled {
			t.Fatalf("history of the cancelled seal: %+v", h)
		}
		revoked, _ := b.RevokedAt(ctx, x.CertFingerprint)
		if revoked == nil {
			t.Fatalf("the cancelled seal's certificate is not listed as revoked: %v", b.Revoked)
		}
		data, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		root, _, _ := f.certs.Root(ctx)
		opened, err := verify.OpenBundle(data, root.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		// Signed while active, before the revocation: still valid; the
		// seal is cancelled now, which the verdict notes.
		v := verify.Seal(ctx, opened, signed.Signature, doc, nil, f.clk.now())
		if !v.Valid {
			t.Fatalf("verdict on a signature made before the cancellation: %+v", v)
		}
		if c := v.Checks[len(v.Checks)-1]; c.Name != verify.CheckSealNow || c.OK || !c.Informational {
			t.Fatalf("seal-now check %+v, want an informational failure", c)
		}

		replace := func(old, new string) func([]byte) []byte {
			return func(d []byte) []byte {
				if !bytes.Contains(d, []byte(old)) {
					t.Fatalf("%q is not in the bundle", old)
				}
				return bytes.Replace(d, []byte(old), []byte(new), 1)
			}
		}
		revokedAt := revoked.Format(time.RFC3339)
		cases := []struct {
			name string
			edit func([]byte) []byte
			pin  string
			want error
		}{
			{"as exported", func(d []byte) []byte { return d }, root.Fingerprint, nil},
			{"not pinned", func(d []byte) []byte { return d }, "", nil},
			{"reformatted", func(d []byte) []byte {
				var buf bytes.Buffer
				if err := json.Compact(&buf, d); err != nil {
					t.Fatal(err)
				}
				return buf.Bytes()
			}, root.Fingerprint, nil},
			{"seal restored", replace(`"state": "cancelled"`, `"state": "active"`), root.Fingerprint, verify.ErrBundleSignature},
			{"revocation moved", replace(revokedAt, "2099-01-01T00:00:00Z"), root.Fingerprint, verify.ErrBundleSignature},
			{"revocation dropped", replace(`"`+x.CertFingerprint+`"`, `"`+otherFingerprint(x.CertFingerprint)+`"`), root.Fingerprint, verify.ErrBundleSignature},
			{"member added", replace(`"format"`, `"note": "x", "format"`), root.Fingerprint, verify.ErrBundleSignature},
			{"root changed", replace("MII", "MIJ"), root.Fingerprint, verify.ErrMalformedBundle},
			{"signature dropped", func(d []byte) []byte {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(d, &m); err != nil {
					t.Fatal(err)
				}
				delete(m, "signature")
				out, _ := json.Marshal(m)
				return out
			}, "", verify.ErrUnsignedBundle},
			{"another root pinned", func(d []byte) []byte { return d }, strings.Repeat("ab", 32), verify.ErrRootNotPinned},
		}
		for _, c := range cases {
			_, err := verify.OpenBundle(c.edit(bytes.Clone(data)), c.pin)
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
	})
}

// otherFingerprint is fp with its first two digits changed: a random
// fingerprint starts with "00" one time in 256, and replacing them by "00"
// would change nothing.
func otherFingerprint(fp string) string {
	if strings.HasPrefix(fp, "00") {
		return "ff" + fp[2:]
	}
	return "00" + fp[2:]
}

// TestRevokedMaker revokes the platform's seal-maker certificate: the
// platform stops signing with seals whose structure it certifies, and the
// trust bundle carries the revocation, so offline and online verdicts on an
// earlier signature agree.
func TestRevokedMaker(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.NoApproval)
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "135790"); err != nil {
			t.Fatal(err)
		}
		sign := func(doc []byte) (seal.Signed, error) {
			req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "t", "p")
			if err != nil {
				t.Fatal(err)
			}
			return f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "135790"})
		}
		signed, err := sign([]byte("first"))
		if err != nil {
			t.Fatal(err)
		}
		structure, err := ses.ParseSeal(x.Structure)
		if err != nil {
			t.Fatal(err)
		}
		makerFP := verify.Fingerprint(structure.MakerCert)
		f.clk.add(time.Minute)
		if _, err := f.certs.Revoke(ctx, makerFP, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if _, err := sign([]byte("second")); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("signing under a revoked maker certificate: %v", err)
		}
		b, err := f.svc.TrustBundle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if at, _ := b.RevokedAt(ctx, makerFP); at == nil {
			t.Fatal("the trust bundle does not list the maker certificate's revocation")
		}
		online := f.svc.Verify(ctx, signed.Signature, []byte("first"), nil)
		offline := verify.Seal(ctx, &b, signed.Signature, []byte("first"), nil, f.clk.now())
		if online.Valid != offline.Valid || !online.Valid {
			t.Fatalf("a signature made before the revocation: online %v, offline %v; want both valid", online.Valid, offline.Valid)
		}
	})
}
