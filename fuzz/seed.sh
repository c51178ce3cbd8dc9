#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with real packets from ../shared/corpus/real (not committed: the
# captures' licences differ; see ../shared/corpus/real/SOURCES.md). Run before `cargo fuzz run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# TLS sessions made by rustls with their key logs (tls_decrypt, keylog), and HTTP/2 streams.
cargo run --release -q -p testkit --example fuzz_seeds_tls -- fuzz/corpus
# Certificates (DER) for the x509 reader of the tls target.
mkdir -p fuzz/corpus/tls
cp crates/proto/src/tls/x509/example-org.der crates/testkit/data/test-cert.der fuzz/corpus/tls/
real=../shared/corpus/real
[ -d "$real" ] || { echo "no $real: nothing to seed from"; exit 0; }
# HAR files and mitmproxy dumps (first byte: 0x00 HAR, 0x01 mitmproxy).
mkdir -p fuzz/corpus/archive
for f in "$real"/mitmproxy/*.har; do { printf '\x00'; cat "$f"; } > "fuzz/corpus/archive/$(basename "$f")"; done
for f in "$real"/mitmproxy/*.mitm; do { printf '\x01'; cat "$f"; } > "fuzz/corpus/archive/$(basename "$f")"; done
mapfile -t caps < <(find "$real" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.gz' -o -name '*.zst' \) | sort)
cargo run --release -q -p pipeline --example fuzz_seeds -- fuzz/corpus "${caps[@]}"
# Profiles and vCards: the shipped examples (first byte selects TOML 0x00 or vCard 0x01).
mkdir -p fuzz/corpus/profile
{ printf '\x00'; cat examples/profile.toml; } > fuzz/corpus/profile/example-profile
{ printf '\x01'; cat examples/contacts.vcf; } > fuzz/corpus/profile/example-vcard
# A compiled-profile cache entry of the example profile, without its 40-byte header (mode 3).
if [ -x target/release/phonehome ]; then
  cache=$(mktemp -d)
  PHONEHOME_CACHE_DIR=$cache target/release/phonehome analyze examples/demo.pcapng \
    --profile examples/profile.toml --no-geo -o "$cache/r.json" 2>/dev/null || true
  for e in "$cache"/*.profile; do
    [ -s "$e" ] && { printf '\x03'; tail -c +41 "$e"; } > fuzz/corpus/profile/compiled-entry
  done
  rm -rf "$cache"
fi
# The report target reads whole captures, like the pipeline target; the demo capture is one more.
mkdir -p fuzz/corpus/report
cp fuzz/corpus/pipeline/* fuzz/corpus/report/ 2>/dev/null || true
cp examples/demo.pcapng fuzz/corpus/report/demo.pcapng
# Report data files (first byte: 0x00 entity TOML, 0x01 ASN table or CSV).
mkdir -p fuzz/corpus/report_data
{ printf '\x00'; cat crates/report/data/entities.toml; } > fuzz/corpus/report_data/entities
{ printf '\x03'; head -c 20000 crates/report/data/adguard/entities.tsv; } > fuzz/corpus/report_data/open-layer
{ printf '\x03'; printf "INSERT INTO categories VALUES(1,'advertising');\nINSERT INTO companies VALUES('c','C, Inc.','d''x',NULL,'https://c.de/','1','DE',NULL,NULL);\nINSERT INTO trackers VALUES('t','T Ads',1,NULL,'c','',NULL,NULL);\nINSERT INTO tracker_domains VALUES('t','t-ads.example',NULL);\n"; } > fuzz/corpus/report_data/trackerdb-sql
{ printf '\x03'; printf '{"trackers":{"a":{"name":"A Ads","categoryId":4,"companyId":"c"}},"trackerDomains":{"a.example":"a","B.example.":"a"}}\0{"companies":{"c":{"name":"C, Inc.","websiteUrl":"https://c.de/"}}}'; } > fuzz/corpus/report_data/companiesdb
{ printf '\x01'; printf '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n2001:db8::,2001:db8::ffff,64496,Doc\n'; } > fuzz/corpus/report_data/asn-csv
# A small country table in the built-in format (first byte 0x02).
printf '16777216,16777471,AU\n16777472,16778239,CN\n16778496,16779263,AU\n' > fuzz/corpus/cc4.csv
printf '42541956101370907050197289607612071936,42541956180599069564461627201156022271,US\n' > fuzz/corpus/cc6.csv
cargo run --release -q -p report --example geo-country-compile -- fuzz/corpus/cc4.csv fuzz/corpus/cc6.csv fuzz/corpus/cc.bin.gz
{ printf '\x02'; cat fuzz/corpus/cc.bin.gz; } > fuzz/corpus/report_data/country-table
rm -f fuzz/corpus/cc4.csv fuzz/corpus/cc6.csv fuzz/corpus/cc.bin.gz
if [ -s data/geo/asn.bin ]; then { printf '\x01'; head -c 60000 data/geo/asn.bin; } > fuzz/corpus/report_data/asn-table-head; fi
# Reports for the diff reader: the demo's, alone and as a before/after pair (NUL between them).
mkdir -p fuzz/corpus/report_diff
demo=crates/phonehome/tests/golden/demo.analyze.json
cp "$demo" fuzz/corpus/report_diff/demo
{ cat "$demo"; printf '\0'; sed 's/"critical"/"high"/' "$demo"; } > fuzz/corpus/report_diff/pair
