#!/usr/bin/env bash
# `make demo`: until the end-to-end agent demo exists (a later issue), a scripted
# tour on a throw-away home: the workspace core (versioned status files, optimistic
# concurrency, tree locks, the trash, events, the hash-chained audit trail), then the
# pipeline engine on a real local git repository: validator -> tester -> deployer,
# chained through status files, the deployer under a tree lock on /status/.
set -euo pipefail
cd "$(dirname "$0")/.."
PH=".venv/bin/pilothouse"
export PILOTHOUSE_HOME
PILOTHOUSE_HOME="$(mktemp -d)/home"
trap 'rm -rf "$(dirname "$PILOTHOUSE_HOME")"' EXIT
export COLUMNS=120

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

echo "Pilothouse demo: a tour of the workspace core on a temporary home ($PILOTHOUSE_HOME)."
echo "(The real validator, tester, deployer and monitor agents come with later issues.)"

step "pilothouse init: database, first user, admin API key (shown once)"
$PH init --user alice

step "a workspace for the pipeline"
$PH workspace create gitops-pipeline-prod --description "Status, locks and memory of the prod pipeline"

step "the validator writes its status file (version 1), then a complete replacement (version 2)"
echo '{"status": "running", "stage": "validator"}' | $PH file write gitops-pipeline-prod /status/validated.json
echo '{"status": "succeeded", "stage": "validator", "findings": []}' \
  | $PH file write gitops-pipeline-prod /status/validated.json --if-version 1
$PH file versions gitops-pipeline-prod /status/validated.json

step "a stale writer (still thinks it is version 1) is refused, nothing is lost"
echo '{"status": "failed"}' | $PH file write gitops-pipeline-prod /status/validated.json --if-version 1 \
  || echo "(refused as expected, exit $?)"
$PH file read gitops-pipeline-prod /status/validated.json

step "the deployer locks the whole /status/ tree; another agent asking for one file inside waits in vain"
grant="$($PH lock acquire gitops-pipeline-prod /status/ --tree --ttl 120 --output json)"
echo "$grant"
$PH lock acquire gitops-pipeline-prod /status/deployed.json --wait 0.5 || echo "(lock_held, as expected)"
$PH lock release gitops-pipeline-prod "$(echo "$grant" | field lock_id)" --token "$(echo "$grant" | field token)"
echo "released; the next grant gets a higher fencing token:"
grant="$($PH lock acquire gitops-pipeline-prod /status/deployed.json --enforce --output json)"
echo "$grant" | field fencing_token

step "an enforced lock refuses writes without its token"
echo '{"status": "succeeded"}' | $PH file write gitops-pipeline-prod /status/deployed.json \
  || echo "(refused without the token)"
echo '{"status": "succeeded"}' | $PH file write gitops-pipeline-prod /status/deployed.json \
  --lock-token "$(echo "$grant" | field token)"
$PH lock release gitops-pipeline-prod "$(echo "$grant" | field lock_id)" --token "$(echo "$grant" | field token)"

step "delete goes to the trash; restore brings it back"
$PH file delete gitops-pipeline-prod /status/deployed.json
$PH file restore gitops-pipeline-prod /status/deployed.json
$PH file list gitops-pipeline-prod / --recursive

step "the event log (cursor-based; later transports subscribe to it)"
$PH events gitops-pipeline-prod --type 'lock.*' --type 'file.*'

step "the audit trail is hash-chained; verify replays it"
$PH audit verify gitops-pipeline-prod

step "a GitOps repository (a local bare repo here) with pilothouse.yaml and a command agent"
REPO="$(dirname "$PILOTHOUSE_HOME")/gitops"
PY="$(pwd)/.venv/bin/python"
git init -q --bare -b main "$REPO.git"
git clone -q "$REPO.git" "$REPO" 2>/dev/null
mkdir -p "$REPO/manifests" "$REPO/agents"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ranker}\n' > "$REPO/manifests/ranker.yaml"
cat > "$REPO/agents/validate.py" <<'AGENT'
import glob, json, sys, yaml
event = json.load(sys.stdin)
problems = []
for path in sorted(glob.glob("manifests/*.yaml")):
    try:
        yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        problems.append({"file": path, "error": str(e).splitlines()[0]})
status = "failed" if problems else "succeeded"
print(json.dumps({"status": status, "summary": f"{len(glob.glob('manifests/*.yaml'))} manifests parsed",
                  "findings": problems}))
AGENT
cat > "$REPO/pilothouse.yaml" <<YAML
pipeline:
  workspace: gitops-pipeline-prod
  agents:
    validator:
      trigger: [github.push, manual]
      uses: {command: ["$PY", agents/validate.py]}
      writes: /status/validated.json
    tester:
      trigger: file_change:/status/validated.json
      uses: builtin:shell
      env: {SCRIPT: "ls manifests && echo tests passed"}
      writes: /status/tested.json
    deployer:
      trigger: file_change:/status/tested.json
      requires_lock: /status/deploy.lock
      uses: builtin:noop
      writes: /status/deployed.json
YAML
git -C "$REPO" add -A
git -C "$REPO" -c user.name=demo -c user.email=demo@example.com commit -q -m "pipeline and manifests"
git -C "$REPO" push -q origin HEAD:main
$PH pipeline validate "$REPO/pilothouse.yaml"
$PH repo add gitops-pipeline-prod "$REPO.git"

step "trigger the validator; a worker drains the queue: each stage's status file starts the next"
$PH pipeline trigger gitops-pipeline-prod validator
$PH worker --drain
$PH pipeline runs gitops-pipeline-prod
$PH file read gitops-pipeline-prod /status/deployed.json
$PH agents gitops-pipeline-prod

echo
echo "Demo finished: the workspace core and the pipeline engine work end to end on this machine."
