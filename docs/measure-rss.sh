#!/usr/bin/env bash
# Peak resident memory and wall time of every shipped scenario on the embedded
# simulator (the endpoint and moto scenarios need their servers and are left out),
# as a Markdown table for scenarios/README.md:
#   bash docs/measure-rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| scenario | peak RSS | wall time |"
echo "|---|---|---|"
for f in scenarios/*.toml; do
  name=$(basename "$f")
  case "$name" in endpoint.toml|moto.toml) continue ;; esac
  /usr/bin/time -f "%M %e" -o "$tmp/time" ./target/release/sse-bench -q run "$f" --out "$tmp/out-$name" > /dev/null || true
  read -r kib secs < "$tmp/time"
  printf '| `%s` | %d MiB | %.0f s |\n' "$name" $((kib / 1024)) "$secs"
done
