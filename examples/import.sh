#!/usr/bin/env bash
# Bulk import of existing licenses (存量证照电子化) from end to end: generate
# 10,000 business-license rows of which about 2 % are bad, import them into
# the demo's store as its market regulator (a progress bar on a terminal),
# read the report of the refused rows, import the same file again and see
# nothing change, then verify one of the batch-signed licenses offline with
# the public trust bundle alone. See docs/import.md.
#
#   bash examples/import.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. With $ZHENGZHAO_EXAMPLE_OUT
# set it leaves there report.csv and report.json (the refused rows, the first
# and second run), license.json (one imported license's batch-signed
# document) and trust.json (the trust bundle), so that
#   zhengzhao license verify --trust trust.json license.json
# exits 0 with no store. It stops at the first unexpected answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform on a free port. Its market regulator issues business
#    licenses (BL0001) with a bound license-issuing seal: the seal an import
#    signs its batches with.
start_demo
regulator=11610100MB0000027A # 西安市市场监督管理局（演示）
issuer=$(zz token create --role issuer --org "$regulator" --ttl 1h)

# 2. A file of 10,000 rows as an older system would export them: columns
#    named as the business license's fields, so no mapping is needed. --bad
#    spoils that share of the rows, each by one rule (a wrong check
#    character, an empty name, 30 February, ...). The same seed gives the
#    same file.
rows=10000
zz import sample --n "$rows" --bad 0.02 --seed 7 --out "$tmp/licenses.csv"
python3 -c 'import sys; print("#   " + open(sys.argv[1], encoding="utf-8-sig").readlines()[1][:90] + "…")' "$tmp/licenses.csv"

# 3. Import it. The import is a host command: it writes to the store
#    directly, beside the serving demo (SQLite in WAL mode takes one writer
#    at a time; each batch of 1,000 rows is one short transaction). Every
#    row is validated as issuing it alone would be; the valid ones are
#    issued under their paper numbers and signed 1,000 at a time with one
#    seal signature. A refused row makes the exit status 1, and the report
#    names each one with its rule.
#    On a terminal a progress bar runs on stderr (the bytes read, rows a
#    second and the time left); the summary line comes at the end.
status=0
start=$(date +%s)
zz import run --type BL0001 --issuer "$regulator" --report "$tmp/report.csv" "$tmp/licenses.csv" >"$tmp/run.txt" || status=$?
took=$(($(date +%s) - start))
sed 's/^/#   /' "$tmp/run.txt"
[ "$status" = 1 ] || fail "the first import exited $status, want 1 (rows refused)"
# The summary line, in English (zz passes --lang en):
#   import imp_…: 10000 rows read (utf-8): 9806 imported, 0 new versions, 0 unchanged, 194 rejected
counts=$(sed -n 's/^import \(imp_[0-9a-f]*\): \([0-9]*\) rows read ([a-z0-9-]*): \([0-9]*\) imported, \([0-9]*\) new versions, \([0-9]*\) unchanged, \([0-9]*\) rejected$/\1 \2 \3 \4 \5 \6/p' "$tmp/run.txt")
[ -n "$counts" ] || fail "no summary line in: $(cat "$tmp/run.txt")"
read -r job nread imported versioned unchanged rejected <<<"$counts"
[ "$nread" = "$rows" ] || fail "the import read $nread rows, want $rows"
[ "$versioned" = 0 ] && [ "$unchanged" = 0 ] || fail "a fresh store had licenses to version or keep: $counts"
[ "$rejected" -gt 0 ] && [ "$imported" -gt 0 ] || fail "want some rows imported and some refused: $counts"
[ $((imported + rejected)) = "$rows" ] || fail "imported $imported + rejected $rejected is not $rows"
echo "# import $job: $imported imported, $rejected refused, in ${took}s"

# 4. The report: UTF-8 with a byte order mark (Excel opens it as such), one
#    line a problem naming the row, the column, the rule and the value
#    masked (a credit code is never in clear). Every refused row is in it.
echo "# the first problems of the report:"
sed -n 2,6p "$tmp/report.csv" | sed 's/^/#   /'
python3 - "$tmp/report.csv" "$rejected" <<'PY' || fail "the report does not account for the refused rows"
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    problems = list(csv.DictReader(f))
rows = {p["row"] for p in problems}
rules = sorted({p["rule"] for p in problems})
assert len(rows) == int(sys.argv[2]), (len(rows), sys.argv[2])
assert "check-character" in rules, rules
print("#   %d problems on %d rows, rules: %s" % (len(problems), len(rows), ", ".join(rules)))
PY

# 5. Import the same file again: every license number is already held with
#    the same content, so nothing is written and every valid row counts
#    unchanged. The refused rows are refused again, for the same rules.
#    This time the summary as JSON (--json, which leaves out the bar).
status=0
zz import run --type BL0001 --issuer "$regulator" --report "$tmp/report.json" --json "$tmp/licenses.csv" >"$tmp/run.json" || status=$?
# A count of zero is left out of the summary.
summary() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"].get(sys.argv[2], 0))' "$tmp/run.json" "$1"; }
[ "$status" = 1 ] || fail "the second import exited $status, want 1: $(cat "$tmp/run.json")"
[ "$(summary imported)" = 0 ] && [ "$(summary versioned)" = 0 ] || fail "the second import wrote licenses: $(cat "$tmp/run.json")"
[ "$(summary unchanged)" = "$imported" ] || fail "the second import counts $(summary unchanged) unchanged, want $imported"
[ "$(summary rejected)" = "$rejected" ] || fail "the second import refused $(summary rejected) rows, want $rejected"
echo "# again: $(summary unchanged) unchanged, nothing written"

# 6. One imported license through the API: its signed document carries the
#    batch it was signed in (the batch header, the license's place and its
#    inclusion proof). Offline, with the public trust bundle and no store,
#    it verifies like any other.
expect "$(call "$issuer" GET '/licenses?type=BL0001&limit=1')" 200 "list the imported licenses"
lic=$(field id)
[ -n "$lic" ] || fail "no license listed: $(cat "$tmp/body")"
expect "$(call "$issuer" GET "/licenses/$lic/document")" 200 "the document"
cp "$tmp/body" "$tmp/license.json"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["batch"]; print("#   batch %s of %d licenses, proof of %d hashes" % (b["header"]["id"], b["header"]["size"], len(b["proof"])))' \
  "$tmp/license.json" || fail "the document is not batch-signed: $(head -c 300 "$tmp/license.json")"
curl -fsS "$api/licenses/trust-bundle" >"$tmp/trust.json" || fail "the public trust bundle"
ZHENGZHAO_DATA=/nonexistent "$bin" --lang en license verify --trust "$tmp/trust.json" "$tmp/license.json" >"$tmp/verdict" ||
  fail "the imported license does not verify offline: $(cat "$tmp/verdict")"
echo "# offline: $(grep -c '✓' "$tmp/verdict") checks passed with the trust bundle alone"

if [ -n "${ZHENGZHAO_EXAMPLE_OUT:-}" ]; then
  mkdir -p "$ZHENGZHAO_EXAMPLE_OUT"
  cp "$tmp/report.csv" "$tmp/report.json" "$tmp/license.json" "$tmp/trust.json" "$ZHENGZHAO_EXAMPLE_OUT/"
  echo "# report.csv, report.json, license.json and trust.json are in $ZHENGZHAO_EXAMPLE_OUT"
fi
echo "# done"
