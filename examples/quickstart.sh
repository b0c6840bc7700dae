#!/usr/bin/env bash
# Quickstart: run a zhengzhao demo, get a token, create an organization, see a
# validation error, list organizations, and stop.
#
#   bash examples/quickstart.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory. Everything it creates lives in that directory and is
# removed at exit. It stops at the first answer that is not the expected one.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. Start the demo on a free port (port 0); --addr-file tells us which.
#    The demo creates a platform organization, two issuers and a using unit.
start_demo

# 2. An operator on the platform host creates a token directly in the store.
#    stdout carries only the token, so it can be captured.
token=$(zz token create --role platform-admin --ttl 1h --description quickstart)
case "$token" in zz_*) ;; *) fail "token create printed '$token'";; esac
auth="Authorization: Bearer $token"
echo "# token: ${token:0:10}…"

# Each request below prints its status; `call` keeps the body in $tmp/body.
call() { curl -s -o "$tmp/body" -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' -H 'Accept-Language: en' "$@"; }

# 3. Create an organization. The credit code and its check characters, the
#    region code and the responsible person are validated.
org='{"credit_code":"91350100M000100Y43","name":"示例企业","region":"350100",
      "kinds":["using-unit"],"responsible":{"name":"李四","phone":"13900000000"}}'
status=$(call -X POST -H 'Idempotency-Key: quickstart-1' -d "$org" "$api/orgs")
[ "$status" = 201 ] || fail "create org answered $status: $(cat "$tmp/body")"
echo "# created: $(cat "$tmp/body")"

#    Sending the same request with the same Idempotency-Key replays the answer.
status=$(call -X POST -H 'Idempotency-Key: quickstart-1' -d "$org" "$api/orgs")
[ "$status" = 201 ] || fail "idempotent replay answered $status"

# 4. A wrong check character: 422, an RFC 9457 problem naming the field and rule.
bad='{"credit_code":"91350100M000100Y44","name":"错误企业","region":"350100",
      "kinds":["using-unit"],"responsible":{"name":"王五","phone":"13900000000"}}'
status=$(call -X POST -d "$bad" "$api/orgs")
[ "$status" = 422 ] || fail "invalid org answered $status"
grep -q '"field":"credit_code","in":"body","rule":"check-character"' "$tmp/body" || fail "problem lacks the field/rule: $(cat "$tmp/body")"
echo "# rejected: $(cat "$tmp/body")"

# 5. List the using units: the new organization is there, the rejected one is not.
status=$(call "$api/orgs?kind=using-unit&limit=10")
[ "$status" = 200 ] || fail "list answered $status"
grep -q '91350100M000100Y43' "$tmp/body" || fail "the new org is not listed"
grep -q '91350100M000100Y44' "$tmp/body" && fail "the rejected org was stored"
echo "# listed: $(grep -o '"credit_code":"[^"]*"' "$tmp/body" | tr '\n' ' ')"

# 6. Without a token the API answers 401.
status=$(curl -s -o /dev/null -w '%{http_code}' "$api/orgs")
[ "$status" = 401 ] || fail "anonymous list answered $status"

echo "# quickstart passed"
