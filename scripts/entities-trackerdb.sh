#!/usr/bin/env bash
# Fetches Ghostery's TrackerDB (the SQL dump WhoTracks.me keeps, whotracksme/data/assets/
# trackerdb.sql) and compiles it into data/entities/trackerdb.tsv, which phonehome then consults
# after its curated entity file and before AdGuard's companiesdb layer: it adds the headquarters
# country of most tracker companies. TrackerDB is CC BY-NC-SA 4.0, so phonehome does not ship it:
# this script puts it on your machine, for your use, under that licence.
#
#   scripts/entities-trackerdb.sh [TRACKERDB.sql]     # default: download it
set -euo pipefail
URL=https://raw.githubusercontent.com/whotracksme/whotracks.me/master/whotracksme/data/assets/trackerdb.sql
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/data/entities"
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -ge 1 ]; then
  cp "$1" "$tmp/trackerdb.sql"
else
  command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }
  curl -fsSL "$URL" -o "$tmp/trackerdb.sql"
fi
cd "$root"
cargo run --release -q -p report --example entities-trackerdb-compile -- \
  "$tmp/trackerdb.sql" "$dest/trackerdb.tsv"
printf 'Ghostery TrackerDB via %s, fetched %s; CC BY-NC-SA 4.0 (https://creativecommons.org/licenses/by-nc-sa/4.0/), not for redistribution\n' \
  "${1:-$URL}" "$(date -u +%Y-%m-%d)" > "$dest/trackerdb.source"
