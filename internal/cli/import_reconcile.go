package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

func (a *app) importLatenessCommand() *cobra.Command {
	var q license.LatenessQuery
	cmd := &cobra.Command{
		Use:   "lateness --from YYYY-MM [--to YYYY-MM] [--issuer ORG]",
		Short: "Count the licenses that reached the platform in time and late, by issuer, type, month of completion and kind",
		Long: `lateness counts, per issuer, license type, month of the business completion
(办结, China Standard Time) and kind, the licenses that reached the platform
in time and late: an increment import is due the day its cases completed, a
stock import within five working days (Monday to Friday; public holidays are
not modelled), a license issued on the platform is always in time
(docs/import.md, "Aggregation deadlines").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				rows, err := p.Licenses.Lateness(cmd.Context(), nil, q)
				if err != nil {
					return err
				}
				lines := make([]string, len(rows))
				for i, r := range rows {
					lines[i] = a.t("cli.import.lateness-row", map[string]any{"Month": r.Month, "Issuer": r.Issuer, "Type": r.Type,
						"Kind": a.t("cli.import.kind."+r.Kind, nil), "OnTime": r.OnTime, "Late": r.Late})
				}
				if len(rows) == 0 {
					lines = append(lines, a.t("cli.import.lateness-empty", nil))
				}
				return a.printLine(httpapi.LatenessReportOf(q, rows), strings.Join(lines, "\n"))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.From, "from", "", "the first month of completion, YYYY-MM")
	fl.StringVar(&q.To, "to", "", "the last month, YYYY-MM (default: --from)")
	fl.StringVar(&q.Issuer, "issuer", "", "only this issuer's licenses (credit code)")
	return cmd
}

// importReconcile holds the flags of import reconcile.
type importReconcile struct {
	typ, issuer, account, digest, file string
	count                              int64
}

func (a *app) importReconcileCommand() *cobra.Command {
	var f importReconcile
	cmd := &cobra.Command{
		Use:   "reconcile --type CODE --issuer USCC (--count N --digest HEX | --file numbers.csv)",
		Short: "Reconcile what an issuer holds of a type with the platform's licenses (对账; exit 0 match, 1 mismatch, 2 usage)",
		Long: `reconcile compares what the issuer states it holds of a license type — a count
and a digest of its (number, version) pairs, or the file of the pairs — with
the platform's licenses of that issuer and type, and records the comparison
with its audit entry, acting as the issuer account --account. With --file the
differing numbers are counted and the first named. The digest is SHA-256 over
the lines "number<TAB>version<LF>" sorted by number in byte order
(docs/import.md, "Reconciliation"); import digest computes it from a file.`,
		Example: `  zhengzhao import reconcile --type BL0001 --issuer 11610100MB000002X --file numbers.csv
  zhengzhao import reconcile --type BL0001 --issuer 11610100MB000002X --count 120000 --digest 3f5c…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := license.NewReconciliation{Type: f.typ, Issuer: f.issuer, Count: f.count, Digest: f.digest}
			switch {
			case strings.TrimSpace(f.issuer) == "":
				return usageErr("--issuer is required: the credit code of the issuing organization")
			case f.file != "" && (f.digest != "" || cmd.Flags().Changed("count")):
				return usageErr("--file, or --count and --digest, not both")
			case f.file == "" && (f.digest == "" || !cmd.Flags().Changed("count")):
				return usageErr("--count and --digest are required without --file")
			case f.file != "":
				list, err := readPairs(f.file)
				if err != nil {
					return err
				}
				n.Listed, n.List = true, list
			}
			return a.asIssuer(cmd.Context(), f.issuer, f.account, func(p *platform.Platform, actor *authz.Actor) error {
				return a.reconcile(cmd.Context(), p, actor, n)
			})
		},
	}
	licenseFlags(cmd, &f.account)
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "the license type code (required)")
	fl.StringVar(&f.issuer, "issuer", "", "credit code of the issuing organization (required)")
	fl.Int64Var(&f.count, "count", 0, "how many licenses of the type the issuer holds")
	fl.StringVar(&f.digest, "digest", "", "the digest of its pairs, 64 hex digits")
	fl.StringVar(&f.file, "file", "", "a CSV file of its pairs: number,version a line")
	return cmd
}

func (a *app) reconcile(ctx context.Context, p *platform.Platform, actor *authz.Actor, n license.NewReconciliation) error {
	r, err := p.Licenses.Reconcile(ctx, actor, n)
	if err != nil {
		return err
	}
	err = a.print(httpapi.ReconciliationOf(r), func(w io.Writer) error {
		id := map[string]any{"ID": r.ID, "Count": r.Platform.Count, "Digest": r.Platform.Digest, "StatedCount": r.Stated.Count,
			"StatedDigest": r.Stated.Digest}
		if r.Match {
			_, err := fmt.Fprintln(w, a.t("cli.import.reconcile-match", id))
			return err
		}
		fmt.Fprintln(w, a.t("cli.import.reconcile-mismatch", id))
		if r.Listed {
			fmt.Fprintln(w, a.t("cli.import.reconcile-differences", map[string]any{"Missing": r.Missing, "Extra": r.Extra,
				"Version": r.VersionDiffers}))
		}
		for _, d := range r.First {
			fmt.Fprintln(w, a.t("cli.import.reconcile-first", map[string]any{"Number": d.Number, "Kind": a.t("cli.import.diff."+d.Kind, nil),
				"Stated": d.StatedVersion, "Platform": d.PlatformVersion}))
		}
		return nil
	})
	if err == nil && !r.Match {
		err = &exitError{code: ExitInvalid}
	}
	return err
}

func (a *app) importDigestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "digest numbers.csv",
		Short: "Compute the count and the digest of a file of (number, version) pairs, as import reconcile states them",
		Long: `digest reads a CSV file of license numbers and versions (number,version a
line; a first line "number,version" is a header), sorts it by number in byte
order and prints the count and the SHA-256 over the lines
"number<TAB>version<LF>": what an issuer states to import reconcile --count
--digest without sending its list.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			list, err := readPairs(args[0])
			if err != nil {
				return err
			}
			license.SortPairs(list)
			d := license.NewDigester()
			for _, p := range list {
				if !d.Add(p) {
					return usageErr("%s: number %q is listed twice", args[0], p.Number)
				}
			}
			t := d.Tally()
			return a.printLine(api.Tally(t), a.t("cli.import.digest", map[string]any{"Count": t.Count, "Digest": t.Digest}))
		},
	}
}

// readPairs reads a CSV file of (number, version) pairs, UTF-8 with or
// without a byte order mark, an optional header "number,version" first.
// The whole list is held: the platform's side streams, the issuer's is
// sorted in memory (about 100 bytes a license).
func readPairs(path string) ([]license.Pair, error) {
	file, err := os.Open(path) // #nosec G304 -- the file the operator names
	if err != nil {
		return nil, usageErr("open %s: %v", path, errors.Unwrap(err))
	}
	defer func() { _ = file.Close() }()
	br := bufio.NewReader(file)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord, r.ReuseRecord = 2, true
	var out []license.Pair
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, usageErr("%s: %v", path, err)
		}
		number, version := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && strings.EqualFold(number, "number") && strings.EqualFold(version, "version") {
			continue
		}
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil || v < 1 || number == "" {
			return nil, usageErr("%s, line %d: want a license number and a version (1 or more)", path, line)
		}
		out = append(out, license.Pair{Number: number, Version: v})
	}
}
