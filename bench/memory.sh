#!/usr/bin/env bash
# Peak memory of `phonehome flows` and `analyze` on a capture of 1,000,000 flows (a SYN flood
# from gen_synflood: one SYN per flow, none completes), beside tshark's when it is installed
# (`tshark -r F -q -z conv,tcp`, its TCP conversation table, the nearest equivalent of `flows`).
# Issue 11's target: phonehome under 128 MiB.
#
# Usage: bench/memory.sh [FLOWS]      (default 1000000; the capture is cached in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
out=bench/out
mkdir -p "$out"
cargo build --release -q -p phonehome
cargo build --release -q -p testkit --example gen_synflood
cap=$out/synflood-$n.pcap
[ -s "$cap" ] || target/release/examples/gen_synflood "$cap" "$n" 2>/dev/null
bin=target/release/phonehome
echo "capture: $cap ($n flows, $(($(stat -c %s "$cap") / 1048576)) MiB)"
peak() {
  local label=$1
  shift
  /usr/bin/time -o "$out/time.txt" -f "%e %M" "$@" >/dev/null 2>&1 || true
  read -r secs kib <"$out/time.txt"
  printf '%-44s %8s MiB peak RSS  %6s s\n' "$label" "$((kib / 1024))" "$secs"
}
peak "phonehome flows (table)" "$bin" flows "$cap"
peak "phonehome flows --format jsonl" "$bin" flows --format jsonl "$cap"
peak "phonehome analyze --format json" "$bin" analyze --format json "$cap"
if command -v tshark >/dev/null; then
  peak "tshark -q -z conv,tcp" tshark -r "$cap" -q -z conv,tcp
fi
