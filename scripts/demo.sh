#!/usr/bin/env bash
# `make demo`: until the end-to-end pipeline demo exists (a later issue), a scripted
# tour of the workspace core on a throw-away home: init, a workspace, versioned
# status files, optimistic concurrency, a tree lock that blocks a second agent,
# an enforced lock, the trash, events and the hash-chained audit trail.
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
echo "(The end-to-end pipeline demo — validate, test, deploy, monitor — comes with later issues.)"

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

echo
echo "Demo finished: the workspace core works end to end on this machine."
