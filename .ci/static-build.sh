#!/usr/bin/env bash
# Builds the distributable binary (static musl, `dist` profile), checks that `file` calls it
# statically linked, prints its size and FAILS when it is above 8,000,000 bytes with every
# default feature, serve mode and its bundled SQLite included (issue 19; README, "Building the
# static binary", says what was cut). Needs Debian's musl-tools (musl-gcc, for ring's and
# SQLite's C), lld (the linker .cargo/config.toml names) and the rustup target.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
limit=8000000
cargo build --locked --profile dist --target "$target"
bin="target/$target/dist/codex-orchestrator"
description=$(file -L "$bin")
echo "$description"
case "$description" in
  *"statically linked"*) ;;
  *) echo "::error::$bin is not statically linked" >&2; exit 1 ;;
esac
size=$(stat -c %s "$bin")
echo "static binary: $bin, $size bytes ($((size / 1024)) KiB), limit $limit bytes"
if [ "$size" -gt "$limit" ]; then
  echo "::error::$bin is $size bytes, above the $limit-byte limit (see README, \"Building the static binary\", for what was cut and how to measure shares with cargo bloat)" >&2
  exit 1
fi
"$bin" --version
