// Package cli is the zhengzhao command line: it loads the configuration,
// opens the store and the PKCS#11 token, has internal/platform build the
// object graph over them, and serves it or runs one command on it.
package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/config"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// Exit codes. Verification commands exit ExitInvalid when what they check
// is not valid.
const (
	ExitOK      = 0
	ExitInvalid = 1 // a failure, or (for checks) "not valid"
	ExitUsage   = 2 // a usage or input error
)

// app is the state shared by the commands of one invocation.
type app struct {
	cfg    config.Config
	cat    *i18n.Catalog
	stdout io.Writer
	stderr io.Writer
	json   bool
	// listening is the address serve listens on, once it does.
	listening string
	// demo: the process serves the demo (its public URL is where it
	// listens, whatever was stored).
	demo bool
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "exit status " + fmt.Sprint(e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// msgError is an error worded by the message catalog, so that it is
// printed in the language of the invocation; Error gives its English text.
type msgError struct {
	id   string
	data map[string]any
	en   string
}

func (e *msgError) Error() string { return e.en }

// msgErr returns the catalog message id as an error that exits with code.
func (a *app) msgErr(code int, id string, data map[string]any) error {
	return &exitError{code: code, err: &msgError{id: id, data: data, en: a.cat.T(i18n.EN, id, data, "")}}
}

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cat, err := i18n.New()
	if err != nil {
		fmt.Fprintln(stderr, "zhengzhao:", err)
		return ExitInvalid
	}
	a := &app{cat: cat, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	if l, ok := langArg(args); ok {
		// Cobra finds the command, and refuses an unknown one or a bad flag,
		// before --lang is parsed: those errors must speak it too.
		a.cfg.Lang = l
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	err = a.cobraError(err)
	code := ExitInvalid
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case apperr.KindOf(err) == apperr.Invalid, isCobraUsage(err):
		code = ExitUsage
	}
	if ee == nil || ee.err != nil {
		fmt.Fprintln(stderr, a.describe(err))
	}
	return code
}

// langArg finds a valid --lang value among args.
func langArg(args []string) (string, bool) {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		v, ok := strings.CutPrefix(arg, "--lang=")
		if !ok && arg == "--lang" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if _, valid := i18n.Lookup(v); ok && valid {
			return v, true
		}
	}
	return "", false
}

// isCobraUsage recognises cobra's own usage errors (unknown flag, arguments).
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "accepts ", "requires ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// describe renders an error as one line in one language: the chosen one
// for what the catalog words, English for the text of an error the catalog
// does not know.
func (a *app) describe(err error) string {
	lang := a.cfg.Language()
	prefix := func(l i18n.Lang) string { return "zhengzhao: " + a.cat.T(l, "cli.error", nil, "error") + ": " }
	var me *msgError
	if errors.As(err, &me) {
		return prefix(lang) + oneLine(a.cat.T(lang, me.id, me.data, me.en))
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return prefix(lang) + oneLine(a.cat.T(lang, ce.ID, ce.Data, ce.Error()))
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return prefix(i18n.EN) + oneLine(err.Error())
	}
	parts := []string{a.cat.T(lang, "kind."+string(ae.Kind), nil, string(ae.Kind))}
	for _, f := range ae.Fields {
		parts = append(parts, a.cat.T(lang, "cli.invalid-field", map[string]any{
			"Field": f.Field, "Rule": f.Rule, "Message": a.cat.T(lang, "rule."+f.Rule, f.MessageParams(), f.Detail),
		}, ""))
	}
	sep := "; "
	if lang == i18n.ZH {
		sep = "；"
	}
	return prefix(lang) + oneLine(strings.Join(parts, sep))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "zhengzhao",
		Short: "电子证照与政务电子印章平台 / electronic licenses and government e-seals",
		Long: `zhengzhao runs the platform for government electronic licenses (电子证照) and
electronic seals (政务电子印章): one binary, the embedded SQLite store by default,
PostgreSQL for a province.

Start here:  zhengzhao demo      (demo data, tokens and curl examples)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := i18n.Lookup(a.cfg.Lang); !ok {
				bad := a.cfg.Lang
				a.cfg.Lang = string(config.LangFromEnv()) // the refusal speaks the locale's language
				return a.msgErr(ExitUsage, "cli.usage.lang", map[string]any{"Value": bad})
			}
			if err := a.cfg.Validate(boundGroups(cmd)...); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return nil
		},
	}
	config.Bind(root.PersistentFlags(), &a.cfg, config.Global)
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print exactly one JSON object on stdout")
	root.AddCommand(a.serveCommand(), a.demoCommand(), a.migrateCommand(), a.orgCommand(), a.tokenCommand(), a.keyCommand(), a.caCommand(), a.sealCommand(), a.catalogCommand(), a.useCommand(), a.licenseCommand(), a.verifyQRCommand(), a.auditCommand(), a.outboxCommand(),
		a.backupCommand(), a.restoreCommand(), a.checkCommand(), a.benchCommand(), a.importCommand(), a.versionCommand())
	a.bindSettings(root)
	root.SetFlagErrorFunc(a.flagError)
	wrapArgs(root, a)
	return root
}

// settingsOf says which groups of settings each command reads; its
// subcommands inherit them. A command not listed reads only --lang.
func settingsOf() map[string][]config.Group {
	return map[string][]config.Group{
		"serve":              {config.Store, config.HSM, config.Server, config.Seal},
		"demo":               {config.Store, config.HSM, config.Server, config.Seal},
		"migrate":            {config.Store},
		"org":                {config.Store},
		"token":              {config.Store},
		"outbox":             {config.Store},
		"backup":             {config.Store},
		"restore":            {config.Store},
		"key":                {config.Store, config.HSM},
		"ca":                 {config.Store, config.HSM},
		"audit":              {config.Store, config.HSM},
		"catalog":            {config.Store},
		"use":                {config.Store},
		"import":             {config.Store},
		"seal trust-bundle":  {config.Store, config.HSM},
		"seal binding":       {config.Store, config.HSM},
		"license issue":      {config.Store, config.HSM},
		"license get":        {config.Store},
		"license list":       {config.Store},
		"license transition": {config.Store, config.HSM},
		// Offline (--trust) it opens nothing; online it reads the store.
		"license verify":       {config.Store, config.HSM},
		"license trust-bundle": {config.Store, config.HSM},
		"license export":       {config.Store, config.HSM},
		"license transfer":     {config.Store, config.HSM},
		"license present":      {config.Store, config.HSM},
		"license print":        {config.Store, config.HSM},
		// Offline (--trust) it opens nothing; online it reads the store.
		"verify-qr": {config.Store, config.HSM},
	}
}

// bindSettings gives each command the flags of the settings it reads, so
// that help lists those and no server flag appears on an offline check.
func (a *app) bindSettings(root *cobra.Command) {
	settings := settingsOf()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if groups, ok := settings[path]; ok {
			config.Bind(c.PersistentFlags(), &a.cfg, groups...)
			return
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
}

// boundGroups are the groups of settings cmd has flags for: the ones its
// Validate checks.
func boundGroups(cmd *cobra.Command) []config.Group {
	groups := []config.Group{config.Global}
	for flag, g := range map[string]config.Group{"data": config.Store, "pkcs11-module": config.HSM, "addr": config.Server, "seal-validity": config.Seal} {
		if cmd.Flags().Lookup(flag) != nil {
			groups = append(groups, g)
		}
	}
	return groups
}

// open opens the configured store, applies pending migrations and unlocks
// it with the master key.
func (a *app) open(ctx context.Context) (*store.DB, int, error) {
	db, err := store.Open(ctx, a.cfg.DB, a.cfg.Data)
	if err != nil {
		return nil, 0, err
	}
	n, err := db.Migrate(ctx)
	if err == nil {
		err = a.unlock(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, n, nil
}

// closeStore integrates the audit entries waiting for it and closes the
// store. A command that writes while no serve process runs thus leaves an
// integrated log behind (docs/audit.md); when a serve process is running,
// whichever integrator comes first takes the entries. What this command
// wrote is committed already, so an integration that fails is reported and
// left to the next process that opens the store.
func (a *app) closeStore(db *store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
		fmt.Fprintln(a.stderr, a.t("cli.audit.not-integrated", map[string]any{"Error": err.Error()}))
	}
	db.Close()
}

// unlock loads the master key, creating it on a store that has none yet,
// and unlocks the store with it.
func (a *app) unlock(ctx context.Context, db *store.DB) error {
	path := a.cfg.MasterKeyPath()
	m, err := envelope.LoadMasterKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := db.MasterKeyID(ctx)
		if err != nil {
			return err
		}
		if id != "" {
			return fmt.Errorf("master key file %s is missing; this store was set up with master key %s: restore the file or point --master-key-file at it", path, id)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("master key directory: %w", err)
		}
		if err := envelope.GenerateMasterKeyFile(path, rand.Reader); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "*** %s ***\n", a.t("cli.master-key.generated", map[string]any{"Path": path}))
		m, err = envelope.LoadMasterKeyFile(path)
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := db.Unlock(ctx, m, a.cfg.Suite(), rand.Reader); err != nil {
		var mm *store.MasterKeyMismatchError
		if errors.As(err, &mm) {
			return fmt.Errorf("master key file %s: %w", path, err)
		}
		return err
	}
	return nil
}

// printJSON prints v as the one JSON object of a --json command.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// print prints the result of a command, the one way every command does:
// with --json, v as the one JSON object (an api type where the API has
// the same thing); otherwise what human writes for people.
func (a *app) print(v any, human func(w io.Writer) error) error {
	if a.json {
		return a.printJSON(v)
	}
	return human(a.stdout)
}

// printLine prints the result of a command: v with --json, else one line.
func (a *app) printLine(v any, line string) error {
	return a.print(v, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, line)
		return err
	})
}

// printItems prints a list: body with --json, else one line per item and,
// when there is a next page, how to get it.
func printItems[S, T any](a *app, body api.Page[T], items []S, line func(S) string) error {
	return a.print(body, func(w io.Writer) error {
		for _, x := range items {
			fmt.Fprintln(w, line(x))
		}
		if body.NextCursor != "" {
			fmt.Fprintln(w, a.t("cli.next-page", map[string]any{"Cursor": body.NextCursor}))
		}
		return nil
	})
}

func (a *app) t(id string, data map[string]any) string {
	return a.cat.T(a.cfg.Language(), id, data, "")
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations embedded in this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, n, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			line := a.t("cli.migrated", map[string]any{"N": n})
			if n == 0 {
				line = a.t("cli.up-to-date", nil)
			}
			return a.printLine(map[string]any{"applied": n, "dialect": db.Dialect()}, line)
		},
	}
}

// buildVersion is the module version the binary was built from.
func buildVersion() (version, goVersion string) {
	version = "devel"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	return version, info.GoVersion
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, gv := buildVersion()
			return a.printLine(map[string]string{"version": v, "go": gv}, fmt.Sprintf("zhengzhao %s (%s)", v, gv))
		},
	}
}
