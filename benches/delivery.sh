#!/usr/bin/env bash
# Delivery benchmark against Postfix's smtp-sink, with Postfix's own smtp-source as the reference
# measured in the same run (same sessions, same message size; three alternating rounds, for a
# full edition of eight stories and for one of two, about half the size), plus Herald's peak RSS for
# `digest send` at two list sizes. With DKIM (RSA-2048, then Ed25519) the reference is the limit
# 1 / (1/sign_rate + 1/smtp_source_rate), sign_rate from `openssl speed -multi CORES rsa2048`.
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

# A list of $1 confirmed subscribers (addresses in random order) and a day's stories ($3, or
# eight), in database $2.
seed() {
  local count="$1" db="$2" stories="${3:-8}"
  python3 - "$count" > "$work/people.csv" <<'PY'
import random, sys
print("email,name")
ids = list(range(int(sys.argv[1])))
random.Random(7).shuffle(ids)
for i in ids:
    print(f"reader{i:07d}@example-{i % 97}.org,Reader {i}")
PY
  HERALD__DATABASE__URL="$db" "$herald" -q list add bench --title "Bench Daily" --max-stories 8 >/dev/null
  HERALD__DATABASE__URL="$db" "$herald" -q subscriber import "$work/people.csv" --list bench --confirmed >/dev/null
  python3 benches/stories.py "$stories" > "$work/stories.jsonl"
  HERALD__DATABASE__URL="$db" "$herald" -q story import "$work/stories.jsonl" >/dev/null
}

# Runs `digest send` on database $1 into smtp-sink, with DKIM key $2 if given; prints
# "seconds peak_rss_kib".
send() {
  local dkim=()
  if [ -n "${2:-}" ]; then
    dkim=(HERALD__DKIM__SELECTOR=bench HERALD__DKIM__DOMAIN=example.org "HERALD__DKIM__PRIVATE_KEY_FILE=$2")
  fi
  env "${dkim[@]}" HERALD__DATABASE__URL="$1" HERALD__TRANSPORT__KIND=smtp HERALD__SMTP__HOST=127.0.0.1 \
  HERALD__SMTP__PORT="$PORT" HERALD__SMTP__TLS=none HERALD__DELIVERY__CONCURRENCY="$SESSIONS" \
  python3 - "$herald" <<'PY'
import resource, subprocess, sys, time
started = time.monotonic()
subprocess.run([sys.argv[1], "-q", "digest", "send", "--list", "bench"], check=True, stdout=subprocess.DEVNULL)
print(f"{time.monotonic() - started:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

# Three alternating rounds of smtp-source and Herald (a fresh database each) for an edition of
# $1 stories; prints "size reference_rates herald_rates rss_kib" (rates comma-separated).
rounds() {
  local stories="$1" size references="" rates="" rss=""
  for round in 1 2 3; do
    rm -rf "$work/round.db"*
    seed "$N" "$work/round.db" "$stories"
    size=$(HERALD__DATABASE__URL="$work/round.db" "$herald" -q digest preview --list bench --format eml | wc -c)
    local start end seconds
    start=$(date +%s.%N)
    smtp-source -d -s "$SESSIONS" -m "$N" -l "$size" -f sender@example.org -t rcpt@example.org "127.0.0.1:$PORT" >/dev/null
    end=$(date +%s.%N)
    references+="$(python3 -c "print($N / ($end - $start))"),"
    read -r seconds rss < <(send "$work/round.db")
    rates+="$(python3 -c "print($N / $seconds)"),"
  done
  echo "$size ${references%,} ${rates%,} $rss"
}
read -r size references rates rss_small < <(rounds 8)
read -r small_size small_references small_rates _ < <(rounds 2)
sent=$(HERALD__DATABASE__URL="$work/round.db" "$herald" --json digest status | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['sent'])")
reference=$(python3 -c "import statistics; print(statistics.median([$references]))")
echo "$SESSIONS sessions; $N messages; messages of $size bytes (eight stories) and $small_size (two)"

# DKIM: the same edition signed with RSA-2048, then with Ed25519 (keys from `herald dkim keygen`).
"$herald" -q dkim keygen --selector bench --domain example.org --out "$work/rsa.pem" >/dev/null
"$herald" -q dkim keygen --selector bench --domain example.org --algorithm ed25519 --out "$work/ed.pem" >/dev/null
sign_rate=$(openssl speed -multi "$(nproc)" -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
seed "$N" "$work/rsa.db"
read -r rsa_seconds _ < <(send "$work/rsa.db" "$work/rsa.pem")
seed "$N" "$work/ed.db"
read -r ed_seconds _ < <(send "$work/ed.db" "$work/ed.pem")

seed "$BIG" "$work/big.db"
read -r _ rss_big < <(send "$work/big.db")

python3 - "$reference" "$sent" "$N" "$rss_small" "$rss_big" "$BIG" "$sign_rate" "$rsa_seconds" "$ed_seconds" \
  "$references" "$rates" "$small_references" "$small_rates" <<'PY'
import statistics, sys
reference, sent, n, small, big, bign, sign, rsa, ed = sys.argv[1:10]
rounds = [[float(x) for x in arg.split(",")] for arg in sys.argv[10:]]
reference, sign = float(reference), float(sign)
rsa_rate, ed_rate = int(n) / float(rsa), int(n) / float(ed)
limit = 1 / (1 / sign + 1 / reference)
for name, refs, rates in (("eight stories", rounds[0], rounds[1]), ("two stories", rounds[2], rounds[3])):
    ratios = [rate / ref for ref, rate in zip(refs, rates)]
    print(f"{name}: smtp-source -d {', '.join(f'{r:.0f}' for r in refs)} messages/s; "
          f"herald digest send {', '.join(f'{r:.0f}' for r in rates)}; "
          f"ratios {', '.join(f'{r:.2f}' for r in ratios)}, median {statistics.median(ratios):.2f}")
print(f"last round: {sent} of {n} sent")
print(f"openssl RSA-2048 signs/s on all cores: {sign:.0f}; limit with DKIM: {limit:.0f} messages/s")
print(f"herald with RSA-2048 DKIM:  {rsa_rate:8.0f} messages/s, ratio to the limit: {rsa_rate / limit:.2f}")
print(f"herald with Ed25519 DKIM:   {ed_rate:8.0f} messages/s")
print(f"peak RSS of digest send: {int(small) / 1024:.1f} MiB at {n} subscribers, {int(big) / 1024:.1f} MiB at {bign}")
PY
