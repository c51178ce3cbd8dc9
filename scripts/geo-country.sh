#!/usr/bin/env bash
# Refreshes the country table built into phonehome (crates/report/data/country/country.bin.gz):
# fetches the CC0 package @ip-location-db/geo-whois-asn-country from the npm registry (`npm pack`,
# no global install), compiles its numeric CSVs with
# `cargo run --release -p report --example geo-country-compile`, and rewrites country.source and
# ATTRIBUTION.txt's version line. Needs npm and cargo. Review the diff, run the tests, commit.
#
#   scripts/geo-country.sh
set -euo pipefail
PKG=@ip-location-db/geo-whois-asn-country
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/crates/report/data/country"
command -v npm >/dev/null || { echo "error: npm is needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "$PKG" >/dev/null
tar -xzf ip-location-db-geo-whois-asn-country-*.tgz
version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' package/package.json | head -1)
# The version's last part is the data date and hour: 2.3.2026061719 -> 2026-06-17.
stamp=${version##*.}
date="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}"
cd "$root"
cargo run --release -q -p report --example geo-country-compile -- \
  "$tmp/package/geo-whois-asn-country-ipv4-num.csv" "$tmp/package/geo-whois-asn-country-ipv6-num.csv" \
  "$dest/country.bin.gz"
cp "$tmp/package/NRO_LICENSE" "$dest/NRO_LICENSE"
printf 'geo-whois-asn-country %s (ip-location-db, data %s; CC0 1.0, with NRO statistics under CC BY 4.0, attribution: nro.net), built in\n' \
  "$version" "$date" > "$dest/country.source"
sed -i "s/@ip-location-db\/geo-whois-asn-country [0-9.]* /@ip-location-db\/geo-whois-asn-country $version /; s/data of [0-9-]*)/data of $date)/" "$dest/ATTRIBUTION.txt"
echo "country table: $(cat "$dest/country.source")"
