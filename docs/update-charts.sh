#!/usr/bin/env bash
# Regenerates the charts the README shows, from real runs on the embedded simulator:
#   bash docs/update-charts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./target/release/sse-bench -q run scenarios/quickstart.toml --out "$tmp/quickstart" > /dev/null
./target/release/sse-bench -q run scenarios/quota-knee.toml --out "$tmp/quota-knee" > /dev/null
mkdir -p docs/charts
for c in latency_spectrum_get throughput_p99_over_time kms_per_1000_ops cost_per_million_ops; do
  cp "$tmp/quickstart/charts/$c.png" "docs/charts/quickstart-$c.png"
done
for c in kms_rps_over_time ramp_sse-kms_ramp_r1; do
  cp "$tmp/quota-knee/charts/$c.png" "docs/charts/quota-knee-$c.png"
done
echo "docs/charts updated"
