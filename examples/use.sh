#!/usr/bin/env bash
# Using units (用证单位): the demo bank's approved matter and its grant of the
# business license type; the bank lists a second matter (a field its type's
# template lacks is refused), a platform admin approves it (once, and not
# the bank itself); a change waits for review while the approved version
# stays usable, and the operator refuses it from the command line; a grant
# of another type is made until a date and withdrawn (once). Last, the bank
# uses a company's business license for its matter (POST /uses): the three
# fields the matter needs and nothing else; a bad credit code and a type the
# matter does not need are refused. See docs/use.md.
#
#   bash examples/use.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. It stops at the first
# unexpected answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. The demo gives the bank an approved matter and a grant of BL0001.
start_demo
bank=91610100MA0000015Q # 演示银行西安分行
staff=$(zz token create --role using-unit --org "$bank" --ttl 1h)
admin=$(zz token create --role platform-admin --ttl 1h)
expect "$(call "$staff" GET '/use/matters?usable=true')" 200 "the bank's usable matters"
grep -q '"code":"KH-001"' "$tmp/body" || fail "the demo matter is missing: $(cat "$tmp/body")"
expect "$(call "$staff" GET '/use/grants?state=active')" 200 "the bank's grants"
grep -q '"type":"BL0001"' "$tmp/body" || fail "the demo grant is missing: $(cat "$tmp/body")"
echo "# the bank may use business licenses for matter KH-001"

# 2. The bank lists a second matter; a field the business license's
#    template lacks is refused, naming the field and the rule.
matter='{"code":"DK-001","name":"企业贷款申请","legal_basis":"《流动资金贷款管理暂行办法》第十九条",
  "needs":[{"type":"BL0001","fields":["credit_code","name","registered_capital"]}]}'
expect "$(call "$staff" POST /use/matters "${matter/registered_capital/blood_type}")" 422 "a field the template lacks"
grep -q '"rule":"template-field"' "$tmp/body" || fail "the refusal does not name the rule: $(cat "$tmp/body")"
expect "$(call "$staff" POST /use/matters "$matter")" 201 "list the matter"
[ "$(field state)" = pending ] || fail "the new matter is $(field state), want pending"

# 3. The bank cannot approve its own matter; a platform admin does, once.
expect "$(call "$staff" POST "/use/matters/$bank/DK-001/versions/1/approve" '{}')" 403 "the bank approves"
expect "$(call "$admin" POST "/use/matters/$bank/DK-001/versions/1/approve" '{"reason":"依据充分"}')" 200 "approve"
expect "$(call "$admin" POST "/use/matters/$bank/DK-001/versions/1/approve" '{}')" 409 "approve again"
echo "# DK-001 approved: it is usable"

# 4. A change is version 2, pending; version 1 stays the usable one. The
#    operator refuses the change on the host, with a reason.
change='{"name":"企业贷款申请","legal_basis":"《流动资金贷款管理暂行办法》第十九条",
  "needs":[{"type":"BL0001","fields":["credit_code","name","registered_capital","domicile"]}]}'
expect "$(call "$staff" POST "/use/matters/$bank/DK-001/versions" "$change")" 201 "change the matter"
expect "$(call "$staff" GET "/use/matters/$bank/DK-001")" 200 "read the matter"
grep -q '"approved_version":1' "$tmp/body" || fail "the usable version moved: $(cat "$tmp/body")"
zz use matter versions --state pending
zz use matter refuse "$bank" DK-001 2 --reason "住所不是贷款申请必需"

# 5. A grant of the food business permit until a date, withdrawn once.
expect "$(call "$admin" POST /use/grants "{\"org\":\"$bank\",\"type\":\"FP0001\",\"valid_until\":\"2099-01-01T00:00:00Z\"}")" 201 "grant FP0001"
grant=$(field id)
expect "$(call "$admin" POST "/use/grants/$grant/withdraw" '{"reason":"协议终止"}')" 200 "withdraw"
expect "$(call "$admin" POST "/use/grants/$grant/withdraw" '{"reason":"再次"}')" 409 "withdraw again"
zz use grant list --org "$bank"

# 6. The market regulator issues the company of the shipped sample face a
#    business license; the bank uses it for KH-001 and gets only the three
#    fields the matter needs. A bad check character is 422, a type the
#    matter does not need 403; every use is audited (license.used).
regulator=11610100MB0000027A # 西安市市场监督管理局（演示）
issuer=$(zz token create --role issuer --org "$regulator" --ttl 1h)
body=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sample"]
print(json.dumps({"type":"BL0001","holder_id":s["credit_code"],"holder_name":s["name"],"face":s},ensure_ascii=False))' \
  internal/catalog/templates/business-license.json)
company=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["holder_id"])' "$body")
expect "$(call "$issuer" POST /licenses "$body")" 201 "issue a business license"
expect "$(call "$staff" POST /uses "{\"matter\":\"KH-001\",\"holder_id\":\"$company\"}")" 200 "use it for KH-001"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); f=r["licenses"][0]["fields"]
assert sorted(f)==["credit_code","legal_representative","name"], f; print(json.dumps(r, ensure_ascii=False, indent=1))' "$tmp/body" ||
  fail "the use returned other fields: $(cat "$tmp/body")"
expect "$(call "$staff" POST /uses "{\"matter\":\"KH-001\",\"holder_id\":\"${company%?}0\"}")" 422 "a bad check character"
grep -q '"field":"holder_id"' "$tmp/body" || fail "the refusal does not name holder_id: $(cat "$tmp/body")"
expect "$(call "$staff" POST /uses "{\"matter\":\"KH-001\",\"holder_id\":\"$company\",\"type\":\"FP0001\"}")" 403 "a type KH-001 does not need"
echo "# the bank used $company's business license for KH-001"
