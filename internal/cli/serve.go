package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

type serveOptions struct {
	demo     bool
	addrFile string
}

func (a *app) serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the platform (API, docs, probes, metrics)",
		Long: `serve opens the store, applies pending migrations and serves:
  /api/v1/…              the REST API (OpenAPI 3.1 at /api/v1/openapi.json)
  /api/docs              API documentation (Redoc, served from the binary)
  /tlog/…                the audit log as C2SP tlog-tiles, with witness cosignatures
  /healthz  /readyz      liveness (process up) and readiness (store reachable)
  /metrics               Prometheus metrics
and delivers outbox events to the configured webhook and NATS JetStream
(docs/notify.md). With --tls-cert-file and --tls-key-file it serves HTTPS and
picks up a renewed certificate without a restart. It stops cleanly on SIGINT
or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context(), o) },
	}
	cmd.Flags().BoolVar(&o.demo, "demo", false, "create demo organizations and one token per role, print them, then serve")
	cmd.Flags().StringVar(&o.addrFile, "addr-file", "", "write the address actually listened on to this file (useful with port 0)")
	return cmd
}

func (a *app) demoCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve with demo data: organizations, one token per role, curl examples",
		Long: `demo is serve --demo: it creates the platform organization, two issuers and a
using unit (once; running it again keeps them), prints one fresh token per role
with ready-to-paste curl examples, and serves until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.demo = true
			a.cfg.HolderDemoLogin = true // the demo's holders sign in by naming themselves
			return a.serve(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.addrFile, "addr-file", "", "write the address actually listened on to this file (useful with port 0)")
	return cmd
}

func (a *app) serve(ctx context.Context, o serveOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logOut := server.NewLogWriter(a.stderr) // requests must not wait for the log's writes
	defer logOut.Close()
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The address is taken before the store is created, migrated or seeded:
	// a port in use must not leave a new data directory and demo tokens
	// nobody saw behind. Holding the socket also means no other process
	// takes it while the store opens.
	ln, err := a.listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	// Status lists are published below the address actually bound (port 0
	// picks one) unless --public-url says otherwise.
	a.listening, a.demo = ln.Addr().String(), o.demo
	p, migrated, done, err := a.openPlatform(ctx)
	if err != nil {
		return err
	}
	defer done()
	db := p.DB
	if migrated > 0 {
		log.Info("migrations applied", "count", migrated, "dialect", db.Dialect())
	}
	var seeded *demoData
	if o.demo {
		if seeded, err = seedDemo(ctx, p); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	outbox, closeSinks, err := a.notifier(p, log, reg)
	if err != nil {
		return err
	}
	defer closeSinks()
	handler := a.handler(p, log, reg)

	if a.cfg.PprofAddr != "" {
		stopProfiling, err := server.Profiling(ctx, a.cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopProfiling()
	}

	// HTTPS when a certificate is configured (R-SEC-1); plain HTTP is for
	// the loopback interface or behind a proxy that terminates TLS.
	scheme := "http"
	var tlsConfig *tls.Config
	if a.cfg.TLSCertFile != "" {
		if tlsConfig, err = server.TLSConfig(a.cfg.TLSCertFile, a.cfg.TLSKeyFile, log); err != nil {
			return err
		}
		scheme, handler = "https", server.HSTS(handler)
	}

	addr := ln.Addr().String()
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, []byte(addr+"\n")); err != nil {
			return fmt.Errorf("--addr-file: %w", err)
		}
	}
	base := scheme + "://" + addr
	log.Info("listening", "addr", addr, "scheme", scheme, "store", string(db.Dialect()))
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tlsConfig == nil && !tcp.IP.IsLoopback() {
		log.Warn("serving plain HTTP beyond the loopback interface: tokens and license data cross the network unencrypted; " +
			"set --tls-cert-file and --tls-key-file, or terminate TLS in a proxy in front")
	}
	if seeded != nil {
		if err := a.printDemo(seeded, base, db); err != nil {
			// The server is up and serving; losing the summary on a closed
			// stdout is no reason to stop it.
			log.Warn("demo summary not written", "error", err.Error())
		}
	} else if !a.json {
		fmt.Fprintln(a.stdout, a.t("cli.listening", map[string]any{"URL": base}))
	}

	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The outbox worker stops with the server; an attempt under way is
	// abandoned and its lease brings it back to whichever process is up.
	workCtx, stopWork := context.WithCancel(ctx)
	workDone := make(chan struct{})
	defer func() { stopWork(); <-workDone }()
	if sinks := outbox.Sinks(); len(sinks) > 0 {
		log.Info("delivering outbox events", "sinks", sinks, "upstream", a.cfg.Upstream)
	} else {
		log.Info("no outbox sink configured: events stay queued")
	}
	go func() { outbox.Run(workCtx); close(workDone) }()
	// The audit integrator stops with the server too; entries committed
	// meanwhile are integrated by done() on the way out, or by whichever
	// process integrates next (docs/audit.md).
	integrated := make(chan struct{})
	defer func() { stopWork(); <-integrated }()
	integrator := &auditlog.Integrator{Store: db, OnError: func(err error) { log.Error("audit integration failed", "error", err.Error()) }}
	go func() { integrator.Run(workCtx); close(integrated) }()
	// Licenses past their validity expire by themselves; every process
	// runs the loop, and a license expires once (docs/licenses.md).
	expiring := make(chan struct{})
	defer func() { stopWork(); <-expiring }()
	go func() {
		p.Licenses.RunExpiry(workCtx, 30*time.Second, func(err error) { log.Error("license expiry failed", "error", err.Error()) })
		close(expiring)
	}()

	// Issuer transfer jobs run in every process too; a job's lease keeps
	// two processes from running it at once (docs/licenses.md).
	transferring := make(chan struct{})
	defer func() { stopWork(); <-transferring }()
	go func() {
		p.Licenses.RunTransfers(workCtx, runnerID(), 30*time.Second, func(err error) { log.Error("license transfer failed", "error", err.Error()) })
		close(transferring)
	}()

	// Uploaded import jobs run in every process too; a job's lease keeps
	// two processes from running it at once (docs/import.md).
	importing := make(chan struct{})
	defer func() { stopWork(); <-importing }()
	go func() {
		importer.Runner{Store: p.Licenses, Owner: runnerID(), OnError: func(err error) { log.Error("import failed", "error", err.Error()) }}.
			Run(workCtx, importPoll)
		close(importing)
	}()

	// Redemption records are purged once their payloads have expired; every
	// process runs the loop, and a record is deleted once (docs/presentations.md).
	purging := make(chan struct{})
	defer func() { stopWork(); <-purging }()
	go func() {
		p.Presentations.RunPurge(workCtx, time.Minute, func(err error) { log.Error("redemption purge failed", "error", err.Error()) })
		close(purging)
	}()

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from tlsConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// importPoll is how often a serve process looks for uploaded import jobs
// to run: one query, and an upload waits at most this long to start.
const importPoll = 2 * time.Second

// listen opens the configured address; the errors a newcomer meets (a port
// in use, a port that needs privileges) say to choose another with --addr.
func (a *app) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, a.msgErr(ExitInvalid, "cli.listen.in-use", map[string]any{"Addr": a.cfg.Addr})
	case errors.Is(err, syscall.EACCES):
		return nil, a.msgErr(ExitInvalid, "cli.listen.denied", map[string]any{"Addr": a.cfg.Addr})
	}
	return nil, fmt.Errorf("cannot listen on %s (use --addr to choose another address): %w", a.cfg.Addr, err)
}

// handler is the complete HTTP handler of the platform p.
func (a *app) handler(p *platform.Platform, log *slog.Logger, reg *prometheus.Registry) http.Handler {
	return p.Web(platform.HTTP{Catalog: a.cat, Log: log, Registry: reg}).Handler
}

// writeFileAtomic writes data so that readers never see a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// storeName describes where the data lives, for the demo banner.
func (a *app) storeName(db *store.DB) string {
	if db.Dialect() == store.Postgres {
		return store.Redact(a.cfg.DB)
	}
	abs, err := filepath.Abs(a.cfg.Data)
	if err != nil {
		return a.cfg.Data
	}
	return abs
}
