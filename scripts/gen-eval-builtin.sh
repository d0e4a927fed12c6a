#!/bin/sh
# Regenerates src/eval/builtin.rs, the table of the built-in eval cases, from examples/eval-cases/ (reference solutions under solution/ are left out).
# Run it after adding or removing a file there; tests check the table matches the folder.
set -eu
cd "$(dirname "$0")/.."
out=src/eval/builtin.rs
{
  cat <<'HEADER'
//! The built-in eval cases, embedded in the binary from `examples/eval-cases/` (regenerate
//! with `scripts/gen-eval-builtin.sh`; a test checks this table matches the folder), so
//! `eval` needs nothing on disk.

/// Every file of the built-in cases: path relative to `examples/eval-cases/`, contents.
pub const FILES: &[(&str, &str)] = &[
HEADER
  (cd examples/eval-cases && find . -type f | sed 's|^\./||' | grep -v '/solution/' | LC_ALL=C sort) | while read -r f; do
    echo "    ("
    echo "        \"$f\","
    echo "        include_str!(\"../../examples/eval-cases/$f\"),"
    echo "    ),"
  done
  echo '];'
} > "$out"
echo "wrote $out"
