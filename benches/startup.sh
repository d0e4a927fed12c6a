#!/usr/bin/env bash
# Cold-start figures for the distributable binary: `--version` and `route` on a real payload,
# measured with hyperfine (apt-get install hyperfine). Prints the binary's size too.
# Usage: benches/startup.sh   (builds the static musl binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/static-build.sh >/dev/null
bin=target/x86_64-unknown-linux-musl/dist/codex-orchestrator
echo "size: $(stat -c %s "$bin") bytes"
hyperfine -N --warmup 5 \
  "$bin --version" \
  "$bin route --event-name pull_request --event-path tests/fixtures/events/pull_request.opened.json"
