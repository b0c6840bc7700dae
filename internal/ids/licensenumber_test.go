package ids

import (
	"strings"
	"testing"
)

func TestNumberingRuleValidate(t *testing.T) {
	tests := []struct {
		rule NumberingRule
		want string
	}{
		{"JY1{region}{seq:7}", ""},
		{"{region}{year}{seq:8}", ""},
		{"（{region}）食经字〔{year}〕第{seq:6}号", ""},
		{"{seq:1}", ""},
		{"{seq:12}", ""},
		{"", ruleRequired},
		{"JY{region}", rulePattern},
		{"{seq:0}", rulePattern},
		{"{seq:13}", rulePattern},
		{"{seq:06}", rulePattern},
		{"{seq:+6}", rulePattern},
		{"{seq}", rulePattern},
		{"{seq:6}{seq:6}", rulePattern},
		{"{year}{year}{seq:6}", rulePattern},
		{"{Region}{seq:6}", rulePattern},
		{"{seq:6", rulePattern},
		{"A}{seq:6}", rulePattern},
		{"A{{seq:6}", rulePattern},
		{"A B{seq:6}", ruleCharset},
		{"A\u202eB{seq:6}", ruleCharset},
		{"A\u200bB{seq:6}", ruleCharset},
		{"A\nB{seq:6}", ruleCharset},
		{"A\xffB{seq:6}", ruleCharset},
		{NumberingRule(strings.Repeat("字", 33)) + "{seq:6}", ruleLength},
		{NumberingRule(strings.Repeat("字", 32)) + "{seq:6}", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule), func(t *testing.T) {
			checkRule(t, tt.rule.Validate(), kindNumberingRule, tt.want)
		})
	}
}

func TestFormatAndParse(t *testing.T) {
	tests := []struct {
		rule   NumberingRule
		region string
		year   int
		seq    uint64
		want   string
		kind   string
		err    string
	}{
		{"JY1{region}{seq:7}", "350100", 0, 123, "JY13501000000123", "", ""},
		{"{region}{year}{seq:8}", "350100", 2026, 42, "350100202600000042", "", ""},
		{"（{region}）食经字〔{year}〕第{seq:6}号", "110105", 2026, 7, "（110105）食经字〔2026〕第000007号", "", ""},
		{"{seq:3}", "", 0, 999, "999", "", ""},
		{"{seq:12}", "", 0, 999_999_999_999, "999999999999", "", ""},
		{"{seq:3}", "", 0, 1000, "", kindLicenseNumber, ruleSequence},
		{"{seq:3}", "", 0, 0, "", kindLicenseNumber, ruleSequence},
		{"{region}{seq:3}", "990000", 0, 1, "", kindLicenseNumber, ruleRegion},
		{"{region}{seq:3}", "", 0, 1, "", kindLicenseNumber, ruleRegion},
		{"{year}{seq:3}", "", 999, 1, "", kindLicenseNumber, ruleRange},
		{"{year}{seq:3}", "", 10000, 1, "", kindLicenseNumber, ruleRange},
		{"X{seq:3}", "not used", 0, 5, "X005", "", ""},
		{"{region}", "350100", 0, 1, "", kindNumberingRule, rulePattern},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule)+"/"+tt.want, func(t *testing.T) {
			got, err := Format(tt.rule, tt.region, tt.year, tt.seq)
			checkRule(t, err, tt.kind, tt.err)
			if err != nil {
				return
			}
			if got != tt.want {
				t.Fatalf("Format = %q, want %q", got, tt.want)
			}
			parts, err := tt.rule.Parse(got)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", got, err)
			}
			want := NumberParts{Seq: tt.seq}
			if tt.rule.Has("region") {
				want.Region = tt.region
			}
			if tt.rule.Has("year") {
				want.Year = tt.year
			}
			if parts != want {
				t.Errorf("Parse(%q) = %+v, want %+v", got, parts, want)
			}
		})
	}
}

func TestNumberingRuleParseRefusals(t *testing.T) {
	const rule NumberingRule = "JY1{region}{seq:7}"
	for in, want := range map[string]string{
		"":                  ruleRequired,
		"JY23501000000123":  rulePattern,
		"JY1350100000012":   rulePattern,
		"JY135010000001234": rulePattern,
		"JY1350100000012A":  rulePattern,
		"JY19901000000123":  ruleRegion,
		"JY13501000000000":  ruleSequence,
		"JY1３50100000123":   rulePattern,
	} {
		_, err := rule.Parse(in)
		checkRule(t, err, kindLicenseNumber, want)
	}
	if _, err := NumberingRule("{bad}").Parse("x"); err == nil {
		t.Error("Parse under a malformed rule succeeded")
	}
}

func TestNumberingRuleScopeAndMaxSeq(t *testing.T) {
	tests := []struct {
		rule NumberingRule
		want SequenceScope
		max  uint64
	}{
		{"JY1{region}{seq:7}", SequenceScope{"FP0001", "350100", 0}, 9_999_999},
		{"{region}{year}{seq:8}", SequenceScope{"BL0001", "350100", 2026}, 99_999_999},
		{"N{seq:2}", SequenceScope{"PC0001", "", 0}, 99},
		{"{year}{seq:4}", SequenceScope{"PC0001", "", 2026}, 9999},
	}
	for _, tt := range tests {
		if got := tt.rule.Scope(tt.want.TypeCode, "350100", 2026); got != tt.want {
			t.Errorf("%q.Scope = %+v, want %+v", tt.rule, got, tt.want)
		}
		if got := tt.rule.MaxSeq(); got != tt.max {
			t.Errorf("%q.MaxSeq = %d, want %d", tt.rule, got, tt.max)
		}
	}
	if NumberingRule("{x}").MaxSeq() != 0 || NumberingRule("{x}").Has("seq") {
		t.Error("a malformed rule reports a sequence")
	}
}

func FuzzNumberingRule(f *testing.F) {
	for _, s := range []string{"JY1{region}{seq:7}", "{region}{year}{seq:8}", "{seq:", "}{", "第{seq:6}号"} {
		f.Add(s, "350100", 2026, uint64(7))
	}
	f.Fuzz(func(t *testing.T, rule, region string, year int, seq uint64) {
		r := NumberingRule(rule)
		if err := r.Validate(); err != nil {
			checkError(t, err, kindNumberingRule)
			return
		}
		n, err := Format(r, region, year, seq)
		if err != nil {
			checkError(t, err, kindLicenseNumber)
			return
		}
		parts, err := r.Parse(n)
		if err != nil || parts.Seq != seq {
			t.Fatalf("Parse(Format(%q, %q, %d, %d) = %q) = %+v, %v", rule, region, year, seq, n, parts, err)
		}
	})
}
