package cli

import (
	"strings"
	"testing"
)

// TestCommandsRefuseWhatTheAPIRefuses checks that the command line applies
// the same rules as the API to names and token lifetimes: one line naming
// the field and the rule, exit 2, nothing written.
func TestCommandsRefuseWhatTheAPIRefuses(t *testing.T) {
	d := "--data=" + t.TempDir()
	if code, _, errOut := run(t, "org", "create", d, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("platform org: exit %d %q", code, errOut)
	}
	for _, c := range []struct {
		args        []string
		field, rule string
	}{
		{[]string{"org", "create", "--credit-code", "91350100M000200Y45", "--name", "单位\u202e章", "--region", "350100",
			"--kind", "issuer", "--responsible-name", "李四", "--responsible-phone", "13900000000"}, "name", "bidi-control"},
		{[]string{"org", "create", "--credit-code", "91350100M000200Y45", "--name", "单\u200b位", "--region", "350100",
			"--kind", "issuer", "--responsible-name", "李四", "--responsible-phone", "13900000000"}, "name", "invisible"},
		{[]string{"token", "create", "--role", "auditor", "--ttl", "0s"}, "ttl", "range"},
		{[]string{"token", "create", "--role", "auditor", "--ttl", "30s"}, "ttl", "range"},
	} {
		code, out, errOut := run(t, append(c.args, d, "--lang", "en")...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.field) || !strings.Contains(errOut, c.rule) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d out %q err %q; want exit 2 and one line naming %s and %s", c.args, code, out, errOut, c.field, c.rule)
		}
	}
	if code, out, _ := run(t, "org", "list", d, "--json"); code != 0 || strings.Count(out, `"credit_code"`) != 1 {
		t.Errorf("after refused commands: exit %d, %s; want the platform alone", code, out)
	}
}
