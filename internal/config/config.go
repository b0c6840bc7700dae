// Package config holds the settings of a zhengzhao process. Each setting is a
// flag with an environment twin (ZHENGZHAO_*); the flag wins. Settings are
// loaded and validated once, before anything starts.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/notify"
)

// Config is the process configuration. Its zero value is not usable; call
// Bind and then Validate.
type Config struct {
	Data string // directory of the embedded database and generated keys
	DB   string // postgres://… DSN; empty selects the embedded store in Data
	Addr string // listen address of serve
	Lang string // language of human output: zh-CN or en
	// TLSCertFile and TLSKeyFile make serve speak HTTPS (PEM files, read
	// again when they change); empty means plain HTTP.
	TLSCertFile, TLSKeyFile string
	// MasterKeyFile holds the master key that wraps the data keys; empty
	// means master.key in Data.
	MasterKeyFile string
	Cipher        string // cipher suite of new data keys: SM4-GCM or AES-256-GCM
	// PKCS#11 token holding hardware keys; empty module and token mean none.
	PKCS11Module, PKCS11Token, PKCS11PIN string
	// Outbox delivery (internal/notify); no sink means events stay queued.
	WebhookURL        string // POST events here
	WebhookSecretFile string // the HMAC secret of the webhook, in a file
	NATSURL           string // publish events to JetStream on this server
	NATSSubjectPrefix string // subjects are <prefix>.<topic>
	Upstream          string // the sink that files with the upstream platform: webhook, nats or empty
	OutboxPoll        string // duration between looks for due events
	OutboxTimeout     string // duration of one delivery attempt
	OutboxMaxAttempts string // attempts before a delivery is dead
	PprofAddr         string // loopback address of the profiling listener; empty: none
}

// Setting describes one setting for help texts and the README.
type Setting struct {
	Flag, Env, Default, Usage string
}

// Settings lists every setting.
func Settings() []Setting {
	return []Setting{
		{"data", "ZHENGZHAO_DATA", "./zhengzhao-data", "data directory: embedded SQLite database and generated keys"},
		{"db", "ZHENGZHAO_DB", "", "PostgreSQL DSN (postgres://…); empty selects the embedded store in the data directory"},
		{"addr", "ZHENGZHAO_ADDR", "127.0.0.1:8080", "listen address of serve (port 0 picks a free port)"},
		{"tls-cert-file", "ZHENGZHAO_TLS_CERT_FILE", "", "serve HTTPS with this PEM certificate chain (read again when it changes)"},
		{"tls-key-file", "ZHENGZHAO_TLS_KEY_FILE", "", "private key (PEM) of the TLS certificate"},
		{"lang", "LANG", "zh-CN", "language of human output: zh-CN or en"},
		{"master-key-file", "ZHENGZHAO_MASTER_KEY_FILE", "", "master key file (default DATA/master.key; created on first start, mode 0600)"},
		{"cipher", "ZHENGZHAO_CIPHER", "SM4-GCM", "cipher of new data keys: SM4-GCM or AES-256-GCM"},
		{"pkcs11-module", "ZHENGZHAO_PKCS11_MODULE", "", "PKCS#11 module (absolute path, e.g. /usr/lib/softhsm/libsofthsm2.so)"},
		{"pkcs11-token", "ZHENGZHAO_PKCS11_TOKEN", "", "label of the PKCS#11 token"},
		{"pkcs11-pin", "ZHENGZHAO_PKCS11_PIN", "", "user PIN of the token (prefer the environment: flags show in ps)"},
		{"webhook-url", "ZHENGZHAO_WEBHOOK_URL", "", "deliver outbox events by POST to this http(s) URL"},
		{"webhook-secret-file", "ZHENGZHAO_WEBHOOK_SECRET_FILE", "", "file holding the webhook's HMAC-SHA256 secret (at least 16 bytes)"},
		{"nats-url", "ZHENGZHAO_NATS_URL", "", "publish outbox events to NATS JetStream at this URL (nats://host:4222)"},
		{"nats-subject-prefix", "ZHENGZHAO_NATS_SUBJECT_PREFIX", "zhengzhao", "NATS subjects are PREFIX.TOPIC, e.g. zhengzhao.seal.filing"},
		{"upstream", "ZHENGZHAO_UPSTREAM", "", "the sink that files with the upstream platform: webhook or nats (empty: none)"},
		{"outbox-poll", "ZHENGZHAO_OUTBOX_POLL", "5s", "how often each sink looks for due outbox events"},
		{"outbox-timeout", "ZHENGZHAO_OUTBOX_TIMEOUT", "10s", "time limit of one delivery attempt"},
		{"outbox-max-attempts", "ZHENGZHAO_OUTBOX_MAX_ATTEMPTS", "20", "failed attempts after which a delivery is dead until requeued"},
		{"pprof-addr", "ZHENGZHAO_PPROF_ADDR", "", "serve Go profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)"},
	}
}

// Bind registers the settings as flags whose defaults come from the
// environment.
func Bind(fs *pflag.FlagSet, c *Config) {
	targets := map[string]*string{"data": &c.Data, "db": &c.DB, "addr": &c.Addr, "lang": &c.Lang,
		"tls-cert-file": &c.TLSCertFile, "tls-key-file": &c.TLSKeyFile,
		"master-key-file": &c.MasterKeyFile, "cipher": &c.Cipher,
		"pkcs11-module": &c.PKCS11Module, "pkcs11-token": &c.PKCS11Token, "pkcs11-pin": &c.PKCS11PIN,
		"webhook-url": &c.WebhookURL, "webhook-secret-file": &c.WebhookSecretFile, "nats-url": &c.NATSURL,
		"nats-subject-prefix": &c.NATSSubjectPrefix, "upstream": &c.Upstream, "outbox-poll": &c.OutboxPoll,
		"outbox-timeout": &c.OutboxTimeout, "outbox-max-attempts": &c.OutboxMaxAttempts, "pprof-addr": &c.PprofAddr}
	for _, s := range Settings() {
		def := s.Default
		if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			def = v
		}
		fs.StringVar(targets[s.Flag], s.Flag, def, s.Usage+" (env "+s.Env+")")
	}
}

// Validate reports the first problem precisely.
func (c *Config) Validate() error {
	if c.DB == "" && strings.TrimSpace(c.Data) == "" {
		return fmt.Errorf("--data is empty: the embedded store needs a data directory (or give --db postgres://…)")
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("--db must be a postgres:// or postgresql:// URL, or empty for the embedded store")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("--addr %q is not host:port", c.Addr)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("--tls-cert-file and --tls-key-file go together")
	}
	if _, err := envelope.ParseSuite(c.Cipher); err != nil {
		return fmt.Errorf("--cipher %q: use SM4-GCM or AES-256-GCM", c.Cipher)
	}
	if (c.PKCS11Module == "") != (c.PKCS11Token == "") {
		return fmt.Errorf("--pkcs11-module and --pkcs11-token go together")
	}
	if c.MasterKeyFile == "" && strings.TrimSpace(c.Data) == "" {
		return fmt.Errorf("--master-key-file is empty and there is no --data directory to keep it in")
	}
	if err := c.validatePprof(); err != nil {
		return err
	}
	return c.validateDelivery()
}

// validatePprof refuses a profiling address beyond the loopback interface:
// profiles show code paths and memory contents to whoever fetches them.
func (c *Config) validatePprof() error {
	if c.PprofAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.PprofAddr)
	if err != nil || port == "" {
		return fmt.Errorf("--pprof-addr %q is not host:port", c.PprofAddr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-addr %q: profiles are served on the loopback interface only (127.0.0.1, ::1 or localhost)", c.PprofAddr)
	}
	return nil
}

// validateDelivery checks the outbox delivery settings; all empty is valid
// and leaves events queued.
func (c *Config) validateDelivery() error {
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL may hold a password or token: the error does not quote it.
			return fmt.Errorf("--webhook-url is not an http:// or https:// URL with a host")
		}
		if c.WebhookSecretFile == "" {
			return fmt.Errorf("--webhook-url needs --webhook-secret-file: webhook requests are always signed")
		}
	} else if c.WebhookSecretFile != "" {
		return fmt.Errorf("--webhook-secret-file goes with --webhook-url")
	}
	if c.NATSURL != "" {
		for part := range strings.SplitSeq(c.NATSURL, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) || u.Host == "" {
				// The URLs may hold credentials: the error does not quote them.
				return fmt.Errorf("--nats-url is not a nats://host:port URL (or a comma-separated list of them)")
			}
		}
		if !notify.ValidSubjectPrefix(c.NATSSubjectPrefix) {
			return fmt.Errorf("--nats-subject-prefix %q: dot-separated tokens of letters, digits, _ and -", c.NATSSubjectPrefix)
		}
	}
	switch c.Upstream {
	case "":
	case "webhook":
		if c.WebhookURL == "" {
			return fmt.Errorf("--upstream webhook needs --webhook-url")
		}
	case "nats":
		if c.NATSURL == "" {
			return fmt.Errorf("--upstream nats needs --nats-url")
		}
	default:
		return fmt.Errorf("--upstream %q: use webhook, nats or leave it empty", c.Upstream)
	}
	for _, d := range []struct{ flag, v string }{{"--outbox-poll", c.OutboxPoll}, {"--outbox-timeout", c.OutboxTimeout}} {
		if d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(d.v); err != nil || v < 100*time.Millisecond || v > 24*time.Hour {
			return fmt.Errorf("%s %q: a duration from 100ms to 24h, e.g. 5s", d.flag, d.v)
		}
	}
	if c.OutboxMaxAttempts != "" {
		if n, err := strconv.Atoi(c.OutboxMaxAttempts); err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("--outbox-max-attempts %q: a whole number from 1 to 1000", c.OutboxMaxAttempts)
		}
	}
	return nil
}

// Delivery returns the outbox poll interval, attempt timeout and maximum
// attempts; zero means the notify default. Validate has checked them.
func (c *Config) Delivery() (poll, timeout time.Duration, maxAttempts int) {
	poll, _ = time.ParseDuration(c.OutboxPoll)
	timeout, _ = time.ParseDuration(c.OutboxTimeout)
	maxAttempts, _ = strconv.Atoi(c.OutboxMaxAttempts)
	return poll, timeout, maxAttempts
}

// MasterKeyPath is where the master key file is.
func (c *Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.Data, "master.key")
}

// Suite is the cipher suite of new data keys; Validate has checked it.
func (c *Config) Suite() envelope.Suite {
	s, _ := envelope.ParseSuite(c.Cipher)
	return s
}

// Language returns the language of human output.
func (c *Config) Language() i18n.Lang { return i18n.Parse(c.Lang) }
