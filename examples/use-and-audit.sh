#!/usr/bin/env bash
# Using a license and auditing the use (用证与审计): the demo bank lists a
# matter needing three fields of the residence permit, a platform admin
# approves it; a use before the bank is granted the type is refused (and
# audited); once granted, the bank uses a person's permit for the matter,
# keeping it with its case file (归档), and gets only the matter's fields,
# masked. The person, signed in as holder, sees the
# entries about its license, each checked here against the signed checkpoint
# with its RFC 6962 inclusion proof; the issuer reads how its licenses were
# used this month; a witness cosigns the checkpoint, which verifies with the
# witness's key; last, `zhengzhao audit verify` checks the whole log from its
# tiles. See docs/use.md and docs/audit.md.
#
#   bash examples/use-and-audit.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. It stops at the first
# unexpected answer. With $ZHENGZHAO_EXAMPLE_OUT set it leaves there
# use.json (the allowed use's answer), checkpoint (a signed checkpoint of
# the log) and checkpoint.cosigned (the checkpoint with the witness's
# cosignature).
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A witness key, made before the platform starts: the operator trusts
#    the witness by its verifier key (serve --witness).
wkey=$(zz audit witness-key --name witness.example --key-file "$tmp/witness.key")
start_demo --holder-demo-login --witness "$wkey"
origin=${api%/api/v1}
bank=91610100MA0000015Q      # 演示银行西安分行
regulator=11610100MB0000027A # 西安市市场监督管理局（演示）
staff=$(zz token create --role using-unit --org "$bank" --ttl 1h)
admin=$(zz token create --role platform-admin --ttl 1h)
auditor=$(zz token create --role auditor --ttl 1h)
issuer=$(zz token create --role issuer --org "$regulator" --ttl 1h)

# 2. The bank lists a matter needing three fields of the residence permit;
#    a platform admin approves it.
matter='{"code":"GR-001","name":"个人贷款申请","legal_basis":"《个人贷款管理暂行办法》第十二条",
  "needs":[{"type":"PC0001","fields":["name","citizen_id","issuing_authority"]}]}'
expect "$(call "$staff" POST /use/matters "$matter")" 201 "list the matter"
expect "$(call "$admin" POST "/use/matters/$bank/GR-001/versions/1/approve" '{"reason":"依据充分"}')" 200 "approve"
echo "# matter GR-001 approved"

# 3. The regulator issues a person the residence permit of the shipped
#    sample face.
body=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sample"]
print(json.dumps({"type":"PC0001","holder_id":s["citizen_id"].upper(),"holder_name":s["name"],"face":s},ensure_ascii=False))' \
  internal/catalog/templates/residence-permit.json)
person=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["holder_id"])' "$body")
name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["holder_name"])' "$body")
expect "$(call "$issuer" POST /licenses "$body")" 201 "issue a residence permit"
lic=$(field id)

# 4. The bank is not granted the residence permit's type yet: the use is
#    refused, naming the rule, and the refusal is audited (use.refused).
expect "$(call "$staff" POST /uses "{\"matter\":\"GR-001\",\"holder_id\":\"$person\"}")" 403 "a type not granted"
grep -q '"rule":"type-granted"' "$tmp/body" || fail "the refusal does not name the rule: $(cat "$tmp/body")"
echo "# refused: PC0001 is not granted to the bank"
expect "$(call "$admin" POST /use/grants "{\"org\":\"$bank\",\"type\":\"PC0001\",\"reason\":\"个人贷款业务协议\"}")" 201 "grant PC0001"

# 5. The allowed use, kept with the bank's case: only the three fields the
#    matter needs, the name and the ID number masked under the template's
#    rules (the holder authorized nothing more).
case='（2026）贷字第0001号'
expect "$(call "$staff" POST /uses "{\"matter\":\"GR-001\",\"holder_id\":\"$person\",\"case\":\"$case\"}")" 200 "use for GR-001"
cp "$tmp/body" "$tmp/use.json"
python3 - "$tmp/use.json" "$lic" <<'PY' || fail "the use returned other than the matter's fields, masked: $(cat "$tmp/use.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [l["id"] for l in r["licenses"]] == [sys.argv[2]], r
f = r["licenses"][0]["fields"]
assert sorted(f) == ["citizen_id", "issuing_authority", "name"], sorted(f)
assert f["name"]["masked"] and f["citizen_id"]["masked"] and "*" in f["citizen_id"]["value"], f
print(json.dumps(r, ensure_ascii=False, indent=1))
PY
use=$(field use)
case_path=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$case")
# A repeat of the attachment changes nothing.
expect "$(call "$staff" POST "/use/cases/$case_path/records" "{\"use\":\"$use\",\"license\":\"$lic\"}")" 200 "attach again"
expect "$(call "$staff" GET "/use/cases/$case_path")" 200 "the case"
[ "$(grep -o '"license":"[^"]*"' "$tmp/body" | wc -l)" = 1 ] || fail "the case holds other than one record: $(cat "$tmp/body")"
echo "# case $case keeps $lic (use $use)"

# 6. The person, signed in as holder, sees who used their permit: each entry
#    with its inclusion proof into the signed checkpoint, checked here
#    (RFC 6962: the leaf hash folded with the proof gives the root the
#    checkpoint signs). Entries are integrated within a second or so.
expect "$(call "" POST /holder/demo-login "{\"citizen_id\":\"$person\",\"name\":\"$name\"}")" 201 "demo login"
session=$(field token)
for _ in $(seq 1 50); do
  expect "$(call "$session" GET /me/audit)" 200 "my audit entries"
  grep -q '"action":"license.used"' "$tmp/body" && break
  sleep 0.1
done
python3 - "$tmp/body" <<'PY' || fail "the holder's entries do not check: $(cat "$tmp/body")"
import base64, hashlib, json, sys
page = json.load(open(sys.argv[1]))
root = base64.b64decode(page["checkpoint"].split("\n")[2])
size = page["size"]
def h(*parts): return hashlib.sha256(b"".join(parts)).digest()
def fold(index, leaf, proof):
    # RFC 9162 2.1.3.2: verify an inclusion proof.
    fn, sn, r = index, size - 1, h(b"\0", leaf)
    for p in (bytes.fromhex(x) for x in proof):
        if sn == 0: raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = h(b"\1", p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0: fn >>= 1; sn >>= 1
        else:
            r = h(b"\1", r, p)
        fn >>= 1; sn >>= 1
    if sn != 0: raise ValueError("proof too short")
    return r
actions = []
for it in page["items"]:
    e, leaf = it["entry"], base64.b64decode(it["leaf"])
    assert json.loads(leaf)["index"] == e["index"], e
    assert fold(e["index"], leaf, it["proof"]) == root, e
    actions.append(e["action"])
assert "license.used" in actions, actions
print("# the holder's entries, each proven into the checkpoint of size %d: %s" % (size, ", ".join(actions)))
PY

# 7. The issuer reads how its licenses were used this month.
month=$(date -u -d '+8 hours' +%Y-%m) # China Standard Time, as reports count
expect "$(call "$issuer" GET "/use/reports?from=$month")" 200 "the usage report"
grep -q "\"unit\":\"$bank\",\"matter\":\"GR-001\",\"month\":\"$month\",\"uses\":1" "$tmp/body" ||
  fail "the report does not count the bank's use: $(cat "$tmp/body")"
zz use report --from "$month" --issuer "$regulator"

# 8. A witness cosigns the checkpoint; it verifies with the log's key and
#    the witness's. The whole log is then checked from its tiles, each entry
#    against its listing and the hashes the log kept, and the log must still
#    be the tree of both checkpoints fetched before (held with --checkpoint).
expect "$(call "$auditor" GET /audit/checkpoint-key)" 200 "the checkpoint key"
logkey=$(field verifier_key)
curl -fsS -H "Authorization: Bearer $auditor" "$api/audit/checkpoint" >"$tmp/checkpoint" || fail "the checkpoint"
zz audit witness --url "$origin" --log-key "$logkey" --key-file "$tmp/witness.key" --state "$tmp/witness.state"
curl -fsS "$origin/tlog/checkpoint" >"$tmp/checkpoint.cosigned" || fail "the cosigned checkpoint"
zz audit verify-checkpoint "$tmp/checkpoint.cosigned" --key "$logkey" --witness "$wkey"
zz audit verify --url "$origin" --token "$auditor" --log-key "$logkey" \
  --checkpoint "$tmp/checkpoint" --checkpoint "$tmp/checkpoint.cosigned"

if [ -n "${ZHENGZHAO_EXAMPLE_OUT:-}" ]; then
  mkdir -p "$ZHENGZHAO_EXAMPLE_OUT"
  cp "$tmp"/{use.json,checkpoint,checkpoint.cosigned} "$ZHENGZHAO_EXAMPLE_OUT/"
  echo "# artifacts in $ZHENGZHAO_EXAMPLE_OUT"
fi
echo "# done"
