#!/usr/bin/env bash
# Runs `codex-orchestrator run` for action.yml. The action hands its inputs over as INPUT_* env
# vars (never as `${{ }}` in the script); this script checks them, maps the non-empty ones to the
# variables the binary reads (CODEX_*, LLM_*_MODEL, OLLAMA_BASE_URL, GITHUB_TOKEN/GH_TOKEN) and
# leaves the job's own values alone where an input is empty. Event data is never touched here:
# the binary reads it from $GITHUB_EVENT_PATH.
# Environment: CO_BINARY (from scripts/resolve-binary.sh) and the INPUT_* vars of action.yml.
set -euo pipefail

# Workflow commands are one line each: line breaks in a message (from an input) become spaces,
# so an input can never start a workflow command of its own.
oneline() { local m="$*"; m=${m//$'\r'/ }; printf '%s' "${m//$'\n'/ }"; }
error() { printf '::error title=codex-orchestrator::%s\n' "$(oneline "$*")" >&2; }

if [ -z "${CO_BINARY:-}" ] || [ ! -x "$CO_BINARY" ]; then
  error "no codex-orchestrator binary to run (CO_BINARY='${CO_BINARY:-}')"
  exit 2
fi

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# A boolean input: true/false (any case), empty = false.
bool() {
  local value
  value=$(lower "${2:-}")
  case "$value" in
    "" | false) printf 'false' ;;
    true) printf 'true' ;;
    *) error "input $1 must be true or false, got '$2'"; exit 2 ;;
  esac
}

role=$(lower "${INPUT_ROLE:-auto}")
case "${role:-auto}" in
  auto | reviewer | developer | taskmaster | integrator | planner) ;;
  *) error "input role must be auto, reviewer, developer, taskmaster, integrator or planner, got '${INPUT_ROLE:-}'"; exit 2 ;;
esac

mode=$(lower "${INPUT_MODE:-}")
case "$mode" in
  "" | observe | pr | disabled) ;;
  *) error "input mode must be observe, pr or disabled, got '${INPUT_MODE:-}'"; exit 2 ;;
esac

if [ -n "${INPUT_PR:-}" ] && ! [[ "$INPUT_PR" =~ ^[0-9]+$ ]]; then
  error "input pr must be a pull request number, got '$INPUT_PR'"
  exit 2
fi
if [ -n "${INPUT_TASK:-}" ] && ! [[ "$INPUT_TASK" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
  error "input task must be a task id (letters, digits, . _ -), got '$INPUT_TASK'"
  exit 2
fi
# Paths and workflow names are one line of plain characters.
for input in INPUT_CHANGES_OUT INPUT_PUBLISH; do
  if [ -n "${!input:-}" ] && ! [[ "${!input}" =~ ^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+\ -]*$ ]]; then
    error "input ${input#INPUT_} must be a file path, got '$(oneline "${!input}")'"
    exit 2
  fi
done
for input in INPUT_DEVELOPER_WORKFLOW INPUT_REVIEW_WORKFLOW; do
  if [ -n "${!input:-}" ] && ! [[ "${!input}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    error "input ${input#INPUT_} must be a workflow file name like llm-team-developer.yml, got '$(oneline "${!input}")'"
    exit 2
  fi
done
if [ -n "${INPUT_CHANGES_OUT:-}" ] && [ -n "${INPUT_PUBLISH:-}" ]; then
  error "inputs changes-out and publish belong to different jobs (work and publish); set one of them"
  exit 2
fi

boost=$(bool boost "${INPUT_BOOST:-}")
dry_run=$(bool dry-run "${INPUT_DRY_RUN:-}")
takeover=$(bool takeover "${INPUT_TAKEOVER:-}")

# The binary's flags come from these variables; an empty one would be read as a missing value, so
# empty inherited ones are dropped rather than passed on.
for var in CODEX_ROLE CODEX_BOOST CODEX_DRY_RUN CODEX_MODE CODEX_CONFIG CODEX_TASK CODEX_PR \
  CODEX_REPORT CODEX_REPO_DIR CODEX_CHANGES_OUT CODEX_TAKEOVER; do
  if [ -z "${!var:-}" ]; then unset "$var"; fi
done

export CODEX_ROLE="${role:-auto}"
export CODEX_BOOST="$boost"
# dry-run can only be switched on from here; a job-level CODEX_DRY_RUN=true stays on.
if [ "$dry_run" = true ]; then export CODEX_DRY_RUN=true; fi
if [ -n "$mode" ]; then export CODEX_MODE="$mode"; fi
if [ -n "${INPUT_CONFIG:-}" ]; then export CODEX_CONFIG="$INPUT_CONFIG"; fi
if [ -n "${INPUT_TASK:-}" ]; then export CODEX_TASK="$INPUT_TASK"; fi
if [ -n "${INPUT_PR:-}" ]; then export CODEX_PR="$INPUT_PR"; fi
if [ "$takeover" = true ]; then export CODEX_TAKEOVER=true; fi
if [ -n "${INPUT_CHANGES_OUT:-}" ]; then export CODEX_CHANGES_OUT="$INPUT_CHANGES_OUT"; fi
if [ -n "${INPUT_DEVELOPER_WORKFLOW:-}" ]; then export CODEX_DEVELOPER_WORKFLOW="$INPUT_DEVELOPER_WORKFLOW"; fi
if [ -n "${INPUT_REVIEW_WORKFLOW:-}" ]; then export CODEX_REVIEW_WORKFLOW="$INPUT_REVIEW_WORKFLOW"; fi

# Non-empty inputs win over the job's environment; empty ones leave it as it is.
set_if() {
  if [ -n "${2:-}" ]; then export "$1=$2"; fi
}
set_if OLLAMA_BASE_URL "${INPUT_OLLAMA_BASE_URL:-}"
set_if LLM_PLANNER_MODEL "${INPUT_PLANNER_MODEL:-}"
set_if LLM_TASKMASTER_MODEL "${INPUT_TASKMASTER_MODEL:-}"
set_if LLM_DEVELOPER_MODEL "${INPUT_DEVELOPER_MODEL:-}"
set_if LLM_REVIEWER_MODEL "${INPUT_REVIEWER_MODEL:-}"
set_if LLM_INTEGRATOR_MODEL "${INPUT_INTEGRATOR_MODEL:-}"
set_if LLM_BOOST_MODEL "${INPUT_BOOST_MODEL:-}"
set_if GITHUB_TOKEN "${INPUT_GITHUB_TOKEN:-}"
set_if GH_TOKEN "${INPUT_GITHUB_TOKEN:-}"
unset INPUT_GITHUB_TOKEN

if [ -n "${INPUT_PUBLISH:-}" ]; then
  if [ "${role:-auto}" = auto ]; then
    error "input publish needs the role whose change set it is (role: developer, say), not auto"
    exit 2
  fi
  exec "$CO_BINARY" publish "$INPUT_PUBLISH"
fi
exec "$CO_BINARY" run
