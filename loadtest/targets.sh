#!/usr/bin/env bash
# The five load-test targets (docs/performance/README.md §6; results in docs/performance/<date>-targets.md),
# one after the other in one run on this machine, each with the command that reproduces it on its own. About 25 minutes.
#   npm run loadtest:targets                    # WORKERS=2 for the gateway, nginx with 2 workers
#   WORKERS=1 npm run loadtest:targets          # one gateway process
#   ONLY="1 3" npm run loadtest:targets         # a subset
# Logs and JSON digests go to loadtest/.data/targets-<UTC time>/; the last lines are the digest.
# Loopback only; every launcher stops its processes and deletes its Redis keys when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
W="${WORKERS:-2}"
ONLY="${ONLY:-1 2 3 4 5}"
OUT="loadtest/.data/targets-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
[ -f dist/main.js ] || npm run build
TSX=(node --import tsx)
step() { # step NAME COMMAND... : runs it, keeps its output, never stops the sequence
  local name="$1"; shift
  echo "== $name: $*" | tee -a "$OUT/commands.txt"
  echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/commands.txt"
  "$@" > "$OUT/$name.log" 2>&1
  echo "   exit $?" | tee -a "$OUT/commands.txt"
  grep -E "achieved rate|dropped_iterations|http_req_failed|http_req_duration ms|valid requests|responses\.|gateway cpu|gateway rss|driver cpu|breakpoint\.|isolated|ratio|FAIL|result:" "$OUT/$name.log" | sed 's/^/   /'
}
on() { [[ " $ONLY " == *" $1 "* ]]; }

on 1 && step t1-direct-vs-hub "${TSX[@]}" loadtest/topologies/compare.ts --profile target-1000 --topologies direct,hub --warmup 5 --workers "$W" --out "$OUT"
if on 2; then
  # Signed beforehand: a driver that signs 190 000 requests itself keeps more work and memory while it runs.
  step t2-prepare npm run -s loadtest:prepare -- --count 190000 --rate 3000 --skew 900 --out "$OUT/j3000.json"
  step t2-constant-3000 "${TSX[@]}" loadtest/topologies/hub.ts --workers "$W" --skew 900 --run -- --profile target-1000 --rate 3000 --duration 60 --warmup 3 --data "$OUT/j3000.json" --json "$OUT/t2-constant-3000.json"
  step t2-breakpoint "${TSX[@]}" loadtest/topologies/compare.ts --profile breakpoint --rate 10000 --topologies nginx,hub --warmup 3 --workers "$W" --out "$OUT"
fi
if on 3; then
  # The clean run and the 10 % bad-signature run back to back, so the valid-request latencies compare.
  step t3-clean "${TSX[@]}" loadtest/topologies/compare.ts --profile target-1000 --topologies hub --warmup 5 --workers "$W" --out "$OUT/clean"
  step t3-bad-signatures "${TSX[@]}" loadtest/topologies/compare.ts --profile bad-signatures --topologies hub --warmup 5 --workers "$W" --out "$OUT/bad"
fi
if on 4; then
  step t4-prepare npm run -s loadtest:prepare -- --count 65100 --skew 900 --out "$OUT/rotate.json"
  step t4-rotation "${TSX[@]}" loadtest/topologies/hub.ts --workers "$W" --skew 900 --rotate-at 20,40 --run -- --profile target-1000 --data "$OUT/rotate.json" --warmup 5 --json "$OUT/t4-rotation.json"
fi
on 5 && step t5-soak "${TSX[@]}" loadtest/topologies/compare.ts --profile soak --topologies hub --warmup 10 --workers "$W" --out "$OUT"
echo "logs: $OUT"
