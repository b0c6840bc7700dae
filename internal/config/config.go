// Package config holds the settings of a zhengzhao process. Each setting is a
// flag with an environment twin (ZHENGZHAO_*); the flag wins. Settings are
// loaded and validated once, before anything starts.
package config

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/seal"
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
	WebhookURL        string        // POST events here
	WebhookSecretFile string        // the HMAC secret of the webhook, in a file
	NATSURL           string        // publish events to JetStream on this server
	NATSSubjectPrefix string        // subjects are <prefix>.<topic>
	Upstream          string        // the sink that files with the upstream platform: webhook, nats or empty
	OutboxPoll        time.Duration // between looks for due events
	OutboxTimeout     time.Duration // of one delivery attempt
	OutboxMaxAttempts int           // attempts before a delivery is dead
	PprofAddr         string        // loopback address of the profiling listener; empty: none
	// PublicURL is the platform's public base URL, below which status lists
	// are published and named in licenses; empty: http(s)://Addr.
	PublicURL string
	// StatusListAlg is the algorithm of the status-list key when the
	// platform makes it on first use.
	StatusListAlg string
	// Witnesses are the verifier keys (C2SP tlog-cosignature v1) of the
	// witnesses whose cosignatures of audit checkpoints serve takes.
	Witnesses []string
	// Seal policies (internal/seal): certificate validity, renewal window
	// before expiry, PIN failures before a seal locks, PIN age after which
	// a warning is given. Zero takes seal's default.
	SealValidity       time.Duration
	SealRenewalWindow  time.Duration
	SealMaxPINFailures int
	SealPINMaxAge      time.Duration
	// Holder sign-in (internal/holder, docs/holders.md): session
	// lifetimes, the demo login, and the OpenID Connect provider (none
	// when OIDCIssuer is empty). The client secret comes from
	// OIDCClientSecretFile or the environment (ZHENGZHAO_OIDC_CLIENT_SECRET),
	// never from a flag, which ps would show.
	HolderSessionIdle    time.Duration
	HolderSessionMax     time.Duration
	HolderDemoLogin      bool
	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecretFile string
	OIDCRedirectURL      string
	OIDCCitizenIDClaim   string
	OIDCCreditCodeClaim  string
	OIDCNameClaim        string
	OIDCOrgNameClaim     string
	// UseRate ("N" or "N/s") and UseBurst are each using unit's token
	// bucket of scoped uses in this process (docs/use.md).
	UseRate  string
	UseBurst int
	// ImportMaxSize bounds a file uploaded to import, in MiB
	// (docs/import.md).
	ImportMaxSize int

	// envErr is the first environment twin Bind could not parse; Validate
	// reports it, since a flag default cannot fail.
	envErr error
}

// Error is a refused setting. ID and Data name the message of the i18n
// catalog (config.*) that words it, so that the command line says it in the
// user's language; Error gives the English text. It never quotes a URL,
// which may hold credentials.
type Error struct {
	ID   string
	Data map[string]any
}

func (e *Error) Error() string {
	cat, err := i18n.New()
	if err != nil {
		return e.ID
	}
	return cat.T(i18n.EN, e.ID, e.Data, e.ID)
}

func refuse(id string, data map[string]any) error {
	return &Error{ID: "config." + id, Data: data}
}

// Group gathers the settings one kind of command needs, so that each command
// lists only the flags it reads.
type Group int

// The groups of settings.
const (
	// Global settings apply to every command: the language.
	Global Group = iota
	// Store settings open the store: data directory, DSN, master key, cipher.
	Store
	// HSM settings open a PKCS#11 token: for serving and for commands that
	// sign or make keys.
	HSM
	// Server settings are read by serve and demo only: address, TLS and
	// outbox delivery.
	Server
	// Seal settings are the seal policies, read by the commands whose seal
	// service makes, renews and unlocks seals: serve and demo.
	Seal
)

// Setting describes one setting for help texts and the README.
type Setting struct {
	Flag, Env, Default, Usage string
	Group                     Group
}

// LangEnv lists the environment variables the language comes from, in the
// order POSIX gives them precedence.
var LangEnv = []string{"LC_ALL", "LC_MESSAGES", "LANG"}

// Settings lists every setting.
func Settings() []Setting {
	return []Setting{
		{"lang", strings.Join(LangEnv, ", "), "zh-CN", "language of human output: zh-CN or en (from the locale: zh_* is zh-CN, en_* is en, any other is zh-CN)", Global},
		{"data", "ZHENGZHAO_DATA", "./zhengzhao-data", "data directory: embedded SQLite database and generated keys", Store},
		{"db", "ZHENGZHAO_DB", "", "PostgreSQL DSN (postgres://…); empty selects the embedded store in the data directory", Store},
		{"master-key-file", "ZHENGZHAO_MASTER_KEY_FILE", "", "master key file (default DATA/master.key; created on first start, mode 0600)", Store},
		{"cipher", "ZHENGZHAO_CIPHER", "SM4-GCM", "cipher of new data keys: SM4-GCM or AES-256-GCM", Store},
		{"pkcs11-module", "ZHENGZHAO_PKCS11_MODULE", "", "PKCS#11 module (absolute path, e.g. /usr/lib/softhsm/libsofthsm2.so)", HSM},
		{"pkcs11-token", "ZHENGZHAO_PKCS11_TOKEN", "", "label of the PKCS#11 token", HSM},
		{"pkcs11-pin", "ZHENGZHAO_PKCS11_PIN", "", "user PIN of the token (prefer the environment: flags show in ps)", HSM},
		{"addr", "ZHENGZHAO_ADDR", "127.0.0.1:8080", "listen address (port 0 picks a free port)", Server},
		{"tls-cert-file", "ZHENGZHAO_TLS_CERT_FILE", "", "serve HTTPS with this PEM certificate chain (read again when it changes)", Server},
		{"tls-key-file", "ZHENGZHAO_TLS_KEY_FILE", "", "private key (PEM) of the TLS certificate", Server},
		{"webhook-url", "ZHENGZHAO_WEBHOOK_URL", "", "deliver outbox events by POST to this http(s) URL", Server},
		{"webhook-secret-file", "ZHENGZHAO_WEBHOOK_SECRET_FILE", "", "file holding the webhook's HMAC-SHA256 secret (at least 16 bytes)", Server},
		{"nats-url", "ZHENGZHAO_NATS_URL", "", "publish outbox events to NATS JetStream at this URL (nats://host:4222)", Server},
		{"nats-subject-prefix", "ZHENGZHAO_NATS_SUBJECT_PREFIX", "zhengzhao", "NATS subjects are PREFIX.TOPIC, e.g. zhengzhao.seal.filing", Server},
		{"upstream", "ZHENGZHAO_UPSTREAM", "", "the sink that files with the upstream platform: webhook or nats (empty: none)", Server},
		{"outbox-poll", "ZHENGZHAO_OUTBOX_POLL", "5s", "how often each sink looks for due outbox events", Server},
		{"outbox-timeout", "ZHENGZHAO_OUTBOX_TIMEOUT", "10s", "time limit of one delivery attempt", Server},
		{"outbox-max-attempts", "ZHENGZHAO_OUTBOX_MAX_ATTEMPTS", "20", "failed attempts after which a delivery is dead until requeued", Server},
		{"pprof-addr", "ZHENGZHAO_PPROF_ADDR", "", "serve Go profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)", Server},
		{"public-url", "ZHENGZHAO_PUBLIC_URL", "", "public base URL of the platform, where status lists are published (empty: http(s)://ADDR)", Server},
		{"status-list-alg", "ZHENGZHAO_STATUS_LIST_ALG", "SM2-SM3", "algorithm of the status-list key when it is first made: SM2-SM3 or ECDSA-P256-SHA256", Server},
		{"witness", "ZHENGZHAO_WITNESS", "", "verifier key of a witness whose cosignatures of audit checkpoints are taken (repeatable; env: space-separated)", Server},
		{"holder-session-idle", "ZHENGZHAO_HOLDER_SESSION_IDLE", "30m", "a holder session ends after this long without use (1m to --holder-session-max)", Server},
		{"holder-session-max", "ZHENGZHAO_HOLDER_SESSION_MAX", "12h", "a holder session ends this long after sign-in (1m to 168h)", Server},
		{"holder-demo-login", "ZHENGZHAO_HOLDER_DEMO_LOGIN", "false", "offer POST /api/v1/holder/demo-login: sign in as any holder without proof (demo only)", Server},
		{"oidc-issuer", "ZHENGZHAO_OIDC_ISSUER", "", "issuer URL of the OpenID Connect provider holders sign in with (empty: none)", Server},
		{"oidc-client-id", "ZHENGZHAO_OIDC_CLIENT_ID", "", "client ID of the platform at the OpenID Connect provider", Server},
		{"oidc-client-secret-file", "ZHENGZHAO_OIDC_CLIENT_SECRET_FILE", "", "file holding the client secret (or set ZHENGZHAO_OIDC_CLIENT_SECRET)", Server},
		{"oidc-redirect-url", "ZHENGZHAO_OIDC_REDIRECT_URL", "", "callback registered with the provider (empty: PUBLIC_URL/api/v1/holder/callback)", Server},
		{"oidc-citizen-id-claim", "ZHENGZHAO_OIDC_CITIZEN_ID_CLAIM", "citizen_id", "ID token claim holding a person's citizen ID number", Server},
		{"oidc-credit-code-claim", "ZHENGZHAO_OIDC_CREDIT_CODE_CLAIM", "credit_code", "ID token claim holding the credit code of the organization the person acts for", Server},
		{"oidc-name-claim", "ZHENGZHAO_OIDC_NAME_CLAIM", "name", "ID token claim holding the person's name", Server},
		{"oidc-org-name-claim", "ZHENGZHAO_OIDC_ORG_NAME_CLAIM", "org_name", "ID token claim holding the organization's name", Server},
		{"use-rate", "ZHENGZHAO_USE_RATE", "20/s", "scoped uses (POST /api/v1/uses) a using unit may make a second in this process, e.g. 20/s (0.1 to 10000)", Server},
		{"use-burst", "ZHENGZHAO_USE_BURST", "40", "uses a using unit may make at once beyond its rate (1 to 100000)", Server},
		{"import-max-size", "ZHENGZHAO_IMPORT_MAX_SIZE", "256", "largest file uploaded to import (POST /api/v1/imports), in MiB (1 to 4096)", Server},
		{"seal-validity", "ZHENGZHAO_SEAL_VALIDITY", hours(seal.DefaultValidity), "validity of a seal certificate (24h to 87600h, capped by the root's)", Seal},
		{"seal-renewal-window", "ZHENGZHAO_SEAL_RENEWAL_WINDOW", hours(seal.DefaultRenewalWindow), "how long before expiry a seal may be renewed (24h to less than --seal-validity)", Seal},
		{"seal-max-pin-failures", "ZHENGZHAO_SEAL_MAX_PIN_FAILURES", strconv.Itoa(seal.DefaultMaxPINFailures), "wrong PINs after which a seal locks (1 to 20)", Seal},
		{"seal-pin-max-age", "ZHENGZHAO_SEAL_PIN_MAX_AGE", hours(seal.DefaultPINMaxAge), "age after which the API marks a seal's PIN as stale (24h to 43800h)", Seal},
	}
}

// LangFromEnv is the language the locale asks for: the first of LC_ALL,
// LC_MESSAGES and LANG that is set decides; zh_* is zh-CN, en_* is en, and
// C, POSIX or any other locale is zh-CN.
func LangFromEnv() i18n.Lang {
	for _, name := range LangEnv {
		if v := os.Getenv(name); v != "" {
			return i18n.FromLocale(v)
		}
	}
	return i18n.ZH
}

// Bind registers the settings of the given groups as flags whose defaults
// come from the environment.
func Bind(fs *pflag.FlagSet, c *Config, groups ...Group) {
	targets := map[string]any{"data": &c.Data, "db": &c.DB, "addr": &c.Addr, "lang": &c.Lang,
		"tls-cert-file": &c.TLSCertFile, "tls-key-file": &c.TLSKeyFile,
		"master-key-file": &c.MasterKeyFile, "cipher": &c.Cipher,
		"pkcs11-module": &c.PKCS11Module, "pkcs11-token": &c.PKCS11Token, "pkcs11-pin": &c.PKCS11PIN,
		"webhook-url": &c.WebhookURL, "webhook-secret-file": &c.WebhookSecretFile, "nats-url": &c.NATSURL,
		"nats-subject-prefix": &c.NATSSubjectPrefix, "upstream": &c.Upstream, "outbox-poll": &c.OutboxPoll,
		"outbox-timeout": &c.OutboxTimeout, "outbox-max-attempts": &c.OutboxMaxAttempts, "pprof-addr": &c.PprofAddr,
		"public-url": &c.PublicURL, "status-list-alg": &c.StatusListAlg, "witness": &c.Witnesses,
		"seal-validity": &c.SealValidity, "seal-renewal-window": &c.SealRenewalWindow,
		"seal-max-pin-failures": &c.SealMaxPINFailures, "seal-pin-max-age": &c.SealPINMaxAge,
		"holder-session-idle": &c.HolderSessionIdle, "holder-session-max": &c.HolderSessionMax, "holder-demo-login": &c.HolderDemoLogin,
		"oidc-issuer": &c.OIDCIssuer, "oidc-client-id": &c.OIDCClientID, "oidc-client-secret-file": &c.OIDCClientSecretFile,
		"oidc-redirect-url": &c.OIDCRedirectURL, "oidc-citizen-id-claim": &c.OIDCCitizenIDClaim,
		"oidc-credit-code-claim": &c.OIDCCreditCodeClaim, "oidc-name-claim": &c.OIDCNameClaim, "oidc-org-name-claim": &c.OIDCOrgNameClaim,
		"use-rate": &c.UseRate, "use-burst": &c.UseBurst, "import-max-size": &c.ImportMaxSize}
	for _, s := range Settings() {
		if !slices.Contains(groups, s.Group) {
			continue
		}
		def, usage := s.Default, s.Usage+" (env "+s.Env+")"
		if s.Flag == "lang" {
			def = string(LangFromEnv())
		} else if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			def = v
		}
		switch p := targets[s.Flag].(type) {
		case *string:
			fs.StringVar(p, s.Flag, def, usage)
		case *time.Duration:
			d, err := time.ParseDuration(def)
			if err != nil && c.envErr == nil {
				c.envErr = refuse("env-duration", map[string]any{"Env": s.Env, "Value": def})
			}
			fs.DurationVar(p, s.Flag, d, usage)
		case *bool:
			b, err := strconv.ParseBool(def)
			if err != nil && c.envErr == nil {
				c.envErr = refuse("env-bool", map[string]any{"Env": s.Env, "Value": def})
			}
			fs.BoolVar(p, s.Flag, b, usage)
		case *[]string:
			fs.StringArrayVar(p, s.Flag, strings.Fields(def), usage)
		case *int:
			n, err := strconv.Atoi(def)
			if err != nil && c.envErr == nil {
				c.envErr = refuse("env-int", map[string]any{"Env": s.Env, "Value": def})
			}
			fs.IntVar(p, s.Flag, n, usage)
		}
	}
}

// Validate reports the first problem precisely in the settings of the given
// groups; with no group it checks them all.
func (c *Config) Validate(groups ...Group) error {
	in := func(g Group) bool { return len(groups) == 0 || slices.Contains(groups, g) }
	if c.envErr != nil {
		return c.envErr
	}
	if _, ok := i18n.Lookup(c.Lang); !ok && in(Global) {
		return refuse("lang", map[string]any{"Value": c.Lang})
	}
	if in(Store) {
		if err := c.validateStore(); err != nil {
			return err
		}
	}
	if in(HSM) && (c.PKCS11Module == "") != (c.PKCS11Token == "") {
		return refuse("pkcs11-pair", nil)
	}
	if in(Seal) {
		if err := c.validateSeal(); err != nil {
			return err
		}
	}
	if !in(Server) {
		return nil
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return refuse("addr", map[string]any{"Value": c.Addr})
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return refuse("tls-pair", nil)
	}
	if err := c.validatePprof(); err != nil {
		return err
	}
	if err := c.validateStatusLists(); err != nil {
		return err
	}
	if err := c.validateHolders(); err != nil {
		return err
	}
	if _, err := c.UseLimit(); err != nil {
		return err
	}
	if c.ImportMaxSize < 1 || c.ImportMaxSize > 4096 {
		return refuse("import-max-size", map[string]any{"Value": c.ImportMaxSize})
	}
	return c.validateDelivery()
}

// UseLimit returns each using unit's rate of scoped uses a second in this
// process, as --use-rate says it ("20" or "20/s"), refusing one out of
// range or a burst out of range.
func (c *Config) UseLimit() (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(c.UseRate), "/s"), 64)
	if err != nil || r < 0.1 || r > 10000 || c.UseBurst < 1 || c.UseBurst > 100000 {
		return 0, refuse("use-rate", map[string]any{"Value": c.UseRate})
	}
	return r, nil
}

// validateStatusLists checks where status lists are published and what
// signs them.
func (c *Config) validateStatusLists() error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return refuse("public-url", map[string]any{"Value": c.PublicURL})
		}
	}
	if c.StatusListAlg != "" && c.StatusListAlg != string(keys.SM2SM3) && c.StatusListAlg != string(keys.ECDSAP256) {
		return refuse("status-list-alg", map[string]any{"Value": c.StatusListAlg})
	}
	_, err := c.WitnessList()
	return err
}

// WitnessList returns the configured witnesses; a key that is not a
// verifier key, or two witnesses of one name, are refused.
func (c *Config) WitnessList() ([]auditlog.Witness, error) {
	var out []auditlog.Witness
	names := map[string]bool{}
	for _, vkey := range c.Witnesses {
		w, err := auditlog.ParseWitness(vkey)
		if err != nil {
			return nil, refuse("witness", map[string]any{"Value": vkey})
		}
		if names[w.Name] {
			return nil, refuse("witness-duplicate", map[string]any{"Name": w.Name})
		}
		names[w.Name] = true
		out = append(out, w)
	}
	return out, nil
}

// Holders returns the holder session settings.
func (c *Config) Holders() holder.Config {
	return holder.Config{Idle: c.HolderSessionIdle, Max: c.HolderSessionMax, Demo: c.HolderDemoLogin}
}

// OIDC returns the OpenID Connect settings, the client secret read from
// its file or the environment; a redirect URL left empty is the callback
// below baseURL.
func (c *Config) OIDC(baseURL string) (holder.OIDCConfig, error) {
	o := holder.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, RedirectURL: c.OIDCRedirectURL,
		CitizenIDClaim: c.OIDCCitizenIDClaim, CreditCodeClaim: c.OIDCCreditCodeClaim, NameClaim: c.OIDCNameClaim, OrgNameClaim: c.OIDCOrgNameClaim,
		ClientSecret: os.Getenv("ZHENGZHAO_OIDC_CLIENT_SECRET")}
	if !o.Enabled() {
		return o, nil
	}
	if o.RedirectURL == "" {
		o.RedirectURL = strings.TrimSuffix(baseURL, "/") + "/api/v1/holder/callback"
	}
	if c.OIDCClientSecretFile != "" {
		b, err := os.ReadFile(c.OIDCClientSecretFile)
		if err != nil {
			return o, refuse("oidc-secret-file", map[string]any{"File": c.OIDCClientSecretFile})
		}
		o.ClientSecret = strings.TrimSpace(string(b))
	}
	return o, nil
}

// validateHolders checks the holder session and OpenID Connect settings
// by holder's own rules, worded for the flag that sets the first broken.
func (c *Config) validateHolders() error {
	err := c.Holders().Validate()
	if err == nil {
		// The redirect URL left empty is derived at start from the public
		// URL, which Validate checks apart.
		o, oerr := c.OIDC("http://127.0.0.1")
		if oerr != nil {
			return oerr
		}
		err = o.Validate()
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	return refuse("holder-setting", map[string]any{"Flag": "--" + ae.Fields[0].Field, "Detail": ae.Fields[0].Detail})
}

// BaseURL returns the platform's public base URL: PublicURL, or
// listenAddr (the address serve listens on, which may differ from Addr
// when Addr asks for port 0) with the scheme TLS gives it.
func (c *Config) BaseURL(listenAddr string) string {
	if c.PublicURL != "" {
		return strings.TrimSuffix(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + listenAddr
}

// validateStore checks the settings that open the store.
func (c *Config) validateStore() error {
	if c.DB == "" && strings.TrimSpace(c.Data) == "" {
		return refuse("data-empty", nil)
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return refuse("db-url", nil)
	}
	if _, err := envelope.ParseSuite(c.Cipher); err != nil {
		return refuse("cipher", map[string]any{"Value": c.Cipher})
	}
	if c.MasterKeyFile == "" && strings.TrimSpace(c.Data) == "" {
		return refuse("master-key-place", nil)
	}
	return nil
}

// validatePprof refuses a profiling address beyond the loopback interface:
// profiles show code paths and memory contents to whoever fetches them.
func (c *Config) validatePprof() error {
	if c.PprofAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.PprofAddr)
	if err != nil || port == "" {
		return refuse("pprof-addr", map[string]any{"Value": c.PprofAddr})
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return refuse("pprof-loopback", map[string]any{"Value": c.PprofAddr})
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
			return refuse("webhook-url", nil)
		}
		if c.WebhookSecretFile == "" {
			return refuse("webhook-secret-needed", nil)
		}
	} else if c.WebhookSecretFile != "" {
		return refuse("webhook-secret-alone", nil)
	}
	if c.NATSURL != "" {
		for part := range strings.SplitSeq(c.NATSURL, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) || u.Host == "" {
				// The URLs may hold credentials: the error does not quote them.
				return refuse("nats-url", nil)
			}
		}
		if !notify.ValidSubjectPrefix(c.NATSSubjectPrefix) {
			return refuse("nats-prefix", map[string]any{"Value": c.NATSSubjectPrefix})
		}
	}
	switch c.Upstream {
	case "":
	case "webhook":
		if c.WebhookURL == "" {
			return refuse("upstream-webhook", nil)
		}
	case "nats":
		if c.NATSURL == "" {
			return refuse("upstream-nats", nil)
		}
	default:
		return refuse("upstream", map[string]any{"Value": c.Upstream})
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--outbox-poll", c.OutboxPoll}, {"--outbox-timeout", c.OutboxTimeout}} {
		if d.v < 100*time.Millisecond || d.v > 24*time.Hour {
			return refuse("duration-range", map[string]any{"Flag": d.flag, "Value": d.v.String()})
		}
	}
	if c.OutboxMaxAttempts < 1 || c.OutboxMaxAttempts > 1000 {
		return refuse("max-attempts", map[string]any{"Value": c.OutboxMaxAttempts})
	}
	return nil
}

// sealFlags are the flags of the seal policies, by the field seal.Config's
// Validate names.
var sealFlags = map[string]string{"validity": "--seal-validity", "renewal_window": "--seal-renewal-window",
	"max_pin_failures": "--seal-max-pin-failures", "pin_max_age": "--seal-pin-max-age"}

// validateSeal checks the seal policies by seal's own rules and words the
// first one broken for the flag that sets it.
func (c *Config) validateSeal() error {
	cfg := c.Seal()
	var ae *apperr.Error
	if err := cfg.Validate(); !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	field := ae.Fields[0].Field
	values := map[string]string{"validity": hours(cfg.Validity), "renewal_window": hours(cfg.RenewalWindow),
		"max_pin_failures": strconv.Itoa(cfg.MaxPINFailures), "pin_max_age": hours(cfg.PINMaxAge)}
	validity := cfg.Validity
	if validity == 0 {
		validity = seal.DefaultValidity
	}
	window := cfg.RenewalWindow
	if window == 0 {
		window = seal.DefaultRenewalWindow
	}
	data := map[string]any{"Flag": sealFlags[field], "Value": values[field], "Validity": hours(validity), "Window": hours(window)}
	switch field {
	case "validity":
		data["Min"], data["Max"] = hours(seal.MinValidity), hours(seal.MaxValidity)
	case "renewal_window":
		data["Min"] = hours(seal.MinRenewalWindow)
	case "max_pin_failures":
		data["Min"], data["Max"] = seal.MinMaxPINFailures, seal.MaxMaxPINFailures
	case "pin_max_age":
		data["Min"], data["Max"] = hours(seal.MinPINMaxAge), hours(seal.MaxPINMaxAge)
	}
	return refuse("seal-"+strings.ReplaceAll(field, "_", "-"), data)
}

// Seal returns the seal policies of the settings.
func (c *Config) Seal() seal.Config {
	return seal.Config{Validity: c.SealValidity, RenewalWindow: c.SealRenewalWindow,
		MaxPINFailures: c.SealMaxPINFailures, PINMaxAge: c.SealPINMaxAge}
}

// hours spells a duration the way a flag takes it, without the zero
// minutes and seconds time.Duration.String adds: 17520h, 90m.
func hours(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Delivery returns the outbox poll interval, attempt timeout and maximum
// attempts. Validate has checked them.
func (c *Config) Delivery() (poll, timeout time.Duration, maxAttempts int) {
	return c.OutboxPoll, c.OutboxTimeout, c.OutboxMaxAttempts
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

// Language returns the language of human output: the one --lang names, or
// the locale's when --lang names none this program speaks.
func (c *Config) Language() i18n.Lang {
	if l, ok := i18n.Lookup(c.Lang); ok {
		return l
	}
	return LangFromEnv()
}
