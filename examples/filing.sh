#!/usr/bin/env bash
# Filing (备案): a seal's filing record leaves the platform through the outbox
# and reaches the upstream platform, here a small webhook receiver. The
# receiver refuses the first delivery of each event (503), the platform
# retries after its backoff, the receiver takes the second, and the seal
# becomes filed. The script then checks the record's HMAC-SHA256 signature
# as a receiver must.
#
#   bash examples/filing.sh
#
# It needs python3 (the receiver) and openssl (the signature check). It uses
# $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a temporary
# directory, which it removes at exit. It stops at the first unexpected
# answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"
command -v python3 >/dev/null || fail "python3 is needed for the webhook receiver"
command -v openssl >/dev/null || fail "openssl is needed to check the signature"

# 1. The upstream platform: a webhook receiver on a free port that keeps
#    every request (headers and body, numbered in order of arrival) and
#    answers 503 to the first delivery of each event.
mkdir "$tmp/hook"
cat >"$tmp/receiver.py" <<'PY'
import http.server, os, sys

out = sys.argv[1]

class Hook(http.server.BaseHTTPRequestHandler):
    n = 0
    seen = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hook.n += 1
        event = self.headers.get("X-Zhengzhao-Event-Id", "")
        first = event not in Hook.seen
        Hook.seen.add(event)
        base = os.path.join(out, str(Hook.n))
        with open(base + ".headers", "w") as f:
            for k, v in self.headers.items():
                f.write(f"{k}: {v}\n")
        with open(base + ".json", "wb") as f:
            f.write(body)
        self.send_response(503 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
with open(os.path.join(out, "port.tmp"), "w") as f:
    f.write(str(srv.server_port))
os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
srv.serve_forever()
PY
python3 "$tmp/receiver.py" "$tmp/hook" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/hook/port" ] && break; sleep 0.1; done
[ -s "$tmp/hook/port" ] || fail "the webhook receiver did not start"
hook="http://127.0.0.1:$(cat "$tmp/hook/port")/filing"
echo "# upstream receiver at $hook"

# 2. The shared secret lives in a file (never on the command line). The demo
#    delivers to the webhook, names it the upstream, and looks for due events
#    every 200 ms (default 5 s).
openssl rand -hex 32 >"$tmp/secret"
chmod 600 "$tmp/secret"
start_demo --webhook-url "$hook" --webhook-secret-file "$tmp/secret" --upstream webhook --outbox-poll 200ms
grep -q '"delivering outbox events"' "$tmp/demo.log" || fail "the demo does not deliver: $(cat "$tmp/demo.log")"

# 3. Make a seal as in seal-lifecycle.sh: the organization's admin applies,
#    the platform's seal approver approves, which makes it and queues its
#    filing record in the same transaction.
org=11610100MB0000027A
admin=$(zz token create --role org-admin --org "$org" --ttl 1h)
keeper=$(zz token create --role seal-keeper --org "$org" --ttl 1h)
approver=$(zz token create --role seal-approver --ttl 1h)

expect "$(call "$keeper" GET /me)" 200 "who am I"
keeper_id=$(field account_id)
cat >"$tmp/seal.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 100 100">
  <circle cx="50" cy="50" r="46" fill="none" stroke="#d40000" stroke-width="4"/>
  <text x="50" y="58" font-size="20" text-anchor="middle" fill="#d40000">财务专用章</text>
</svg>
SVG
expect "$(call "$admin" POST "/orgs/$org/seal-applications" \
  "{\"action\":\"make\",\"seal_kind\":\"finance\",\"name\":\"财务专用章\",\"reason\":\"启用电子票据\",
    \"image\":\"$(base64 -w0 "$tmp/seal.svg")\",\"width_mm\":40,\"height_mm\":40,\"keepers\":[\"$keeper_id\"],\"use_policy\":\"one\"}")" 201 "apply"
expect "$(call "$approver" POST "/seal-applications/$(field id)/decision" '{"approve":true}')" 200 "approve"
seal=$(field seal_id)
echo "# made seal $seal; its filing record is queued"

# 4. The first delivery is refused: the outbox shows the attempt, the HTTP
#    status and when the next attempt is due.
for _ in $(seq 1 50); do
  zz outbox list --json >"$tmp/outbox.json"
  grep -q '"last_status": 503' "$tmp/outbox.json" && break
  sleep 0.1
done
grep -q '"last_status": 503' "$tmp/outbox.json" || fail "the refused delivery is not recorded: $(cat "$tmp/outbox.json")"
zz outbox list | sed 's/^/#   /'

# 5. After the backoff (5 s) the second attempt succeeds and the seal is
#    filed, in the transaction that records the delivery.
state=""
for _ in $(seq 1 150); do
  expect "$(call "$keeper" GET "/seals/$seal")" 200 "get seal"
  state=$(field filing_state)
  [ "$state" = filed ] && break
  sleep 0.1
done
[ "$state" = filed ] || fail "the seal is still $state after 15 s: $(tail -5 "$tmp/demo.log")"
echo "# seal $seal is filed"
zz audit list --json --limit 10000 >"$tmp/audit.json"
grep -A3 '"action": "seal.filed"' "$tmp/audit.json" | grep -q "\"subject\": \"$seal\"" || fail "no seal.filed audit entry for $seal"
#    The demo's own license-issuing seal was filed the same way; once its
#    retry is taken too, nothing waits in the outbox.
for _ in $(seq 1 100); do
  [ "$(zz outbox list)" = "every event is delivered" ] && break
  sleep 0.1
done
[ "$(zz outbox list)" = "every event is delivered" ] || fail "the outbox is not empty: $(zz outbox list)"

# 6. What the upstream received for this seal: the same event twice (a
#    receiver deduplicates on the signed body's "id"), the second time taken.
mapfile -t got < <(grep -l "\"seal_code\":\"$seal\"" "$tmp"/hook/*.json | sort -t/ -k2 -V)
[ "${#got[@]}" = 2 ] || fail "the receiver got ${#got[@]} requests for seal $seal: $(ls "$tmp/hook")"
first=${got[0]} taken=${got[1]}
header() { grep -i "^$1:" "${taken%.json}.headers" | cut -d' ' -f2- | tr -d '\r'; }
body_id() { grep -o '"id":"[^"]*"' "$1" | head -1 | cut -d'"' -f4; }
[ "$(body_id "$first")" = "$(body_id "$taken")" ] || fail "the retry carries another event ID"
[ "$(body_id "$taken")" = "$(header X-Zhengzhao-Event-Id)" ] || fail "the event ID header differs from the body's id"
[ "$(header X-Zhengzhao-Topic)" = seal.filing ] || fail "topic $(header X-Zhengzhao-Topic)"
echo "# received event $(header X-Zhengzhao-Event-Id):"
python3 -m json.tool --no-ensure-ascii "$taken" | sed 's/^/#   /'
grep -q "\"seal_code\":\"$seal\"" "$taken" || fail "the record does not name seal $seal"
grep -q '"making":1' "$taken" || fail "the record does not name the making"

# 7. Check the signature as a receiver does: X-Zhengzhao-Signature is
#    t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, and t is recent.
sig=$(header X-Zhengzhao-Signature)
t=${sig#t=}; t=${t%%,*}
v1=${sig#*v1=}
want=$({ printf '%s.' "$t"; cat "$taken"; } | openssl dgst -sha256 -hmac "$(cat "$tmp/secret")" -r | cut -d' ' -f1)
[ "$v1" = "$want" ] || fail "the signature does not verify: got $v1, computed $want"
age=$(( $(date +%s) - t ))
[ "$age" -ge -300 ] && [ "$age" -le 300 ] || fail "the signature is $age s old"
#    A changed body does not verify.
forged=$({ printf '%s.' "$t"; sed 's/"making":1/"making":2/' "$taken"; } | openssl dgst -sha256 -hmac "$(cat "$tmp/secret")" -r | cut -d' ' -f1)
[ "$v1" != "$forged" ] || fail "a changed body verifies"
echo "# signature verified: $sig"

echo "# filing walkthrough passed"
