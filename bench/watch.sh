#!/usr/bin/env bash
# Benchmark of `phonehome watch` (issue 12), three parts, each printing phonehome beside its
# reference from the same run:
#
# 1. Throughput: `watch --replay F --speed max` against `analyze F` on the same capture (the
#    mixed and the all-HTTP captures of bench/analyze.sh, SIZE_MIB each, with its bench profile,
#    --no-hash, one core). Target: watch keeps at least 90% of analyze's MB/s.
# 2. Memory over time: RSS sampled every 0.25 s while `watch --replay --speed max` reads the
#    mixed and the all-HTTP captures, and every 2 s while it replays a day of traffic (`gen_day`: capture time runs 24 h,
#    86,400 requests, new destinations and findings all day) 2,880 times faster (30 s); `analyze`
#    of the same day beside it.
# 3. Live: a veth pair between two network namespaces, iperf3 sending UDP from one to a server in
#    the other for DURATION seconds at each RATE; `watch -i` and `tcpdump -w` capture the same
#    traffic in turn, and each says how many packets it got and how many the kernel dropped.
#    Needs root, iperf3, tcpdump and libpcap-dev (the `live` feature).
#
# Usage: bench/watch.sh [SIZE_MIB]      (default 1024; captures cached in bench/out/)
# Env:   CORE=0 (taskset core; CORE= to disable), RUNS=3, PARTS="1 2 3", RATES="100M 500M 0",
#        DURATION=5, PAYLOAD=200 (UDP payload bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${RUNS:-3}
core=${CORE-0}
parts=${PARTS:-1 2 3}
out=bench/out
mkdir -p "$out"
features=()
if [ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ]; then features=(--features live); fi
cargo build --release -q -p phonehome "${features[@]}"
cargo build --release -q -p testkit --example gen_mix --example gen_profile --example gen_day
bin=$PWD/target/release/phonehome
pin=()
[ -n "$core" ] && command -v taskset >/dev/null && pin=(taskset -c "$core")
target/release/examples/gen_profile "$out" 500 1 2>/dev/null
profile=$out/bench-profile.toml
mix=$out/mix-${size}m.pcap
http=$out/http-${size}m.pcap
[ -s "$mix" ] || target/release/examples/gen_mix "$mix" "$size" pcap 1 mix 2>/dev/null
[ -s "$http" ] || target/release/examples/gen_mix "$http" "$size" pcap 1 http 2>/dev/null
. bench/lib.sh

# rss_series CMD...: runs CMD (output discarded), printing its RSS (MiB) every $every seconds.
rss_series() {
  ("$@" >/dev/null 2>&1) &
  local sub=$! pid="" series=""
  sleep 0.2
  pid=$(pgrep -n -P "$sub" || echo "$sub")
  while kill -0 "$pid" 2>/dev/null; do
    series="$series $(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status" 2>/dev/null)"
    sleep "$every"
  done
  wait "$sub" || true
  echo "$series"
}

if [[ " $parts " == *" 1 "* ]]; then
  echo
  echo "1. throughput, one core${core:+ (taskset -c $core)}, best of $runs, files in the page cache"
  printf '| %-8s | %-40s | %8s | %9s | %8s |\n' capture command time MB/s "peak RSS"
  printf '|---|---|---:|---:|---:|\n'
  for cap in "$mix" "$http"; do
    bytes=$(stat -c %s "$cap")
    best_of "$bin" analyze "$cap" --profile "$profile" --no-hash --no-geo --format json
    a=$best
    printf '| %-8s | %-40s | %7ss | %4s MB/s | %4s MiB |\n' "$(basename "$cap" .pcap)" \
      "analyze --format json" "$best" "$(mbs "$bytes")" "$((rss / 1024))"
    best_of "$bin" watch --replay "$cap" --speed max --profile "$profile" --no-hash --no-geo --jsonl
    printf '| %-8s | %-40s | %7ss | %4s MB/s | %4s MiB |\n' "$(basename "$cap" .pcap)" \
      "watch --replay --speed max --jsonl" "$best" "$(mbs "$bytes")" "$((rss / 1024))"
    echo "  watch keeps $(echo "scale=1; 100 * $a / $best" | bc)% of analyze's throughput on $(basename "$cap")"
  done
fi

if [[ " $parts " == *" 2 "* ]]; then
  echo
  echo "2. memory over time (RSS in MiB)"
  every=0.25
  for cap in "$mix" "$http"; do
    echo "  watch --replay $(basename "$cap") --speed max, every 0.25 s:$(rss_series "${pin[@]}" "$bin" watch --replay "$cap" --speed max --profile "$profile" --no-hash --no-geo --jsonl)"
  done
  day=$out/day.pcap
  [ -s "$day" ] || target/release/examples/gen_day "$day" 1 2>/dev/null
  every=2
  echo "  watch --replay day.pcap (24 h of capture time) --speed 2880, every 2 s:$(rss_series "$bin" watch --replay "$day" --speed 2880 --profile examples/profile.toml --no-geo --jsonl)"
  every=0.5
  echo "  analyze day.pcap, every 0.5 s:$(rss_series "$bin" analyze "$day" --profile examples/profile.toml --no-geo --format json)"
fi

if [[ " $parts " == *" 3 "* ]]; then
  echo
  if [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null || ! command -v tcpdump >/dev/null \
    || [ ${#features[@]} = 0 ]; then
    echo "3. live: skipped (needs root, iperf3, tcpdump and libpcap-dev)"
    exit 0
  fi
  duration=${DURATION:-5}
  payload=${PAYLOAD:-200}
  a=phb$$a b=phb$$b
  # A process keeps running when its namespace is deleted: the iperf3 server is stopped first.
  cleanup() {
    [ -s "$out/iperf3.pid" ] && kill "$(cat "$out/iperf3.pid")" 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true
  }
  trap cleanup EXIT
  ip netns add "$a"; ip netns add "$b"
  ip link add pv0 netns "$a" type veth peer name pv1 netns "$b"
  ip -n "$a" addr add 10.198.0.1/24 dev pv0; ip -n "$b" addr add 10.198.0.2/24 dev pv1
  ip -n "$a" link set pv0 up; ip -n "$b" link set pv1 up
  ip -n "$a" link set lo up; ip -n "$b" link set lo up
  echo "3. live capture on a veth, iperf3 UDP with $payload-byte payloads for $duration s"
  printf '| %-6s | %-24s | %10s | %10s | %8s | %10s |\n' rate tool offered captured dropped "pkts/s"
  printf '|---|---|---:|---:|---:|---:|\n'
  for rate in ${RATES:-100M 500M 0}; do
    for tool in phonehome tcpdump; do
      if [ -s "$out/iperf3.pid" ]; then
        kill "$(cat "$out/iperf3.pid")" 2>/dev/null || true
        rm -f "$out/iperf3.pid"
        sleep 0.3
      fi
      ip netns exec "$a" iperf3 -s -D --pidfile "$PWD/$out/iperf3.pid" >/dev/null 2>&1
      sleep 0.3
      log=$out/live-$tool.log
      if [ $tool = phonehome ]; then
        ip netns exec "$a" "$bin" watch -i pv0 --filter "udp and host 10.198.0.2" --jsonl --no-geo \
          >"$out/live.jsonl" 2>"$log" &
      else
        ip netns exec "$a" tcpdump -i pv0 -B 32768 -w "$out/live-tcpdump.pcap" "udp and host 10.198.0.2" \
          2>"$log" &
      fi
      cap=$!
      sleep 1
      offered=$(ip netns exec "$b" iperf3 -c 10.198.0.1 -u -b "$rate" -l "$payload" -t "$duration" -J \
        | jq '.end.sum.packets // 0')
      sleep 0.5
      kill -INT "$cap"; wait "$cap" 2>/dev/null || true
      if [ $tool = phonehome ]; then
        got=$(tail -1 "$out/live.jsonl" | jq '.counters.packets')
        dropped=$(tail -1 "$out/live.jsonl" | jq '.counters.dropped')
      else
        got=$(grep -o '^[0-9]* packets captured' "$log" | cut -d' ' -f1)
        dropped=$(grep -o '^[0-9]* packets dropped by kernel' "$log" | cut -d' ' -f1)
      fi
      printf '| %-6s | %-24s | %10s | %10s | %8s | %10s |\n' "$rate" "$tool" "$offered" "$got" "$dropped" \
        "$((got / duration))"
    done
  done
fi
