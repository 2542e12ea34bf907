#!/usr/bin/env bash
# Regenerates the charts and the report screenshot docs/ shows, from real runs on
# the embedded simulator (the screenshot needs Chromium, which .ci/run installs):
#   bash docs/update-charts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./target/release/sse-bench -q run scenarios/quickstart.toml --out "$tmp/quickstart" > /dev/null
./target/release/sse-bench -q run scenarios/quota-knee.toml --out "$tmp/quota-knee" > /dev/null
mkdir -p docs/charts
for c in change_vs_sse_s3 latency_spectrum_get throughput_p99_over_time kms_per_1000_ops cost_per_million_ops; do
  cp "$tmp/quickstart/charts/$c.png" "docs/charts/quickstart-$c.png"
done
for c in kms_rps_over_time ramp_sse-kms_ramp_r1; do
  cp "$tmp/quota-knee/charts/$c.png" "docs/charts/quota-knee-$c.png"
done
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --window-size=1280,900 \
    --screenshot="$PWD/docs/report-verdict.png" "file://$tmp/quickstart/report.html" 2> /dev/null
else
  echo "chromium not found: docs/report-verdict.png left as it was" >&2
fi
echo "docs/charts and docs/report-verdict.png updated"
