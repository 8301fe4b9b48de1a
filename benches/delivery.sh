#!/usr/bin/env bash
# Delivery benchmark against Postfix's smtp-sink, with Postfix's own smtp-source as the reference
# measured in the same run (same sessions, same message size), plus Herald's peak RSS for
# `digest send` at two list sizes.
#
#   bash benches/delivery.sh            # as root: installs Postfix (smtp-sink, smtp-source) if missing
#   N=20000 BIG=200000 SESSIONS=8 bash benches/delivery.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-20000}"
BIG="${BIG:-200000}"
SESSIONS="${SESSIONS:-8}"
PORT="${PORT:-2526}"

if ! command -v smtp-sink >/dev/null || ! command -v smtp-source >/dev/null; then
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
cargo build --release --quiet
herald="$PWD/target/release/herald"
work="$(mktemp -d)"
sink_pid=""
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

smtp-sink -u nobody -c "127.0.0.1:$PORT" 1000 >/dev/null 2>&1 &
sink_pid=$!
sleep 0.5

# A list of $1 confirmed subscribers and a day's stories, in database $2.
seed() {
  local count="$1" db="$2"
  python3 - "$count" > "$work/people.csv" <<'PY'
import sys
print("email,name")
for i in range(int(sys.argv[1])):
    print(f"reader{i:07d}@example-{i % 97}.org,Reader {i}")
PY
  HERALD__DATABASE__URL="$db" "$herald" -q list add bench --title "Bench Daily" --max-stories 8 >/dev/null
  HERALD__DATABASE__URL="$db" "$herald" -q subscriber import "$work/people.csv" --list bench --confirmed >/dev/null
  python3 - > "$work/stories.jsonl" <<'PY'
import datetime, json
now = datetime.datetime.now(datetime.timezone.utc)
summary = ("The council voted late on Friday to approve a budget that shifts money from road repairs "
           "to schools, after a debate that ran past midnight and drew hundreds of residents. ") * 3
for i in range(8):
    print(json.dumps({"url": f"https://news.example.org/2026/story-{i}", "title": f"Story {i}: what the budget vote means for the city",
                      "summary": summary, "author": "Kim Lee", "score": 100 - i,
                      "section": "blog" if i >= 6 else "news",
                      "published_at": (now - datetime.timedelta(hours=i + 1)).isoformat()}))
PY
  HERALD__DATABASE__URL="$db" "$herald" -q story import "$work/stories.jsonl" >/dev/null
}

# Runs `digest send` on database $1 into smtp-sink; prints "seconds peak_rss_kib".
send() {
  HERALD__DATABASE__URL="$1" HERALD__TRANSPORT__KIND=smtp HERALD__SMTP__HOST=127.0.0.1 \
  HERALD__SMTP__PORT="$PORT" HERALD__SMTP__TLS=none HERALD__DELIVERY__CONCURRENCY="$SESSIONS" \
  python3 - "$herald" <<'PY'
import resource, subprocess, sys, time
started = time.monotonic()
subprocess.run([sys.argv[1], "-q", "digest", "send", "--list", "bench"], check=True, stdout=subprocess.DEVNULL)
print(f"{time.monotonic() - started:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

seed "$N" "$work/small.db"
size=$(HERALD__DATABASE__URL="$work/small.db" "$herald" -q digest preview --list bench --format eml | wc -c)
echo "message size: $size bytes; $SESSIONS sessions; $N messages"

start=$(date +%s.%N)
smtp-source -d -s "$SESSIONS" -m "$N" -l "$size" -f sender@example.org -t rcpt@example.org "127.0.0.1:$PORT"
end=$(date +%s.%N)
reference=$(python3 -c "print($N / ($end - $start))")

read -r seconds rss_small < <(send "$work/small.db")
herald_rate=$(python3 -c "print($N / $seconds)")
sent=$(HERALD__DATABASE__URL="$work/small.db" "$herald" --json digest status | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['sent'])")

seed "$BIG" "$work/big.db"
read -r _ rss_big < <(send "$work/big.db")

python3 - "$reference" "$herald_rate" "$sent" "$N" "$rss_small" "$rss_big" "$BIG" <<'PY'
import sys
reference, herald, sent, n, small, big, bign = sys.argv[1:]
reference, herald = float(reference), float(herald)
print(f"smtp-source -d (reference): {reference:8.0f} messages/s")
print(f"herald digest send:         {herald:8.0f} messages/s  ({sent} of {n} sent)")
print(f"ratio herald / smtp-source: {herald / reference:.2f}")
print(f"peak RSS of digest send: {int(small) / 1024:.1f} MiB at {n} subscribers, {int(big) / 1024:.1f} MiB at {bign}")
PY
