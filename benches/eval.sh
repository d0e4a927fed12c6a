#!/bin/sh
# `eval` against a real small model server, when one is installed: llama.cpp's `llama-server`
# with a GGUF model, started here on 127.0.0.1 (OpenAI-compatible API), then `eval` on the
# built-in cases; prints the table and leaves eval.json and report.{md,html} in $EVAL_OUT.
# Without a server or a model it says so loudly and exits 0 ("skipped"): CI runs eval against
# the fake model server only (tests/eval.rs).
#
#   EVAL_LLAMA_SERVER  path of llama-server  [default: ~/.cache/real-model/llama-server, else PATH]
#   EVAL_GGUF          the model file        [default: the first *.gguf in ~/.cache/real-model]
#   EVAL_PORT (8093)  EVAL_CTX (8192)  EVAL_MODEL (alias, qwen2.5-coder:1.5b)
#   EVAL_ROLES (developer,reviewer,planner)  EVAL_OUT (a new temp dir)  EVAL_THRESHOLD (0.5)
# Run: sh benches/eval.sh   (each developer case takes minutes on a 2-core CPU)
set -eu
cd "$(dirname "$0")/.."
cache=${REAL_MODEL_CACHE:-$HOME/.cache/real-model}
server=${EVAL_LLAMA_SERVER:-}
if [ -z "$server" ] && [ -x "$cache/llama-server" ]; then server=$cache/llama-server; fi
if [ -z "$server" ]; then server=$(command -v llama-server || true); fi
gguf=${EVAL_GGUF:-}
if [ -z "$gguf" ]; then gguf=$(ls "$cache"/*.gguf 2>/dev/null | head -n 1 || true); fi
if [ -z "$server" ] || [ ! -x "$server" ] || [ -z "$gguf" ] || [ ! -s "$gguf" ]; then
  echo "=================================================================="
  echo "benches/eval.sh: SKIPPED — no real model server installed."
  echo "  llama-server: ${server:-not found} (set EVAL_LLAMA_SERVER)"
  echo "  GGUF model:   ${gguf:-not found} (set EVAL_GGUF)"
  echo "=================================================================="
  exit 0
fi
port=${EVAL_PORT:-8093}
ctx=${EVAL_CTX:-8192}
model=${EVAL_MODEL:-qwen2.5-coder:1.5b}
roles=${EVAL_ROLES:-developer,reviewer,planner}
out=${EVAL_OUT:-$(mktemp -d)}
mkdir -p "$out"
cargo build --quiet
bin=$PWD/target/debug/codex-orchestrator
"$server" -m "$gguf" --alias "$model" --host 127.0.0.1 --port "$port" -c "$ctx" -np 1 \
  >"$out/server.log" 2>&1 &
pid=$!
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
up=no
for _ in $(seq 1 180); do
  if curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then up=yes; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [ "$up" != yes ]; then
  echo "benches/eval.sh: the model server did not start; see $out/server.log" >&2
  exit 1
fi
echo "model server: $server -m $gguf (ctx $ctx) on port $port; results in $out"
start=$(date +%s)
(cd "$work" && OLLAMA_BASE_URL="http://127.0.0.1:$port" "$bin" eval --api openai \
  --models "$model" --roles "$roles" --threshold "${EVAL_THRESHOLD:-0.5}" \
  --json --report "$out/report.html" >"$out/eval.json" 2>"$out/progress.log") || {
  echo "benches/eval.sh: eval failed; see $out/progress.log" >&2
  tail -n 20 "$out/progress.log" >&2
  exit 1
}
python3 - "$out/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = [("role", "model", "cases", "passed", "pass", "well-formed", "median s", "tok/s", "context used")]
for s in r["summary"]:
    ctx = f'{s["peak_context"]} / {s["context_size"]}' if s["peak_context"] else "-"
    rows.append((s["role"], s["model"], str(s["cases"]), str(s["passed"]), f'{s["pass_rate"]*100:.0f} %',
                 f'{s["well_formed_rate"]*100:.0f} %', f'{s["median_seconds"]:.1f}', f'{s["tokens_per_second"]:.1f}', ctx))
w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(row)).rstrip())
print()
for n in r["recommendation_notes"]:
    print("  " + n)
print()
for c in r["results"]:
    print(f'{c["role"]:9} {c["case"]:24} {"pass" if c["passed"] else "FAIL"} {c["seconds"]:7.1f} s  {c.get("error") or c["note"]}'[:200])
PY
echo "took $(( $(date +%s) - start )) s; json: $out/eval.json, report: $out/report.html"
