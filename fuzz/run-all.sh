#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 300), one after the other, on the seeded corpus.
# Crashes land in fuzz/artifacts/<target>/. Needs the nightly toolchain and cargo-fuzz.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-300}
targets=${TARGETS:-"capture_reader wire_decode flow_reassembly dns tls http quic pipeline detect_fields profile report report_data guard_query blocklist keylog tls_decrypt http2 protobuf archive http3 quic_decrypt websocket pcapng_writer vpn_state vpn_reject report_diff apps"}
cargo +nightly fuzz build -O || exit 1
for t in $targets; do
  mkdir -p "corpus/$t"
  echo "== $t (${secs}s)"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
    -max_len=65536 -timeout=10 2>&1 | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|panicked|Test unit written" | tail -4
done
