#!/usr/bin/env bash
# Non-LLM wall time of our Reviewer (`review --diff-file`, LLM_REVIEWER_MODEL=none) side by side with PR-Agent's
# `review` stopped at its (stubbed) model call, on the same two real diffs (requests 2.31.0->2.32.3, pip 22.3->24.0).
# Usage: benches/reviewer_vs_pr_agent.sh   (needs cargo, git, hyperfine, python3 >= 3.10, PyPI; env WORK=dir, PRA_RUNS=n)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${WORK:-${TMPDIR:-/tmp}/reviewer-vs-pr-agent}
pra_runs=${PRA_RUNS:-5}
mkdir -p "$work/src" "$work/empty"

# --- 1. our release binary ------------------------------------------------------------------------
cargo build --release --quiet
target_dir=${CARGO_TARGET_DIR:-$root/target}
[[ $target_dir = /* ]] || target_dir=$root/$target_dir
bin=$target_dir/release/codex-orchestrator

# --- 2. PR-Agent in its own venv, pinned ------------------------------------------------------------
# pr-agent 0.2.4 (latest on PyPI at the time) pins litellm==1.43.13 and openai==1.40.6; the index this was
# written against did not carry that litellm, so it is installed without deps and with its own pins
# except litellm==1.53.1 / openai==1.54.0 (the nearest pair that resolves). Neither is on the timed path
# except at import time (the model call is stubbed out).
venv=$work/venv
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import pr_agent' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps pr-agent==0.2.4
  cat > "$work/pra-reqs.txt" <<'EOF'
aiohttp==3.9.4
anthropic[vertex]==0.21.3
atlassian-python-api==3.41.4
azure-devops==7.1.0b3
azure-identity==1.15.0
boto3==1.33.6
dynaconf==3.2.4
fastapi==0.111.0
GitPython==3.1.41
google-cloud-aiplatform==1.38.0
google-cloud-storage==2.10.0
Jinja2==3.1.2
litellm==1.53.1
loguru==0.7.2
msrest==0.7.1
openai==1.54.0
pytest==7.4.0
PyGithub==1.59.*
PyYAML==6.0.1
python-gitlab==3.15.0
retry==0.9.2
starlette-context==0.3.6
tiktoken==0.7.0
ujson==5.8.0
uvicorn==0.22.0
tenacity==8.2.3
gunicorn==22.0.0
pytest-cov==5.0.0
pydantic==2.8.2
EOF
  "$venv/bin/pip" install -q -r "$work/pra-reqs.txt"
fi
py=$venv/bin/python

# --- 3. the diffs: two real release pairs, as a git repo (for PR-Agent's local provider) and a diff file
fetch() { # name version
  [[ -d $work/src/$1-$2 ]] && return
  "$venv/bin/pip" download -q --no-deps --no-binary :all: "$1==$2" -d "$work/src"
  tar -xzf "$work/src/$1-$2.tar.gz" -C "$work/src" --no-same-owner
}
mkrepo() { # label old-dir new-dir -> $work/repo-label (branch base = old, head = new) and $work/label.diff
  local r=$work/repo-$1 g=(git -c user.name=bench -c user.email=bench@localhost)
  [[ -f $work/$1.diff ]] && return
  rm -rf "$r"
  "${g[@]}" init -q -b base "$r"
  cp -R "$2/." "$r/"
  "${g[@]}" -C "$r" add -A && "${g[@]}" -C "$r" commit -qm base
  "${g[@]}" -C "$r" checkout -q -b head
  "${g[@]}" -C "$r" rm -rq .
  cp -R "$3/." "$r/"
  "${g[@]}" -C "$r" add -A && "${g[@]}" -C "$r" commit -qm "head: $(basename "$3")"
  "${g[@]}" -C "$r" diff --no-color base head > "$work/$1.diff"
}
fetch requests 2.31.0; fetch requests 2.32.3; fetch pip 22.3; fetch pip 24.0
mkrepo small "$work/src/requests-2.31.0" "$work/src/requests-2.32.3"
mkrepo large "$work/src/pip-22.3" "$work/src/pip-24.0"

# --- 4. the PR-Agent driver ------------------------------------------------------------------------
cat > "$work/pr_agent_nollm.py" <<'EOF'
"""Run PR-Agent's `review` command end to end, but answer the model call at once with an empty reply;
what remains is PR-Agent's non-LLM wall time: imports, settings, git provider, diff processing,
token counting/clipping, prompt rendering.

  pr_agent_nollm.py local REPO BRANCH  its own local git provider inside REPO: BRANCH is the PR's
                                       target, HEAD the PR (PR-Agent reads the diff through git)
  pr_agent_nollm.py diff-file FILE     a stand-in provider (below) that reads a unified diff file and
                                       nothing else, as PR-Agent has no diff-file mode of its own
  pr_agent_nollm.py import-only        the imports and nothing else
PRA_VERBOSE=1 prints an in-process breakdown on stderr."""
import os
import sys
import time
from collections import Counter

t_start = time.perf_counter()
mode = sys.argv[1]
if mode == "local":
    os.chdir(sys.argv[2])  # before the imports: pr_agent.config_loader looks for the repository at import
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of litellm's price map

from pr_agent import cli  # noqa: E402
from pr_agent.algo.ai_handlers.litellm_ai_handler import LiteLLMAIHandler  # noqa: E402
from pr_agent.algo.types import EDIT_TYPE, FilePatchInfo  # noqa: E402
from pr_agent.config_loader import get_settings  # noqa: E402
from pr_agent.git_providers import _GIT_PROVIDERS  # noqa: E402
from pr_agent.git_providers.local_git_provider import LocalGitProvider, PullRequestMimic  # noqa: E402

t_imported = time.perf_counter()
if mode == "import-only":
    sys.exit(0)
calls = []


async def no_llm(self, model, system, user, temperature=0.2, img_path=None):
    calls.append((model, len(system) + len(user), time.perf_counter()))
    return "", "stop"  # empty prediction: PR-Agent stops right after the model call


LiteLLMAIHandler.chat_completion = no_llm


# pr-agent 0.2.4's LocalGitProvider leaves four abstract methods unimplemented, so it cannot be
# instantiated at all ("Can't instantiate abstract class LocalGitProvider"); fill them with no-ops.
class PatchedLocalGitProvider(LocalGitProvider):
    def get_repo_settings(self):
        return ""

    def get_commit_messages(self):
        return ""

    def add_eyes_reaction(self, issue_comment_id, disable_eyes=False):
        return None

    def remove_reaction(self, issue_comment_id, reaction_id):
        return True


class DiffFileProvider(PatchedLocalGitProvider):
    """The local provider with git swapped for a unified diff file (the `pr_url` is its path).
    Files carry only their patch, no full contents (a diff file has none)."""

    def __init__(self, diff_path, incremental=False):
        self.diff_path = diff_path
        self.head_branch_name = "diff-file"
        self.target_branch_name = ""
        self.diff_files = None
        self.pr = PullRequestMimic(self.get_pr_title(), self.get_diff_files())
        self.description_path = self.review_path = os.devnull
        get_settings().pr_reviewer.inline_code_comments = False

    def get_diff_files(self):
        if self.diff_files is not None:
            return self.diff_files
        with open(self.diff_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        files = []
        for chunk in text.split("\ndiff --git "):
            head, sep, hunks = chunk.partition("\n@@")
            names = [ln[6:] for ln in head.splitlines() if ln.startswith(("--- a/", "+++ b/"))]
            if not names:
                continue
            edit = EDIT_TYPE.MODIFIED
            if "\nnew file mode" in head:
                edit = EDIT_TYPE.ADDED
            elif "\ndeleted file mode" in head:
                edit = EDIT_TYPE.DELETED
            elif "\nrename from" in head:
                edit = EDIT_TYPE.RENAMED
            files.append(FilePatchInfo("", "", ("@@" + hunks) if sep else "", names[-1], edit_type=edit))
        self.diff_files = files
        return files

    def get_files(self):
        return [f.filename for f in self.get_diff_files()]

    def get_languages(self):  # by extension of the changed files: there is no tree to count
        exts = Counter(os.path.splitext(f)[1].lstrip(".").lower() for f in self.get_files())
        return {e: n / max(1, sum(exts.values())) * 100 for e, n in exts.items()}

    def get_pr_branch(self):
        return self.head_branch_name

    def get_pr_description_full(self):
        return ""


_GIT_PROVIDERS["local"] = PatchedLocalGitProvider if mode == "local" else DiffFileProvider
get_settings().set("CONFIG.GIT_PROVIDER", "local")
get_settings().set("CONFIG.PUBLISH_OUTPUT", False)
cli.run(inargs=["--pr_url", sys.argv[-1], "review"])
if not calls:
    sys.exit("pr_agent_nollm: PR-Agent never reached the model call")
if os.environ.get("PRA_VERBOSE"):
    t_end = time.perf_counter()
    print(f"  pr-agent {mode}: imports {t_imported - t_start:.3f}s, imports->model call "
          f"{calls[0][2] - t_imported:.3f}s, total in-process {t_end - t_start:.3f}s; "
          f"model calls {len(calls)}, prompt chars {[c[1] for c in calls]}", file=sys.stderr)
EOF

# --- 5. sanity runs, peak RSS, and the timings -----------------------------------------------------
export LLM_REVIEWER_MODEL=none LOG_LEVEL=WARNING
ours() { "$bin" review --repo-dir "$work/empty" --diff-file "$work/$1.diff" --json; }
rss() { # command... -> max resident set size in KiB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; binary: $bin"
for d in small large; do
  f=$work/$d.diff
  echo "== $d.diff: $(grep -c '^diff --git' "$f") files, $(wc -l < "$f") lines, $(wc -c < "$f") bytes"
  ours "$d" | "$py" -c 'import json, sys; j = json.load(sys.stdin); print("  ours: verdict", j["verdict"], "| files reviewed", len(j["files_reviewed"]), "| deterministic findings", len(j["deterministic"]))'
  PRA_VERBOSE=1 "$py" "$work/pr_agent_nollm.py" local "$work/repo-$d" base >/dev/null
  PRA_VERBOSE=1 "$py" "$work/pr_agent_nollm.py" diff-file "$f" >/dev/null
  {
    echo "ours $(rss "$bin" review --repo-dir "$work/empty" --diff-file "$f" --json)"
    echo "pra-import $(rss "$py" "$work/pr_agent_nollm.py" import-only)"
    echo "pra-local $(rss "$py" "$work/pr_agent_nollm.py" local "$work/repo-$d" base)"
    echo "pra-diff-file $(rss "$py" "$work/pr_agent_nollm.py" diff-file "$f")"
  } > "$work/$d.rss"
  hyperfine -N --warmup 3 --style basic --export-json "$work/$d.ours.json" \
    -n ours "$bin review --repo-dir $work/empty --diff-file $f --json" > /dev/null
  hyperfine -N --warmup 1 --runs "$pra_runs" --style basic --export-json "$work/$d.pra.json" \
    -n pra-import "$py $work/pr_agent_nollm.py import-only" \
    -n pra-local "$py $work/pr_agent_nollm.py local $work/repo-$d base" \
    -n pra-diff-file "$py $work/pr_agent_nollm.py diff-file $f" > /dev/null
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 6. the table --------------------------------------------------------------------------------
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
what = {
    "ours": "codex-orchestrator review --diff-file (model none): parse + deterministic checks + JSON",
    "pra-import": "PR-Agent: python start-up + imports only",
    "pra-local": "PR-Agent review, local git provider, up to the (stubbed) model call",
    "pra-diff-file": "PR-Agent review, diff-file stand-in provider, up to the (stubbed) model call",
}
print(f"\n{'diff':6} {'command':14} {'mean ± σ (s)':>18} {'min (s)':>8} {'runs':>4} {'max RSS (MiB)':>13}")
for d in ("small", "large"):
    rss = dict(line.split() for line in open(f"{work}/{d}.rss") if len(line.split()) == 2)
    for part in ("ours", "pra"):
        for r in json.load(open(f"{work}/{d}.{part}.json"))["results"]:
            n = r["command"]
            print(f"{d:6} {n:14} {r['mean']:9.4f} ± {r['stddev']:6.4f} {r['min']:8.4f} {len(r['times']):4}"
                  f" {int(rss.get(n, 0)) / 1024:13.1f}")
print()
for k, v in what.items():
    print(f"  {k:14} {v}")
EOF
