#!/bin/sh
# Wall time of the offline demo (release build, no model): five fresh runs and five resumed runs.
# The issue's target is under 10 seconds on a laptop; run: sh benches/demo.sh
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/codex-orchestrator
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  env -u OLLAMA_BASE_URL "$bin" demo --dir "$tmp/fresh$i" >/dev/null
  end=$(date +%s%N)
  echo "fresh run $i: $(( (end - start) / 1000000 )) ms"
done
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  env -u OLLAMA_BASE_URL "$bin" demo --dir "$tmp/fresh1" >/dev/null
  end=$(date +%s%N)
  echo "resumed run $i: $(( (end - start) / 1000000 )) ms"
done
