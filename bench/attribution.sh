#!/usr/bin/env bash
# Attribution coverage: how many of the mobile tracker hosts in DuckDuckGo's App Tracking
# Protection blocklist (app/android-tds.json of github.com/duckduckgo/tracker-blocklists, a list
# of hosts that Android app SDKs contact, each with its owner) phonehome names, and whether the
# organisation agrees with DuckDuckGo's owner. The list is CC BY-NC-SA 4.0, so it is fetched here,
# not shipped. Needs jq and a built phonehome (cargo build --release -p phonehome).
#
#   bench/attribution.sh [android-tds.json]     # default: download it
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${PHONEHOME:-$root/target/release/phonehome}
out=$root/bench/out/attribution
mkdir -p "$out"
command -v jq >/dev/null || { echo "error: jq is needed" >&2; exit 1; }
[ -x "$bin" ] || { echo "error: build first: cargo build --release -p phonehome" >&2; exit 1; }
list=${1:-$out/android-tds.json}
if [ $# -eq 0 ] && [ ! -s "$list" ]; then
  curl -fsSL https://raw.githubusercontent.com/duckduckgo/tracker-blocklists/main/app/android-tds.json -o "$list"
fi
jq -r '.trackers | to_entries[] | [.key, .value.owner.displayName] | @tsv' "$list" | sort > "$out/hosts.tsv"
cut -f1 "$out/hosts.tsv" | "$bin" lookup --json --no-geo - > "$out/lookup.jsonl"
# A loose name agreement: one name's first five letters and digits inside the other.
jq -r '[.query, (.party // ""), (.source // ""), (.country // "")] | @tsv' "$out/lookup.jsonl" |
  paste "$out/hosts.tsv" - | awk -F'\t' '
    function key(s) { s = tolower(s); gsub(/[^a-z0-9]/, "", s); return s }
    { total++; if ($5 != "") src[$5]++ }
    $4 != "" && $6 != "" { located++ }
    $4 != "" { named++; a = key($2); b = $4; sub(/ \(.*/, "", b); b = key(b); p = key($4)
               if (index(p, substr(a, 1, 5)) || index(a, substr(b, 1, 5))) agree++
               else print "  other owner: " $1 " -> " $4 " (DuckDuckGo: " $2 ")" > "/dev/stderr" }
    $4 == "" { print "  not named: " $1 " (DuckDuckGo: " $2 ")" > "/dev/stderr" }
    END {
      printf "hosts %d; named %d (%.1f%%), with a headquarters country %d (%.1f%% of named); same owner as DuckDuckGo %d (%.1f%% of named)\nby source:", \
        total, named, 100 * named / total, located, 100 * located / named, agree, 100 * agree / named
      for (s in src) printf " %s %d;", s, src[s]
      printf "\n"
    }'
