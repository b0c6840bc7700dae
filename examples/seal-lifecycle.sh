#!/usr/bin/env bash
# Electronic seal lifecycle (GB/T 38540): apply for a seal, approve it (which
# makes it: key, certificate, seal structure), set its PIN, request and
# approve a use, sign a file, verify it offline against the signed trust
# bundle pinned to the platform root, tamper with the file and see the failed
# check, suspend the seal and see signing refused, and see a trust bundle
# changed after signing refused.
#
#   bash examples/seal-lifecycle.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. With $ZHENGZHAO_EXAMPLE_OUT
# set it leaves document.bin, document.sig (the GB/T 38540 signature, DER)
# and trust.json there, so that
#   zhengzhao seal verify --trust trust.json document.bin document.sig
# verifies them offline. It stops at the first unexpected answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform on a free port. The demo makes the platform root (SM2)
#    that certifies seal keys.
start_demo

# The people: the organization's admin applies, its seal keeper keeps and
# uses the seal, the platform's seal approver approves.
org=11610100MB0000027A # 西安市市场监督管理局（演示）, whose parent is the platform
admin=$(zz token create --role org-admin --org "$org" --ttl 1h)
keeper=$(zz token create --role seal-keeper --org "$org" --ttl 1h)
approver=$(zz token create --role seal-approver --ttl 1h)

expect "$(call "$keeper" GET /me)" 200 "who am I"
keeper_id=$(field account_id)

# 2. Apply for a contract seal with its image (a red ring, SVG).
cat >"$tmp/seal.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 100 100">
  <circle cx="50" cy="50" r="46" fill="none" stroke="#d40000" stroke-width="4"/>
  <text x="50" y="58" font-size="20" text-anchor="middle" fill="#d40000">合同专用章</text>
</svg>
SVG
image=$(base64 -w0 "$tmp/seal.svg")
status=$(call "$admin" POST "/orgs/$org/seal-applications" \
  "{\"action\":\"make\",\"seal_kind\":\"contract\",\"name\":\"合同专用章\",\"reason\":\"启用电子合同\",
    \"image\":\"$image\",\"width_mm\":40,\"height_mm\":40,\"keepers\":[\"$keeper_id\"],\"use_policy\":\"one\"}")
expect "$status" 201 "apply"
application=$(field id)
echo "# applied: $application (pending)"

#    An image that is not a seal imprint is refused with the field and rule.
expect "$(call "$admin" POST "/orgs/$org/seal-applications" \
  "{\"action\":\"make\",\"seal_kind\":\"finance\",\"name\":\"x\",\"reason\":\"r\",\"image\":\"$(printf 'GIF89a' | base64)\",
    \"width_mm\":40,\"height_mm\":40,\"keepers\":[\"$keeper_id\"]}")" 422 "a GIF seal image"
grep -q '"field":"image","in":"body","rule":"format"' "$tmp/body" || fail "problem lacks image/format: $(cat "$tmp/body")"

# 3. The platform's seal approver approves: the seal is made and filed.
expect "$(call "$approver" POST "/seal-applications/$application/decision" '{"approve":true,"comment":"同意"}')" 200 "approve"
seal=$(field seal_id)
expect "$(call "$keeper" GET "/seals/$seal")" 200 "get seal"
grep -q '"state":"active"' "$tmp/body" || fail "seal not active: $(cat "$tmp/body")"
grep -q '"filing_state":"queued"' "$tmp/body" || fail "no filing record: $(cat "$tmp/body")"
echo "# made seal $seal"

# 4. The keeper sets the protection PIN.
expect "$(call "$keeper" POST "/seals/$seal/pin" '{"new_pin":"246810"}')" 200 "set PIN"

# 5. A use request for the document, approved by the approver.
printf '西安市 电子合同 No. 2026-001\n甲方 乙方 ……\n' >"$tmp/document.bin"
hash=$(zz seal digest "$tmp/document.bin")
expect "$(call "$keeper" POST "/seals/$seal/use-requests" "{\"doc_hash\":\"$hash\",\"title\":\"电子合同\",\"purpose\":\"签约\"}")" 201 "use request"
request=$(field id)
expect "$(call "$approver" POST "/seal-use-requests/$request/decision" '{"approve":true}')" 200 "approve use"

# 6. Sign. A wrong PIN is refused and counted; the right one signs.
document=$(base64 -w0 "$tmp/document.bin")
expect "$(call "$keeper" POST "/seals/$seal/sign" "{\"request_id\":\"$request\",\"pin\":\"000000\",\"document\":\"$document\"}")" 422 "wrong PIN"
grep -q '"rule":"pin"' "$tmp/body" || fail "wrong PIN problem: $(cat "$tmp/body")"
expect "$(call "$keeper" POST "/seals/$seal/sign" "{\"request_id\":\"$request\",\"pin\":\"246810\",\"document\":\"$document\",\"archive\":true,\"cms\":true}")" 200 "sign"
field signature | base64 -d >"$tmp/document.sig"
echo "# signed: $(stat -c %s "$tmp/document.sig") bytes of GB/T 38540 SES_Signature"

# 7. Verify offline with the trust bundle only (exit 0).
expect "$(call "$keeper" GET /seals/trust-bundle)" 200 "trust bundle"
cp "$tmp/body" "$tmp/trust.json"
zz seal verify --trust "$tmp/trust.json" "$tmp/document.bin" "$tmp/document.sig" || fail "the signature does not verify offline"

#    The platform root signs the bundle. Pin the root's fingerprint as the
#    platform publishes it (GET /ca/root, or zhengzhao ca root --json).
expect "$(call "$keeper" GET /ca/root)" 200 "platform root"
root_fp=$(field fingerprint)
zz seal verify --trust "$tmp/trust.json" --root-fingerprint "$root_fp" "$tmp/document.bin" "$tmp/document.sig" >/dev/null ||
  fail "the signature does not verify with the bundle pinned to root $root_fp"
echo "# verified with the trust bundle pinned to root $root_fp"

# 8. One changed byte in the document: the document-hash check fails (exit 1).
sed 's/2026-001/2026-002/' "$tmp/document.bin" >"$tmp/tampered.bin"
if zz seal verify --trust "$tmp/trust.json" "$tmp/tampered.bin" "$tmp/document.sig" >"$tmp/verdict"; then
  fail "a tampered document verified"
fi
grep -q '✗ document-hash' "$tmp/verdict" || fail "the failed check is not named: $(cat "$tmp/verdict")"
echo "# tampered document rejected: $(grep '✗' "$tmp/verdict")"

# 9. Suspend the seal (application + approval): a use approved before the
#    suspension can no longer sign.
expect "$(call "$keeper" POST "/seals/$seal/use-requests" "{\"doc_hash\":\"$hash\",\"title\":\"电子合同\",\"purpose\":\"再签\"}")" 201 "second use request"
request2=$(field id)
expect "$(call "$approver" POST "/seal-use-requests/$request2/decision" '{"approve":true}')" 200 "approve second use"
expect "$(call "$admin" POST "/orgs/$org/seal-applications" "{\"action\":\"suspend\",\"seal_id\":\"$seal\",\"reason\":\"保管人离岗\"}")" 201 "apply suspend"
expect "$(call "$approver" POST "/seal-applications/$(field id)/decision" '{"approve":true}')" 200 "approve suspend"
expect "$(call "$keeper" POST "/seals/$seal/sign" "{\"request_id\":\"$request2\",\"pin\":\"246810\",\"document\":\"$document\"}")" 409 "sign with a suspended seal"
echo "# suspended: signing refused ($(field detail))"

#    The earlier signature stays valid: the seal was active when it signed;
#    the verdict notes that it is suspended now.
expect "$(call "$keeper" GET /seals/trust-bundle)" 200 "trust bundle"
cp "$tmp/body" "$tmp/trust.json"
zz seal verify --trust "$tmp/trust.json" "$tmp/document.bin" "$tmp/document.sig" >"$tmp/verdict" || fail "the earlier signature no longer verifies"
grep -q '! seal-now' "$tmp/verdict" || fail "the verdict does not mention the suspension: $(cat "$tmp/verdict")"

# 10. Whoever serves the trust bundle cannot edit it: hiding the suspension
#     breaks the root's signature, and the bundle is refused as bad input
#     (exit 2) before any seal signature is looked at.
sed 's/"state":"suspended"/"state":"active"/' "$tmp/trust.json" >"$tmp/forged-trust.json"
status=0
zz seal verify --trust "$tmp/forged-trust.json" "$tmp/document.bin" "$tmp/document.sig" >/dev/null 2>"$tmp/err" || status=$?
[ "$status" = 2 ] || fail "a changed trust bundle: exit $status, want 2: $(cat "$tmp/err")"
grep -q 'changed after the platform signed it' "$tmp/err" || fail "the refusal does not say why: $(cat "$tmp/err")"
echo "# changed trust bundle refused: $(cat "$tmp/err")"

if [ -n "${ZHENGZHAO_EXAMPLE_OUT:-}" ]; then
  mkdir -p "$ZHENGZHAO_EXAMPLE_OUT"
  cp "$tmp/document.bin" "$tmp/document.sig" "$tmp/trust.json" "$ZHENGZHAO_EXAMPLE_OUT/"
  echo "# artifacts in $ZHENGZHAO_EXAMPLE_OUT"
fi
echo "# seal lifecycle walkthrough passed"
