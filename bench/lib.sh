# Timing shared by the bench scripts (sourced). Uses $runs (repetitions), $out (scratch folder)
# and the array pin (taskset prefix, may be empty).

# best_of CMD...: runs CMD $runs times, output discarded; sets best (wall seconds of the fastest
# run) and rss (that run's peak RSS, KiB).
best_of() {
  local t w m
  best="" rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$out/time.txt" -f "%e %M" "${pin[@]}" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$out/time.txt")
    w=${t% *} m=${t#* }
    if [ -z "$best" ] || [ "$(echo "$w < $best" | bc)" = 1 ]; then best=$w; rss=$m; fi
  done
}

# mbs BYTES: throughput of the fastest run, MB/s.
mbs() {
  echo "scale=0; $1 / 1000000 / ($best + 0.0001)" | bc
}
