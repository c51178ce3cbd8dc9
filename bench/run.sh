#!/usr/bin/env bash
# Benchmark: phonehome `flows` and `events` on a generated capture of mixed phone-like traffic,
# side by side with tshark and ndpiReader when they are installed. Prints MB/s (capture bytes per
# second of wall time, file in the page cache), peak RSS, and start-up time. Then bench/analyze.sh:
# `phonehome analyze` with a 500-contact profile next to Suricata (ANALYZE=0 to skip).
#
# Usage: bench/run.sh [SIZE_MIB]        (default 1024; the capture is cached in bench/out/)
# Env:   CORE=0  pin every tool to one core with taskset (default: core 0; CORE= to disable)
#        RUNS=3  repetitions, best wall time kept
#        PEERS=0 skip tshark / ndpiReader
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${RUNS:-3}
core=${CORE-0}
out=bench/out
cap=$out/mix-${size}m.pcap
mkdir -p "$out"

cargo build --release -q -p phonehome
cargo build --release -q -p testkit --example gen_mix
bin=target/release/phonehome
if [ ! -s "$cap" ]; then
  start=$(date +%s.%N)
  target/release/examples/gen_mix "$cap" "$size" pcap 1 2>/dev/null
  echo "generated $cap in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
bytes=$(stat -c %s "$cap")
cat "$cap" >/dev/null # page cache

pin=()
[ -n "$core" ] && command -v taskset >/dev/null && pin=(taskset -c "$core")

. bench/lib.sh
# measure NAME CMD...: best wall time of $runs runs, peak RSS of the best run
measure() {
  local name=$1; shift
  best_of "$@"
  printf '| %-44s | %8s | %7s MB/s | %6s MiB |\n' "$name" "${best}s" "$(mbs "$bytes")" "$((rss / 1024))"
}

echo
echo "capture: $cap ($((bytes / 1048576)) MiB, $(echo "$bytes / 1000000" | bc) MB), one core${core:+ (taskset -c $core)}, best of $runs"
echo
printf '| %-44s | %8s | %12s | %10s |\n' tool wall throughput "peak RSS"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "----------:" "-------------:" "-----------:"
measure "phonehome flows" "$bin" flows "$cap"
measure "phonehome events --format jsonl" "$bin" events --format jsonl "$cap"
if [ "${PEERS:-1}" = 1 ] && command -v ndpiReader >/dev/null; then
  measure "ndpiReader -i F -q" ndpiReader -i "$cap" -q
fi
if [ "${PEERS:-1}" = 1 ] && command -v tshark >/dev/null; then
  measure "tshark -T fields (dns, sni, host, uri)" tshark -r "$cap" -T fields -e dns.qry.name \
    -e tls.handshake.extensions_server_name -e http.host -e http.request.uri
fi

# Start-up: an empty capture, many runs.
empty=$out/empty.pcap
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$empty"
start=$(date +%s%N)
for _ in $(seq 50); do "$bin" flows "$empty" >/dev/null; done
echo
echo "start-up (flows on an empty capture, mean of 50): $(( ($(date +%s%N) - start) / 50000 )) µs"

# analyze with a 500-contact profile, side by side with Suricata (ANALYZE=0 to skip).
if [ "${ANALYZE:-1}" = 1 ]; then
  bench/analyze.sh "$size"
fi
