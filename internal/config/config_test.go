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

// TestValidateHidesCredentials: URLs may carry passwords and tokens, and
// a refused one must not print them.
func TestValidateHidesCredentials(t *testing.T) {
	for _, c := range []Config{
		{Data: "d", Addr: ":1", Cipher: "SM4-GCM", NATSURL: "nats://zz:s3cr%t@nats1:4222, zz:s3cr%t@nats2:4222", NATSSubjectPrefix: "zz"},
		{Data: "d", Addr: ":1", Cipher: "SM4-GCM", WebhookURL: "ftp://u:s3cr%t@up/hook?token=s3cr%t", WebhookSecretFile: "/s"}, //nolint:gosec // a made-up credential the error must hide
	} {
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("Validate = %v; want an error without the credentials", err)
		}
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
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", WebhookURL: "https://up.example/hook", WebhookSecretFile: "/s",
			NATSURL: "nats://127.0.0.1:4222,nats://10.0.0.2:4222", NATSSubjectPrefix: "gov.zz", Upstream: "nats",
			OutboxPoll: "500ms", OutboxTimeout: "30s", OutboxMaxAttempts: "5"}, ""},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", WebhookURL: "ftp://x/y", WebhookSecretFile: "/s"}, "--webhook-url"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", WebhookURL: "https://x/y"}, "--webhook-secret-file"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", WebhookSecretFile: "/s"}, "--webhook-secret-file"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", NATSURL: "http://x:4222", NATSSubjectPrefix: "zz"}, "--nats-url"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", NATSURL: "nats://x:4222", NATSSubjectPrefix: "zz.*"}, "--nats-subject-prefix"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", Upstream: "webhook"}, "--upstream webhook"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", Upstream: "nats"}, "--upstream nats"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", Upstream: "kafka"}, "--upstream"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", OutboxPoll: "5"}, "--outbox-poll"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", OutboxTimeout: "1ms"}, "--outbox-timeout"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", OutboxMaxAttempts: "0"}, "--outbox-max-attempts"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", TLSCertFile: "/c"}, "--tls-key-file"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "127.0.0.1:6060"}, ""},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "[::1]:0"}, ""},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "localhost:6060"}, ""},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: ":6060"}, "--pprof-addr"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "0.0.0.0:6060"}, "--pprof-addr"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "10.0.0.1:6060"}, "--pprof-addr"},
		{Config{Data: "d", Addr: ":1", Cipher: "SM4-GCM", PprofAddr: "6060"}, "--pprof-addr"},
	} {
		err := tc.c.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want error naming %q", tc.c, err, tc.want)
		}
	}
}
