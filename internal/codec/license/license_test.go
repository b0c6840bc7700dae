package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

func TestRoundTrip(t *testing.T) {
	perpetual := sample()
	perpetual.ValidUntil = nil
	changed := sample()
	changed.Version, changed.Supersedes = 2, &Ref{ID: sampleID, Version: 1}
	reissued := sample()
	reissued.Supersedes = &Ref{ID: otherID, Version: 3}
	person := sample()
	person.Holder = Holder{Kind: HolderPerson, Identifier: "11010519491231002X", Name: "张三"}
	person.Face = json.RawMessage(`{"photo":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","floors":-3,"ok":true,"none":null,"big":9007199254740991}`)
	// After a transfer the new owner signs; the identifier keeps naming
	// the first issuer.
	newOwner, err := ids.NewCreditCode('1', '1', "350100", "00360320")
	if err != nil {
		t.Fatal(err)
	}
	transferred := sample()
	transferred.Issuer = Issuer{CreditCode: newOwner, Name: "福州市市场监督管理局"}
	for name, l := range map[string]License{"sample": sample(), "perpetual": perpetual, "changed": changed, "reissued": reissued,
		"person": person, "transferred": transferred} {
		t.Run(name, func(t *testing.T) {
			data := encoded(t, l)
			d, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if l.Face, err = canon.Transform(l.Face); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.License, l) {
				t.Fatalf("decoded license differs:\n got %+v\nwant %+v", d.License, l)
			}
			again, err := Encode(d)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("Encode(Decode(x)) != x (err %v):\n%s\n%s", err, again, data)
			}
			in, err := SigningInput(d.License)
			if err != nil {
				t.Fatal(err)
			}
			// The document's license member is its signing input, byte for
			// byte: canonical JSON nests canonical JSON.
			if !bytes.Contains(data, append([]byte(`{"license":`), in...)) {
				t.Fatalf("the document does not carry the signing input verbatim:\n%s\n%s", data, in)
			}
		})
	}
}

// TestReformattingIsHarmless: white space and member order are not
// content; a pretty-printed document decodes to the same license.
func TestReformattingIsHarmless(t *testing.T) {
	data := encoded(t, sample())
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, data, "", "\t"); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(pretty.Bytes())
	if err != nil {
		t.Fatalf("pretty-printed document refused: %v", err)
	}
	if again, _ := Encode(d); !bytes.Equal(again, data) {
		t.Fatalf("pretty-printed document decodes to other content")
	}
}

func TestDecodeRefuses(t *testing.T) {
	valid := string(encoded(t, sample()))
	replace := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("fixture: %q not in %s", old, valid)
		}
		return strings.Replace(valid, old, new, 1)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "not a JSON object"},
		{"not an object", `[]`, "not a JSON object"},
		{"trailing data", valid + `{}`, "data after"},
		{"invalid UTF-8", replace("林晓峰", "林\xff峰"), "UTF-8"},
		{"too large", valid + strings.Repeat(" ", MaxDocumentSize), "more than"},
		{"unknown top-level member", replace(`{"license":`, `{"extra":1,"license":`), "unknown or repeated member"},
		{"repeated top-level member", replace(`{"license":`, `{"signature":"MAMCAQQ=","license":`), "unknown or repeated member"},
		{"top-level member in another case", replace(`{"license":`, `{"License":`), "unknown or repeated member"},
		{"no signature member", replace(`,"signature":"MAMCAQQ="`, ``), "want the members"},
		{"signature not a string", replace(`"signature":"MAMCAQQ="`, `"signature":["MAMCAQQ="]`), "not a string"},
		{"signature escaped", replace(`"signature":"MAMCAQQ="`, `"signature":"MAMC\u0041QQ="`), "plain padded base64"},
		{"signature unpadded", replace(`"signature":"MAMCAQQ="`, `"signature":"MAMCAQQ"`), "base64"},
		{"unknown license member", replace(`"format":`, `"extra":1,"format":`), "unknown field"},
		{"member in another case", replace(`"number":`, `"Number":`), "another case"},
		{"repeated member", replace(`"number":"350102202600000042"`, `"number":"350102202600000042","number":"1"`), "duplicate"},
		{"repeated face key", replace(`"name":"福州闽江示例科技有限公司","registered_capital"`, `"name":"a","name":"b","registered_capital"`), "duplicate"},
		{"null for an absent member", replace(`"status":`, `"supersedes":null,"status":`), "null"},
		{"no signature", replace(`"signature":"MAMCAQQ="`, `"signature":""`), "signature: required"},
		{"other format", replace(Format, "zhengzhao-license/v2"), "format"},
		{"id check character", replace(sampleID, sampleID[:34]+"6"), "check character"},
		{"id transposition", replace(sampleID, sampleID[:25]+"0"+sampleID[26:32]+"24"+sampleID[34:]), "check character"},
		{"id of another type", replace(`"code":"BL0001"`, `"code":"BL0002"`), "is not an identifier of type"},
		{"issuer check character", replace(`"credit_code":"`+issuerCode, `"credit_code":"11350102003603210U`), "check character"},
		{"lower-case id", replace(sampleID, strings.Replace(sampleID, "BL", "bl", 1)), "alphabet"},
		{"time with offset", replace(`"issued_at":"2026-11-23T08:00:00Z"`, `"issued_at":"2026-11-23T16:00:00+08:00"`), "UTC"},
		{"fractional seconds", replace(`"issued_at":"2026-11-23T08:00:00Z"`, `"issued_at":"2026-11-23T08:00:00.5Z"`), "fractions"},
		{"date only", replace(`"issued_at":"2026-11-23T08:00:00Z"`, `"issued_at":"2026-11-23"`), "parsing time"},
		{"validity reversed", replace(`"valid_until":"2046-11-22T16:00:00Z"`, `"valid_until":"2026-11-23T08:00:00Z"`), "not after valid_from"},
		{"face not an object", replace(`"face":{`, `"face":[{`), "invalid character"},
		{"face nested", replace(`"registered_capital":"500.00"`, `"registered_capital":{"v":"500.00"}`), "not a string"},
		{"face fraction", replace(`"registered_capital":"500.00"`, `"registered_capital":500.5`), "not an integer"},
		{"face exponent", replace(`"registered_capital":"500.00"`, `"registered_capital":5e2`), "not an integer"},
		{"face unsafe integer", replace(`"registered_capital":"500.00"`, `"registered_capital":9007199254740993`), "not an integer"},
		{"holder kind", replace(`"kind":"organization"`, `"kind":"company"`), "holder.kind"},
		{"holder name bidi", replace(`"name":"福州闽江示例科技有限公司"}`, `"name":"福州\u202e闽江"}`), "holder.name"},
		{"empty number", replace(`"number":"350102202600000042"`, `"number":""`), "number: required"},
		{"type version zero", replace(`"version":1},"valid_from"`, `"version":0},"valid_from"`), "type.version"},
		{"type version fraction", replace(`"version":1},"valid_from"`, `"version":1.5},"valid_from"`), "cannot unmarshal"},
		{"status purpose order", strings.Replace(strings.Replace(valid, `"revocation"`, `"x"`, 1), `"suspension"`, `"revocation"`, 1), "purpose"},
		{"status URL", replace(`https://zz.example.gov.cn/status/11350102003603210T/revocation/1`, `ftp://zz.example.gov.cn/r`), "list_url"},
		{"status URL with user", replace(`https://zz.example.gov.cn/status/11350102003603210T/revocation/1`, `https://a@zz.example.gov.cn/r`), "list_url"},
		{"status index negative", replace(`"index":41`, `"index":-1`), "index"},
		{"status missing", replace(`,{"index":41,"list_url":"https://zz.example.gov.cn/status/11350102003603210T/suspension/1","purpose":"suspension"}`, ``), "one per purpose"},
		{"supersedes bad id", replace(`"status":`, `"supersedes":{"id":"BL0001","version":1},"status":`), "supersedes.id"},
		{"supersedes own version", replace(`"status":`, `"supersedes":{"id":"`+sampleID+`","version":1},"status":`), "supersedes.version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Decode accepted %s", tc.doc)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	local := sample()
	local.IssuedAt = issued.In(time.FixedZone("CST", 8*3600))
	if _, err := Encode(Document{License: local, Signature: []byte{1}}); err == nil || !strings.Contains(err.Error(), "UTC") {
		t.Errorf("Encode of a local time: %v, want a UTC error", err)
	}
	if _, err := Encode(Document{License: sample()}); err == nil {
		t.Error("Encode without a signature succeeded")
	}
	if _, err := SigningInput(License{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SigningInput of an empty license: %v", err)
	}
}

func TestDigestIsSM3OfSigningInput(t *testing.T) {
	in, err := SigningInput(sample())
	if err != nil {
		t.Fatal(err)
	}
	d, err := Digest(sample())
	if err != nil {
		t.Fatal(err)
	}
	if want := sm3.Sum(in); !bytes.Equal(d, want[:]) {
		t.Fatalf("Digest %x, want SM3 of the signing input %x", d, want)
	}
	other := sample()
	other.Number = "350102202600000043"
	if d2, _ := Digest(other); bytes.Equal(d, d2) {
		t.Fatal("two licenses have one digest")
	}
}

// TestIDAgreesWithIDs keeps this package's identifier check in step with
// internal/ids, the reference: every identifier ids makes is accepted,
// and every single-character substitution or adjacent transposition of one
// is refused by both.
func TestIDAgreesWithIDs(t *testing.T) {
	const alphabetChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for _, c := range []struct {
		typeCode, issuer string
		seq              uint64
	}{
		{"BL0001", issuerCode, 42}, {"PC0001", "91350100M000100Y43", 1}, {"FP0001", "11350102003603210T", ids.MaxLicenseSeq},
		{"YYYYYY", "91350100M000100Y43", 1234567890},
	} {
		id, err := ids.NewLicenseID(c.typeCode, c.issuer, c.seq)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkID("id", id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for i := range len(id) {
			for j := 0; j < len(alphabetChars); j++ {
				if alphabetChars[j] == id[i] {
					continue
				}
				bad := id[:i] + alphabetChars[j:j+1] + id[i+1:]
				if checkID("id", bad) == nil {
					t.Errorf("substitution %s accepted", bad)
				}
			}
			if i+1 < len(id) && id[i] != id[i+1] {
				bad := id[:i] + id[i+1:i+2] + id[i:i+1] + id[i+2:]
				if checkID("id", bad) == nil {
					t.Errorf("transposition %s accepted", bad)
				}
			}
		}
	}
}

func TestFirstDifferenceExcerptIsText(t *testing.T) {
	got := []byte(`{"a":"福州闽江示例科技有限公司福州闽江示例科技有限公司"}`)
	want := []byte(`{"a":"福州闽江示例科技有限公司福州闽江示例科技有限公X"}`)
	msg := firstDifference(got, want)
	if !strings.Contains(msg, "有限公") || strings.Contains(msg, `\x`) {
		t.Fatalf("excerpt cuts a character: %s", msg)
	}
}
