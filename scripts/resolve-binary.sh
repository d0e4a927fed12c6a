#!/usr/bin/env bash
# Finds the codex-orchestrator binary for action.yml and writes its path to $GITHUB_OUTPUT as
# `path` (and how it was found as `source`). Kept out of action.yml so it can be tested without a
# runner (tests/action_resolve.rs). In order:
#   1. CO_BINARY_PATH (the `binary-path` input): used as is; nothing is downloaded or built.
#   2. The release archive cached under $RUNNER_TOOL_CACHE/codex-orchestrator/<version>/<arch>/,
#      re-checked against checksums/SHA256SUMS on every use (a shared self-hosted runner's cache
#      is not trusted more than the network).
#   3. The release archive for this $RUNNER_OS/$RUNNER_ARCH, downloaded and checked against the
#      SHA-256 sum committed in this repository (checksums/SHA256SUMS). A sum that does not
#      match is refused: the job fails, nothing else is tried.
#   4. On a self-hosted runner with cargo: `cargo build --locked --profile dist` of the action's
#      own source.
# Environment: CO_BINARY_PATH, CO_VERSION (empty = the version in Cargo.toml), GITHUB_ACTION_PATH
# (the action's root), RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, RUNNER_ENVIRONMENT,
# GITHUB_OUTPUT, and CODEX_DOWNLOAD_BASE (optional: a mirror of the release downloads; the sums
# still come from this repository, so a mirror cannot swap the binary).
set -euo pipefail

name=codex-orchestrator
root=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
sums_file="$root/checksums/SHA256SUMS"
output=${GITHUB_OUTPUT:-/dev/null}

# Workflow commands are one line each: line breaks in a message (from an input) become spaces,
# so an input can never start a workflow command of its own.
oneline() { local m="$*"; m=${m//$'\r'/ }; printf '%s' "${m//$'\n'/ }"; }
error() { printf '::error title=codex-orchestrator::%s\n' "$(oneline "$*")" >&2; }
notice() { printf '::notice title=codex-orchestrator::%s\n' "$(oneline "$*")"; }
emit() {
  # $1 = binary path, $2 = source
  printf 'path=%s\nsource=%s\n' "$1" "$2" >>"$output"
  notice "using $1 ($2)"
}

# 1. binary-path --------------------------------------------------------------------------------
if [ -n "${CO_BINARY_PATH:-}" ]; then
  case "$CO_BINARY_PATH" in
    *$'\n'* | *$'\r'*) error "binary-path must not contain a line break"; exit 1 ;;
  esac
  if [ ! -f "$CO_BINARY_PATH" ] || [ ! -x "$CO_BINARY_PATH" ]; then
    error "binary-path '$CO_BINARY_PATH' is not an executable file"
    exit 1
  fi
  bin=$(cd "$(dirname "$CO_BINARY_PATH")" && pwd)/$(basename "$CO_BINARY_PATH")
  emit "$bin" binary-path
  exit 0
fi

# The version to fetch ------------------------------------------------------------------------------
version=${CO_VERSION:-}
version=${version#v}
if [ -z "$version" ]; then
  version=$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)
fi
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
  error "version '$version' is not a release version like 0.1.0"
  exit 1
fi

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl arch=x64 ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl arch=arm64 ;;
  *) target="" arch="" ;;
esac

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$name-resolve.XXXXXX")
trap 'rm -rf "$work"' EXIT

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# Extracts the binary from a verified archive into a fresh directory and prints its path.
install_from() {
  local archive=$1 dest
  dest=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$name-bin.XXXXXX")
  tar -xzf "$archive" -C "$dest" "$name"
  chmod 0755 "$dest/$name"
  printf '%s\n' "$dest/$name"
}

build_from_source() {
  if [ "${RUNNER_ENVIRONMENT:-}" != "self-hosted" ]; then
    return 1
  fi
  if ! command -v cargo >/dev/null; then
    return 1
  fi
  local target_dir=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-$work}}/$name/source-build
  notice "building $name from the action's source ($root) with cargo --locked"
  cargo build --locked --profile dist --manifest-path "$root/Cargo.toml" --target-dir "$target_dir" >&2
  if [ ! -x "$target_dir/dist/$name" ]; then
    error "cargo finished but $target_dir/dist/$name is missing"
    exit 1
  fi
  emit "$target_dir/dist/$name" source-build
}

no_release() {
  # $1 = why there is no verified download
  if build_from_source; then
    exit 0
  fi
  error "$1; and no source build is possible (that needs a self-hosted runner with cargo). Set binary-path, or pin the action to a commit whose checksums/SHA256SUMS lists the release."
  exit 1
}

if [ -z "$target" ]; then
  no_release "no release binary is published for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
fi

asset="$name-v$version-$target.tar.gz"

# The sum for this asset, from the sums committed in this repository (exactly one entry).
expected=""
if [ -f "$sums_file" ]; then
  expected=$(awk -v f="$asset" '!/^#/ && NF >= 2 && ($2 == f || $2 == "*" f) { print tolower($1) }' "$sums_file" | sort -u)
fi
if [ -z "$expected" ]; then
  no_release "checksums/SHA256SUMS has no entry for $asset, so it will not be downloaded"
fi
if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
  error "checksums/SHA256SUMS has a malformed or conflicting entry for $asset; refusing it"
  exit 1
fi

# 2. Tool cache ---------------------------------------------------------------------------------
cache_dir=""
if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
  cache_dir="$RUNNER_TOOL_CACHE/$name/$version/$arch"
  if [ -f "$cache_dir/$asset" ]; then
    # The shared cache is not trusted and can change under us: copy it into our private
    # directory first, then hash and extract that same copy (never the shared path twice).
    if cp "$cache_dir/$asset" "$work/cached-$asset" 2>/dev/null &&
      [ "$(sha256_of "$work/cached-$asset")" = "$expected" ]; then
      bin=$(install_from "$work/cached-$asset")
      emit "$bin" tool-cache
      exit 0
    fi
    printf '::warning title=codex-orchestrator::%s\n' \
      "the cached $asset does not match checksums/SHA256SUMS; discarding it and downloading again"
    rm -f "$cache_dir/$asset"
  fi
fi

# 3. Download -----------------------------------------------------------------------------------
if [ -n "${CODEX_DOWNLOAD_BASE:-}" ]; then
  base=${CODEX_DOWNLOAD_BASE%/}
else
  repo_url=$(sed -n 's/^repository[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)
  base="${repo_url%/}/releases/download/v$version"
fi
url="$base/$asset"
notice "downloading $url"
if ! curl --fail --silent --show-error --location --retry 2 --connect-timeout 10 --max-time 300 \
  --output "$work/$asset" "$url"; then
  no_release "could not download $url"
fi
actual=$(sha256_of "$work/$asset")
if [ "$actual" != "$expected" ]; then
  error "SHA-256 mismatch for $asset: downloaded $actual, checksums/SHA256SUMS says $expected. Refusing to run it."
  exit 1
fi
# Caching is best effort: an unwritable tool cache costs a download next time, nothing more.
if [ -n "$cache_dir" ]; then
  if ! { mkdir -p "$cache_dir" && cp "$work/$asset" "$cache_dir/$asset.partial.$$" &&
    mv -f "$cache_dir/$asset.partial.$$" "$cache_dir/$asset"; } 2>/dev/null; then
    printf '::warning title=codex-orchestrator::%s\n' "could not cache $asset in $cache_dir"
    rm -f "$cache_dir/$asset.partial.$$" 2>/dev/null || true
  fi
fi
bin=$(install_from "$work/$asset")
emit "$bin" download
