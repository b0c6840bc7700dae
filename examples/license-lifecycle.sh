#!/usr/bin/env bash
# Electronic licenses from type to revocation: define and approve a license
# type, make an issuer's license-issuing seal (证照专用章) and bind it to
# issuance, issue licenses, download a signed document and verify it online
# and offline, then suspend, resume, change and revoke it, showing after each
# step the verdict and the license's bits in the published status lists, and
# export a license as a W3C Verifiable Credential.
#
#   bash examples/license-lifecycle.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. With $ZHENGZHAO_EXAMPLE_OUT
# set it leaves there license.json (a valid license's signed document),
# license-revoked.json (the one revoked here), trust.json (a trust bundle with
# a fresh status-list snapshot), status-revocation.json (the published
# revocation list) and license-vc.json (the VC export), so that
#   zhengzhao license verify --trust trust.json license.json
# exits 0 with no store. It stops at the first unexpected answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform on a free port, and a new issuing organization under it:
#    the city's transport bureau, which will issue road transport permits.
start_demo
org=11610100MB00000430 # 西安市交通运输局（演示）
admin=$(zz token create --role platform-admin --ttl 1h)
approver=$(zz token create --role seal-approver --ttl 1h)
expect "$(call "$admin" POST /orgs "{\"credit_code\":\"$org\",\"name\":\"西安市交通运输局（演示）\",\"region\":\"610100\",
  \"kinds\":[\"issuer\",\"seal-user\"],\"parent\":\"11610100MB0000019F\",\"responsible\":{\"name\":\"周八\",\"phone\":\"13700000000\"}}")" 201 "create the bureau"
orgadmin=$(zz token create --role org-admin --org "$org" --ttl 1h)
keeper=$(zz token create --role seal-keeper --org "$org" --ttl 1h)
issuer=$(zz token create --role issuer --org "$org" --ttl 1h)
expect "$(call "$keeper" GET /me)" 200 "who am I"
keeper_id=$(field account_id)

# 2. The license type: the bureau defines it and proposes its face template;
#    a platform admin approves it. Only then can it be issued.
expect "$(call "$issuer" POST /catalog/types "{\"code\":\"RT0001\",\"name\":{\"zh-CN\":\"道路运输经营许可证\",\"en\":\"Road transport permit\"},
  \"issuers\":[\"$org\"],\"holder_kind\":\"organization\",\"level\":\"municipal\",\"public\":\"shared\",\"collection_start\":\"2020-01-01\",
  \"validity\":{\"kind\":\"fixed\",\"years\":4},\"numbering\":\"陕交运管许可西字{seq:6}号\"}")" 201 "define RT0001"
expect "$(call "$issuer" POST /catalog/types/RT0001/versions '{"template":{"fields":[
  {"key":"operator","label":{"zh-CN":"业户名称","en":"Operator"},"type":"string","required":true,"max_length":100,"sensitivity":"public","masking":{"rule":"none"}},
  {"key":"scope","label":{"zh-CN":"经营范围","en":"Scope"},"type":"string","required":true,"max_length":200,"sensitivity":"public","masking":{"rule":"none"}},
  {"key":"manager","label":{"zh-CN":"负责人","en":"Manager"},"type":"string","required":true,"max_length":50,"sensitivity":"personal","masking":{"rule":"keep-first","first":1}}]}}')" 201 "propose the template"
expect "$(call "$admin" POST /catalog/types/RT0001/versions/1/approve '{"reason":"字段齐全"}')" 200 "approve the template"
echo "# type RT0001 approved (version 1)"

# 3. The seal: the bureau applies for a license-issuing seal and the platform
#    makes it; a second application binds it to issuance for RT0001, so that
#    issuing signs without a PIN and every signature is still a seal use.
apps="/orgs/$org/seal-applications"
image=$(base64 -w0 <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 100 100">
  <circle cx="50" cy="50" r="46" fill="none" stroke="#d40000" stroke-width="4"/>
  <text x="50" y="58" font-size="18" text-anchor="middle" fill="#d40000">证照专用章</text>
</svg>
SVG
)
expect "$(call "$orgadmin" POST "$apps" "{\"action\":\"make\",\"seal_kind\":\"license-issuing\",\"name\":\"证照专用章\",\"reason\":\"签发电子证照\",
  \"image\":\"$image\",\"width_mm\":40,\"height_mm\":40,\"keepers\":[\"$keeper_id\"]}")" 201 "apply for the seal"
expect "$(call "$approver" POST "/seal-applications/$(field id)/decision" '{"approve":true}')" 200 "approve making"
seal=$(field seal_id)
#    Before the binding, issuance is refused and names the seal's problem.
permit='{"type":"RT0001","holder_id":"91610100MA0000015Q","holder_name":"西安示例运输有限公司",
  "face":{"operator":"西安示例运输有限公司","scope":"道路普通货物运输","manager":"李卫东"}}'
expect "$(call "$issuer" POST /licenses "$permit")" 409 "issue before binding"
grep -q '"rule":"seal-not-bound"' "$tmp/body" || fail "the refusal does not name seal-not-bound: $(cat "$tmp/body")"
expect "$(call "$orgadmin" POST "$apps" "{\"action\":\"bind\",\"seal_id\":\"$seal\",\"reason\":\"证照签发\",\"license_types\":[\"RT0001\"]}")" 201 "apply to bind"
expect "$(call "$approver" POST "/seal-applications/$(field id)/decision" '{"approve":true}')" 200 "approve binding"
expect "$(call "$issuer" GET "/seals/$seal/binding")" 200 "the binding"
echo "# seal $seal made and bound to license issuance"

# 4. Issue two permits: one goes through the lifecycle below, one stays valid.
expect "$(call "$issuer" POST /licenses "$permit")" 201 "issue the first permit"
lic=$(field id)
echo "# issued $lic, number $(field number)"
expect "$(call "$issuer" POST /licenses "${permit//示例运输/长安物流}")" 201 "issue the second permit"
keep=$(field id)
expect "$(call "$issuer" GET "/licenses/$keep/document")" 200 "the second permit's document"
cp "$tmp/body" "$tmp/license.json"

# bit PURPOSE prints the license's bit in the published list of PURPOSE
# (revocation or suspension), read from the status entries of $tmp/doc.json:
# the list is fetched as any verifier fetches it, without a token.
bit() {
  python3 - "$1" "$tmp/doc.json" <<'PY'
import base64, gzip, json, sys, urllib.request
purpose, doc = sys.argv[1], json.load(open(sys.argv[2]))
entry = next(e for e in doc["license"]["status"] if e["purpose"] == purpose)
cred = json.load(urllib.request.urlopen(entry["list_url"]))
enc = cred["credentialSubject"]["encodedList"][1:]  # multibase 'u': base64url
bits = gzip.decompress(base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)))
i = entry["index"]
print((bits[i // 8] >> (7 - i % 8)) & 1)
PY
}
# show STEP WANT verifies $tmp/doc.json online (POST /licenses/verify) and
# prints the verdict and both bits; the verdict must be WANT (true|false).
show() {
  expect "$(call "$issuer" POST /licenses/verify "{\"document\":$(cat "$tmp/doc.json")}")" 200 "verify after $1"
  local valid failed
  valid=$(grep -o '"valid":[a-z]*' "$tmp/body" | head -1 | cut -d: -f2)
  failed=$(python3 -c 'import json,sys; print(",".join(c["name"] for c in json.load(open(sys.argv[1]))["checks"] if not c["ok"] and not c.get("informational")) or "-")' "$tmp/body")
  printf '# %-26s valid=%-5s failed=%-8s revocation=%s suspension=%s\n' "$1" "$valid" "$failed" "$(bit revocation)" "$(bit suspension)"
  [ "$valid" = "$2" ] || fail "after $1 the verdict is valid=$valid, want $2: $(cat "$tmp/body")"
}

# 5. Download the first permit's signed document and verify it online, then
#    offline from the public trust bundle with no store at all.
expect "$(call "$issuer" GET "/licenses/$lic/document")" 200 "the document"
cp "$tmp/body" "$tmp/doc.json"
cp "$tmp/doc.json" "$tmp/v1.json"
show "issuance" true
curl -fsS "$api/licenses/trust-bundle" >"$tmp/trust.json" || fail "the public trust bundle"
ZHENGZHAO_DATA=/nonexistent "$bin" --lang en license verify --trust "$tmp/trust.json" "$tmp/doc.json" >"$tmp/verdict" ||
  fail "offline verification failed: $(cat "$tmp/verdict")"
echo "# offline: $(grep -c '✓' "$tmp/verdict") checks passed with the trust bundle alone"

# 6. Suspend (挂起) and resume (恢复): the suspension bit goes up and down.
transition() { # OPERATION REASON [EXTRA JSON MEMBERS]
  expect "$(call "$issuer" POST "/licenses/$lic/transitions" "{\"operation\":\"$1\",\"reason\":\"$2\"${3:+,$3}}")" 200 "$1"
}
transition suspend "经营场所核查"
show "suspend" false
transition resume "核查完毕"
show "resume" true

# 7. Change (变更): a new version, signed again; the old one is superseded (its
#    revocation bit is set) but stays readable.
transition change "负责人变更" '"face":{"operator":"西安示例运输有限公司","scope":"道路普通货物运输","manager":"王海"}'
[ "$(grep -o '"version":[0-9]*' "$tmp/body" | head -1)" = '"version":2' ] || fail "change did not make version 2: $(cat "$tmp/body")"
show "change: version 1" false
expect "$(call "$issuer" GET "/licenses/$lic/document")" 200 "version 2"
cp "$tmp/body" "$tmp/doc.json"
show "change: version 2" true
expect "$(call "$issuer" GET "/licenses/$lic/versions/1/document")" 200 "version 1 stays readable"
cmp -s "$tmp/body" "$tmp/v1.json" || fail "version 1 is not the document first signed"

# 8. Revoke (吊销): for good. A transition the table forbids afterwards is
#    refused with 409 naming the current state.
transition revoke "违法经营，依法吊销"
show "revoke" false
cp "$tmp/doc.json" "$tmp/license-revoked.json"
expect "$(call "$issuer" POST "/licenses/$lic/transitions" '{"operation":"resume","reason":"误操作"}')" 409 "resume a revoked license"
grep -q '"rule":"transition"' "$tmp/body" && grep -q 'revoked' "$tmp/body" || fail "the refusal does not name the state: $(cat "$tmp/body")"
expect "$(call "$issuer" GET "/licenses/$lic/transitions")" 200 "the history"
echo "# history: $(grep -o '"operation":"[a-z-]*"' "$tmp/body" | cut -d'"' -f4 | tr '\n' ' ')"
list=$(python3 -c 'import json,sys; print(next(e["list_url"] for e in json.load(open(sys.argv[1]))["license"]["status"] if e["purpose"]=="revocation"))' "$tmp/doc.json")
curl -fsS "$list" >"$tmp/status-revocation.json" || fail "the revocation list"

# 9. Offline again with a fresh bundle: the valid permit verifies (exit 0), the
#    revoked one does not (exit 1), and one changed byte fails the signature.
#    The platform builds the public bundle at most every 5 seconds (it is
#    cacheable for as long), so a bundle with the revocation comes within 5 s.
fresh_bundle "$tmp/trust.json"
offline() { ZHENGZHAO_DATA=/nonexistent "$bin" --lang en license verify --trust "$tmp/trust.json" "$@"; }
offline "$tmp/license.json" >/dev/null || fail "the valid permit does not verify offline"
if offline "$tmp/license-revoked.json" >"$tmp/verdict"; then fail "the revoked permit verified offline"; fi
grep -q '✗ status' "$tmp/verdict" || fail "the revoked permit's failed check is not status: $(cat "$tmp/verdict")"
sed 's/长安物流/长安快运/' "$tmp/license.json" >"$tmp/tampered.json"
if offline "$tmp/tampered.json" >"$tmp/verdict"; then fail "a changed document verified"; fi
grep -q '✗ signature' "$tmp/verdict" || fail "the changed document's failed check is not signature: $(cat "$tmp/verdict")"
echo "# offline: valid permit ✓, revoked permit ✗ status, changed byte ✗ signature"
#    On the platform's host the operator exports the same bundle from the store;
#    it names the lists where the demo publishes them (the public URL the demo
#    stored), so the permit verifies with it too.
zz license trust-bundle -o "$tmp/trust-host.json"
ZHENGZHAO_DATA=/nonexistent "$bin" --lang en license verify --trust "$tmp/trust-host.json" "$tmp/license.json" >/dev/null ||
  fail "the permit does not verify with the bundle exported on the host"

# 10. The valid permit as a W3C Verifiable Credential 2.0, its status entries
#     pointing at the same lists.
expect "$(call "$issuer" GET "/licenses/$keep/vc")" 200 "VC export"
cp "$tmp/body" "$tmp/license-vc.json"
grep -q '"BitstringStatusListEntry"' "$tmp/license-vc.json" || fail "the credential has no status entry"
echo "# exported $keep as a Verifiable Credential ($(stat -c %s "$tmp/license-vc.json") bytes)"

if [ -n "${ZHENGZHAO_EXAMPLE_OUT:-}" ]; then
  mkdir -p "$ZHENGZHAO_EXAMPLE_OUT"
  cp "$tmp"/{license.json,license-revoked.json,trust.json,status-revocation.json,license-vc.json} "$ZHENGZHAO_EXAMPLE_OUT/"
  echo "# artifacts in $ZHENGZHAO_EXAMPLE_OUT"
fi
echo "# done"
