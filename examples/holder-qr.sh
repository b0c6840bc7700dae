#!/usr/bin/env bash
# A holder's dynamic QR code (亮证亮码) from end to end: the demo's market
# regulator issues two business licenses to a company; the company signs in as
# their holder and has a QR code made of one; the code verifies offline with
# the public trust bundle alone, and a using unit (a bank) redeems it online
# once, its second redemption refused as a replay; the license reported lost,
# the same kind of code fails both ways on its status. The holder also
# downloads its printed copy (打印件).
#
#   bash examples/holder-qr.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. With $ZHENGZHAO_EXAMPLE_OUT
# set it leaves there qr.txt (a fresh payload of the license that stays valid,
# made at the end with the longest lifetime a payload may have, ten minutes,
# so that a reader has time to check it), qr.png (a QR code of the same
# license made with it: each request signs its own payload), license.pdf
# (the holder's printed copy of that license) and trust.json (the trust bundle
# with its status-list snapshots), so that
#   zhengzhao verify-qr --trust trust.json "$(cat qr.txt)"
# exits 0 with no store, for ten minutes. It stops at the first unexpected
# answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform on a free port. Its market regulator issues business
#    licenses with a bound license-issuing seal; its bank is a using unit (用证
#    单位), the kind of organization that redeems a holder's code online.
start_demo
regulator=11610100MB0000027A # 西安市市场监督管理局（演示）
bank=91610100MA0000015Q      # 演示银行西安分行
issuer=$(zz token create --role issuer --org "$regulator" --ttl 1h)
unit=$(zz token create --role using-unit --org "$bank" --ttl 1h)

# 2. Two business licenses for the company of the shipped sample face: the
#    first is reported lost below, the second stays valid for the artifacts.
body=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sample"]
print(json.dumps({"type":"BL0001","holder_id":s["credit_code"],"holder_name":s["name"],"face":s},ensure_ascii=False))' \
  internal/catalog/templates/business-license.json)
company=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["holder_id"])' "$body")
name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["holder_name"])' "$body")
expect "$(call "$issuer" POST /licenses "$body")" 201 "issue the first license"
lic=$(field id)
expect "$(call "$issuer" POST /licenses "$body")" 201 "issue the second license"
keep=$(field id)
echo "# issued $lic and $keep to $name ($company)"

# 3. The company signs in as their holder, through the person who acts for
#    it. The demo login asks for no proof (a real platform signs holders in
#    with its identity provider, docs/holders.md); it answers a holder session
#    (zh_…), which reaches only the holder's own /me operations.
expect "$(call "" POST /holder/demo-login "{\"credit_code\":\"$company\",\"name\":\"$name\",\"representative\":\"演示经办人\"}")" 201 "demo login"
session=$(field token)
expect "$(call "$session" GET /me/licenses)" 200 "my licenses"
[ "$(grep -o '"id":"[^"]*"' "$tmp/body" | wc -l)" = 2 ] || fail "the holder does not see its two licenses: $(cat "$tmp/body")"
expect "$(call "$issuer" POST "/me/licenses/$lic/qr" '{}')" 403 "a staff token on the holder's route"

# 4. The holder's QR code of the first license, as a PNG a phone shows (valid
#    for a minute, the default), and, as the holder page asks for it, the
#    payload with its expiry and the SVG picture in one answer. Each request
#    signs a new payload with a fresh nonce, and each is in the audit log.
expect "$(call "$session" POST "/me/licenses/$lic/qr" '{"format":"png","scale":4}')" 201 "my QR code as a PNG"
cp "$tmp/body" "$tmp/lost.png"
expect "$(call "$session" POST "/me/licenses/$lic/qr" '{"format":"json-svg","disclose":["registration_authority"]}')" 201 "my QR code with its SVG"
payload=$(field payload)
python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1])).get("svg","").startswith("<svg "))' "$tmp/body" ||
  fail "the answer has no SVG: $(head -c 300 "$tmp/body")"
echo "# payload of $(printf %s "$payload" | wc -c) characters, valid until $(field expires_at)"

# 5. Offline: the public trust bundle (no token) and the picture are all a
#    verifier needs; no store is opened.
curl -fsS "$api/licenses/trust-bundle" >"$tmp/trust.json" || fail "the public trust bundle"
offline() { ZHENGZHAO_DATA=/nonexistent "$bin" --lang en verify-qr --trust "$tmp/trust.json" "$@"; }
offline "$tmp/lost.png" >"$tmp/verdict" || fail "the PNG does not verify offline: $(cat "$tmp/verdict")"
offline "$payload" >/dev/null || fail "the payload does not verify offline"
echo "# offline: $(grep -c '✓' "$tmp/verdict") checks passed with the trust bundle alone"

# 6. Online: the bank redeems the payload once (POST /presentations/verify,
#    with the license's live status); the same payload again is a replay.
redeem() { # PAYLOAD MATTER: prints valid=… and the failed checks
  expect "$(call "$unit" POST /presentations/verify "{\"payload\":\"$1\",\"matter\":\"$2\"}")" 200 "redeem"
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
print("valid=%s failed=%s" % (str(v["valid"]).lower(), ",".join(c["name"] for c in v["checks"] if not c["ok"] and not c.get("informational")) or "-"))' "$tmp/body"
}
got=$(redeem "$payload" "开立对公账户")
[ "$got" = "valid=true failed=-" ] || fail "the first redemption: $got: $(cat "$tmp/body")"
echo "# online, first:  $got"
got=$(redeem "$payload" "开立对公账户")
[ "$got" = "valid=false failed=replay" ] || fail "the second redemption: $got: $(cat "$tmp/body")"
echo "# online, second: $got"

# 7. The company reports the license lost (挂失) itself, with its holder
#    session, and asks the issuer to reissue it (补办).
#    A payload made just before, never redeemed, then fails online on its
#    status, and the PNG fails offline once the bundle carries the suspension
#    bit: the platform builds the public bundle at most every 5 seconds (it is
#    cacheable for as long), so one with the change comes within 5 s. A new
#    code of a lost license is refused.
expect "$(call "$session" POST "/me/licenses/$lic/qr" '{}')" 201 "a last payload before the loss"
unused=$(field payload)
expect "$(call "$session" POST "/me/licenses/$lic/loss-report" '{"reason":"营业执照正本遗失"}')" 200 "the loss report"
grep -q '"state":"reported-lost"' "$tmp/body" || fail "the loss report did not leave the license reported lost: $(cat "$tmp/body")"
expect "$(call "$session" POST "/me/licenses/$lic/reissue-request" '{"reason":"补办营业执照"}')" 201 "the reissue request"
got=$(redeem "$unused" "开立对公账户")
[ "$got" = "valid=false failed=status" ] || fail "online after the loss report: $got: $(cat "$tmp/body")"
echo "# online, lost:   $got"
fresh_bundle "$tmp/trust.json"
if offline "$tmp/lost.png" >"$tmp/verdict"; then fail "the lost license's PNG verified offline"; fi
grep -q '✗ status' "$tmp/verdict" || fail "the lost license's failed check is not status: $(cat "$tmp/verdict")"
echo "# offline, lost:  ✗ status"
expect "$(call "$session" POST "/me/licenses/$lic/qr" '{}')" 409 "a QR code of a lost license"
grep -q 'reported-lost' "$tmp/body" || fail "the refusal does not name the state: $(cat "$tmp/body")"

# 8. Another holder's license, or none, is 404 to the holder, and the refusal
#    is in the audit log; so is every code and copy above.
expect "$(call "$session" POST /me/licenses/BL000111610100MB0000027A99999999999/qr '{}')" 404 "a license the holder does not hold"

# 9. The second license, still valid: the holder's printed copy (its QR code
#    verifies the paper until the license's end), and a fresh code with the
#    longest lifetime a payload may have, ten minutes.
expect "$(call "$session" GET "/me/licenses/$keep/printout?lang=en")" 200 "my printed copy"
cp "$tmp/body" "$tmp/license.pdf"
head -c 4 "$tmp/license.pdf" | grep -q '%PDF' || fail "the printed copy is not a PDF"
expect "$(call "$session" POST "/me/licenses/$keep/qr" '{"ttl":600}')" 201 "a fresh payload of the valid license"
field payload >"$tmp/qr.txt"
expect "$(call "$session" POST "/me/licenses/$keep/qr" '{"ttl":600,"format":"png"}')" 201 "a fresh code of the valid license"
cp "$tmp/body" "$tmp/qr.png"
offline "$(cat "$tmp/qr.txt")" >/dev/null || fail "the fresh payload does not verify offline"
offline "$tmp/qr.png" >/dev/null || fail "the fresh code does not verify offline"
echo "# $keep: printed copy of $(stat -c %s "$tmp/license.pdf") bytes; a fresh code verifies offline"

if [ -n "${ZHENGZHAO_EXAMPLE_OUT:-}" ]; then
  mkdir -p "$ZHENGZHAO_EXAMPLE_OUT"
  cp "$tmp"/{qr.txt,qr.png,license.pdf,trust.json} "$ZHENGZHAO_EXAMPLE_OUT/"
  echo "# artifacts in $ZHENGZHAO_EXAMPLE_OUT"
fi
echo "# done"
