#!/bin/bash
# Forwarding overhead: the same live-typing load against one relay node and
# against three nodes on one PostgreSQL (typists and readers round-robin over
# the nodes, so about two thirds of them are forwarded to the owner), twice
# each; then prints each node's forwarding counters.
#
# Usage: tests/bench/cluster.sh postgres://USER@HOST:PORT  (a server where
#        USER may CREATE DATABASE; two fresh databases are made)
# Env:   DOCS (10), SECS (15), BIN (target/release)
set -euo pipefail
SERVER=${1:?usage: tests/bench/cluster.sh postgres://user@host:port}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
WORK=$(mktemp -d)
SUFFIX=$RANDOM
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
for db in one three; do psql -X -q "$SERVER/postgres" -c "CREATE DATABASE bench_${db}_$SUFFIX"; done
start() { # name database
  mkdir -p "$WORK/$1"
  "$BIN/accord" --data-dir "$WORK/$1" serve --listen 127.0.0.1:0 \
    --store "$SERVER/bench_${2}_$SUFFIX" --cluster-secret "bench-$SUFFIX-0123456789abcdef" \
    >"$WORK/$1.out" 2>"$WORK/$1.log" &
  PIDS+=($!)
}
addr() {
  for _ in $(seq 300); do
    a=$(grep -o 'http://[0-9.:]*' "$WORK/$1.out" 2>/dev/null || true)
    [ -n "$a" ] && { echo "$a"; return; }
    sleep 0.1
  done
  echo "node $1 did not start; see $WORK/$1.log" >&2; exit 1
}
start one one; start n1 three; start n2 three; start n3 three
ONE=$(addr one); N1=$(addr n1); N2=$(addr n2); N3=$(addr n3)
ARGS=(--docs "${DOCS:-10}" --typists-per-doc 4 --rate 5 --duration-secs "${SECS:-15}")
for round in 1 2; do
  echo "== round $round: 1 node";  "$BIN/accord-load" --accord-http "$ONE" "${ARGS[@]}"
  echo "== round $round: 3 nodes"; "$BIN/accord-load" --accord-http "$N1,$N2,$N3" "${ARGS[@]}"
done
for n in n1 n2 n3; do
  curl -s "$(addr $n)/metrics" | grep -E '^accord_(documents_owned|links_opened_total|forwarded_to_owner_total|forwarded_from_owner_total) ' | sed "s/^/$n /"
done
