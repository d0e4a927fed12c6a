#!/bin/sh
# Regenerates src/eval/builtin.rs, the table of the built-in eval cases, from examples/eval-cases/ (reference solutions under solution/ are left out).
# Run it after adding or removing a file there; tests check the table matches the folder.
set -eu
cd "$(dirname "$0")/.."
out=src/eval/builtin.rs
{
  echo '//! The built-in eval cases, embedded in the binary from `examples/eval-cases/` (regenerate'
  echo '//! with `scripts/gen-eval-builtin.sh`; a test checks this table matches the folder), so'
  echo '//! `eval` needs nothing on disk.'
  echo ''
  echo '/// Every file of the built-in cases: path relative to `examples/eval-cases/`, contents.'
  echo 'pub const FILES: &[(&str, &str)] = &['
  (cd examples/eval-cases && find . -type f | sed 's|^\./||' | grep -v '/solution/' | LC_ALL=C sort) | while read -r f; do
    echo "    ("
    echo "        \"$f\","
    echo "        include_str!(\"../../examples/eval-cases/$f\"),"
    echo "    ),"
  done
  echo '];'
} > "$out"
echo "wrote $out"
