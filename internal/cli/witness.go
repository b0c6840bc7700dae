package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
)

// auditWitnessKeyCommand is `audit witness-key`.
func (a *app) auditWitnessKeyCommand() *cobra.Command {
	var name, keyFile string
	cmd := &cobra.Command{
		Use:   "witness-key --name NAME --key-file FILE",
		Short: "Make a witness's Ed25519 key: the signer key into FILE (0600), the verifier key on stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || keyFile == "" {
				return usageErr("--name and --key-file are required")
			}
			skey, vkey, err := auditlog.GenerateWitnessKey(name)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return &exitError{code: ExitUsage, err: fmt.Errorf("witness key file: %w", err)}
			}
			if _, err := fmt.Fprintln(f, skey); err != nil {
				_ = f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return a.print(map[string]string{"verifier_key": vkey, "key_file": keyFile}, func(w io.Writer) error {
				fmt.Fprintln(a.stderr, a.t("cli.witness.key", map[string]any{"File": keyFile}))
				_, err := fmt.Fprintln(w, vkey)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the witness's name, e.g. witness.example.gov.cn")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "file to create with the signer key (refused if it exists)")
	return cmd
}

// auditWitnessCommand is `audit witness`.
func (a *app) auditWitnessCommand() *cobra.Command {
	var o witnessOptions
	cmd := &cobra.Command{
		Use:   "witness --url URL --log-key VKEY --key-file FILE --state FILE",
		Short: "Act as a witness: check that the log's checkpoint extends the last one cosigned, cosign it and submit it",
		Long: `witness fetches the platform's checkpoint (URL/tlog/checkpoint), verifies it with
the log's verifier key, proves from the public tiles that it extends the
checkpoint this witness cosigned last (kept in the state file), cosigns it
(C2SP tlog-cosignature v1) and submits it (POST URL/tlog/cosignature). A
checkpoint that does not extend the last one is refused, nothing is signed,
and the command exits 1. See docs/audit.md, "Witnesses".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.witness(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the platform's public base URL")
	f.StringVar(&o.logKey, "log-key", "", "the log's checkpoint verifier key (zhengzhao audit checkpoint prints it)")
	f.StringVar(&o.keyFile, "key-file", "", "the witness's signer key (zhengzhao audit witness-key)")
	f.StringVar(&o.stateFile, "state", "", "the witness's state: the last checkpoint it cosigned (created on the first run)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of the whole run")
	return cmd
}

type witnessOptions struct {
	url, logKey, keyFile, stateFile string
	timeout                         time.Duration
}

func (a *app) witness(ctx context.Context, o witnessOptions) error {
	src, err := newHTTPLogSource(o.url, "", o.timeout)
	if err != nil {
		return err
	}
	if o.logKey == "" || o.keyFile == "" || o.stateFile == "" {
		return usageErr("--log-key, --key-file and --state are required")
	}
	skey, err := os.ReadFile(o.keyFile)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("witness key file: %w", err)}
	}
	signer, err := auditlog.NewWitnessSigner(string(skey))
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	var prev auditlog.WitnessState
	switch b, err := os.ReadFile(o.stateFile); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return &exitError{code: ExitUsage, err: fmt.Errorf("witness state: %w", err)}
	default:
		if err := json.Unmarshal(b, &prev); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("witness state %s: %w", o.stateFile, err)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	msg, next, err := auditlog.Cosign(ctx, src, o.logKey, prev, signer)
	if errors.Is(err, auditlog.ErrStale) { // a cache's older copy: nothing to cosign, nothing wrong
		return a.printLine(map[string]any{"origin": prev.Origin, "size": prev.Size, "stale": true},
			a.t("cli.witness.stale", map[string]any{"Origin": prev.Origin, "Size": prev.Size}))
	}
	if errors.Is(err, auditlog.ErrInconsistent) {
		return &exitError{code: ExitInvalid, err: err}
	}
	if err != nil {
		return err
	}
	// The state moves before the submission: once signed, the checkpoint
	// is one this witness vouched for, whether or not the platform got it.
	if err := writeState(o.stateFile, next); err != nil {
		return err
	}
	items, err := src.submit(ctx, msg)
	if err != nil {
		return err
	}
	id := "cli.witness.cosigned"
	if len(items) > 0 && !items[0].Stored {
		id = "cli.witness.unchanged"
	}
	return a.printLine(map[string]any{"origin": next.Origin, "size": next.Size, "items": items},
		a.t(id, map[string]any{"Origin": next.Origin, "Size": next.Size}))
}

// writeState replaces the state file at once: a crash leaves the old one
// or the new one, never half of either.
func writeState(path string, s auditlog.WitnessState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".witness-state-*")
	if err != nil {
		return fmt.Errorf("witness state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("witness state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("witness state: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// httpLogSource reads a platform's log over HTTP, without a token.
type httpLogSource struct {
	base   string // URL of the log's prefix, …/tlog
	api    string // URL of the API, …/api/v1
	client *http.Client
	token  string // for entry bundles; none for a witness
}

// newHTTPLogSource reads the log of the platform at rawURL, each request
// within timeout.
func newHTTPLogSource(rawURL, token string, timeout time.Duration) (*httpLogSource, error) {
	base, err := url.Parse(rawURL)
	if rawURL == "" || err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, usageErr("--url must be the platform's http(s) base URL")
	}
	root := strings.TrimSuffix(base.String(), "/")
	return &httpLogSource{base: root + httpapi.TLogPrefix, api: root + httpapi.Prefix, client: &http.Client{Timeout: timeout}, token: token}, nil
}

func (s *httpLogSource) get(ctx context.Context, path string) ([]byte, error) {
	return s.getURL(ctx, s.base+"/"+path)
}

func (s *httpLogSource) getURL(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return s.do(req)
}

// do sends req and returns the body of a 200 answer, or the error a
// problem+json answer names.
func (s *httpLogSource) do(req *http.Request) ([]byte, error) {
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, problemError(resp.StatusCode, b)
	}
	return b, nil
}

func (s *httpLogSource) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.get(ctx, "checkpoint")
}

func (s *httpLogSource) Tile(ctx context.Context, t auditlog.Tile) ([]byte, error) {
	return s.get(ctx, t.Path())
}

// listed reads the entries [from, to) as the platform lists them to
// auditors (GET /api/v1/audit/entries).
func (s *httpLogSource) listed(ctx context.Context, from, to uint64) ([]auditlog.Entry, error) {
	var out []auditlog.Entry
	for from < to {
		b, err := s.getURL(ctx, fmt.Sprintf("%s/audit/entries?from=%d&limit=%d", s.api, from, min(to-from, 1000)))
		if err != nil {
			return nil, err
		}
		var page struct {
			Items []api.AuditEntry `json:"items"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		if len(page.Items) == 0 {
			break
		}
		for _, e := range page.Items {
			if e.Index >= to {
				break
			}
			out = append(out, auditlog.Entry{Index: e.Index, At: e.At, Actor: e.Actor, Org: e.Org, Action: e.Action, Subject: e.Subject, Details: e.Details})
		}
		from = page.Items[len(page.Items)-1].Index + 1
	}
	return out, nil
}

// prove reads the platform's inclusion proof of entry index in the tree of
// size (GET /api/v1/audit/proof/inclusion).
func (s *httpLogSource) prove(ctx context.Context, index, size uint64) ([][]byte, error) {
	b, err := s.getURL(ctx, fmt.Sprintf("%s/audit/proof/inclusion?index=%d&size=%d", s.api, index, size))
	if err != nil {
		return nil, err
	}
	var p api.AuditProof
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	path := make([][]byte, len(p.Proof))
	for i, h := range p.Proof {
		if path[i], err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("inclusion proof: %w", err)
		}
	}
	return path, nil
}

func (s *httpLogSource) submit(ctx context.Context, msg []byte) ([]api.AuditCosignature, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/cosignature", bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	b, err := s.do(req)
	if err != nil {
		return nil, err
	}
	var out struct {
		Items []api.AuditCosignature `json:"items"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("cosignature answer: %w", err)
	}
	return out.Items, nil
}

// problemError turns a platform's problem+json answer into the error it
// names, with the broken rules.
func problemError(status int, body []byte) error {
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Field, Rule, Message string
		} `json:"errors"`
	}
	kind := apperr.Unavailable
	switch status {
	case http.StatusNotFound:
		kind = apperr.NotFound
	case http.StatusConflict:
		kind = apperr.Conflict
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		kind = apperr.Invalid
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Detail == "" {
		return apperr.New(kind, "the platform answered %d", status)
	}
	e := &apperr.Error{Kind: kind, Detail: p.Detail}
	for _, f := range p.Errors {
		e.Fields = append(e.Fields, apperr.FieldError{Field: f.Field, Rule: f.Rule, Detail: f.Message})
	}
	return e
}

// auditVerifyCommand is `audit verify`.
func (a *app) auditVerifyCommand() *cobra.Command {
	var o verifyLogOptions
	cmd := &cobra.Command{
		Use:   "verify (--url URL --token TOKEN | --dir DIR) --log-key VKEY [--checkpoint FILE]... [--archive DIR]",
		Short: "Check the whole audit log end to end from its checkpoint and entry bundles (exit 0 intact, 1 not)",
		Long: `verify reads the platform's checkpoint and every entry bundle (C2SP tlog-tiles,
with an auditor's or platform admin's token: ZHENGZHAO_TOKEN or --token), or an
archive that an earlier run wrote (--dir). It checks the checkpoint's signature,
that each leaf is the canonical encoding of its entry at its index, that the
leaves hash to the root of the checkpoint and of every checkpoint given with
--checkpoint (kept from an earlier run or a witness: the log must still be the
tree it commits to), and that every 256 of them hash to what the log kept of
them when it integrated them. From a platform it also holds each entry as the
API lists it against its leaf. A log that fails is named by its first entry
that does not match: exactly when the listing or the log's own kept hashes tell,
else the two or the range of entries they narrow it to.
With --archive it writes what it read in the tlog-tiles layout (DIR/checkpoint,
DIR/tile/entries/…, DIR/tile/1/…), which --dir checks again later without the
platform. See docs/audit.md, "Checking the log".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.verifyLog(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the platform's base URL")
	f.StringVar(&o.token, "token", "", "bearer token of an auditor or platform admin (prefer ZHENGZHAO_TOKEN: flags show in ps)")
	f.StringVar(&o.dir, "dir", "", "check an archive written by --archive instead of a platform")
	f.StringVar(&o.logKey, "log-key", "", "the log's checkpoint verifier key")
	f.StringVar(&o.archive, "archive", "", "write the checkpoint and tiles read into this directory")
	f.StringArrayVar(&o.held, "checkpoint", nil, "a checkpoint kept from earlier that the log must still commit to (repeatable)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "time limit of the whole run")
	return cmd
}

type verifyLogOptions struct {
	url, token, dir, logKey, archive string
	held                             []string
	timeout                          time.Duration
}

func (a *app) verifyLog(ctx context.Context, o verifyLogOptions) error {
	if (o.url == "") == (o.dir == "") || o.logKey == "" {
		return usageErr("give --log-key and one of --url and --dir")
	}
	if o.token == "" {
		o.token = os.Getenv("ZHENGZHAO_TOKEN")
	}
	var vo auditlog.VerifyOptions
	for _, name := range o.held {
		b, err := os.ReadFile(name)
		if err == nil {
			_, _, _, err = auditlog.VerifyCheckpoint(b, o.logKey)
		}
		if err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--checkpoint %s: %w", name, err)}
		}
		vo.Held = append(vo.Held, b)
	}
	var src auditlog.LogSource
	if o.url != "" {
		if o.token == "" {
			return usageErr("--url needs a token: ZHENGZHAO_TOKEN or --token")
		}
		h, err := newHTTPLogSource(o.url, o.token, time.Minute)
		if err != nil {
			return err
		}
		src, vo.Listed, vo.Prove = h, h.listed, h.prove
	} else {
		src = dirLogSource(o.dir)
	}
	if o.archive != "" {
		vo.Keep = func(t auditlog.Tile, b []byte) error {
			name := "checkpoint"
			if t.Width > 0 {
				name = t.Path()
			}
			path := filepath.Join(o.archive, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return err
			}
			return os.WriteFile(path, b, 0o600)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	origin, size, err := auditlog.VerifyLog(ctx, src, o.logKey, vo)
	if err != nil && !errors.Is(err, auditlog.ErrTampered) && !errors.Is(err, auditlog.ErrCheckpoint) {
		return err // the log could not be read: no verdict
	}
	subject := fmt.Sprintf("%s@%d", origin, size)
	if err != nil {
		subject = o.url + o.dir
	}
	return a.verdict(subject, err)
}

// dirLogSource reads an archive written by audit verify --archive.
type dirLogSource string

func (d dirLogSource) Checkpoint(context.Context) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), "checkpoint"))
}

func (d dirLogSource) Tile(_ context.Context, t auditlog.Tile) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(t.Path())))
}
