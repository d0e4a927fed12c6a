#!/usr/bin/env bash
# Builds the distributable binary (static musl, `dist` profile) and checks that `file` calls it
# statically linked. Prints its size. Needs Debian's musl-tools (musl-gcc) and the rustup target.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
cargo build --locked --profile dist --target "$target"
bin="target/$target/dist/codex-orchestrator"
description=$(file -L "$bin")
echo "$description"
case "$description" in
  *"statically linked"*) ;;
  *) echo "::error::$bin is not statically linked" >&2; exit 1 ;;
esac
size=$(stat -c %s "$bin")
echo "static binary: $bin, $size bytes ($((size / 1024)) KiB)"
"$bin" --version
