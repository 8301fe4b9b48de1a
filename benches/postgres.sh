#!/usr/bin/env bash
# PostgreSQL next to SQLite, in one run, timed as an operator runs Herald (release build):
#   1. `herald subscriber import` of ROWS rows whose addresses come in random order
#      (`user123@example45.org`), into a SQLite file and into an empty PostgreSQL database, each
#      against its database's own bulk load of the file into a bare table with a unique address
#      index (the sqlite3 shell's `.import`, psql's `\copy`);
#   2. enqueueing one delivery per reader for a list of ROWS (`cargo bench --bench enqueue`);
#   3. `herald digest send` of an N-reader edition (DKIM Ed25519 on) into Postfix's smtp-sink:
#      SQLite with one process, PostgreSQL with one node and with two nodes (two `digest send`
#      processes sharing the edition through their claims), each node SESSIONS connections.
#
#   bash benches/postgres.sh            # needs a PostgreSQL server (POSTGRES=postgres://...)
#   ROWS=200000 N=5000 bash benches/postgres.sh
#   ROWS=200000 N=200000 DKIM=none bash benches/postgres.sh   # unsigned, a 200,000-reader edition
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
N="${N:-20000}"
SESSIONS="${SESSIONS:-8}"
PORT="${PORT:-2527}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"
psql "$POSTGRES/postgres" -qAtc 'SELECT 1' >/dev/null || { echo "no PostgreSQL server at $POSTGRES" >&2; exit 1; }
command -v smtp-sink >/dev/null || { echo "the benchmark needs Postfix's smtp-sink (apt-get install postfix)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "the benchmark needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
cargo build --release --quiet
herald="$PWD/target/release/herald"
work="$(mktemp -d)"
sink_pid=""
# fresh_pg runs in a command substitution, a subshell: the names it makes go to a file, since
# an array it added to would be lost there.
databases="$work/databases"
: > "$databases"
fresh_pg() {
  local name="herald_bench_$1"
  PGOPTIONS="-c client_min_messages=warning" psql "$POSTGRES/postgres" -qAtc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
  echo "$name" >> "$databases"
  echo "$POSTGRES/$name"
}
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
  while read -r name; do psql "$POSTGRES/postgres" -qAtc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null; done < "$databases"
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

python3 benches/readers.py "$ROWS" > "$work/readers.csv"
echo "== import: $ROWS rows, addresses in random order"
# Each database's own bulk load of the same file into a bare table with a unique address index,
# in the same run: the floor each import is measured against.
start=$(now)
bash benches/shell_import.sh "$work/readers.csv" "$work/shell.db"
floor_sqlite=$(since "$start")
floor_db="$(fresh_pg floor)"
psql "$floor_db" -qc "CREATE TABLE readers (email TEXT NOT NULL UNIQUE, name TEXT)"
start=$(now)
psql "$floor_db" -qc "\\copy readers FROM '$work/readers.csv' (FORMAT csv, HEADER)"
floor_postgres=$(since "$start")
for db in "sqlite://$work/import.db" "$(fresh_pg import)"; do
  "$herald" -q --database "$db" list add bench >/dev/null
  start=$(now)
  "$herald" -q --database "$db" subscriber import "$work/readers.csv" --list bench --confirmed >/dev/null
  took=$(since "$start")
  if [ "${db%%:*}" = sqlite ]; then floor="$floor_sqlite" tool="sqlite3 .import"; else floor="$floor_postgres" tool="psql \\copy"; fi
  echo "${db%%:*}: herald subscriber import $took s; $tool into a bare table $floor s; ratio $(python3 -c "print(f'{$floor / $took:.2f}')")"
done

echo "== enqueue: an edition for $ROWS readers"
echo -n "sqlite: "; HERALD_BENCH_ROWS="$ROWS" cargo bench --quiet --bench enqueue 2>/dev/null | tail -1
echo -n "postgres: "; HERALD_BENCH_ROWS="$ROWS" HERALD_BENCH_DATABASE="$(fresh_pg enqueue)" cargo bench --quiet --bench enqueue 2>/dev/null | tail -1

echo "== send: $N readers into smtp-sink, DKIM ${DKIM:-ed25519}, $SESSIONS connections per node"
smtp-sink -u nobody -c "127.0.0.1:$PORT" 1000 >/dev/null 2>&1 &
sink_pid=$!
sleep 0.5
"$herald" -q dkim keygen --selector bench --domain example.org --algorithm ed25519 --out "$work/dkim.pem" >/dev/null
head -n $((N + 1)) "$work/readers.csv" > "$work/send.csv"
python3 benches/stories.py > "$work/stories.jsonl"
seed() {
  "$herald" -q --database "$1" list add bench --title "Bench Daily" --max-stories 8 >/dev/null
  "$herald" -q --database "$1" subscriber import "$work/send.csv" --list bench --confirmed >/dev/null
  "$herald" -q --database "$1" story import "$work/stories.jsonl" >/dev/null
}
dkim=(HERALD__DKIM__SELECTOR=bench HERALD__DKIM__DOMAIN=example.org "HERALD__DKIM__PRIVATE_KEY_FILE=$work/dkim.pem")
[ "${DKIM:-ed25519}" = none ] && dkim=()
send() {
  env "${dkim[@]}" HERALD__DATABASE__URL="$1" HERALD__DATABASE__NODE="$2" HERALD__TRANSPORT__KIND=smtp \
  HERALD__SMTP__HOST=127.0.0.1 HERALD__SMTP__PORT="$PORT" HERALD__SMTP__TLS=none \
  HERALD__DELIVERY__CONCURRENCY="$SESSIONS" "$herald" -q digest send --list bench >/dev/null
}
db="sqlite://$work/send.db"; seed "$db"
start=$(now); send "$db" one
sqlite_seconds=$(since "$start")
echo "sqlite, one process: $sqlite_seconds s"
db="$(fresh_pg send_one)"; seed "$db"
start=$(now); send "$db" one
postgres_seconds=$(since "$start")
echo "postgres, one node: $postgres_seconds s; $(python3 -c "print(f'{$sqlite_seconds / $postgres_seconds:.2f}')") of SQLite's rate"
db="$(fresh_pg send_two)"; seed "$db"
# The edition is built once, whichever node comes first; both then claim from it.
start=$(now); send "$db" alpha & first=$!; send "$db" beta & second=$!
wait "$first"; wait "$second"
echo "postgres, two nodes: $(since "$start") s"
psql "$db" -qAtc "SELECT split_part(claimed_by, ':', 1), COUNT(*) FROM deliveries WHERE status = 'sent' GROUP BY 1 ORDER BY 1" | sed 's/^/  sent by /'
