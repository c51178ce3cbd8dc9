#!/usr/bin/env bash
# Benchmark of decryption: `phonehome analyze --keylog` on all-HTTPS phone-like traffic, beside
# tshark with the same key log.
#
# - Capture: `gen_keyed` (testkit): two thirds TLS 1.3 + HTTP/2 made by rustls, one third QUIC v1
#   + HTTP/3, 16 requests per connection (JSON bodies 300 B-3 KB, responses 1-24 KB); every
#   connection opened by the key log written beside it (bench/out/keyed-SIZEm.pcap[.keys]).
# - phonehome: `flows --keylog` (decryption, HTTP/2 and HTTP/3 parsing; no detection) and
#   `analyze --keylog --format json --no-hash` (everything, heuristics on every request field).
# - tshark 4.0: `-o tls.keylog_file:K -T fields -e http2.header.value -e http3.frame_type`, on a
#   TSHARK_MIB slice from the same generator (tshark holds every packet in memory; its rate does
#   not depend on the file size it is measured on).
# - Prints wall time, MB/s (capture bytes / wall time, file in the page cache, best of RUNS) and
#   peak RSS, one core (taskset).
#
# Usage: bench/decrypt.sh [SIZE_MIB]   (default 1024)
# Env:   CORE=0, RUNS=3, TSHARK_MIB=128, PEERS=0 to skip tshark.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${RUNS:-3}
core=${CORE-0}
tmib=${TSHARK_MIB:-128}
out=bench/out
mkdir -p "$out"
cargo build --release -q -p phonehome
cargo build --release -q -p testkit --example gen_keyed
bin=target/release/phonehome
pin=()
[ -n "$core" ] && command -v taskset >/dev/null && pin=(taskset -c "$core")
cap=$out/keyed-${size}m.pcap
small=$out/keyed-${tmib}m.pcap
[ -s "$cap" ] || target/release/examples/gen_keyed "$cap" "$size" 1
[ -s "$small" ] || target/release/examples/gen_keyed "$small" "$tmib" 1

. bench/lib.sh
# measure NAME BYTES CMD...: best wall time of $runs runs, peak RSS of the best run
measure() {
  local name=$1 bytes=$2; shift 2
  best_of "$@"
  printf '| %-58s | %7ss | %6s MB/s | %5s MiB |\n' "$name" "$best" "$(mbs "$bytes")" "$((rss / 1024))"
}

bytes=$(stat -c %s "$cap")
sbytes=$(stat -c %s "$small")
cat "$cap" "$small" >/dev/null
echo
echo "one core${core:+ (taskset -c $core)}, best of $runs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "$cap: $((bytes / 1048576)) MiB; $small: $((sbytes / 1048576)) MiB"
"$bin" flows "$cap" --keylog "$cap.keys" --stats 2>&1 >/dev/null | grep -E 'tls\.(sessions|decrypted)|quic\.' | tr -s ' ' | sed 's/^/  /'
echo
printf '| %-58s | %8s | %11s | %9s |\n' run wall throughput "peak RSS"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "---------:" "------------:" "----------:"
measure "phonehome flows --keylog (decrypt + HTTP/2, HTTP/3)" "$bytes" "$bin" flows "$cap" --keylog "$cap.keys"
measure "phonehome analyze --keylog --format json --no-hash" "$bytes" "$bin" analyze "$cap" --keylog "$cap.keys" --format json --no-hash
measure "phonehome analyze (no keys: nothing to read)" "$bytes" "$bin" analyze "$cap" --format json --no-hash
measure "phonehome analyze --keylog (${tmib} MiB slice)" "$sbytes" "$bin" analyze "$small" --keylog "$small.keys" --format json --no-hash
if [ "${PEERS:-1}" = 1 ] && command -v tshark >/dev/null; then
  measure "tshark -o tls.keylog_file (${tmib} MiB slice)" "$sbytes" tshark -r "$small" \
    -o "tls.keylog_file:$small.keys" -T fields -e http2.header.value -e http3.frame_type
fi
