#!/usr/bin/env bash
# CSV import benchmark, timed as an operator runs it: the whole `herald subscriber import`
# command (release build) on 1,000,000 rows whose addresses come in random order, as real lists
# do (`user123@example45.org`), against the sqlite3 shell's own `.import` of the same file into
# a bare table with a unique index on the address, measured in the same run. Prints both times
# and the ratio (sqlite3's time / Herald's: 1.0 would be as fast as the shell).
#
#   bash benches/import.sh            # needs the sqlite3 shell (Debian's sqlite3)
#   ROWS=200000 RUNS=3 bash benches/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
RUNS="${RUNS:-3}"
command -v sqlite3 >/dev/null || { echo "the benchmark needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
cargo build --release --quiet
herald="$PWD/target/release/herald"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 benches/readers.py "$ROWS" > "$work/readers.csv"
echo "$(wc -l < "$work/readers.csv") lines, $(du -m "$work/readers.csv" | cut -f1) MiB, addresses in random order"

seconds() { python3 -c 'import sys, time; print(f"{time.time():.3f}")'; }
best_herald=""; best_shell=""
for run in $(seq "$RUNS"); do
  rm -f "$work"/*.db*
  "$herald" -q --database "sqlite://$work/herald.db" list add bench >/dev/null
  start=$(seconds)
  "$herald" -q --database "sqlite://$work/herald.db" subscriber import "$work/readers.csv" --list bench --confirmed >/dev/null
  herald_s=$(python3 -c "print(f'{$(seconds) - $start:.2f}')")
  start=$(seconds)
  bash benches/shell_import.sh "$work/readers.csv" "$work/shell.db"
  shell_s=$(python3 -c "print(f'{$(seconds) - $start:.2f}')")
  ratio=$(python3 -c "print(f'{$shell_s / $herald_s:.2f}')")
  echo "run $run: herald subscriber import ${herald_s} s, sqlite3 .import ${shell_s} s, ratio ${ratio}"
done
