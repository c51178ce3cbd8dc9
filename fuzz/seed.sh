#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with real packets from ../shared/corpus/real (not committed: the
# captures' licences differ; see ../shared/corpus/real/SOURCES.md). Run before `cargo fuzz run`.
set -euo pipefail
cd "$(dirname "$0")/.."
real=../shared/corpus/real
[ -d "$real" ] || { echo "no $real: nothing to seed from"; exit 0; }
mapfile -t caps < <(find "$real" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.gz' -o -name '*.zst' \) | sort)
cargo run --release -q -p pipeline --example fuzz_seeds -- fuzz/corpus "${caps[@]}"
# Profiles and vCards: the shipped examples (first byte selects TOML 0x00 or vCard 0x01).
mkdir -p fuzz/corpus/profile
{ printf '\x00'; cat examples/profile.toml; } > fuzz/corpus/profile/example-profile
{ printf '\x01'; cat examples/contacts.vcf; } > fuzz/corpus/profile/example-vcard
