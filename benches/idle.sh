#!/usr/bin/env bash
# Idle daemon: resident memory of `herald serve` and the CPU it uses while nothing is due.
# Run: bash benches/idle.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
cargo build --release --quiet
herald="$PWD/target/release/herald"
work="$(mktemp -d)"
cd "$work"
"$herald" -q demo >/dev/null 2>&1
HERALD__WEB__BIND=127.0.0.1:0 "$herald" -q serve 2>/dev/null &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 3
ticks_per_second=$(getconf CLK_TCK)
before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep "$seconds"
after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
python3 -c "print(f'peak RSS {int($rss) / 1024:.1f} MiB; CPU while idle for $seconds s: {($after - $before) / $ticks_per_second:.2f} s')"
