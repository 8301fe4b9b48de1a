#!/usr/bin/env bash
# The counted-link endpoint under load, against `/healthz` of the same `herald serve` in the same
# run (release build, SQLite, 127.0.0.1):
#   1. wrk, CONNECTIONS connections for SECONDS seconds on /healthz, then on a reader's counted
#      link (/r/LINK/TAG, a browser's User-Agent): requests per second of each, and their ratio;
#   2. ab, exactly CLICKS requests on the same link; after `herald serve` stops (SIGTERM writes
#      the counts), `digest stats` must show exactly CLICKS more clicks than before.
#
#   bash benches/clicks.sh                     # needs wrk and ab (apt-get install wrk apache2-utils)
#   SECONDS_EACH=5 CLICKS=20000 bash benches/clicks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${SECONDS_EACH:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
CLICKS="${CLICKS:-100000}"
PORT="${PORT:-18080}"
for tool in wrk ab; do
  command -v "$tool" >/dev/null || { echo "the benchmark needs $tool (apt-get install wrk apache2-utils)" >&2; exit 1; }
done
AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
cargo build --release --quiet
herald="$PWD/target/release/herald"
work="$(mktemp -d)"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export HERALD__DATABASE__URL="sqlite://$work/herald.db"
export HERALD__WEB__BIND="127.0.0.1:$PORT"
export HERALD__WEB__BASE_URL="http://127.0.0.1:$PORT"
export HERALD__TRANSPORT__OUTBOX_DIR="$work/outbox"
export RUST_LOG=warn

"$herald" list add daily >/dev/null
for story in lead tram derby; do
  "$herald" story add --url "https://news.example.org/$story" --title "Story $story" >/dev/null
done
"$herald" subscriber add reader@example.org --list daily --confirmed >/dev/null
"$herald" digest send --list daily >/dev/null
link="$(python3 - "$work/outbox" <<'PY'
import email, pathlib, sys
message = email.message_from_bytes(next(pathlib.Path(sys.argv[1]).iterdir()).read_bytes())
text = message.get_payload()[0].get_payload(decode=True).decode()
print(next(line.strip() for line in text.splitlines() if "/r/" in line))
PY
)"

start_serve() {
  "$herald" serve > "$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "herald serve did not answer within 10 s:" >&2
  cat "$work/serve.log" >&2
  exit 1
}
stop_serve() {
  kill -TERM "$serve_pid"
  timeout 20 tail --pid="$serve_pid" -f /dev/null
  serve_pid=""
}
clicks() { "$herald" --json digest stats --list daily | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["clicks"])'; }
rate() { awk '/Requests\/sec/ {print $2}'; }

start_serve
echo "== wrk: $CONNECTIONS connections, ${SECONDS_EACH} s each"
healthz=$(timeout $((SECONDS_EACH + 30)) wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "User-Agent: $AGENT" "http://127.0.0.1:$PORT/healthz" | tee "$work/wrk-healthz" | rate)
click=$(timeout $((SECONDS_EACH + 30)) wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "User-Agent: $AGENT" "$link" | tee "$work/wrk-click" | rate)
grep -E "Non-2xx|Socket errors" "$work/wrk-healthz" "$work/wrk-click" || true
stop_serve
before=$(clicks)
echo "/healthz: $healthz req/s; counted link: $click req/s (302); ratio $(python3 -c "print(f'{$click / $healthz:.2f}')")"
echo "clicks counted during wrk: $before (wrk's own count: $(awk '/requests in/ {print $1}' "$work/wrk-click"), plus those in flight when it stopped)"

start_serve
echo "== ab: exactly $CLICKS clicks, $CONNECTIONS at a time"
timeout 600 ab -q -k -n "$CLICKS" -c "$CONNECTIONS" -H "User-Agent: $AGENT" "$link" > "$work/ab"
grep -E "Complete requests|Failed requests|Non-2xx" "$work/ab"
stop_serve
after=$(clicks)
counted=$((after - before))
echo "counted once flushed: $counted of $CLICKS"
[ "$counted" -eq "$CLICKS" ] || { echo "MISMATCH: counted $counted, sent $CLICKS" >&2; exit 1; }
