#!/usr/bin/env bash
# Refreshes phonehome's open-data entity layer (crates/report/data/adguard/entities.tsv) from
# AdGuard's companiesdb (https://github.com/AdguardTeam/companiesdb, CC BY-SA 4.0): downloads
# dist/trackers.json and dist/companies.json (or takes them from a local clone given as the
# argument), compiles them with
# `cargo run --release -p report --example entities-adguard-compile`, and rewrites source.txt.
# Needs curl (unless a clone is given) and cargo. Review the diff, run the tests, commit.
#
#   scripts/entities-adguard.sh [COMPANIESDB-CLONE]
set -euo pipefail
URL=https://raw.githubusercontent.com/AdguardTeam/companiesdb/main/dist
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/crates/report/data/adguard"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -ge 1 ]; then
  cp "$1/dist/trackers.json" "$1/dist/companies.json" "$tmp/"
else
  command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }
  for f in trackers.json companies.json; do curl -fsSL "$URL/$f" -o "$tmp/$f"; done
fi
stamp=$(sed -n 's/.*"timeUpdated": *"\([0-9-]*\)T.*/\1/p' "$tmp/trackers.json" | head -1)
cd "$root"
summary=$(cargo run --release -q -p report --example entities-adguard-compile -- \
  "$tmp/trackers.json" "$tmp/companies.json" "$dest/entities.tsv")
printf 'AdGuard companiesdb dist/trackers.json and dist/companies.json, timeUpdated %s (CC BY-SA 4.0)\n%s\n' \
  "${stamp:-unknown}" "${summary#*: }" > "$dest/source.txt"
echo "$summary"
