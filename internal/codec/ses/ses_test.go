package ses

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkOf returns the Check of err, or "" when err is not a *CheckError.
func checkOf(err error) string {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Check
	}
	return ""
}

// TestThirdParty parses the samples of other implementations, re-encodes
// them byte for byte and verifies what they allow (testdata/SOURCE.md).
func TestThirdParty(t *testing.T) {
	for _, tt := range []struct {
		sig, doc string
	}{
		{"thirdparty/gomain-SignedValue.dat", "thirdparty/gomain-Signature.xml"},
		{"thirdparty/ofdrw-SignedValue.dat", "thirdparty/ofdrw-Signature.xml"},
	} {
		t.Run(tt.sig, func(t *testing.T) {
			der := readFile(t, tt.sig)
			s, err := ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Marshal()
			if err != nil || !bytes.Equal(again, der) {
				t.Fatalf("re-marshal differs from the sample (err %v)", err)
			}
			if !bytes.Equal(s.Raw, der) {
				t.Error("Raw is not the input")
			}
			if errs := s.Verify(readFile(t, tt.doc)); errs != nil {
				t.Fatalf("checks failed: %v", errs)
			}
			if err := s.CheckDocument(append(readFile(t, tt.doc), ' ')); checkOf(err) != CheckDocumentHash {
				t.Errorf("changed document: got %v", err)
			}
		})
	}
	for _, tt := range []struct {
		name      string
		makerGood bool
		version   int64
		timeStamp []byte
	}{
		{"thirdparty/ofdrw-UserV4.esl", true, Version4, nil},
		{"thirdparty/hebeigede-SESealData.der", false, Version4, nil},
		// ofdrw writes a 3-byte placeholder, not a TimeStampToken; it is
		// carried as it is (testdata/SOURCE.md).
		{"thirdparty/ofdrw-UserV5_ts.esl", true, Version5, []byte{1, 2, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			der := readFile(t, tt.name)
			s, err := ParseSeal(der)
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Marshal()
			if err != nil || !bytes.Equal(again, der) {
				t.Fatalf("re-marshal differs from the sample (err %v)", err)
			}
			err = s.VerifyMaker()
			if tt.makerGood && err != nil {
				t.Fatal(err)
			}
			if !tt.makerGood && checkOf(err) != CheckMakerSignature {
				t.Fatalf("want a maker-signature failure, got %v", err)
			}
			if s.Info.Header.Version != tt.version || !bytes.Equal(s.TimeStamp, tt.timeStamp) {
				t.Errorf("version %d, timeStamp %x; want %d, %x", s.Info.Header.Version, s.TimeStamp, tt.version, tt.timeStamp)
			}
		})
	}
	// The GM/T 0031-2025 signature of ofdrw: version 5 throughout, no
	// timeStamp, and every check passes under the version 4 rules of what
	// is signed. ofdrw signed a placeholder dataHash of 32 zero bytes and
	// ships no document, so the hash is checked as a digest.
	t.Run("thirdparty/ofdrw-SignedValueV5.dat", func(t *testing.T) {
		der := readFile(t, "thirdparty/ofdrw-SignedValueV5.dat")
		s, err := ParseSignature(der)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Marshal(); err != nil || !bytes.Equal(again, der) {
			t.Fatalf("re-marshal differs from the sample (err %v)", err)
		}
		if s.TBS.Version != Version5 || s.TBS.Seal.Info.Header.Version != Version5 || s.TimeStamp != nil || s.TBS.Seal.TimeStamp != nil {
			t.Fatalf("versions %d/%d, timeStamps %x/%x; want 5/5 and none", s.TBS.Version, s.TBS.Seal.Info.Header.Version, s.TimeStamp, s.TBS.Seal.TimeStamp)
		}
		var failed []string
		for _, e := range s.Verify(nil) {
			failed = append(failed, e.Check)
		}
		if !reflect.DeepEqual(failed, []string{CheckDocumentHash}) {
			t.Fatalf("failed checks %v, want only %s (no document)", failed, CheckDocumentHash)
		}
		if err := s.CheckDigest(make([]byte, HashSize)); err != nil {
			t.Fatal(err)
		}
	})
	// The gomain seal writes critical as an explicit FALSE; it must be kept.
	s, err := ParseSignature(readFile(t, "thirdparty/gomain-SignedValue.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if ext := s.TBS.Seal.Info.Extensions; len(ext) != 1 || !ext[0].ExplicitFalse || ext[0].Critical {
		t.Errorf("gomain extDatas = %+v, want one explicit FALSE", ext)
	}
}

func TestFixtureVerifies(t *testing.T) {
	f := newFixture(t)
	if err := f.seal.VerifyMaker(); err != nil {
		t.Fatal(err)
	}
	if errs := f.sig.Verify(f.doc); errs != nil {
		t.Fatal(errs)
	}
	h := sm3.Sum(f.doc)
	if err := f.sig.CheckDigest(h[:]); err != nil {
		t.Fatal(err)
	}
	if err := f.sig.CheckDigest(h[:31]); checkOf(err) != CheckDocumentHash || !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("short digest: %v", err)
	}
	s, err := ParseSeal(f.sealDER)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, f.seal) {
		t.Error("ParseSeal(MakeSeal) differs from the made seal")
	}
	sig, err := ParseSignature(f.sigDER)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sig, f.sig) {
		t.Error("ParseSignature(Sign) differs from the made signature")
	}
	if !bytes.Equal(sig.TBS.Seal.Raw, f.sealDER) {
		t.Error("the seal inside the signature is not the seal's DER")
	}
}

// clearRaw removes the Raw fields so hand-built and parsed values compare.
func clearRaw(v any) {
	switch x := v.(type) {
	case *Seal:
		x.Raw, x.RawInfo = nil, nil
	case *Signature:
		x.Raw, x.TBS.Raw = nil, nil
		clearRaw(&x.TBS.Seal)
	}
}

// TestRoundTrip checks Parse(Marshal(x)) == x and Marshal(Parse(d)) == d
// for variants of every optional and alternative field.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	seals := map[string]func(s *Seal){
		"as made":               func(*Seal) {},
		"no extensions":         func(s *Seal) { s.Info.Extensions = nil },
		"empty extensions":      func(s *Seal) { s.Info.Extensions = []ExtData{} },
		"critical true":         func(s *Seal) { s.Info.Extensions[0].Critical = true },
		"explicit false":        func(s *Seal) { s.Info.Extensions[0].ExplicitFalse = true },
		"fractional time":       func(s *Seal) { s.Info.Property.Created = t0.Add(120 * time.Millisecond) },
		"negative and big ints": func(s *Seal) { s.Info.Property.Type, s.Info.Picture.Width = -1, 1<<62 },
		"digest list": func(s *Seal) {
			sum := sm3.Sum(f.signerCert)
			s.Info.Property.CertListType, s.Info.Property.Certs = CertListDigests, nil
			s.Info.Property.CertDigests = []CertDigest{{Type: "SM3", Value: sum[:]}}
		},
		"empty strings": func(s *Seal) { s.Info.ID, s.Info.Property.Name, s.Info.Header.VendorID = "", "", "" },
		"version 5":     func(s *Seal) { s.Info.Header.Version = Version5 },
		"version 5 time stamp": func(s *Seal) {
			s.Info.Header.Version, s.TimeStamp = Version5, []byte{0x30, 0x03, 0x02, 0x01, 0x01}
		},
		"version 5 empty time stamp": func(s *Seal) { s.Info.Header.Version, s.TimeStamp = Version5, []byte{} },
	}
	for name, mutate := range seals {
		t.Run("seal/"+name, func(t *testing.T) {
			x := *f.seal
			x.Info.Extensions = append([]ExtData(nil), f.seal.Info.Extensions...)
			mutate(&x)
			clearRaw(&x)
			der, err := x.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			y, err := ParseSeal(der)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := y.Marshal()
			if !bytes.Equal(again, der) {
				t.Fatal("Marshal(Parse(d)) != d")
			}
			clearRaw(y)
			if !reflect.DeepEqual(&x, y) {
				t.Fatalf("Parse(Marshal(x)) != x\n got %+v\nwant %+v", y.Info, x.Info)
			}
		})
	}
	sigs := map[string]func(s *Signature){
		"as made":          func(*Signature) {},
		"time stamp":       func(s *Signature) { s.TimeStamp = []byte{0x30, 0x03, 0x02, 0x01, 0x01} },
		"empty time stamp": func(s *Signature) { s.TimeStamp = []byte{} },
		"tbs extensions": func(s *Signature) {
			s.TBS.Extensions = []ExtData{{ID: asn1.ObjectIdentifier{2, 999}, Critical: true, Value: []byte{}}}
		},
		"empty tbs ext": func(s *Signature) { s.TBS.Extensions = []ExtData{} },
		"version 5 with both time stamps": func(s *Signature) {
			s.TBS.Version, s.TBS.Seal.Info.Header.Version = Version5, Version5
			s.TBS.Seal.TimeStamp, s.TimeStamp = []byte{1, 2, 3}, []byte{4, 5, 6}
		},
	}
	for name, mutate := range sigs {
		t.Run("signature/"+name, func(t *testing.T) {
			x := *f.sig
			mutate(&x)
			clearRaw(&x)
			der, err := x.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			y, err := ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := y.Marshal()
			if !bytes.Equal(again, der) {
				t.Fatal("Marshal(Parse(d)) != d")
			}
			clearRaw(y)
			if !reflect.DeepEqual(&x, y) {
				t.Fatal("Parse(Marshal(x)) != x")
			}
		})
	}
}

// flip returns a copy of der with the byte at i inverted.
func flip(der []byte, i int) []byte {
	c := bytes.Clone(der)
	c[i] ^= 0xff
	return c
}

// TestTamper flips one byte in the document, the picture inside the seal,
// the maker's and the signer's signatures, and expects the named check to
// fail.
func TestTamper(t *testing.T) {
	f := newFixture(t)
	pic := bytes.Index(f.sigDER, f.info.Picture.Data)
	sv := bytes.LastIndex(f.sigDER, f.sig.Value)
	msv := bytes.Index(f.sigDER, f.seal.SignedValue)
	hash := bytes.Index(f.sigDER, f.sig.TBS.DataHash)
	if pic < 0 || sv < 0 || msv < 0 || hash < 0 {
		t.Fatal("fixture fields not found in the DER")
	}
	for _, tt := range []struct {
		name   string
		sigDER []byte
		doc    []byte
		failed []string
	}{
		{"document", f.sigDER, flip(f.doc, len(f.doc)/2), []string{CheckDocumentHash}},
		{"picture in seal", flip(f.sigDER, pic+5), f.doc, []string{CheckSignature, CheckMakerSignature}},
		{"maker signature", flip(f.sigDER, msv+len(f.seal.SignedValue)-3), f.doc, []string{CheckSignature, CheckMakerSignature}},
		{"signer signature", flip(f.sigDER, sv+len(f.sig.Value)-3), f.doc, []string{CheckSignature}},
		{"data hash", flip(f.sigDER, hash+7), f.doc, []string{CheckSignature, CheckDocumentHash}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSignature(tt.sigDER)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range s.Verify(tt.doc) {
				got = append(got, e.Check)
			}
			if !reflect.DeepEqual(got, tt.failed) {
				t.Fatalf("failed checks %v, want %v", got, tt.failed)
			}
		})
	}
	// The stand-alone seal, picture flipped.
	s, err := ParseSeal(flip(f.sealDER, bytes.Index(f.sealDER, f.info.Picture.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyMaker(); checkOf(err) != CheckMakerSignature || !errors.Is(err, keys.ErrBadSignature) {
		t.Fatalf("tampered seal: %v", err)
	}
	// A seal changed after parsing no longer verifies.
	s, _ = ParseSeal(f.sealDER)
	s.Info.Property.Name += "!"
	if err := s.VerifyMaker(); checkOf(err) != CheckMakerSignature {
		t.Fatalf("modified seal: %v", err)
	}
}

// TestCorrupt parses every prefix and every single-byte flip of the
// fixture DER: each must give a structure error or a value that still
// re-encodes to its input, and nothing may panic.
func TestCorrupt(t *testing.T) {
	f := newFixture(t)
	// A version 5 seal with a timeStamp, and a signature with it, so the
	// optional fields of both versions are corrupted too.
	v5 := *f.seal
	v5.Info.Header.Version, v5.TimeStamp = Version5, []byte{0x30, 0x00}
	v5seal, err := v5.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v5sig := *f.sig
	v5sig.TBS.Version, v5sig.TBS.Seal, v5sig.TimeStamp = Version5, v5, []byte{0x30, 0x00}
	v5sigDER, err := v5sig.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parseSeal := func(b []byte) (interface{ Marshal() ([]byte, error) }, error) { return ParseSeal(b) }
	parseSig := func(b []byte) (interface{ Marshal() ([]byte, error) }, error) { return ParseSignature(b) }
	for _, tt := range []struct {
		name  string
		der   []byte
		parse func([]byte) (interface{ Marshal() ([]byte, error) }, error)
	}{
		{"seal", f.sealDER, parseSeal},
		{"signature", f.sigDER, parseSig},
		{"seal v5", v5seal, parseSeal},
		{"signature v5", v5sigDER, parseSig},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n < len(tt.der); n++ {
				if _, err := tt.parse(tt.der[:n]); checkOf(err) != CheckStructure || !errors.Is(err, ErrMalformed) {
					t.Fatalf("prefix of %d bytes: got %v", n, err)
				}
			}
			if _, err := tt.parse(append(bytes.Clone(tt.der), 0)); checkOf(err) != CheckStructure {
				t.Fatalf("trailing byte: got %v", err)
			}
			for i := range tt.der {
				c := flip(tt.der, i)
				v, err := tt.parse(c)
				if err != nil {
					continue
				}
				if again, err := v.Marshal(); err != nil || !bytes.Equal(again, c) {
					t.Fatalf("flip at %d parsed but does not re-encode (err %v)", i, err)
				}
				if s, ok := v.(*Signature); ok {
					_ = s.Verify(f.doc)
				}
			}
		})
	}
}

func TestReadTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20260102030405Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"20260102030405.5Z", time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC), true},
		{"20260102030405.123456789Z", time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{"20260102030405.50Z", time.Time{}, false},
		{"20260102030405.Z", time.Time{}, false},
		{"20260102030405", time.Time{}, false},
		{"20260102030405+0800", time.Time{}, false},
		{"202601020304Z", time.Time{}, false},
		{"20261302030405Z", time.Time{}, false},
		{"20260102030460Z", time.Time{}, false},
		{"2026010203040５Z", time.Time{}, false},
	} {
		var b cryptobyte.Builder
		b.AddASN1(24, func(b *cryptobyte.Builder) { b.AddBytes([]byte(tt.in)) })
		der := b.BytesOrPanic()
		s := cryptobyte.String(der)
		got, err := readTime(&s, "t")
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("readTime(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestParseRejects checks structural rules beyond plain DER.
func TestParseRejects(t *testing.T) {
	f := newFixture(t)
	mk := func(mutate func(s *Seal)) []byte {
		x := *f.seal
		mutate(&x)
		der, err := x.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	certListType := append([]byte{0x0c, byte(len(f.info.Property.Name))}, f.info.Property.Name...)
	i := bytes.Index(f.sealDER, certListType) + len(certListType)
	if !bytes.Equal(f.sealDER[i:i+3], []byte{2, 1, 1}) {
		t.Fatal("certListType not found")
	}
	badType := bytes.Clone(f.sealDER)
	badType[i+2] = 3
	digestsAsCerts := bytes.Clone(f.sealDER)
	digestsAsCerts[i+2] = 2
	for _, tt := range []struct {
		name string
		der  []byte
	}{
		{"version 0", mk(func(s *Seal) { s.Info.Header.Version = 0 })},
		{"version 1", mk(func(s *Seal) { s.Info.Header.Version = 1 })},
		{"version 2", mk(func(s *Seal) { s.Info.Header.Version = 2 })},
		{"version 3", mk(func(s *Seal) { s.Info.Header.Version = 3 })},
		{"version 6", mk(func(s *Seal) { s.Info.Header.Version = 6 })},
		{"version -4", mk(func(s *Seal) { s.Info.Header.Version = -4 })},
		{"id XX", mk(func(s *Seal) { s.Info.Header.ID = "XX" })},
		{"certListType 3", badType},
		{"certs read as digests", digestsAsCerts},
		{"empty", nil},
		{"not a sequence", []byte{0x04, 0x00}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSeal(tt.der); checkOf(err) != CheckStructure || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// Values that cannot be encoded.
	for name, mutate := range map[string]func(s *Seal){
		"non-ASCII esID":    func(s *Seal) { s.Info.ID = "印" },
		"bad UTF-8 name":    func(s *Seal) { s.Info.Property.Name = "\xff" },
		"zero time":         func(s *Seal) { s.Info.Property.ValidTo = time.Time{} },
		"certs with type 2": func(s *Seal) { s.Info.Property.CertListType = CertListDigests },
		"bad OID":           func(s *Seal) { s.Algorithm = asn1.ObjectIdentifier{1} },
		"digest type printable": func(s *Seal) {
			s.Info.Property.CertListType, s.Info.Property.Certs = CertListDigests, nil
			s.Info.Property.CertDigests = []CertDigest{{Type: "SM3*", Value: []byte{1}}}
		},
	} {
		t.Run("marshal "+name, func(t *testing.T) {
			x := *f.seal
			mutate(&x)
			if _, err := x.Marshal(); checkOf(err) != CheckStructure {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestMakeSealRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ed, err := keys.GenerateSoftware(keys.Ed25519, seeded(9))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := MakeSeal(ctx, f.info, f.makerCert, ed); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("Ed25519 maker: %v", err)
	}
	if _, _, err := MakeSeal(ctx, f.info, f.signerCert, f.maker); !errors.Is(err, ErrCertificate) {
		t.Fatalf("certificate of another key: %v", err)
	}
	for name, mutate := range map[string]func(i *SealInfo){
		"header id": func(i *SealInfo) { i.Header.ID = "EX" },
		"version":   func(i *SealInfo) { i.Header.Version = 1 },
		"vendor":    func(i *SealInfo) { i.Header.VendorID = "" },
		"esID":      func(i *SealInfo) { i.ID = "" },
		"name":      func(i *SealInfo) { i.Property.Name = "" },
		"picture":   func(i *SealInfo) { i.Picture.Data = nil },
		"width":     func(i *SealInfo) { i.Picture.Width = 0 },
		"no certs":  func(i *SealInfo) { i.Property.Certs = nil },
		"bad cert":  func(i *SealInfo) { i.Property.Certs = [][]byte{{1, 2, 3}} },
		"list type": func(i *SealInfo) { i.Property.CertListType = 7 },
		"fraction":  func(i *SealInfo) { i.Property.ValidFrom = t0.Add(time.Millisecond) },
		"inverted":  func(i *SealInfo) { i.Property.ValidFrom = i.Property.ValidTo.Add(time.Second) },
		"empty digest": func(i *SealInfo) {
			i.Property = PropertyInfo{CertListType: 2, CertDigests: []CertDigest{{Type: "SM3"}}}
		},
		"non-ASCII vendor": func(i *SealInfo) { i.Header.VendorID = "政" },
	} {
		t.Run(name, func(t *testing.T) {
			info := f.info
			info.Property.Certs = [][]byte{f.signerCert}
			mutate(&info)
			_, _, err := MakeSeal(ctx, info, f.makerCert, f.maker)
			if checkOf(err) != CheckStructure {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := sm3.Sum(f.doc)
	tampered := *f.seal
	tampered.Info.Picture.Width++
	other := sm2Key(t, 7)
	for _, tt := range []struct {
		name   string
		seal   *Seal
		hash   []byte
		at     time.Time
		cert   []byte
		signer keys.Signer
		check  string
		is     error
	}{
		{"short hash", f.seal, h[:20], t0, f.signerCert, f.signer, CheckStructure, ErrInvalidArgument},
		{"zero time", f.seal, h[:], time.Time{}, f.signerCert, f.signer, CheckStructure, ErrInvalidArgument},
		{"nil seal", nil, h[:], t0, f.signerCert, f.signer, CheckStructure, ErrInvalidArgument},
		{"tampered seal", &tampered, h[:], t0, f.signerCert, f.signer, CheckMakerSignature, keys.ErrBadSignature},
		{"before validity", f.seal, h[:], t0.Add(-time.Second), f.signerCert, f.signer, CheckSealValidity, ErrOutsideValidity},
		{"after validity", f.seal, h[:], f.info.Property.ValidTo.Add(time.Second), f.signerCert, f.signer, CheckSealValidity, ErrOutsideValidity},
		{"cert of another key", f.seal, h[:], t0, f.signerCert, other, CheckSignerCertificate, ErrCertificate},
		{"signer not listed", f.seal, h[:], t0, f.makerCert, f.maker, CheckSignerCertificate, ErrCertificate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Sign(ctx, tt.seal, tt.hash, tt.at, "p", tt.cert, tt.signer)
			if checkOf(err) != tt.check || !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want check %s wrapping %v", err, tt.check, tt.is)
			}
		})
	}
	// Validity is inclusive at both ends, to the second.
	for _, at := range []time.Time{t0, f.info.Property.ValidTo, f.info.Property.ValidTo.Add(999 * time.Millisecond)} {
		if _, _, err := Sign(ctx, f.seal, h[:], at, "p", f.signerCert, f.signer); err != nil {
			t.Errorf("sign at %v: %v", at, err)
		}
	}
	ed, _ := keys.GenerateSoftware(keys.Ed25519, seeded(9))
	if _, _, err := Sign(ctx, f.seal, h[:], t0, "p", f.signerCert, ed); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("Ed25519 signer: %v", err)
	}
	// Non-IA5 property info cannot be encoded.
	if _, _, err := Sign(ctx, f.seal, h[:], t0, "签", f.signerCert, f.signer); checkOf(err) != CheckStructure {
		t.Fatalf("non-IA5 propertyInfo: %v", err)
	}
}

func TestDigestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	info := f.info
	sum := sm3.Sum(f.signerCert)
	info.Property.CertListType, info.Property.Certs = CertListDigests, nil
	info.Property.CertDigests = []CertDigest{{Type: "SM3", Value: sum[:]}}
	seal, _, err := MakeSeal(ctx, info, f.makerCert, f.maker)
	if err != nil {
		t.Fatal(err)
	}
	h := sm3.Sum(f.doc)
	s, _, err := Sign(ctx, seal, h[:], t0, "p", f.signerCert, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Verify(f.doc); errs != nil {
		t.Fatal(errs)
	}
	info.Property.CertDigests[0].Type = "SHA256"
	seal, _, err = MakeSeal(ctx, info, f.makerCert, f.maker)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Sign(ctx, seal, h[:], t0, "p", f.signerCert, f.signer); checkOf(err) != CheckSignerCertificate {
		t.Fatalf("unsupported digest type: %v", err)
	}
}

func TestAlgorithmChecked(t *testing.T) {
	f := newFixture(t)
	s, _ := ParseSignature(f.sigDER)
	s.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	if err := s.VerifySignature(); checkOf(err) != CheckSignature || !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("ECDSA OID: %v", err)
	}
	s.TBS.Seal.Algorithm = s.Algorithm
	if err := s.TBS.Seal.VerifyMaker(); checkOf(err) != CheckMakerSignature || !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("ECDSA OID on seal: %v", err)
	}
	s, _ = ParseSignature(f.sigDER)
	s.SignerCert = []byte{0x30, 0x00}
	if err := s.VerifySignature(); checkOf(err) != CheckSignature || !errors.Is(err, ErrCertificate) {
		t.Fatalf("bad signer cert: %v", err)
	}
}

// TestVersion5 covers what GM/T 0031-2025 changes: version 5 seals and
// signatures are made, parsed and verified; the versions of TBS_Sign and
// its seal must agree; only a version 5 seal carries a timeStamp.
func TestVersion5(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := sm3.Sum(f.doc)
	info := f.info
	info.Header.Version = Version5
	seal, sealDER, err := MakeSeal(ctx, info, f.makerCert, f.maker)
	if err != nil {
		t.Fatal(err)
	}
	sig, sigDER, err := Sign(ctx, seal, h[:], t0.Add(time.Minute), "p", f.signerCert, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if sig.TBS.Version != Version5 {
		t.Fatalf("TBS_Sign.version %d, want the seal's 5", sig.TBS.Version)
	}
	if f.sig.TBS.Version != Version4 || f.seal.Info.Header.Version != Version4 {
		t.Fatal("the default is no longer version 4")
	}
	parsed, err := ParseSignature(sigDER)
	if err != nil {
		t.Fatal(err)
	}
	if errs := parsed.Verify(f.doc); errs != nil {
		t.Fatal(errs)
	}
	if !bytes.Equal(parsed.TBS.Seal.Raw, sealDER) {
		t.Error("the seal inside the signature is not the seal's DER")
	}

	// A timeStamp is outside what the maker signs: adding one to a made
	// seal keeps the maker signature valid, and signing with it carries it.
	stamped := *seal
	stamped.TimeStamp = []byte{0x30, 0x00}
	if err := stamped.VerifyMaker(); err != nil {
		t.Fatalf("maker signature with a timeStamp: %v", err)
	}
	_, ssigDER, err := Sign(ctx, &stamped, h[:], t0.Add(time.Minute), "p", f.signerCert, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ParseSignature(ssigDER); err != nil || !bytes.Equal(again.TBS.Seal.TimeStamp, stamped.TimeStamp) || again.Verify(f.doc) != nil {
		t.Fatalf("signature over a stamped seal: %v", err)
	}

	// Version mismatches and misplaced timeStamps.
	withTBSVersion := func(s *Signature, v int64) []byte {
		x := *s
		x.TBS.Version = v
		der, err := x.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	// This package refuses to write a version 4 seal with a timeStamp, so
	// such DER is made by patching the version bytes of a stamped version 5
	// signature: the TBS_Sign.version right after the two outer SEQUENCE
	// headers (both long enough for 4-byte headers), and the seal header's.
	v4WithStamp := bytes.Clone(ssigDER)
	if !bytes.Equal(v4WithStamp[8:11], []byte{0x02, 0x01, 0x05}) {
		t.Fatalf("TBS_Sign.version not at offset 8: % x", v4WithStamp[:11])
	}
	v4WithStamp[10] = 4
	hdr := []byte{0x16, 0x02, 'E', 'S', 0x02, 0x01, 0x05}
	i := bytes.Index(v4WithStamp, hdr)
	if i < 0 {
		t.Fatal("seal header not found")
	}
	v4WithStamp[i+len(hdr)-1] = 4
	for _, tt := range []struct {
		name, field string
		der         []byte
	}{
		{"v4 TBS_Sign, v5 seal", "toSign.version", withTBSVersion(sig, Version4)},
		{"v5 TBS_Sign, v4 seal", "toSign.version", withTBSVersion(f.sig, Version5)},
		{"v6 TBS_Sign", "toSign.version", withTBSVersion(f.sig, 6)},
		{"v3 TBS_Sign", "toSign.version", withTBSVersion(f.sig, 3)},
		{"v4 seal with timeStamp", "toSign.eseal.timeStamp", v4WithStamp},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignature(tt.der)
			if checkOf(err) != CheckStructure || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("got %v, want a structure error about %s", err, tt.field)
			}
		})
	}
	stampedDER, err := stamped.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	i = bytes.Index(stampedDER, hdr)
	stampedDER[i+len(hdr)-1] = 4
	if _, err := ParseSeal(stampedDER); checkOf(err) != CheckStructure || !errors.Is(err, ErrMalformed) {
		t.Fatalf("v4 seal with a timeStamp: %v", err)
	}
	v4 := *f.seal
	v4.TimeStamp = []byte{1}
	if _, err := v4.Marshal(); checkOf(err) != CheckStructure {
		t.Fatalf("marshal a v4 seal with a timeStamp: %v", err)
	}
	odd := *f.seal
	odd.Info.Header.Version = 6
	if _, _, err := Sign(ctx, &odd, h[:], t0, "p", f.signerCert, f.signer); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("sign with a version 6 seal: %v", err)
	}
	info.Header.Version = 6
	if _, _, err := MakeSeal(ctx, info, f.makerCert, f.maker); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("make a version 6 seal: %v", err)
	}
}

// TestStamperEncodes: a Stamper's signature is the one Sign makes, byte
// for byte as Marshal encodes it, for each document, and verifies.
func TestStamperEncodes(t *testing.T) {
	f := newFixture(t)
	for _, v := range []int64{Version4, Version5} {
		info := f.info
		info.Header.Version = v
		x, _, err := MakeSeal(context.Background(), info, f.makerCert, f.maker)
		if err != nil {
			t.Fatal(err)
		}
		st, err := NewStamper(x, t0.Add(time.Minute), f.signerCert, f.signer)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range []string{"a", "b"} {
			h := sm3.Sum([]byte(doc))
			s, der, err := st.Sign(context.Background(), h[:], "doc-"+doc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Marshal()
			if err != nil || !bytes.Equal(again, der) || !bytes.Equal(s.Raw, der) {
				t.Fatalf("version %d: the stamper's encoding differs from Marshal's (%v)", v, err)
			}
			tbs, err := s.TBS.Marshal()
			if err != nil || !bytes.Equal(tbs, s.TBS.Raw) {
				t.Fatalf("version %d: TBS_Sign encoding differs (%v)", v, err)
			}
			parsed, err := ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.VerifySignature(); err != nil {
				t.Fatalf("version %d: %v", v, err)
			}
		}
	}
}
