#!/usr/bin/env bash
# The share of a real model's Developer replies that parse into edit blocks (and apply), for the
# prompt this binary builds. Builds the Developer's real first request through the binary
# (`develop --changes-out` on a local forge of the sample app, task T-0002, llm.api openai)
# with a capture proxy in front of the model server, then sends that same request N times to the
# server (temperature T, seeds 1..N) and saves the replies; `cargo test --test integration
# developer_replies -- --ignored` then counts how many parse and apply.
#
#   measure.sh BIN UPSTREAM_URL OUT_DIR [N] [TEMPERATURE]
#
# Needs a running OpenAI-compatible server (../shared/tools/real-model.sh start PORT); not for CI.
set -euo pipefail
bin=$1 upstream=$2 out=$3 n=${4:-6} temp=${5:-0.6}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$proxy" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$out"
repo="$work/repo"
cp -r "$here/../../examples/sample-python-app" "$repo"
task() { # id title status deps body
  printf -- '---\nid: %s\ntitle: %s\ntype: feature\npriority: P1\ndepends_on: %s\nstatus: %s\nowner: unassigned\nestimate: 1h\nacceptance:\n%s\nauto_policy: review_required\n---\n\n%s\n' \
    "$1" "$2" "$4" "$3" "$5" "$6"
}
task T-0001 "Initialize basic CI for Python" done "[]" '  - "CI runs the tests"' "" >"$repo/tasks/T-0001-initialize-basic-ci-for-python.md"
task T-0002 "Add a farewell function" queued "[T-0001]" \
  $'  - "farewell(name) in src/app.py returns \'Goodbye, <name>!\'"\n  - "a test in tests/test_app.py covers farewell"' \
  "The app says hello; it should say goodbye too." >"$repo/tasks/T-0002-add-a-farewell-function.md"
task T-0003 "Say farewell in French" queued "[T-0002]" '  - "farewell(name, lang=\"fr\") returns \"Au revoir, <name>!\""' \
  "Extend the farewell function with a French variant." >"$repo/tasks/T-0003-say-farewell-in-french.md"
task T-0005 "Document the farewell function" queued "[T-0002]" '  - "README shows farewell"' \
  "Document farewell in the README." >"$repo/tasks/T-0005-document-the-farewell-function.md"
cat >"$repo/.llm-team.yml" <<YML
project:
  name: sample-python-app
llm:
  api: openai
  base_url: "http://127.0.0.1:8099"
roles:
  developer:
    model: "qwen2.5-coder:1.5b"
checks:
  test_command: "python3 -m pytest -q"
YML
git -C "$repo" init -q -b main && git -C "$repo" add -A && git -C "$repo" -c user.name=m -c user.email=m@x commit -qm sample
"$bin" forge init "local:$work/forge" --from "$repo" >/dev/null
python3 "$here/capture_proxy.py" 8099 "$upstream" "$out/request.json" & proxy=$!
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:8099/v1/models >/dev/null && break; sleep 1; done
(cd "$repo" && env -u OLLAMA_BASE_URL "$bin" --forge "local:$work/forge" develop --task T-0002 --changes-out "$work/changes.json") \
  >"$out/capture.stdout" 2>"$out/capture.stderr" || true
[ -s "$out/request.json" ] || { echo "no request captured; see $out/capture.stderr" >&2; exit 1; }
# The files the replies are applied to.
mkdir -p "$out/repo" && (cd "$repo" && git ls-files | tar cf - -T -) | tar xf - -C "$out/repo"
python3 "$here/sample.py" "$out/request.json" "$upstream" "$n" "$temp" "$out"
