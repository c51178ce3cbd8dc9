#!/usr/bin/env bash
# Throughput and latency through the VPN gateway (issue 13), beside wireguard-go as the gateway
# with kernel forwarding, in the same run: three network namespaces (phone, gateway, internet),
# a wireguard-go client in the phone configured from `phonehome vpn init`'s text, iperf3 from
# the phone to a server in the internet namespace, TCP then UDP, with phonehome's analysis on
# (every packet through the live pipeline, as `phonehome vpn` runs) and off (`--no-analysis`).
# Prints Mbit/s and the gateway's CPU seconds per Gbit (utime + stime of its process over the
# run); then ping round trips through the tunnel beside the same path without it (the phone
# routed to the server through the gateway's kernel directly), p50 and p99 of 1000 pings.
#
# Usage: sudo bench/vpn.sh      Env: DURATION=5 (seconds per run)
# Needs root, wireguard-go, wireguard-tools, nftables, iperf3, jq, bc, ping (iputils-ping).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-5}
cargo build --release -q -p phonehome
bin=$PWD/target/release/phonehome
out=bench/out
mkdir -p "$out"
p=phbv$$p g=phbv$$g i=phbv$$i
state=$(mktemp -d)
cleanup() {
  # A process keeps running when its namespace is deleted: stop ours first.
  [ -s "$state/iperf3.pid" ] && kill "$(cat "$state/iperf3.pid")" 2>/dev/null || true
  pkill -f "wireguard-go -f wgp0" 2>/dev/null || true
  pkill -f "wireguard-go -f wgg0" 2>/dev/null || true
  for ns in $p $g $i; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT
for ns in $p $g $i; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add bp0 netns $p type veth peer name bp1 netns $g
ip link add bi0 netns $g type veth peer name bi1 netns $i
ip -n $p addr add 10.195.0.2/24 dev bp0; ip -n $p link set bp0 up
ip -n $g addr add 10.195.0.1/24 dev bp1; ip -n $g link set bp1 up
ip -n $g addr add 198.51.100.1/24 dev bi0; ip -n $g link set bi0 up
ip -n $i addr add 198.51.100.10/24 dev bi1; ip -n $i link set bi1 up
ip netns exec $i iperf3 -s -D --pidfile "$state/iperf3.pid" >/dev/null
"$bin" vpn init --state "$state/s" --endpoint 10.195.0.1:51820 >"$state/phone.conf" 2>/dev/null
grep -v -E '^(Address|DNS|MTU) =' "$state/phone.conf" >"$state/phone.wg"
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
ip netns exec $p wireguard-go -f wgp0 >/dev/null 2>&1 &
sleep 0.5
ip netns exec $p sh -c "wg setconf wgp0 $state/phone.wg && ip addr add 10.77.0.2/32 dev wgp0 && \
  ip link set wgp0 mtu 1420 up && ip route add default dev wgp0"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run LABEL PID: iperf3 TCP and UDP from the phone, the gateway process PID's CPU
run() {
  local label=$1 pid=$2 c0 c1 bps hz
  hz=$(getconf CLK_TCK)
  local mode
  for mode in tcp udp; do
    c0=$(cpu "$pid")
    if [ $mode = tcp ]; then
      bps=$(ip netns exec $p iperf3 -c 198.51.100.10 -t "$duration" -J | jq '.end.sum_received.bits_per_second')
    else
      # Received rate: what was sent, less what was lost on the way.
      bps=$(ip netns exec $p iperf3 -c 198.51.100.10 -u -b 0 -l 1300 -t "$duration" -J \
        | jq '.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100)')
    fi
    c1=$(cpu "$pid")
    printf '| %-44s | %-3s | %8.0f Mbit/s | %6.2f CPU s per Gbit |\n' "$label" "$mode" \
      "$(echo "$bps / 1000000" | bc -l)" \
      "$(echo "($c1 - $c0) / $hz / ($bps * $duration / 1000000000)" | bc -l)"
  done
}

# The same path without the tunnel, for the latency baseline: the phone reaches the server
# through the gateway's kernel routing (10.195.0.1), the server answers back that way.
ip -n $i route add 10.195.0.0/24 via 198.51.100.1
# latency LABEL: p50 and p99 of 1000 pings to the server through the tunnel, and without it.
latency() {
  local label=$1 t d
  pct() { sort -n | awk '{a[NR]=$1} END {printf "%.3f ms / %.3f ms", a[int(NR*0.5)], a[int(NR*0.99)]}'; }
  ip netns exec $p ping -q -n -c 20 -i 0.01 198.51.100.10 >/dev/null || true
  t=$(ip netns exec $p ping -n -c 1000 -i 0.005 198.51.100.10 | sed -n 's/.*time=\([0-9.]*\).*/\1/p' | pct)
  ip -n $p route add 198.51.100.10/32 via 10.195.0.1
  d=$(ip netns exec $p ping -n -c 1000 -i 0.005 198.51.100.10 | sed -n 's/.*time=\([0-9.]*\).*/\1/p' | pct)
  ip -n $p route del 198.51.100.10/32 via 10.195.0.1
  printf '| %-44s | %s | %s |\n' "$label" "$t" "$d" >>"$state/latency.md"
}

echo "| gateway | proto | throughput | gateway CPU |"
echo "|---|---|---:|---:|"
# phonehome's gateway (TUN + kernel NAT, boringtun in one thread), analysis on, then off.
for analysis in on off; do
  flags=()
  [ $analysis = off ] && flags=(--no-analysis)
  ip netns exec $g "$bin" vpn --state "$state/s" --listen 10.195.0.1:51820 --upstream 198.51.100.10 \
    --jsonl "${flags[@]}" >"$out/vpn-gw-$analysis.jsonl" 2>"$out/vpn-gw-$analysis.log" &
  sleep 1
  run "phonehome vpn (analysis $analysis)" "$(pgrep -n -f "phonehome vpn --state $state/s")"
  if [ $analysis = on ]; then latency "phonehome vpn (analysis on)"; fi
  pkill -INT -f "phonehome vpn --state $state/s"; sleep 1
done

# wireguard-go as the gateway, same keys, kernel forwarding and masquerade.
ip netns exec $g wireguard-go -f wgg0 >/dev/null 2>&1 &
sleep 0.5
phone_pub=$("$bin" vpn peers list --state "$state/s" | cut -f4)
ip netns exec $g sh -c "printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.2/32\n' \
  \"\$(cat $state/s/server.key)\" \"$phone_pub\" >$state/gw.wg && wg setconf wgg0 $state/gw.wg && \
  ip addr add 10.77.0.1/24 dev wgg0 && ip link set wgg0 mtu 1420 up && sysctl -q -w net.ipv4.ip_forward=1 && \
  nft add table ip phbv && nft add chain ip phbv post '{ type nat hook postrouting priority 100; }' && \
  nft add rule ip phbv post ip saddr 10.77.0.0/24 oifname bi0 masquerade"
sleep 0.5
run "wireguard-go + kernel forwarding" "$(pgrep -n -f "wireguard-go -f wgg0")"
latency "wireguard-go + kernel forwarding"
echo
echo "| gateway | ping through the tunnel p50 / p99 | without the tunnel p50 / p99 |"
echo "|---|---:|---:|"
cat "$state/latency.md"
