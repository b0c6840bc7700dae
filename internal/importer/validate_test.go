package importer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// blHeader and blRow are a business license row that passes: the shipped
// sample's face, numbered and dated.
const blHeader = "number,valid_from,completed_on,credit_code,name,entity_type,legal_representative,business_scope,registered_capital,established_on,domicile,domicile_region,registration_authority"

var blRow = []string{"350102202100000001", "2021-06-18", "2021-06-18", "91350100M000100Y43", "福州闽江示例科技有限公司", "有限责任公司（自然人独资）", "林晓峰",
	"一般项目：软件开发；信息技术咨询服务。", "500.00", "2021-06-18", "福建省福州市鼓楼区五四路158号环球广场16层", "350102", "福州市鼓楼区市场监督管理局"}

// blFile returns the CSV of the header and the row with the cells of the
// named columns replaced.
func blFile(change map[string]string) string {
	cols := strings.Split(blHeader, ",")
	row := append([]string(nil), blRow...)
	for i, c := range cols {
		if v, ok := change[c]; ok {
			row[i] = v
		}
	}
	return blHeader + "\n" + csvLine(row)
}

func csvLine(cells []string) string {
	q := make([]string, len(cells))
	for i, c := range cells {
		q[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
	}
	return strings.Join(q, ",") + "\n"
}

func TestValidRowBecomesRecord(t *testing.T) {
	var got []Record
	r, err := Open(strings.NewReader(blFile(nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := validator(t, Mapping{})
	s, err := Run{Accept: func(_ context.Context, rec Record) error { got = append(got, rec); return nil }}.Check(context.Background(), r, v)
	if err != nil || s.Valid != 1 || len(got) != 1 {
		t.Fatalf("summary %+v, err %v", s, err)
	}
	rec := got[0]
	from := time.Date(2021, 6, 18, 0, 0, 0, 0, chinaTime)
	if rec.Row != 2 || rec.Number != blRow[0] || rec.HolderID != "91350100M000100Y43" || rec.HolderName != "福州闽江示例科技有限公司" ||
		!rec.ValidFrom.Equal(from) || rec.ValidUntil != nil || !rec.CompletedOn.Equal(from) {
		t.Errorf("record %+v", rec)
	}
	// The face is what issuance would sign for the same request.
	e, tmpl := shipped(t, "BL0001")
	faceIn := map[string]string{}
	for i, c := range strings.Split(blHeader, ",")[3:] {
		faceIn[c] = blRow[i+3]
	}
	raw, _ := json.Marshal(faceIn)
	want, err := license.Check(e, tmpl, license.NewLicense{HolderID: rec.HolderID, HolderName: rec.HolderName, ValidFrom: &from, Face: raw}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Face) != string(want.Face) {
		t.Errorf("face\n%s\nwant\n%s", rec.Face, want.Face)
	}
}

func TestRowProblems(t *testing.T) {
	type want struct{ field, rule, column, value string }
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   []want
	}{
		{"check character", map[string]string{"credit_code": "91350100M000100Y44"},
			[]want{{"face.credit_code", "check-character", "credit_code", "9135**********0Y44"}, {"holder_id", "check-character", "credit_code", "9135**********0Y44"}}},
		{"lower-case credit code is normalized", map[string]string{"credit_code": "91350100m000100y43"}, nil},
		{"name missing", map[string]string{"name": ""},
			[]want{{"face.name", "required", "name", ""}, {"holder_name", "required", "name", ""}}},
		{"bad enum", map[string]string{"entity_type": "无限公司"}, []want{{"face.entity_type", "enum", "entity_type", "无限公司"}}},
		{"bad decimal", map[string]string{"registered_capital": "5,000"}, []want{{"face.registered_capital", "decimal", "registered_capital", "5,000"}}},
		{"bad region", map[string]string{"domicile_region": "990101"}, []want{{"face.domicile_region", "region", "domicile_region", "990101"}}},
		{"face date", map[string]string{"established_on": "2021/6/18"}, []want{{"face.established_on", "date", "established_on", "2021/6/18"}}},
		{"number missing", map[string]string{"number": " "}, []want{{"number", "required", "number", " "}}},
		{"number with a control character", map[string]string{"number": "35\x07"}, []want{{"number", "no-control", "number", "35\x07"}}},
		{"valid_from missing", map[string]string{"valid_from": ""}, []want{{"valid_from", "required", "valid_from", ""}}},
		{"valid_from not a date", map[string]string{"valid_from": "2021-6-18"}, []want{{"valid_from", "date", "valid_from", "2021-6-18"}}},
		{"completed_on in the future", map[string]string{"completed_on": "2026-01-02"}, []want{{"completed_on", "not-future", "completed_on", "2026-01-02"}}},
		{"completed_on today", map[string]string{"completed_on": "2026-01-01"}, nil},
		{"face formula is shown harmless in the value", map[string]string{"legal_representative": "=1+1\u202e"},
			[]want{{"face.legal_representative", "bidi-control", "legal_representative", "=1+1\u202e"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rep, err := checkText(t, blFile(tc.change), Options{}, Mapping{})
			if err != nil {
				t.Fatal(err)
			}
			if (len(tc.want) == 0) != (s.Valid == 1) || s.Read != 1 || s.Rejected+s.Valid != 1 {
				t.Errorf("summary %+v", s)
			}
			var got []want
			for _, p := range rep.problems {
				if p.Row != 2 || p.Detail == "" {
					t.Errorf("problem %+v", p)
				}
				got = append(got, want{p.Field, p.Rule, p.Column, p.Value})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("problem %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestHolderIDNeverClear: the holder's identifier is masked in every
// problem, under the holder field's own rule where it has one (the citizen
// ID of a residence permit) and four plus four characters where the face
// shows it in clear (a credit code).
func TestHolderIDNeverClear(t *testing.T) {
	// A credit code column given apart from the face's, disagreeing.
	text := "holder_id," + blHeader + "\n" + csvLine(append([]string{"91350100M000100Y43x"}, blRow...))
	_, rep, err := checkText(t, text, Options{}, Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.problems) != 1 || rep.problems[0].Field != "holder_id" || rep.problems[0].Value != "9135***********Y43x" {
		t.Fatalf("problems %+v", rep.problems)
	}

	e, tmpl := shipped(t, "PC0001")
	hf, _ := tmpl.HolderField()
	v := NewValidator(e, tmpl, Mapping{}, func() time.Time { return testNow })
	const id = "11010519491231002X"
	for _, target := range []string{"holder_id", "face." + hf.Key} {
		if got := v.mask(target, id); strings.Contains(got, "19491231") || got == id {
			t.Errorf("mask(%s) = %q shows the birth date", target, got)
		}
	}
	if got := v.mask("holder_name", "张三丰"); got != "张**" {
		t.Errorf("a person's name is shown %q", got)
	}
	if got := v.mask("number", strings.Repeat("长", 100)); got != strings.Repeat("长", maxShown)+"…" {
		t.Errorf("a long value is shown %q", got)
	}
}

func TestMappingResolve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		header  string
		mapping string
		want    []string // field:rule
	}{
		{"default", blHeader, `{}`, nil},
		{"chinese headers", "证照编号,有效期起,办结日期,统一社会信用代码,名称,类型,法定代表人,经营范围,成立日期,住所,登记机关,序号",
			`{"type":"BL0001","number":"证照编号","valid_from":"有效期起","completed_on":"办结日期","holder_name":"名称",
			  "face":{"credit_code":"统一社会信用代码","name":"名称","entity_type":"类型","legal_representative":"法定代表人",
			          "business_scope":"经营范围","established_on":"成立日期","domicile":"住所","registration_authority":"登记机关"},
			  "ignore":["序号"]}`, nil},
		{"unread column", blHeader + ",备注", `{}`, []string{"header[13]:unknown-field"}},
		{"mapped column missing", blHeader, `{"number":"证照编号"}`, []string{"mapping.number:exists", "header[0]:unknown-field"}},
		{"required column missing", strings.Replace(blHeader, "completed_on,", "", 1), `{}`, []string{"mapping.completed_on:required"}},
		{"required face column missing", strings.Replace(blHeader, ",domicile,", ",", 1), `{}`, []string{"mapping.face.domicile:required"}},
		{"no holder", strings.Replace(blHeader, "credit_code,", "", 1), `{}`, []string{"mapping.holder_id:required", "mapping.face.credit_code:required"}},
		{"unknown face key", blHeader, `{"face":{"capital":"registered_capital"}}`, []string{"mapping.face.capital:unknown-field"}},
		{"other type", blHeader, `{"type":"PC0001"}`, []string{"mapping.type:exists"}},
		{"ignored column missing", blHeader, `{"ignore":["序号"]}`, []string{"mapping.ignore:exists"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMapping(strings.NewReader(tc.mapping))
			if err != nil {
				t.Fatal(err)
			}
			h, err := newHeader(strings.Split(tc.header, ","))
			if err != nil {
				t.Fatal(err)
			}
			err = validator(t, m).Bind(h)
			var got []string
			var ae *apperr.Error
			if errors.As(err, &ae) {
				for _, f := range ae.Fields {
					got = append(got, f.Field+":"+f.Rule)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || (err != nil && apperr.KindOf(err) != apperr.Invalid) {
				t.Errorf("errors %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHeaderMismatchReadsNoRow: a header the mapping does not fit stops
// the run before the first row.
func TestHeaderMismatchReadsNoRow(t *testing.T) {
	s, rep, err := checkText(t, blFile(nil)+csvLine(blRow), Options{}, Mapping{Number: "证照编号"})
	if apperr.KindOf(err) != apperr.Invalid || s.Read != 0 || len(rep.problems) != 0 || rep.summary != nil {
		t.Errorf("summary %+v, report %+v, err %v", s, rep, err)
	}
}

func TestParseMappingRefuses(t *testing.T) {
	for _, in := range []string{`{"numbr":"x"}`, `{"face":["x"]}`, `{} {}`, `[]`, strings.Repeat(" ", maxMappingSize+1)} {
		if _, err := ParseMapping(strings.NewReader(in)); err == nil {
			t.Errorf("ParseMapping(%.20q) accepted", in)
		}
	}
}
