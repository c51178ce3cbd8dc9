#!/usr/bin/env bash
# Load test of `phonehome guard` against dnsmasq, on loopback only (no internet needed).
#
#   bench/guard.sh            # needs: dnsperf, dnsmasq (Debian: apt-get install dnsperf dnsmasq-base), sqlite3
#   SECS=10 QPS=20000 UPSTREAM_TTL=0 bench/guard.sh
#
# Set-up, the same for both resolvers:
#   - a local upstream: dnsmasq on 127.0.0.1:5300 answering every name with 198.51.100.1 /
#     2001:db8::1 (--address=/#/) with TTL $UPSTREAM_TTL (default 0: nothing is cached, every
#     allowed query goes upstream; UPSTREAM_TTL=300 lets both resolvers cache the popular names);
#   - a 100,000-entry blocklist (generated names under 1,000 made-up tracker domains);
#   - a query mix: 1/3 blocked names, 1/3 a small set of popular names (cache hits), 1/3 unique names
#     (cache misses: asked upstream);
#   - phonehome guard on 127.0.0.1:5353 (--block LIST --db bench.sqlite, no rate limit), dnsmasq on
#     127.0.0.1:5354 (--addn-hosts LIST, --server 127.0.0.1#5300, cache 10,000; a 100,000-entry
#     cache made it much slower here, and with UPSTREAM_TTL > 0 its full cache slows it down).
# Two runs per resolver with dnsperf: maximum throughput (no rate cap, 10 s), then a steady
# QPS (default 20,000/s, 10 s) with every latency recorded (-v) for the percentiles. Prints queries per
# second, lost queries and p50/p90/p99/max latency, and for the guard the rows its query log holds.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
UPSTREAM_TTL=${UPSTREAM_TTL:-0}
QPS=${QPS:-20000}
out=bench/out/guard
mkdir -p "$out"
for tool in dnsperf dnsmasq sqlite3; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool (apt-get install dnsperf dnsmasq-base sqlite3)" >&2; exit 1; }
done
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
cargo build --release -q -p phonehome
bin=target/release/phonehome

# Inputs (deterministic).
python3 - "$out" <<'PY'
import sys, random
out = sys.argv[1]
rnd = random.Random(42)
trackers = [f"trk{i:04d}-metrics.net" for i in range(1000)]
blocked = [f"s{j}.{t}" for t in trackers for j in range(100)]
with open(f"{out}/block.txt", "w") as f:
    f.write("# 100,000 generated tracker names\n")
    f.writelines(f"{n}\n" for n in blocked)
with open(f"{out}/block.hosts", "w") as f:
    f.writelines(f"0.0.0.0 {n}\n" for n in blocked)
popular = [f"www{i}.popular-site.org" for i in range(200)]
with open(f"{out}/queries.txt", "w") as f:
    for i in range(300_000):
        k = i % 3
        if k == 0:
            name = rnd.choice(blocked)
        elif k == 1:
            name = rnd.choice(popular)
        else:
            name = f"u{i}.uncached-{rnd.randrange(10**6)}.example.net"
        f.write(f"{name} {'A' if i % 4 else 'AAAA'}\n")
PY

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The upstream.
"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --port=5300 --listen-address=127.0.0.1 \
  --bind-interfaces --address=/#/198.51.100.1 --address=/#/2001:db8::1 --local-ttl="$UPSTREAM_TTL" --cache-size=0 \
  --log-facility=/dev/null &
pids+=($!)

rm -f "$out"/bench.sqlite*
"$bin" guard --listen 127.0.0.1:5353 --upstream 127.0.0.1:5300 --block "$out/block.txt" \
  --db "$out/bench.sqlite" --rate-limit 0 --cache-size 100000 2>"$out/guard.log" &
pids+=($!)
"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --port=5354 --listen-address=127.0.0.1 \
  --bind-interfaces --server=127.0.0.1#5300 --addn-hosts="$out/block.hosts" --cache-size=10000 \
  --log-facility=/dev/null &
pids+=($!)
sleep 3
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a server failed to start (ports 5300, 5353, 5354 must be free); see $out/guard.log" >&2; exit 1; }
done

# dnsperf summary line -> "qps lost"; verbose latencies -> percentiles.
summary() { awk '/Queries per second/ {q=$4} /Queries lost/ {l=$3} END {printf "%s qps, %s lost", q, l}' "$1"; }
pct() {
  grep -E '^> ' "$1" | awk '{print $NF}' | sort -g | awk '
    {v[NR]=$1} END { if (NR==0) {print "no latencies"; exit}
      printf "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d answers)",
        v[int(NR*0.50)]*1000, v[int(NR*0.90)]*1000, v[int(NR*0.99)]*1000, v[NR]*1000, NR }'
}

for target in "phonehome-guard 5353" "dnsmasq 5354"; do
  set -- $target
  name=$1 port=$2
  dnsperf -s 127.0.0.1 -p "$port" -d "$out/queries.txt" -l "$SECS" -c 8 -q 500 >"$out/$name.max.txt" 2>&1 || true
  dnsperf -s 127.0.0.1 -p "$port" -d "$out/queries.txt" -l "$SECS" -c 8 -q 500 -Q "$QPS" -v \
    >"$out/$name.steady.txt" 2>&1 || true
  printf '%-16s max: %s | steady %s/s: %s; %s\n' "$name" "$(summary "$out/$name.max.txt")" "$QPS" \
    "$(summary "$out/$name.steady.txt")" "$(pct "$out/$name.steady.txt")"
done

# Every answered query in the log: stop the guard (SIGTERM flushes the log), then count rows.
kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
sent=$(awk '/Queries completed/ {s+=$3} END {print s}' "$out/phonehome-guard.max.txt" "$out/phonehome-guard.steady.txt")
rows=$(sqlite3 "$out/bench.sqlite" 'SELECT count(*) FROM queries')
echo "guard query log: $rows rows for $sent answered queries"
