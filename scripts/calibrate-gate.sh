#!/usr/bin/env bash
# Calibrates the nightly gate (README "Nightly regression gate", "Calibration"): how often
# `compare --history` raises a false alarm on runs of scenarios/ci-nightly.toml with nothing
# changed, and how often it catches a regression injected through the simulator's latency
# models. Not a test: it takes about 80 minutes on 2 cores with the defaults.
#
#   scripts/calibrate-gate.sh [measure|judge|all] [WORKDIR]     (default: all, target/calibration)
#
# measure: SEED unchanged runs to start the history, then BLOCKS blocks of
#   [unchanged, KMS +5 %, unchanged, KMS +10 %, unchanged, KMS +20 %, unchanged, S3 +10 %,
#    unchanged, unchanged] (injected runs interleaved with unchanged ones, so drift of the
#   machine over the hour lands on both alike). Resumable: finished runs are kept.
#   "+X %" adds X % of the first run's SSE-KMS PUT p50, in milliseconds, to the median and
#   p99 of the simulator's KMS latency (or S3 latency): SSE-KMS PUT and GET p50 rise by
#   about X %. An S3 injection slows every mode alike, so the paired overhead must not move.
# judge: replays the runs in order against a fresh history: each unchanged run is judged
#   against the WINDOW unchanged runs before it and then appended (as `compare --history
#   --append` does every night); each injected run is judged against the same history and
#   not appended. Prints the table docs/gate.md carries.
#
# Environment: SSE_BENCH (binary, default target/release/sse-bench), SEED (20), BLOCKS (10),
# WINDOW (20), RULES (results/baselines/ci-nightly/rules.toml), HOLDOUT_FROM (a run number:
# also print the table for the runs from there on, e.g. those measured after the rules
# were last changed).
set -euo pipefail
cd "$(dirname "$0")/.."

STAGE=${1:-all}
WORK=${2:-target/calibration}
BIN=${SSE_BENCH:-target/release/sse-bench}
SEED=${SEED:-20}
BLOCKS=${BLOCKS:-10}
WINDOW=${WINDOW:-20}
RULES=${RULES:-results/baselines/ci-nightly/rules.toml}
SCENARIO=scenarios/ci-nightly.toml
KMS_LINE='kms_latency = { median = "5ms", p99 = "8ms" }'
S3_LINE='s3_latency = { median = "8ms", p99 = "12ms" }'

case "$STAGE" in measure | judge | all) ;; *)
  echo "usage: $0 [measure|judge|all] [WORKDIR]" >&2
  exit 2
  ;;
esac
[ -x "$BIN" ] || cargo build --release --quiet
grep -qF "$KMS_LINE" "$SCENARIO" && grep -qF "$S3_LINE" "$SCENARIO" || {
  echo "$SCENARIO no longer has the latency lines this script edits" >&2
  exit 2
}
mkdir -p "$WORK/runs" "$WORK/scenarios"

# The run plan: one "NNN variant" per line.
plan() {
  local n=0 v
  for _ in $(seq "$SEED"); do n=$((n + 1)); printf '%03d none\n' "$n"; done
  for _ in $(seq "$BLOCKS"); do
    for v in none kms+5 none kms+10 none kms+20 none s3+10 none none; do
      n=$((n + 1))
      printf '%03d %s\n' "$n" "$v"
    done
  done
}

# The scenario of a variant: the nightly one with a latency model shifted by X % of
# SSE-KMS PUT p50 (measured by the first run), in microseconds.
scenario_of() {
  local variant=$1 which pct delta
  if [ "$variant" = none ]; then
    echo "$SCENARIO"
    return
  fi
  which=${variant%+*}
  pct=${variant#*+}
  delta=$(python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
p50 = next(r["latency_ms"]["p50"] for r in s["results"] if r["mode"] == "sse-kms" and r["op"] == "put")
print(round(p50 * 1000 * float(sys.argv[2]) / 100))' "$WORK/runs/001-none/summary.json" "$pct")
  local out="$WORK/scenarios/$variant.toml"
  if [ "$which" = kms ]; then
    sed "s|$KMS_LINE|kms_latency = { median = \"$((5000 + delta))us\", p99 = \"$((8000 + delta))us\" }|" "$SCENARIO" >"$out"
  else
    sed "s|$S3_LINE|s3_latency = { median = \"$((8000 + delta))us\", p99 = \"$((12000 + delta))us\" }|" "$SCENARIO" >"$out"
  fi
  echo "$out"
}

measure() {
  local total
  total=$(plan | wc -l)
  plan | while read -r n variant; do
    local dir="$WORK/runs/$n-$variant"
    [ -f "$dir/summary.json" ] && continue
    rm -rf "$dir"
    echo "run $n/$total ($variant)" >&2
    "$BIN" -q run "$(scenario_of "$variant")" --out "$dir" >/dev/null
  done
}

judge() {
  local hist="$WORK/history" out="$WORK/judged"
  rm -rf "$hist" "$out"
  mkdir -p "$out"
  plan | while read -r n variant; do
    local dir="$WORK/runs/$n-$variant"
    [ -f "$dir/summary.json" ] || continue
    local append=()
    [ "$variant" = none ] && append=(--append)
    # Exit 3 is a regression: recorded in the JSON, not a failure of this script.
    "$BIN" -q --format json compare --history "$hist" "$dir" --rules "$RULES" \
      --window "$WINDOW" "${append[@]}" >"$out/$n-$variant.json" || [ $? -eq 3 ]
  done
  python3 - "$out" "${HOLDOUT_FROM:-}" <<'PY'
import json, os, sys
from collections import defaultdict
out, holdout = sys.argv[1], sys.argv[2]
def table(first):
  stats = defaultdict(lambda: [0, 0])      # variant -> [judged, flagged]
  caught = defaultdict(lambda: [0, 0])     # variant -> [judged, SSE-KMS PUT or GET p50 flagged]
  rows = defaultdict(int)                  # row key -> false alarms
  for name in sorted(os.listdir(out)):
    if int(name[:3]) < first:
        continue
    variant = name[4:-5]
    c = json.load(open(os.path.join(out, name)))
    h = c.get("history") or {}
    if h.get("fallback"):
        continue  # fewer runs than the statistical test needs: not a gated run
    bad = [r for r in c["rows"] if r["verdict"] == "regressed"]
    stats[variant][0] += 1
    stats[variant][1] += bool(bad)
    kms = [r for r in bad if r["mode"] == "sse-kms" and r["op"] in ("put", "get") and r["metric"] in ("p50", "p50_overhead")]
    caught[variant][0] += 1
    caught[variant][1] += bool(kms)
    if variant == "none":
        for r in bad:
            rows[".".join(x for x in (r["mode"], r["op"], r["metric"]) if x)] += 1
  print("| runs | judged | any row flagged | SSE-KMS PUT or GET p50 flagged |")
  print("|---|---:|---:|---:|")
  order = ["none", "kms+5", "kms+10", "kms+20", "s3+10"]
  for v in sorted(stats, key=lambda v: order.index(v) if v in order else len(order)):
    label = "unchanged" if v == "none" else v.replace("kms+", "KMS latency +").replace("s3+", "S3 latency +") + " %"
    j, f = stats[v]
    print(f"| {label} | {j} | {f} | {caught[v][1]} |")
  if rows:
    print("\nfalse alarms by row: " + ", ".join(f"{k} {v}" for k, v in sorted(rows.items())))
table(0)
if holdout:
  print(f"\nruns {holdout} and later:\n")
  table(int(holdout))
PY
}

case "$STAGE" in
  measure) measure ;;
  judge) judge ;;
  all) measure && judge ;;
esac
