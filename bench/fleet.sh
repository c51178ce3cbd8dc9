#!/usr/bin/env bash
# Benchmark of fleet-scale analysis: many captures, one report each, as Parquet tables.
#
# - Captures: N (default 200) captures of SIZE MiB (default 50) of phone-like traffic (`gen_mix`,
#   one seed each; every other one cleartext HTTP carrying the benchmark profile's values), with
#   a manifest labelling them (device, model, firmware), in bench/out/fleet-NxSIZE/.
# - phonehome: `analyze DIR --out T --format parquet --no-hash --jobs J` for J = 1 .. every core
#   (the scaling), the same with the captures' SHA-256 (the default), and the same captures one
#   after the other, one process each (`analyze CAP --format json -o`), as a user without --jobs
#   would run them.
# - Suricata (when installed): `--runmode autofp -r DIR` writing EVE (alerts, flows) with one
#   `content` rule per variant of the benchmark profile (bench/suricata.yaml with an EVE output), on the same
#   folder.
# - Prints wall time, MB/s (capture bytes / wall time) and peak RSS (of the whole process; with
#   --jobs J, J analyses share it: per job is about that / J).
#
# Usage: bench/fleet.sh [N] [SIZE_MIB]   Env: RUNS=1, PEERS=0 to skip Suricata.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
size=${2:-50}
runs=${RUNS:-1}
out=bench/out
dir=$out/fleet-${n}x${size}
pin=()
cargo build --release -q -p phonehome
cargo build --release -q -p testkit --example gen_mix --example gen_profile
bin=target/release/phonehome
mkdir -p "$dir"
if [ ! -s "$dir/manifest.csv" ]; then
  models=("Redmi 1S" "Redmi Note" "Mi 4" "Pixel 7" "Galaxy A52")
  echo "capture,device,model,firmware" >"$dir/manifest.csv.tmp"
  for i in $(seq 1 "$n"); do
    f=$(printf 'phone%03d.pcap' "$i")
    # Every other capture cleartext HTTP carrying the benchmark profile's values (gen_mix
    # `http`), so that both tools have something to find; the others mixed traffic.
    mode=mix
    [ $((i % 2)) = 1 ] && mode=http
    [ -s "$dir/$f" ] || target/release/examples/gen_mix "$dir/$f" "$size" pcap "$i" "$mode" >/dev/null 2>&1
    printf '%s,phone-%03d,%s,build %d\n' "$f" "$i" "${models[$((i % 5))]}" "$((i % 7))" >>"$dir/manifest.csv.tmp"
  done
  mv "$dir/manifest.csv.tmp" "$dir/manifest.csv"
fi
# The benchmark profile gen_mix plants values of (as bench/analyze.sh).
[ -s "$out/bench-profile.toml" ] || target/release/examples/gen_profile "$out" 500 1 2>/dev/null
profile=$out/bench-profile.toml

. bench/lib.sh
bytes=$(cat "$dir"/*.pcap | wc -c)
cat "$dir"/*.pcap >/dev/null
cores=$(nproc)
echo
echo "$n captures of $size MiB ($((bytes / 1048576)) MiB in all), $cores cores, best of $runs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo
printf '| %-66s | %9s | %11s | %9s |\n' run wall throughput "peak RSS"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..68})" "----------:" "------------:" "----------:"
row() { printf '| %-66s | %8ss | %6s MB/s | %5s MiB |\n' "$1" "$best" "$(mbs "$bytes")" "$((rss / 1024))"; }
# The scaling without the captures' SHA-256 (Suricata hashes nothing), then as a user runs it.
for j in $(seq 1 "$cores"); do
  rm -rf "$out/fleet-tables"
  best_of "$bin" analyze "$dir" --out "$out/fleet-tables" --format parquet --jobs "$j" --profile "$profile" --no-hash
  row "phonehome analyze DIR --out T --format parquet --no-hash --jobs $j"
done
rm -rf "$out/fleet-tables"
best_of "$bin" analyze "$dir" --out "$out/fleet-tables" --format parquet --profile "$profile"
row "phonehome analyze DIR --out T --format parquet (SHA-256 too, every core)"
rm -rf "$out/fleet-json" && mkdir -p "$out/fleet-json"
# One process per capture, one after the other (peak RSS: the largest single run).
best_of bash -c 'for f in "$1"/*.pcap; do "$2" analyze "$f" --format json --profile "$4" \
  -o "$3/$(basename "$f" .pcap).json" 2>/dev/null; done; true' _ "$dir" "$bin" "$out/fleet-json" "$profile"
row "phonehome analyze CAP --format json, one process per capture in turn"
found=$(cat "$out"/fleet-json/*.json | grep -c '"data": ' || true)
echo "(phonehome: $found findings in all, $(grep -l '"source": "profile"' "$out"/fleet-json/*.json | wc -l) captures with profile values found)"
if [ "${PEERS:-1}" = 1 ] && command -v suricata >/dev/null; then
  # One content rule per variant of the profile (the rules of bench/analyze.sh), alerts to EVE.
  "$bin" profile check "$profile" --variants | awk -F'\t' '{
    hex = ""; for (i = 1; i <= length($1); i += 2) hex = hex substr($1, i, 2) " "; sub(/ $/, "", hex)
    msg = $2 " " $3 " " $4; gsub(/[^A-Za-z0-9_.+\[\] -]/, "_", msg)
    printf "alert ip any any -> any any (msg:\"%s\"; content:\"|%s|\"; sid:%d; rev:1;)\n", msg, hex, NR
  }' >"$out/fleet.rules"
  sed 's/^  - fast:/  - eve-log:\n      enabled: yes\n      filename: eve.json\n      types: [alert]\n  - fast:/' \
    bench/suricata.yaml >"$out/fleet-suricata.yaml"
  rm -rf "$out/fleet-suricata" && mkdir -p "$out/fleet-suricata"
  best_of suricata --runmode autofp -k none -c "$out/fleet-suricata.yaml" -S "$out/fleet.rules" \
    -l "$out/fleet-suricata" -r "$dir"
  row "suricata --runmode autofp -r DIR (EVE alerts, $(wc -l <"$out/fleet.rules") rules)"
  echo "(suricata: $(grep -c '"event_type":"alert"' "$out/fleet-suricata/eve.json" || true) alerts)"
else
  echo
  echo "(Suricata not installed, or PEERS=0: its row is left out)"
fi
