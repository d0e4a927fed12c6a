#!/usr/bin/env bash
# Builds the distributable binary (static musl, `dist` profile), checks that `file` calls it
# statically linked, prints its size and FAILS when it is above the hard limit: 12,000,000
# bytes with every default feature, serve mode and its bundled SQLite included (serve mode's
# bound). The goal is 8,000,000 bytes; not reached yet, so above it the script warns (README).
# Needs Debian's musl-tools (musl-gcc, for ring's and SQLite's C) and the rustup target.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
limit=12000000
goal=8000000
cargo build --locked --profile dist --target "$target"
bin="target/$target/dist/codex-orchestrator"
description=$(file -L "$bin")
echo "$description"
case "$description" in
  *"statically linked"*) ;;
  *) echo "::error::$bin is not statically linked" >&2; exit 1 ;;
esac
size=$(stat -c %s "$bin")
echo "static binary: $bin, $size bytes ($((size / 1024)) KiB), limit $limit bytes, goal $goal bytes"
if [ "$size" -gt "$limit" ]; then
  echo "::error::$bin is $size bytes, above the $limit-byte limit (see README, \"Building the static binary\", for what was cut and how to measure shares with cargo bloat)" >&2
  exit 1
fi
if [ "$size" -gt "$goal" ]; then
  echo "::warning::$bin is $size bytes: within the $limit-byte limit, above the $goal-byte goal"
fi
"$bin" --version
