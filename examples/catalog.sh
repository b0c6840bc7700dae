#!/usr/bin/env bash
# The license catalog (证照目录): see the shipped types the demo approved,
# define a type as an issuer, propose a version of its face template, have
# it approved by a platform admin (not by the issuer, not twice), reject a
# second version from the command line, and list the versions.
#
#   bash examples/catalog.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. It stops at the first
# unexpected answer.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform: it puts the shipped license types in the catalog, each
#    with an approved version.
start_demo
org=11610100MB0000027A # 西安市市场监督管理局（演示）
issuer=$(zz token create --role issuer --org "$org" --ttl 1h)
admin=$(zz token create --role platform-admin --ttl 1h)
expect "$(call "$issuer" GET '/catalog/types?usable=true')" 200 "the usable types"
grep -q '"code":"BL0001"' "$tmp/body" || fail "the business license is not in the catalog: $(cat "$tmp/body")"
echo "# shipped types: $(grep -o '"code":"[^"]*"' "$tmp/body" | cut -d'"' -f4 | tr '\n' ' ')"

# 2. The issuer defines a type that its own organization issues; naming
#    another organization is refused, naming the field and the rule.
type="{\"code\":\"TP0001\",\"name\":{\"zh-CN\":\"演示许可证\",\"en\":\"Demo permit\"},\"issuers\":[\"$org\"],
  \"holder_kind\":\"organization\",\"level\":\"municipal\",\"public\":\"shared\",\"collection_start\":\"2020-01-01\",
  \"validity\":{\"kind\":\"fixed\",\"years\":5},\"numbering\":\"{region}{year}{seq:6}\"}"
police=11610100MB00000355 # 西安市公安局（演示）
expect "$(call "$issuer" POST /catalog/types "${type/$org/$police}")" 403 "a type of another organization"
grep -q '"rule":"own-org"' "$tmp/body" || fail "the refusal does not name the rule: $(cat "$tmp/body")"
expect "$(call "$issuer" POST /catalog/types "$type")" 201 "define the type"
grep -q '"approved_version":0' "$tmp/body" || fail "a new type has an approved version: $(cat "$tmp/body")"
echo "# defined TP0001: no version is approved yet, so nothing can be issued under it"

# 3. It proposes version 1 of the template; the version waits for review.
template='{"template":{"fields":[
  {"key":"name","label":{"zh-CN":"名称","en":"Name"},"type":"string","required":true,"max_length":100,"sensitivity":"public","masking":{"rule":"none"}},
  {"key":"legal_rep","label":{"zh-CN":"法定代表人","en":"Legal representative"},"type":"string","required":true,"max_length":50,"sensitivity":"personal","masking":{"rule":"keep-first","first":1}}]}}'
expect "$(call "$issuer" POST /catalog/types/TP0001/versions "$template")" 201 "propose version 1"
[ "$(field state)" = pending ] || fail "version 1 is $(field state), want pending"

# 4. The issuer cannot approve it; a platform admin does, once.
expect "$(call "$issuer" POST /catalog/types/TP0001/versions/1/approve '{}')" 403 "the issuer approves"
expect "$(call "$admin" POST /catalog/types/TP0001/versions/1/approve '{"reason":"字段齐全"}')" 200 "approve version 1"
expect "$(call "$admin" POST /catalog/types/TP0001/versions/1/approve '{}')" 409 "approve version 1 again"
echo "# version 1 approved: licenses of TP0001 are issued under it"

# 5. A second version, rejected by the operator on the host with a reason.
expect "$(call "$issuer" POST /catalog/types/TP0001/versions "$template")" 201 "propose version 2"
zz catalog reject TP0001 2 --reason "与第 1 版相同"
zz catalog versions TP0001
