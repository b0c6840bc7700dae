# Shared by the walkthroughs in examples/: sourced, not run.
#
# It makes a temporary directory ($tmp, removed at exit), finds the binary
# ($ZHENGZHAO_BIN, else builds ./cmd/zhengzhao into $tmp), defines zz (the
# binary on the walkthrough's data directory, English output) and fail, and
# start_demo [FLAG…], which starts `zhengzhao demo` (with the given extra
# flags) on a free 127.0.0.1 port and sets $api to its /api/v1 URL once
# /readyz answers. A walkthrough that starts helper processes adds their
# PIDs to the array pids; they are stopped at exit too, and the exit fails
# if any zhengzhao process on $tmp survives. For the API:
# call TOKEN METHOD PATH [JSON] prints the status and leaves the body in
# $tmp/body, expect GOT WANT WHAT fails unless they match, and field NAME
# prints a string field of that body. fresh_bundle FILE fetches the public
# trust bundle into FILE once it differs from the copy FILE holds.

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp=$(mktemp -d)
server=""
pids=()
cleanup() {
  local status=$? p
  for p in "$server" ${pids[@]+"${pids[@]}"}; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  # Every server this walkthrough starts runs on $tmp/data: one still
  # running after the kills above is a leak, and the walkthrough fails.
  local left
  left=$(pgrep -f -- "--data $tmp/data" || true)
  if [ -n "$left" ]; then
    echo "FAILED: zhengzhao processes left running: $left" >&2
    kill $left 2>/dev/null || true
    status=1
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  # The server's own account of what went wrong, if one was started.
  if [ -s "$tmp/demo.log" ]; then
    echo "--- last lines of the demo server's log:" >&2
    tail -n 20 "$tmp/demo.log" >&2
  fi
  exit 1
}

bin=${ZHENGZHAO_BIN:-}
if [ -z "$bin" ]; then
  echo "# building zhengzhao"
  go build -o "$tmp/zhengzhao" ./cmd/zhengzhao
  bin="$tmp/zhengzhao"
fi
# The data directory goes by its environment twin: each command takes the
# settings it reads (--data is a flag of the commands that open the store).
zz() { ZHENGZHAO_DATA="$tmp/data" "$bin" --lang en "$@"; }

start_demo() {
  # Port 0 picks a free port; --addr-file tells us which. The binary runs
  # directly, not through the zz function: a backgrounded function is a
  # subshell, and $! would name the subshell, which kill leaves the server
  # of.
  "$bin" --lang en demo --data "$tmp/data" --addr 127.0.0.1:0 --addr-file "$tmp/addr" "$@" >"$tmp/demo.out" 2>"$tmp/demo.log" &
  server=$!
  for _ in $(seq 1 100); do
    [ -s "$tmp/addr" ] && curl -fsS "http://$(cat "$tmp/addr")/readyz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || fail "the demo did not start: $(cat "$tmp/demo.log")"
    sleep 0.1
  done
  curl -fsS "http://$(cat "$tmp/addr")/readyz" >/dev/null || fail "the demo is not ready"
  api="http://$(cat "$tmp/addr")/api/v1"
  echo "# demo serving at $api"
}

call() {
  local token=$1 method=$2 path=$3 body=${4:-}
  if [ -n "$body" ]; then
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -H 'Accept-Language: en' --data-binary "$body" "$api$path"
  else
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token" -H 'Accept-Language: en' "$api$path"
  fi
}
expect() { [ "$1" = "$2" ] || fail "$3 answered $1, want $2: $(cat "$tmp/body")"; }
field() { grep -o "\"$1\":\"[^\"]*\"" "$tmp/body" | head -1 | cut -d'"' -f4; }

# fresh_bundle FILE waits for a trust bundle that differs from FILE, after a
# change the walkthrough made: the platform builds the public bundle at most
# every 5 seconds (it is cacheable for as long), so one with the change comes
# within 5 s.
fresh_bundle() {
  cp "$1" "$tmp/bundle-old.json"
  for _ in $(seq 1 70); do
    curl -fsS "$api/licenses/trust-bundle" >"$1" || fail "the public trust bundle"
    cmp -s "$1" "$tmp/bundle-old.json" || return 0
    sleep 0.1
  done
  fail "the trust bundle did not change within 7 s"
}
