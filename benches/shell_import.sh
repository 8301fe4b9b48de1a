#!/usr/bin/env bash
# The reference the import benchmarks measure Herald against: the sqlite3 shell's own `.import`
# of a readers CSV into a bare table with a unique index on the address (WAL, as Herald's file).
#
#   bash benches/shell_import.sh READERS.csv DATABASE.db
set -euo pipefail
sqlite3 "$2" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
CREATE TABLE readers (email TEXT NOT NULL, name TEXT);
CREATE UNIQUE INDEX readers_email ON readers (email);
.import --csv --skip 1 $1 readers
SQL
