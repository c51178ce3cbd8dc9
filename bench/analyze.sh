#!/usr/bin/env bash
# Benchmark of `phonehome analyze` with a big profile, side by side with Suricata.
#
# - Profile: one device (every identifier kind) + 500 contacts (TW/CN/US numbers, e-mails), from
#   `gen_profile` (testkit::mix::BenchProfile): bench/out/bench-profile.toml + bench-contacts.vcf.
# - Captures: the mixed phone-like capture of bench/run.sh (DNS, TLS, QUIC, HTTP) and an
#   all-cleartext-HTTP capture (`gen_mix ... http`: JSON, forms, gzip bodies, keep-alive; a few
#   requests carry profile values), both SIZE_MIB.
# - phonehome: `analyze --profile P --format json --no-hash > /dev/null`. Suricata: `--runmode single -k none`,
#   a minimal config (bench/suricata.yaml: fast.log only), one `content` rule per search variant
#   (from the hidden `phonehome profile check P --variants`); its alerts are counted.
# - Prints MB/s (capture bytes / wall time, file in the page cache, best of RUNS), peak RSS, the
#   start-up time with the profile, and which planted values each tool finds in the demo capture
#   and in a capture of values split across TCP segments or in gzip bodies (`gen_straddle`).
# - Needs jq; Suricata 7 (Debian: bookworm-backports) is measured when installed.
#
# Usage: bench/analyze.sh [SIZE_MIB]      (default 1024; captures cached in bench/out/)
# Env:   CORE=0 (taskset core; CORE= to disable), RUNS=3, PEERS=0 to skip Suricata.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${RUNS:-3}
core=${CORE-0}
out=bench/out
mkdir -p "$out"

cargo build --release -q -p phonehome
cargo build --release -q -p testkit --example gen_mix --example gen_profile
bin=target/release/phonehome
pin=()
[ -n "$core" ] && command -v taskset >/dev/null && pin=(taskset -c "$core")

target/release/examples/gen_profile "$out" 500 1 2>/dev/null
profile=$out/bench-profile.toml
echo
"$bin" profile check "$profile"

mix=$out/mix-${size}m.pcap
http=$out/http-${size}m.pcap
[ -s "$mix" ] || target/release/examples/gen_mix "$mix" "$size" pcap 1 mix 2>/dev/null
[ -s "$http" ] || target/release/examples/gen_mix "$http" "$size" pcap 1 http 2>/dev/null
empty=$out/empty.pcap
pcap_header='\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00'
printf "$pcap_header" >"$empty"
# One UDP packet (Suricata refuses a capture without packets).
one=$out/one.pcap
{
  printf "$pcap_header"
  printf '\x00\x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00\x00\x2a\x00\x00\x00'
  printf '\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00'
  printf '\x45\x00\x00\x1c\x00\x00\x00\x00\x40\x11\x00\x00\x0a\x00\x00\x02\x0a\x00\x00\x01'
  printf '\x9c\x40\x00\x35\x00\x08\x00\x00'
} >"$one"

# Suricata rules: one content rule per variant (`content:"|hex bytes|"`), sid = line number.
# rules VARIANTS_OUTPUT > RULES
rules() {
  awk -F'\t' '{
    hex = ""; for (i = 1; i <= length($1); i += 2) hex = hex substr($1, i, 2) " "; sub(/ $/, "", hex)
    msg = $2 " " $3 " " $4; gsub(/[^A-Za-z0-9_.+\[\] -]/, "_", msg)
    printf "alert ip any any -> any any (msg:\"%s\"; content:\"|%s|\"; sid:%d; rev:1;)\n", msg, hex, NR
  }'
}
"$bin" profile check "$profile" --variants | rules >"$out/bench.rules"
suricata=()
if [ "${PEERS:-1}" = 1 ] && command -v suricata >/dev/null; then
  suricata=(suricata --runmode single -k none -c bench/suricata.yaml -S "$out/bench.rules" -l "$out/suricata")
  mkdir -p "$out/suricata"
fi

. bench/lib.sh
# measure NAME BYTES CMD...: best wall time of $runs runs, peak RSS of the best run; sets $best.
measure() {
  local name=$1 bytes=$2; shift 2
  best_of "$@"
  printf '| %-44s | %7ss | %5s MB/s | %5s MiB |' "$name" "$best" "$(mbs "$bytes")" "$((rss / 1024))"
}

echo
echo "one core${core:+ (taskset -c $core)}, best of $runs, files in the page cache; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
if [ ${#suricata[@]} -gt 0 ]; then
  measure "suricata start-up (one packet)" 1 "${suricata[@]}" -r "$one" >/dev/null
  suri_start=$best
  echo "$("${suricata[@]}" -V 2>/dev/null | head -1), $(wc -l <"$out/bench.rules") rules; start-up (rule loading) ${suri_start}s"
fi
for cap in "$mix" "$http"; do
  bytes=$(stat -c %s "$cap")
  cat "$cap" >/dev/null
  echo
  echo "capture: $cap ($((bytes / 1048576)) MiB)"
  echo
  printf '| %-44s | %8s | %10s | %9s | %s\n' tool wall throughput "peak RSS" "findings / alerts"
  printf '|%s|%s|%s|%s|%s\n' "$(printf -- '-%.0s' {1..46})" "---------:" "-----------:" "----------:" "---"
  # --no-hash: the capture's SHA-256 (about 1.2 GB/s, on a second thread) is not part of the
  # comparison; Suricata hashes nothing.
  measure "phonehome analyze --profile (json)" "$bytes" "$bin" analyze "$cap" --profile "$profile" --format json --no-hash
  n=$("$bin" analyze "$cap" --profile "$profile" --format json | jq '.findings | length' || true)
  echo " $n findings"
  if [ ${#suricata[@]} -gt 0 ]; then
    measure "suricata --runmode single (1 rule/variant)" "$bytes" "${suricata[@]}" -r "$cap"
    steady=$(echo "scale=0; $bytes / 1000000 / ($best - $suri_start + 0.0001)" | bc)
    echo " $(wc -l <"$out/suricata/fast.log") alerts ($steady MB/s without start-up)"
  fi
done

# Start-up with the profile: analyze on an empty capture, the profile compiled afresh
# (--no-cache) and read back from the compiled-profile cache (a scratch cache directory).
export PHONEHOME_CACHE_DIR=$out/profile-cache
rm -rf "$PHONEHOME_CACHE_DIR"
"${pin[@]}" "$bin" analyze "$empty" --profile "$profile" >/dev/null || true
echo
for mode in --no-cache cached; do
  flag=()
  [ "$mode" = --no-cache ] && flag=(--no-cache)
  start=$(date +%s%N)
  for _ in $(seq 20); do "${pin[@]}" "$bin" analyze "$empty" --profile "$profile" "${flag[@]}" >/dev/null || true; done
  echo "start-up (analyze --profile on an empty capture, $mode, mean of 20): $((($(date +%s%N) - start) / 20000000)) ms"
done
unset PHONEHOME_CACHE_DIR

# What each tool finds on small captures with planted values of examples/profile.toml: the demo
# (examples/demo.pcapng: an address book in a gzip body) and gen_straddle's (values split across
# TCP segments, out of order, in gzip bodies).
# compare CAPTURE: prints, per profile item, whether phonehome and Suricata found it.
compare() {
  local cap=$1 name
  name=$(basename "$cap" | cut -d. -f1)
  mkdir -p "$out/suricata-$name"
  suricata --runmode single -k none -c bench/suricata.yaml -S "$out/demo.rules" -l "$out/suricata-$name" \
    -r "$cap" >/dev/null 2>&1 || true
  # Items (kind + item) Suricata alerted on: sid -> line of the variant list.
  sed -n 's/.*\[1:\([0-9]*\):1\].*/\1/p' "$out/suricata-$name/fast.log" | sort -un |
    while read -r sid; do sed -n "${sid}p" "$out/demo.variants" | cut -f2,3; done |
    sort -u >"$out/$name.suricata"
  "$bin" analyze "$cap" --profile examples/profile.toml --format json |
    jq -r '.findings[] | select(.source == "profile") | [.data, .item, .encoding + " " + .where] | @tsv' |
    sort -u -t$'\t' -k1,2 >"$out/$name.phonehome" || true
  echo
  echo "$cap: planted profile items found"
  printf '  %-10s %-20s %-9s %-9s %s\n' data item phonehome suricata "(phonehome: an encoding and place)"
  cut -f1,2 "$out/$name.phonehome" "$out/$name.suricata" | sort -u | while IFS=$'\t' read -r kind item; do
    how=$(awk -F'\t' -v k="$kind" -v i="$item" '$1 == k && $2 == i { print $3; exit }' "$out/$name.phonehome")
    s=$(grep -qxF "$kind"$'\t'"$item" "$out/$name.suricata" && echo yes || echo MISSED)
    printf '  %-10s %-20s %-9s %-9s %s\n' "$kind" "$item" "${how:+yes}" "$s" "$how"
  done
  echo "  total: phonehome $(wc -l <"$out/$name.phonehome"), suricata $(wc -l <"$out/$name.suricata")"
}
if [ ${#suricata[@]} -gt 0 ]; then
  cargo build --release -q -p testkit --example gen_straddle
  target/release/examples/gen_straddle "$out/straddle.pcap" 2>/dev/null
  "$bin" profile check examples/profile.toml --variants >"$out/demo.variants"
  rules <"$out/demo.variants" >"$out/demo.rules"
  compare examples/demo.pcapng
  compare "$out/straddle.pcap"
fi
