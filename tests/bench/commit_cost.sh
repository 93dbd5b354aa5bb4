#!/usr/bin/env bash
# Commit cost per change, SQLite against PostgreSQL: the same live-typing
# workload (accord-load) against one release relay on each store, then the
# relay's own commit counters from /metrics. PostgreSQL is a throwaway local
# cluster (Debian's package; initdb as the user accordpg when run as root),
# fsync and synchronous_commit on, on the same disk as the SQLite file.
#
#   cargo build --release -p accord-server --bins
#   tests/bench/commit_cost.sh [accord-load flags]
#
# Default workload: --docs 50 --typists-per-doc 4 --rate 5 --duration-secs 10.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${ACCORD_BIN_DIR:-target/release}
pg_bin=${ACCORD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
load=("$@")
[ ${#load[@]} -gt 0 ] || load=(--docs 50 --typists-per-doc 4 --rate 5 --duration-secs 10)

work=$(mktemp -d /tmp/accord-commit-cost.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
    id accordpg >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin accordpg
    chown accordpg "$work"
    as_pg=(runuser -u accordpg --)
fi
relay=
cleanup() {
    [ -z "$relay" ] || kill "$relay" 2>/dev/null || true
    "${as_pg[@]}" "$pg_bin/pg_ctl" stop -D "$work/pg" -m fast -s >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U accord --auth=trust --no-sync \
    --no-instructions >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pg_bin/pg_ctl" start -D "$work/pg" -w -s -l "$work/pg.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=on -c synchronous_commit=on"
"$pg_bin/psql" -X -q -h 127.0.0.1 -p "$port" -U accord -d postgres -c "CREATE DATABASE bench"

metric() { # name, metrics text
    awk -v name="$1" '$1 == name { print $2 }' <<<"$2"
}

measure() { # label, extra accord arguments
    local label=$1
    shift
    mkdir -p "$work/$label"
    "$bin/accord" --data-dir "$work/$label" serve --listen 127.0.0.1:0 "$@" \
        >"$work/$label/out" 2>"$work/$label/log" &
    relay=$!
    local address=
    for _ in $(seq 100); do
        address=$(sed -n 's|.*listening on http://||p' "$work/$label/out")
        [ -n "$address" ] && break
        sleep 0.1
    done
    [ -n "$address" ] || { cat "$work/$label/log"; exit 1; }
    echo "== $label"
    "$bin/accord-load" --accord-http "http://$address" "${load[@]}" --relay-pid "$relay"
    local text
    text=$(curl -s "http://$address/metrics")
    kill "$relay"
    wait "$relay" 2>/dev/null || true
    relay=
    python3 - "$label" "$(metric accord_commits_total "$text")" \
        "$(metric accord_committed_writes_total "$text")" \
        "$(metric accord_commit_seconds_total "$text")" <<'PY'
import sys
label, commits, writes, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print(f"{label}: {commits} group commits, {writes} writes, "
      f"{seconds * 1000 / commits:.2f} ms per commit, {seconds * 1000 / writes:.2f} ms per write, "
      f"{writes / commits:.1f} writes per commit")
PY
}

measure sqlite
measure postgres --store "postgres://accord@127.0.0.1:$port/bench"
