// Package config holds the settings of a zhengzhao process. Each setting is a
// flag with an environment twin (ZHENGZHAO_*); the flag wins. Settings are
// loaded and validated once, before anything starts.
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"zhengzhao/internal/i18n"
	"zhengzhao/internal/keys/envelope"
)

// Config is the process configuration. Its zero value is not usable; call
// Bind and then Validate.
type Config struct {
	Data string // directory of the embedded database and generated keys
	DB   string // postgres://… DSN; empty selects the embedded store in Data
	Addr string // listen address of serve
	Lang string // language of human output: zh-CN or en
	// MasterKeyFile holds the master key that wraps the data keys; empty
	// means master.key in Data.
	MasterKeyFile string
	Cipher        string // cipher suite of new data keys: SM4-GCM or AES-256-GCM
	// PKCS#11 token holding hardware keys; empty module and token mean none.
	PKCS11Module, PKCS11Token, PKCS11PIN string
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
		{"lang", "LANG", "zh-CN", "language of human output: zh-CN or en"},
		{"master-key-file", "ZHENGZHAO_MASTER_KEY_FILE", "", "master key file (default DATA/master.key; created on first start, mode 0600)"},
		{"cipher", "ZHENGZHAO_CIPHER", "SM4-GCM", "cipher of new data keys: SM4-GCM or AES-256-GCM"},
		{"pkcs11-module", "ZHENGZHAO_PKCS11_MODULE", "", "PKCS#11 module (absolute path, e.g. /usr/lib/softhsm/libsofthsm2.so)"},
		{"pkcs11-token", "ZHENGZHAO_PKCS11_TOKEN", "", "label of the PKCS#11 token"},
		{"pkcs11-pin", "ZHENGZHAO_PKCS11_PIN", "", "user PIN of the token (prefer the environment: flags show in ps)"},
	}
}

// Bind registers the settings as flags whose defaults come from the
// environment.
func Bind(fs *pflag.FlagSet, c *Config) {
	targets := map[string]*string{"data": &c.Data, "db": &c.DB, "addr": &c.Addr, "lang": &c.Lang,
		"master-key-file": &c.MasterKeyFile, "cipher": &c.Cipher,
		"pkcs11-module": &c.PKCS11Module, "pkcs11-token": &c.PKCS11Token, "pkcs11-pin": &c.PKCS11PIN}
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
	if _, err := envelope.ParseSuite(c.Cipher); err != nil {
		return fmt.Errorf("--cipher %q: use SM4-GCM or AES-256-GCM", c.Cipher)
	}
	if (c.PKCS11Module == "") != (c.PKCS11Token == "") {
		return fmt.Errorf("--pkcs11-module and --pkcs11-token go together")
	}
	if c.MasterKeyFile == "" && strings.TrimSpace(c.Data) == "" {
		return fmt.Errorf("--master-key-file is empty and there is no --data directory to keep it in")
	}
	return nil
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
