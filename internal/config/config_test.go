package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

func TestBindReadsEnvironmentAndFlagsWin(t *testing.T) {
	t.Setenv("ZHENGZHAO_ADDR", "127.0.0.1:9999")
	t.Setenv("ZHENGZHAO_DATA", "/tmp/zz-env")
	t.Setenv("ZHENGZHAO_OUTBOX_POLL", "750ms")
	t.Setenv("ZHENGZHAO_OUTBOX_MAX_ATTEMPTS", "7")
	var c Config
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Bind(fs, &c, Store, Server)
	if err := fs.Parse([]string{"--data", "/tmp/zz-flag", "--outbox-timeout", "1m"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.Data != "/tmp/zz-flag" || c.OutboxPoll != 750*time.Millisecond ||
		c.OutboxTimeout != time.Minute || c.OutboxMaxAttempts != 7 {
		t.Fatalf("got %+v: want addr, poll and attempts from env, data and timeout from flags", c)
	}
	if err := c.Validate(Store, Server); err != nil {
		t.Fatal(err)
	}
}

// TestBindOnlyTheGroupsAsked: a command lists the flags it reads, no more.
func TestBindOnlyTheGroupsAsked(t *testing.T) {
	var c Config
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Bind(fs, &c, Store)
	for flag, want := range map[string]bool{"data": true, "master-key-file": true, "addr": false, "pkcs11-pin": false, "webhook-url": false, "lang": false} {
		if got := fs.Lookup(flag) != nil; got != want {
			t.Errorf("flag --%s bound: %v, want %v", flag, got, want)
		}
	}
	if f := fs.Lookup("data"); f.Value.Type() != "string" {
		t.Errorf("--data is a %s", f.Value.Type())
	}
	fs = pflag.NewFlagSet("y", pflag.ContinueOnError)
	Bind(fs, &c, Server)
	for flag, typ := range map[string]string{"outbox-poll": "duration", "outbox-timeout": "duration", "outbox-max-attempts": "int"} {
		if f := fs.Lookup(flag); f == nil || f.Value.Type() != typ {
			t.Errorf("--%s is not a %s flag", flag, typ)
		}
	}
}

// TestBadEnvironmentTwin: a malformed environment value cannot fail as a
// flag default does not; Validate reports it, naming the variable.
func TestBadEnvironmentTwin(t *testing.T) {
	t.Setenv("ZHENGZHAO_OUTBOX_POLL", "often")
	var c Config
	Bind(pflag.NewFlagSet("x", pflag.ContinueOnError), &c, Server)
	if err := c.Validate(Server); err == nil || !strings.Contains(err.Error(), "ZHENGZHAO_OUTBOX_POLL") {
		t.Fatalf("Validate = %v, want an error naming ZHENGZHAO_OUTBOX_POLL", err)
	}
}

func TestLangFromEnv(t *testing.T) {
	for _, tc := range []struct {
		all, messages, lang string
		want                i18n.Lang
	}{
		{"", "", "C.UTF-8", i18n.ZH},
		{"", "", "en_US.UTF-8", i18n.EN},
		{"", "", "zh_CN.UTF-8", i18n.ZH},
		{"", "", "POSIX", i18n.ZH},
		{"", "", "", i18n.ZH},
		{"", "en_GB.UTF-8", "zh_CN.UTF-8", i18n.EN},
		{"zh_CN.UTF-8", "en_GB.UTF-8", "en_US.UTF-8", i18n.ZH},
		{"C", "", "en_US.UTF-8", i18n.ZH}, // LC_ALL set decides, even as C
	} {
		t.Setenv("LC_ALL", tc.all)
		t.Setenv("LC_MESSAGES", tc.messages)
		t.Setenv("LANG", tc.lang)
		if got := LangFromEnv(); got != tc.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q: %s, want %s", tc.all, tc.messages, tc.lang, got, tc.want)
		}
		var c Config
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		Bind(fs, &c, Global)
		if f := fs.Lookup("lang"); f.DefValue != string(tc.want) {
			t.Errorf("--lang default shown as %q, want %q", f.DefValue, tc.want)
		}
	}
}

// valid is a configuration every group accepts; tests change one setting.
func valid() Config {
	return Config{Lang: "zh-CN", Data: "d", Addr: "127.0.0.1:8080", Cipher: "SM4-GCM", NATSSubjectPrefix: "zhengzhao",
		OutboxPoll: 5 * time.Second, OutboxTimeout: 10 * time.Second, OutboxMaxAttempts: 20,
		SealValidity: 17520 * time.Hour, SealRenewalWindow: 2208 * time.Hour, SealMaxPINFailures: 5, SealPINMaxAge: 4320 * time.Hour,
		UseRate: "20/s", UseBurst: 40, ImportMaxSize: 256}
}

// TestValidateHidesCredentials: URLs may carry passwords and tokens, and
// a refused one must not print them.
func TestValidateHidesCredentials(t *testing.T) {
	a, b := valid(), valid()
	a.NATSURL, a.NATSSubjectPrefix = "nats://zz:s3cr%t@nats1:4222, zz:s3cr%t@nats2:4222", "zz"
	b.WebhookURL, b.WebhookSecretFile = "ftp://u:s3cr%t@up/hook?token=s3cr%t", "/s"
	for _, c := range []Config{a, b} {
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("Validate = %v; want an error without the credentials", err)
		}
	}
}

func TestValidate(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*Config)
		groups []Group
		want   string
	}{
		{func(c *Config) {}, nil, ""},
		{func(c *Config) { c.Data, c.DB, c.Cipher, c.MasterKeyFile = "", "postgres://x/y", "aes-256-gcm", "/k" }, nil, ""},
		{func(c *Config) { c.Lang = "fr" }, nil, "--lang"},
		{func(c *Config) { c.Lang = "en_US.UTF-8" }, nil, ""},
		{func(c *Config) { c.Data = " " }, nil, "--data"},
		{func(c *Config) { c.DB = "mysql://x" }, nil, "--db"},
		{func(c *Config) { c.Addr = "8080" }, nil, "--addr"},
		{func(c *Config) { c.Addr = "8080" }, []Group{Global, Store, HSM}, ""}, // not a server command
		{func(c *Config) { c.Addr = "" }, []Group{Store}, ""},
		{func(c *Config) { c.Cipher = "DES" }, nil, "--cipher"},
		{func(c *Config) { c.Cipher = "DES" }, []Group{Server}, ""},
		{func(c *Config) { c.Data, c.DB = "", "postgres://x/y" }, nil, "--master-key-file"},
		{func(c *Config) { c.PKCS11Module = "/m.so" }, nil, "--pkcs11-module"},
		{func(c *Config) {
			c.WebhookURL, c.WebhookSecretFile = "https://up.example/hook", "/s"
			c.NATSURL, c.NATSSubjectPrefix, c.Upstream = "nats://127.0.0.1:4222,nats://10.0.0.2:4222", "gov.zz", "nats"
			c.OutboxPoll, c.OutboxTimeout, c.OutboxMaxAttempts = 500*time.Millisecond, 30*time.Second, 5
		}, nil, ""},
		{func(c *Config) { c.WebhookURL, c.WebhookSecretFile = "ftp://x/y", "/s" }, nil, "--webhook-url"},
		{func(c *Config) { c.WebhookURL = "https://x/y" }, nil, "--webhook-secret-file"},
		{func(c *Config) { c.WebhookSecretFile = "/s" }, nil, "--webhook-secret-file"},
		{func(c *Config) { c.NATSURL = "http://x:4222" }, nil, "--nats-url"},
		{func(c *Config) { c.NATSURL, c.NATSSubjectPrefix = "nats://x:4222", "zz.*" }, nil, "--nats-subject-prefix"},
		{func(c *Config) { c.Upstream = "webhook" }, nil, "--upstream webhook"},
		{func(c *Config) { c.Upstream = "nats" }, nil, "--upstream nats"},
		{func(c *Config) { c.Upstream = "kafka" }, nil, "--upstream"},
		{func(c *Config) { c.OutboxPoll = 5 }, nil, "--outbox-poll"},
		{func(c *Config) { c.OutboxTimeout = time.Millisecond }, nil, "--outbox-timeout"},
		{func(c *Config) { c.OutboxTimeout = 25 * time.Hour }, nil, "--outbox-timeout"},
		{func(c *Config) { c.OutboxMaxAttempts = 0 }, nil, "--outbox-max-attempts"},
		{func(c *Config) { c.TLSCertFile = "/c" }, nil, "--tls-key-file"},
		{func(c *Config) { c.PprofAddr = "127.0.0.1:6060" }, nil, ""},
		{func(c *Config) { c.PprofAddr = "[::1]:0" }, nil, ""},
		{func(c *Config) { c.PprofAddr = "localhost:6060" }, nil, ""},
		{func(c *Config) { c.PprofAddr = ":6060" }, nil, "--pprof-addr"},
		{func(c *Config) { c.PprofAddr = "0.0.0.0:6060" }, nil, "--pprof-addr"},
		{func(c *Config) { c.PprofAddr = "10.0.0.1:6060" }, nil, "--pprof-addr"},
		{func(c *Config) { c.PprofAddr = "0.0.0.0:6060" }, []Group{Global, Store}, ""},
		{func(c *Config) { c.PublicURL, c.StatusListAlg = "https://zz.example.gov.cn/", "ECDSA-P256-SHA256" }, nil, ""},
		{func(c *Config) { c.PublicURL = "zz.example.gov.cn" }, nil, "--public-url"},
		{func(c *Config) { c.PublicURL = "https://zz.example.gov.cn/?x=1" }, nil, "--public-url"},
		{func(c *Config) { c.StatusListAlg = "Ed25519" }, nil, "--status-list-alg"},
		{func(c *Config) { c.StatusListAlg = "Ed25519" }, []Group{Store}, ""},
		{func(c *Config) {
			c.SealValidity, c.SealRenewalWindow, c.SealMaxPINFailures, c.SealPINMaxAge = 365*24*time.Hour, 30*24*time.Hour, 3, 90*24*time.Hour
		}, nil, ""},
		{func(c *Config) { c.SealValidity = time.Hour }, nil, "--seal-validity 1h: a duration from 24h to 87600h"},
		{func(c *Config) { c.SealValidity, c.SealRenewalWindow = 90*24*time.Hour, 0 }, nil, "--seal-validity 2160h: a duration from 24h to 87600h, longer than the renewal window 2208h"},
		{func(c *Config) { c.SealValidity = 90 * 24 * time.Hour }, nil, "--seal-renewal-window 2208h"},
		{func(c *Config) { c.SealRenewalWindow = -time.Hour }, nil, "--seal-renewal-window -1h"},
		{func(c *Config) { c.SealRenewalWindow = c.SealValidity }, nil, "--seal-renewal-window 17520h: a duration from 24h to less than the seal validity 17520h"},
		{func(c *Config) { c.SealMaxPINFailures = 21 }, nil, "--seal-max-pin-failures 21: a whole number from 1 to 20"},
		{func(c *Config) { c.SealMaxPINFailures = -1 }, nil, "--seal-max-pin-failures"},
		{func(c *Config) { c.SealPINMaxAge = 50000 * time.Hour }, nil, "--seal-pin-max-age 50000h"},
		{func(c *Config) { c.SealMaxPINFailures = 21 }, []Group{Global, Store, HSM, Server}, ""}, // no seal command
		{func(c *Config) { c.UseRate, c.UseBurst = "0.5", 1 }, nil, ""},
		{func(c *Config) { c.UseRate = "fast" }, nil, "--use-rate fast"},
		{func(c *Config) { c.UseRate = "0/s" }, nil, "--use-rate 0/s"},
		{func(c *Config) { c.UseRate = "20000/s" }, nil, "--use-rate"},
		{func(c *Config) { c.UseBurst = 0 }, nil, "--use-burst"},
		{func(c *Config) { c.ImportMaxSize = 0 }, nil, "--import-max-size 0"},
		{func(c *Config) { c.ImportMaxSize = 4097 }, nil, "--import-max-size 4097"},
		{func(c *Config) { c.UseRate = "x" }, []Group{Global, Store}, ""},
	} {
		c := valid()
		tc.change(&c)
		err := c.Validate(tc.groups...)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v, %v) = %v, want error naming %q", c, tc.groups, err, tc.want)
		}
		// The command line words the refusal in the user's language.
		var ce *Error
		if err != nil && (!errors.As(err, &ce) || !cat.Has(ce.ID) || cat.T(i18n.ZH, ce.ID, ce.Data, "") == err.Error()) {
			t.Errorf("Validate(%+v) = %v: not a config.Error with a zh-CN message in the catalog", c, err)
		}
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table true:
// each setting's flag and environment twin, in one row with its group.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `--") {
			flag, _, _ := strings.Cut(strings.TrimPrefix(line, "| `--"), "`")
			rows[strings.Fields(flag)[0]] = line
		}
	}
	group := map[Group]string{Global: "| all |", Store: "| store |", HSM: "| PKCS#11 |", Server: "| server |", Seal: "| seal |"}
	for _, s := range Settings() {
		row, ok := rows[s.Flag]
		if !ok {
			for _, r := range rows { // a row may hold a pair of flags
				if strings.Contains(r, "`--"+s.Flag+"`") {
					row, ok = r, true
				}
			}
		}
		if !ok {
			t.Errorf("README.md has no row for --%s", s.Flag)
			continue
		}
		for _, env := range strings.Split(s.Env, ", ") {
			if !strings.Contains(row, "`"+env+"`") {
				t.Errorf("README.md's row for --%s does not name %s", s.Flag, env)
			}
		}
		if !strings.Contains(row, group[s.Group]) {
			t.Errorf("README.md's row for --%s does not say %s", s.Flag, group[s.Group])
		}
	}
}

func TestBaseURL(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{Config{Addr: "0.0.0.0:443", TLSCertFile: "/c", TLSKeyFile: "/k"}, "https://0.0.0.0:443"},
		{Config{Addr: "127.0.0.1:8080", PublicURL: "https://zz.example.gov.cn/"}, "https://zz.example.gov.cn"},
	} {
		if got := c.cfg.BaseURL(c.cfg.Addr); got != c.want {
			t.Errorf("BaseURL of %+v = %s, want %s", c.cfg, got, c.want)
		}
	}
}

// TestSealSettings: the seal policies come from flags and their environment
// twins, typed; bound without either they are seal's own defaults, and a
// malformed twin is refused by name.
func TestSealSettings(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		var c Config
		Bind(pflag.NewFlagSet("x", pflag.ContinueOnError), &c, Seal)
		want := seal.Config{Validity: seal.DefaultValidity, RenewalWindow: seal.DefaultRenewalWindow,
			MaxPINFailures: seal.DefaultMaxPINFailures, PINMaxAge: seal.DefaultPINMaxAge}
		if got := c.Seal(); got != want {
			t.Errorf("Seal() = %+v, want seal's defaults %+v", got, want)
		}
	})
	t.Run("env and flags", func(t *testing.T) {
		t.Setenv("ZHENGZHAO_SEAL_MAX_PIN_FAILURES", "3")
		t.Setenv("ZHENGZHAO_SEAL_RENEWAL_WINDOW", "720h")
		var c Config
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		Bind(fs, &c, Seal)
		if err := fs.Parse([]string{"--seal-validity", "8760h", "--seal-renewal-window", "1440h"}); err != nil {
			t.Fatal(err)
		}
		want := seal.Config{Validity: 8760 * time.Hour, RenewalWindow: 1440 * time.Hour, MaxPINFailures: 3, PINMaxAge: seal.DefaultPINMaxAge}
		if got := c.Seal(); got != want {
			t.Errorf("Seal() = %+v, want %+v (flags win over the environment)", got, want)
		}
		for flag, typ := range map[string]string{"seal-validity": "duration", "seal-renewal-window": "duration", "seal-max-pin-failures": "int", "seal-pin-max-age": "duration"} {
			if f := fs.Lookup(flag); f == nil || f.Value.Type() != typ {
				t.Errorf("--%s is not a %s flag", flag, typ)
			}
		}
	})
	t.Run("bad twin", func(t *testing.T) {
		t.Setenv("ZHENGZHAO_SEAL_VALIDITY", "two years")
		var c Config
		Bind(pflag.NewFlagSet("x", pflag.ContinueOnError), &c, Seal)
		if err := c.Validate(Seal); err == nil || !strings.Contains(err.Error(), "ZHENGZHAO_SEAL_VALIDITY") {
			t.Fatalf("Validate = %v, want an error naming ZHENGZHAO_SEAL_VALIDITY", err)
		}
	})
}
