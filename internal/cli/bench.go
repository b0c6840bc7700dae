package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/cputime"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/server"
)

// The baselines a bench measures in the same run as the endpoints, served
// by the bench itself on loopback: what the machine does with no platform
// at all, and with nothing but the one SM2 verify a seal verdict cannot do
// without.
const (
	baselineBare = "bare"       // a handler that writes "ok"
	baselineSM2  = "sm2-verify" // a handler that reads the body and verifies one SM2 signature
	// baselineMe is the platform's own bare authenticated handler,
	// GET /api/v1/me with the same token: what a request costs the
	// platform before its capability does anything.
	baselineMe = "me"
)

// benchUseRate is the rate of scoped uses the bench's demo lets its using
// unit make, the most --use-rate allows: the bench measures the uses,
// not the limit.
const (
	benchUseRate  = "10000/s"
	benchUseBurst = 100_000
)

type benchOptions struct {
	url, token, verifyBody string
	db                     string // the bench demo's PostgreSQL; empty: a temporary embedded store
	payloads               int
	endpoints              []string
	connections, requests  int
	duration               time.Duration
	// cpuProfile names the file the CPU profile of the endpoints'
	// measurements (not their baselines', not the warm-ups') is written to.
	cpuProfile string
}

// benchEndpoint is one named endpoint a bench drives.
type benchEndpoint struct {
	name     string
	method   string
	path     string
	auth     bool   // sends the token
	body     bool   // sends the verify body
	redeem   bool   // sends a fresh QR payload each time, with the using unit's token
	use      bool   // asks a scoped use of the demo's matter, with the using unit's token
	baseline string // the baseline it is compared with
}

var benchEndpoints = []benchEndpoint{
	{name: "me", method: http.MethodGet, path: "/api/v1/me", auth: true, baseline: baselineBare},
	{name: "healthz", method: http.MethodGet, path: "/healthz", baseline: baselineBare},
	{name: "verify", method: http.MethodPost, path: "/api/v1/signatures/verify", auth: true, body: true, baseline: baselineSM2},
	{name: "redeem", method: http.MethodPost, path: "/api/v1/presentations/verify", auth: true, redeem: true, baseline: baselineSM2},
	{name: "use", method: http.MethodPost, path: "/api/v1/uses", auth: true, use: true, baseline: baselineMe},
}

// benchResult is one endpoint's figures, as --json prints them.
type benchResult struct {
	Endpoint        string  `json:"endpoint"`
	ReqPerS         float64 `json:"req_per_s"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	Baseline        string  `json:"baseline"`
	BaselineReqPerS float64 `json:"baseline_req_per_s"`
	Ratio           float64 `json:"ratio"`
	// The process's CPU time a request, client and server together,
	// when the bench drives its own demo on a platform that reports it:
	// on a machine loaded by other work the requests a second move with
	// that work, the CPU time a request much less. CPURatio is the
	// baseline's over the endpoint's, the ratio of throughputs on cores
	// of one's own.
	CPUusPerReq         float64 `json:"cpu_us_per_req,omitempty"`
	BaselineCPUusPerReq float64 `json:"baseline_cpu_us_per_req,omitempty"`
	CPURatio            float64 `json:"cpu_ratio,omitempty"`
}

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure the platform's speed"}
	var o benchOptions
	httpCmd := &cobra.Command{
		Use:   "http",
		Short: "Drive HTTP endpoints and compare them with baselines measured in the same run",
		Long: `bench http drives named endpoints with concurrent keep-alive connections and
compares each with a baseline the bench serves itself on loopback in the same
run: "bare" (a handler that writes ok) for me and healthz, "sm2-verify" (a
handler that reads the body and verifies one SM2 signature) for verify and
redeem. redeem (only on the demo) redeems a new QR payload of the demo's
license each time, as its using unit: each answer must be valid, so each
commits a redemption record and an audit entry; --payloads are signed
before the measurements and bound the requests of redeem. use (only on the
demo) is the scoped use of a license (POST /api/v1/uses) of the demo bank's
matter for the company the demo issued a business license to: each answer
must return the license, so each commits its license.used audit entry; its
baseline "me" is the platform's own bare authenticated handler
(GET /api/v1/me) with the same token, and the audit log is integrated
meanwhile as serve integrates it. Each
endpoint is measured right after its baseline, so that a busy machine slows
both alike; read the ratio, not the absolute figures. On its own demo the bench
also reports the process's CPU time a request (client and server together) and
the baseline's over it (cpu ratio): on a machine loaded by other work the
requests a second move with that work, the CPU time a request much less.

Without --url it starts a demo platform of its own on loopback (a temporary
embedded store, the demo organizations, one seal and one signed document) and
removes it afterwards; with --db the demo is written into that PostgreSQL
database instead, which must be empty and is left as the bench leaves it. With --url it drives a running server: me and verify
need --token, verify needs --verify-body (a JSON body of
POST /api/v1/signatures/verify).

Each measurement stops after --duration or --requests, whichever comes first.
Against http URLs the bench's client is a plain HTTP/1.1 loop of its own, one
goroutine a keep-alive connection, which costs the shared machine a fraction
of net/http's transport; each answer is still read whole and checked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.benchHTTP(cmd.Context(), o) },
	}
	f := httpCmd.Flags()
	f.StringVar(&o.url, "url", "", "base URL of a running server (empty: start a demo on loopback)")
	f.StringVar(&o.token, "token", "", "bearer token for me and verify against --url")
	f.StringVar(&o.verifyBody, "verify-body", "", "file with the JSON body of a seal verification, for verify against --url")
	f.StringSliceVar(&o.endpoints, "endpoints", []string{"me", "healthz", "verify"}, "endpoints to drive: me, healthz, verify, redeem, use")
	f.StringVar(&o.db, "db", "", "PostgreSQL DSN of an empty database for the bench's own demo (empty: a temporary embedded store)")
	f.IntVar(&o.payloads, "payloads", 120_000, "QR payloads signed beforehand for redeem (1 to 10000000)")
	f.IntVar(&o.connections, "connections", 64, "concurrent connections (1 to 1024)")
	f.DurationVar(&o.duration, "duration", 5*time.Second, "time limit of each measurement (at most 10m)")
	f.IntVar(&o.requests, "requests", 1_000_000, "request limit of each measurement (at most 100000000)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write the CPU profile of the endpoints' measurements, client and server, without their baselines' (pprof) to this file")
	cmd.AddCommand(httpCmd, a.benchImportCommand())
	return cmd
}

func (o benchOptions) validate() ([]benchEndpoint, error) {
	if o.connections < 1 || o.connections > 1024 {
		return nil, usageErr("--connections %d: from 1 to 1024", o.connections)
	}
	if o.duration <= 0 || o.duration > 10*time.Minute {
		return nil, usageErr("--duration %s: more than 0 and at most 10m", o.duration)
	}
	if o.requests < 1 || o.requests > 100_000_000 {
		return nil, usageErr("--requests %d: from 1 to 100000000", o.requests)
	}
	if o.payloads < 1 || o.payloads > 10_000_000 {
		return nil, usageErr("--payloads %d: from 1 to 10000000", o.payloads)
	}
	var eps []benchEndpoint
	for _, name := range o.endpoints {
		i := slices.IndexFunc(benchEndpoints, func(e benchEndpoint) bool { return e.name == name })
		if i < 0 {
			return nil, usageErr("--endpoints: unknown endpoint %q; use me, healthz, verify, redeem or use", name)
		}
		e := benchEndpoints[i]
		if o.url != "" && e.auth && o.token == "" {
			return nil, usageErr("--endpoints %s against --url needs --token", name)
		}
		if o.url != "" && (e.redeem || e.use) {
			return nil, usageErr("--endpoints %s needs the bench's own demo, not --url: it prepares what the requests name", name)
		}
		if o.url != "" && e.body && o.verifyBody == "" {
			return nil, usageErr("--endpoints %s against --url needs --verify-body", name)
		}
		eps = append(eps, e)
	}
	if len(eps) == 0 {
		return nil, usageErr("--endpoints is empty")
	}
	if o.url != "" && o.db != "" {
		return nil, usageErr("--db is where the bench's own demo lives: not with --url")
	}
	return eps, nil
}

func (a *app) benchHTTP(ctx context.Context, o benchOptions) error {
	eps, err := o.validate()
	if err != nil {
		return err
	}
	target := strings.TrimSuffix(o.url, "/")
	token, body := o.token, []byte(nil)
	if o.verifyBody != "" {
		if body, err = readInput(o.verifyBody); err != nil {
			return err
		}
	}
	var demo benchTarget
	if target == "" {
		redeem := slices.ContainsFunc(eps, func(e benchEndpoint) bool { return e.redeem })
		uses := slices.ContainsFunc(eps, func(e benchEndpoint) bool { return e.use })
		d, stop, err := a.benchDemo(ctx, o.db, redeem, uses, o.payloads)
		if err != nil {
			return fmt.Errorf("bench demo: %w", err)
		}
		defer stop()
		demo = d
		target, token, body = demo.url, demo.token, demo.verifyBody
	}
	base, stopBase, err := serveBaselines(body)
	if err != nil {
		return err
	}
	defer stopBase()

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.connections, MaxIdleConnsPerHost: o.connections,
		MaxConnsPerHost: o.connections, DisableCompression: true, IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	var results []benchResult
	for _, e := range eps {
		req := benchRequest{method: e.method, url: target + e.path}
		baseReq := benchRequest{method: http.MethodGet, url: base + "/bare"}
		if e.auth {
			req.token = token
		}
		if e.body {
			req.body = body
			baseReq = benchRequest{method: http.MethodPost, url: base + "/sm2", body: body}
		}
		if e.redeem {
			req.token, req.bodies, req.want = demo.unitToken, &bodyQueue{items: demo.redeemBodies}, []byte(`{"valid":true`)
			baseReq = benchRequest{method: http.MethodPost, url: base + "/sm2", body: demo.redeemBodies[0]}
		}
		if e.use {
			// Each answer must return the license: a use that found none
			// or was refused measures something else.
			req.token, req.body, req.want = demo.unitToken, demo.useBody, []byte(`"licenses":[{`)
		}
		if e.baseline == baselineMe {
			baseReq = benchRequest{method: http.MethodGet, url: target + "/api/v1/me", token: req.token}
		}
		bm, err := drive(ctx, client, baseReq, o, "")
		if err != nil {
			return fmt.Errorf("baseline %s: %w", e.baseline, err)
		}
		m, err := drive(ctx, client, req, o, o.profilePath(e, len(eps)))
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", e.name, err)
		}
		r := benchResult{Endpoint: e.name, ReqPerS: round(m.reqPerS, 1), P50ms: round(m.p50, 3), P99ms: round(m.p99, 3),
			Baseline: e.baseline, BaselineReqPerS: round(bm.reqPerS, 1), Ratio: round(m.reqPerS/bm.reqPerS, 3)}
		if o.url == "" && m.cpuPerReq > 0 && bm.cpuPerReq > 0 { // against --url the server's CPU is not this process's
			r.CPUusPerReq, r.BaselineCPUusPerReq, r.CPURatio = round(m.cpuPerReq, 1), round(bm.cpuPerReq, 1), round(bm.cpuPerReq/m.cpuPerReq, 3)
		}
		results = append(results, r)
	}
	return a.printBench(results)
}

// profilePath is where the CPU profile of endpoint e's measurement goes:
// --cpuprofile itself when one endpoint is driven, else that name with
// the endpoint's after a dot, one profile an endpoint. Empty: none.
func (o benchOptions) profilePath(e benchEndpoint, n int) string {
	if o.cpuProfile == "" || n == 1 {
		return o.cpuProfile
	}
	return o.cpuProfile + "." + e.name
}

func (a *app) printBench(results []benchResult) error {
	if a.json {
		enc := json.NewEncoder(a.stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "endpoint\treq/s\tp50 ms\tp99 ms\tbaseline\tbaseline req/s\tratio\tcpu µs/req\tbaseline cpu µs/req\tcpu ratio\t")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%.0f\t%.3f\t%.3f\t%s\t%.0f\t%.3f\t%s\t%s\t%s\t\n", r.Endpoint, r.ReqPerS, r.P50ms, r.P99ms, r.Baseline, r.BaselineReqPerS, r.Ratio,
			orDash(r.CPUusPerReq, 1), orDash(r.BaselineCPUusPerReq, 1), orDash(r.CPURatio, 3))
	}
	return w.Flush()
}

// orDash formats x with digits decimals, or "-" when it was not measured.
func orDash(x float64, digits int) string {
	if x == 0 {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

type benchRequest struct {
	method, url, token string
	body               []byte
	// bodies, when set, are sent in turn instead of body, each once: a
	// redemption uses its payload up. The measurement ends when they run
	// out.
	bodies *bodyQueue
	// want, when set, must be in the answer besides the 200, which a
	// refusal of a redemption answers too.
	want []byte
}

// bodyQueue hands out request bodies, each once, to all connections.
type bodyQueue struct {
	items [][]byte
	next  atomic.Int64
}

// errNoBodies ends a connection's measurement: the bodies ran out.
var errNoBodies = errors.New("no request body left")

func (q *bodyQueue) pop() ([]byte, error) {
	i := q.next.Add(1) - 1
	if i >= int64(len(q.items)) {
		return nil, errNoBodies
	}
	return q.items[i], nil
}

type measurement struct {
	reqPerS, p50, p99 float64 // p50 and p99 in milliseconds
	cpuPerReq         float64 // the process's CPU time a request in µs; 0 when not reported
}

// drive sends req over o.connections connections until o.duration has
// passed or o.requests were sent, after a short warm-up that opens the
// connections and fills the caches. Any answer but 200 fails the
// measurement: a bench of errors measures nothing. When profile is set,
// the measurement (not the warm-up) is CPU-profiled into that file.
func drive(ctx context.Context, client *http.Client, req benchRequest, o benchOptions, profile string) (measurement, error) {
	warm := o
	warm.duration = min(o.duration/5, 500*time.Millisecond)
	warm.requests = min(o.requests, 20*o.connections)
	// A hung server must not hang the bench: the connections close when
	// ctx ends.
	ctx, cancel := context.WithTimeout(ctx, warm.duration+o.duration+2*benchDeadline)
	defer cancel()
	conns := make([]benchConn, o.connections)
	for i := range conns {
		c, err := newBenchConn(client, req)
		if err != nil {
			return measurement{}, err
		}
		conns[i] = c
		defer c.close()
	}
	if _, _, err := load(ctx, cancel, conns, req, warm); err != nil {
		return measurement{}, err
	}
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return measurement{}, err
	}
	cpu0, cpu := cputime.Process()
	lat, elapsed, err := load(ctx, cancel, conns, req, o)
	cpu1, _ := cputime.Process()
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return measurement{}, err
	}
	var cpuPerReq float64
	if cpu {
		cpuPerReq = float64((cpu1 - cpu0).Microseconds()) / float64(len(lat))
	}
	slices.Sort(lat)
	pct := func(p int) float64 {
		return float64(lat[min(len(lat)-1, len(lat)*p/100)]) / float64(time.Millisecond)
	}
	return measurement{reqPerS: float64(len(lat)) / elapsed.Seconds(), p50: pct(50), p99: pct(99), cpuPerReq: cpuPerReq}, nil
}

// load sends requests on every connection, each its own goroutine, and
// returns every request's latency. The first failure cancels ctx, which
// ends the others.
func load(ctx context.Context, cancel func(), conns []benchConn, req benchRequest, o benchOptions) ([]time.Duration, time.Duration, error) {
	var (
		sent     atomic.Int64
		mu       sync.Mutex
		all      []time.Duration
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.duration)
	for _, c := range conns {
		wg.Go(func() {
			var lat []time.Duration
			for ctx.Err() == nil && time.Now().Before(deadline) && sent.Add(1) <= int64(o.requests) {
				t0 := time.Now()
				if err := once(ctx, c, req); errors.Is(err, errNoBodies) {
					break
				} else if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if len(all) == 0 {
		return nil, 0, errors.New("no request completed")
	}
	return all, elapsed, nil
}

// once sends req on c, with the next of its bodies when it has several.
func once(ctx context.Context, c benchConn, req benchRequest) error {
	body := req.body
	if req.bodies != nil {
		b, err := req.bodies.pop()
		if err != nil {
			return err
		}
		body = b
	}
	return c.do(ctx, req, body)
}

// serveBaselines serves the two baselines on loopback: GET /bare and
// POST /sm2, which reads the body (the same body verify gets) and verifies
// one SM2 signature made with a key of its own.
func serveBaselines(body []byte) (string, func(), error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	msg := body
	if len(msg) == 0 {
		msg = []byte("zhengzhao bench")
	}
	sig, err := key.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bare", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n")) //nolint:errcheck // a client gone mid-bench changes nothing
	})
	mux.HandleFunc("POST /sm2", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg, sig) {
			http.Error(w, "signature does not verify", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"valid":true}`)) //nolint:errcheck // a client gone mid-bench changes nothing
	})
	return serveLoopback(mux)
}

// serveLoopback serves h on a free loopback port until stop is called.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }() //nolint:errcheck // Serve returns ErrServerClosed on stop
	return "http://" + ln.Addr().String(), func() { srv.Close(); <-done }, nil
}

// benchTarget is a demo platform the bench started.
type benchTarget struct {
	url, token string
	verifyBody []byte
	// unitToken is the using unit's, and redeemBodies the bodies of
	// redemptions of distinct payloads, when redeem is driven; useBody the
	// body of a scoped use that returns a license, when use is.
	unitToken    string
	redeemBodies [][]byte
	useBody      []byte
}

// benchDemo starts a demo platform on loopback in a temporary directory
// (its store in db when that is set), with a seal and one document signed
// with it; stop removes everything but db. Its access log goes to a file,
// as a server's would, so that the bench pays for logging too, and its
// audit log is integrated as serve integrates it.
func (a *app) benchDemo(ctx context.Context, db string, redeem, uses bool, payloads int) (benchTarget, func(), error) {
	dir, err := os.MkdirTemp("", "zhengzhao-bench-*")
	if err != nil {
		return benchTarget{}, nil, err
	}
	cleanups := []func(){func() { os.RemoveAll(dir) }}
	stop := func() {
		for _, f := range slices.Backward(cleanups) {
			f()
		}
	}
	fail := func(err error) (benchTarget, func(), error) { stop(); return benchTarget{}, nil, err }

	b := *a
	b.stderr = io.Discard // the throwaway store's new master key is no news
	b.cfg.Data, b.cfg.DB, b.cfg.MasterKeyFile, b.cfg.PKCS11Module, b.cfg.PKCS11Token = dir, db, "", "", ""
	b.cfg.UseRate, b.cfg.UseBurst = benchUseRate, benchUseBurst
	p, done, err := b.platform(ctx)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, done)
	integrateCtx, stopIntegrating := context.WithCancel(ctx)
	integrated := make(chan struct{})
	go func() { (&auditlog.Integrator{Store: p.DB}).Run(integrateCtx); close(integrated) }()
	cleanups = append(cleanups, func() { stopIntegrating(); <-integrated })
	d, err := seedDemo(ctx, p)
	if err != nil {
		return fail(err)
	}
	actors := map[authz.Role]*authz.Actor{}
	var token string
	for _, t := range d.Tokens {
		if t.Role == authz.PlatformAdmin {
			token = t.Token
		}
		if actor, err := p.Orgs.Authenticate(ctx, t.Token); err == nil {
			actors[t.Role] = actor
		} else {
			return fail(err)
		}
	}
	body, err := benchSignature(ctx, p.Seals, actors)
	if err != nil {
		return fail(fmt.Errorf("sign a document: %w", err))
	}
	logFile, err := os.Create(filepath.Join(dir, "access.log"))
	if err != nil {
		return fail(err)
	}
	logOut := server.NewLogWriter(logFile)
	cleanups = append(cleanups, func() { logOut.Close(); logFile.Close() })
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	url, stopServer, err := serveLoopback(b.handler(p, log, prometheus.NewRegistry()))
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, stopServer)
	target := benchTarget{url: url, token: token, verifyBody: body}
	if redeem {
		if target.unitToken, target.redeemBodies, err = benchPayloads(ctx, p, d, url, actors[authz.Issuer], payloads); err != nil {
			return fail(fmt.Errorf("QR payloads: %w", err))
		}
	}
	if uses {
		if target.unitToken, target.useBody, err = benchUse(ctx, d, url); err != nil {
			return fail(fmt.Errorf("scoped use: %w", err))
		}
	}
	return target, stop, nil
}

// benchIssue issues the demo's sample business license through the API as
// the demo's issuer, and returns it with the using unit's token.
func benchIssue(ctx context.Context, d *demoData, url string) (string, api.License, error) {
	var issuerToken, unitToken string
	for _, t := range d.Tokens {
		switch t.Role {
		case authz.Issuer:
			issuerToken = t.Token
		case authz.UsingUnit:
			unitToken = t.Token
		}
	}
	if issuerToken == "" || unitToken == "" {
		return "", api.License{}, errors.New("the demo lacks an issuer or a using unit")
	}
	var l api.License
	if err := benchPost(ctx, url+"/api/v1/licenses", issuerToken, d.Sample, &l); err != nil {
		return "", api.License{}, fmt.Errorf("issue: %w", err)
	}
	return unitToken, l, nil
}

// benchUse issues the demo's sample business license and returns the
// using unit's token and the body of a scoped use of the demo bank's
// matter, which needs that license, for its holder.
func benchUse(ctx context.Context, d *demoData, url string) (string, []byte, error) {
	unitToken, l, err := benchIssue(ctx, d, url)
	if err != nil {
		return "", nil, err
	}
	body, err := json.Marshal(api.UseQuery{Matter: demoMatter, HolderID: l.HolderID})
	return unitToken, body, err
}

// benchPayloads issues a license of the demo's issuer through the API,
// presents it once, and signs n payloads of it that differ by their nonce
// with the platform's presentation key, on every core: a bench of
// redemptions needs a fresh payload for each. It returns the using unit's
// token and the redemption bodies.
func benchPayloads(ctx context.Context, p *platform.Platform, d *demoData, url string, issuer *authz.Actor, n int) (string, [][]byte, error) {
	if issuer == nil {
		return "", nil, errors.New("the demo lacks an issuer")
	}
	unitToken, l, err := benchIssue(ctx, d, url)
	if err != nil {
		return "", nil, err
	}
	first, err := p.Licenses.Present(ctx, issuer, l.ID, license.PresentRequest{Disclose: []string{"name"}, TTL: license.MaxPresentTTL})
	if err != nil {
		return "", nil, err
	}
	plat, err := p.Orgs.Platform(ctx)
	if err != nil {
		return "", nil, err
	}
	signer, _, err := p.Keys.PresentationSigner(ctx, plat.CreditCode, "")
	if err != nil {
		return "", nil, err
	}
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n && errs[w] == nil; i += len(errs) {
				c := first.Claims
				if _, err := rand.Read(c.Nonce[:]); err != nil {
					errs[w] = err
					return
				}
				payload, err := qr.Encode(ctx, c, signer, first.KID)
				if err == nil {
					bodies[i], err = json.Marshal(api.RedeemPresentation{Payload: payload, Matter: "性能测试"})
				}
				errs[w] = err
			}
		})
	}
	wg.Wait()
	return unitToken, bodies, errors.Join(errs...)
}

// benchPost posts body with token and decodes the 201 answer into out.
func benchPost(ctx context.Context, url, token string, body []byte, out any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// benchSignature makes a seal of the demo's seal-using organization and
// signs a document of about 2 KB with it, the way staff do through the API
// (apply, approve, set the PIN, request a use, approve it, sign), and
// returns the body of its verification.
func benchSignature(ctx context.Context, seals *seal.Service, actors map[authz.Role]*authz.Actor) ([]byte, error) {
	admin, keeper, approver := actors[authz.OrgAdmin], actors[authz.SealKeeper], actors[authz.SealApprover]
	if admin == nil || keeper == nil || approver == nil || admin.Org != keeper.Org {
		return nil, errors.New("the demo lacks an org admin and a seal keeper of one organization, or a seal approver")
	}
	app, err := seals.Apply(ctx, admin, seal.NewApplication{Org: admin.Org, Action: seal.Make, SealKind: seal.Contract,
		Name: "合同专用章（性能测试）", Reason: "性能测试", Justification: "zhengzhao bench http", Image: seal.SampleImage(),
		WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID}, Policy: seal.OneApprover})
	if err != nil {
		return nil, err
	}
	if app, err = seals.Decide(ctx, approver, app.ID, true, ""); err != nil {
		return nil, err
	}
	const pin = "480135"
	if _, err := seals.SetPIN(ctx, keeper, app.SealID, "", pin); err != nil {
		return nil, err
	}
	doc := bytes.Repeat([]byte("本合同一式两份，双方各执一份，自双方盖章之日起生效。"), 30)
	digest := sm3.Sum(doc)
	use, err := seals.RequestUse(ctx, keeper, app.SealID, hex.EncodeToString(digest[:]), "性能测试合同", "zhengzhao bench http")
	if err != nil {
		return nil, err
	}
	if _, err := seals.DecideUse(ctx, approver, use.ID, true, ""); err != nil {
		return nil, err
	}
	signed, err := seals.Sign(ctx, keeper, app.SealID, seal.SignInput{RequestID: use.ID, PIN: pin, Document: doc})
	if err != nil {
		return nil, err
	}
	if v := seals.Verify(ctx, signed.Signature, doc, nil); !v.Valid {
		return nil, fmt.Errorf("the bench's own signature does not verify: %+v", v.Checks)
	}
	return json.Marshal(map[string][]byte{"signature": signed.Signature, "document": doc})
}
