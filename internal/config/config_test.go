package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestBindReadsEnvironmentAndFlagsWin(t *testing.T) {
	t.Setenv("ZHENGZHAO_ADDR", "127.0.0.1:9999")
	t.Setenv("ZHENGZHAO_DATA", "/tmp/zz-env")
	var c Config
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Bind(fs, &c)
	if err := fs.Parse([]string{"--data", "/tmp/zz-flag"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.Data != "/tmp/zz-flag" {
		t.Fatalf("got %+v: want addr from env, data from flag", c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Data: "d", Addr: "127.0.0.1:8080", Cipher: "SM4-GCM"}, ""},
		{Config{DB: "postgres://x/y", Addr: ":0", Cipher: "aes-256-gcm", MasterKeyFile: "/k"}, ""},
		{Config{Data: " ", Addr: ":1", Cipher: "SM4-GCM"}, "--data"},
		{Config{Data: "d", DB: "mysql://x", Addr: ":1", Cipher: "SM4-GCM"}, "--db"},
		{Config{Data: "d", Addr: "8080", Cipher: "SM4-GCM"}, "--addr"},
		{Config{Data: "d", Addr: ":1", Cipher: "DES"}, "--cipher"},
		{Config{DB: "postgres://x/y", Addr: ":1", Cipher: "SM4-GCM"}, "--master-key-file"},
	} {
		err := tc.c.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want error naming %q", tc.c, err, tc.want)
		}
	}
}
