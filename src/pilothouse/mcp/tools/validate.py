"""``validate``: the validator agent's rules, on demand.

``run`` validates either a revision of the workspace's registered repository (the
whole of ``manifests/``, with the workspace's deployment history as memory) or raw
manifest text an agent is about to commit — so an LLM agent can check its own change
before it pushes. ``rules`` lists every rule with its category and default severity
(the categories are a stable contract).
"""

from __future__ import annotations

from pydantic import Field

from pilothouse.agents.validator import loading
from pilothouse.agents.validator.agent import WorkspaceHistory, validator_for
from pilothouse.agents.validator.model import CATEGORIES
from pilothouse.agents.validator.validating import Validator
from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, WorkspaceRef
from pilothouse.workspace.errors import InvalidArgument
from pilothouse.workspace.protocol import LocalWorkspace

validate = registry.tool(
    "validate",
    title="Validate manifests",
    description="Validate Kubernetes manifests (strict schemas, cross-resource references, "
    "policies, images, deployment history): a revision of the workspace's repository, or "
    "raw YAML text.",
)


class RunArgs(Arguments):
    workspace: WorkspaceRef | None = Field(
        None, description="Validate this workspace's repository (or give text)."
    )
    revision: str | None = Field(
        None, min_length=1, max_length=256, description="Branch, tag or sha (default the branch)."
    )
    text: str | None = Field(
        None, max_length=4 * 1024 * 1024, description="Raw multi-document YAML to validate."
    )
    changed: list[str] | None = Field(
        None, max_length=10_000, description="Only report findings about these repository paths."
    )


class RulesArgs(Arguments):
    pass


@validate.action("run", RunArgs, read_only=True, open_world=True)
def run(call: Call, args: RunArgs) -> Reply:
    """Validate and return the verdict: status, counts per severity, findings with lines."""
    if (args.text is None) == (args.workspace is None):
        raise InvalidArgument("give either text or workspace")
    if args.text is not None:
        data = args.text.encode()
        source = loading.Source(["manifests/inline.yaml"], lambda _p: data)
        report = validator_for(call.service.settings.validator).validate(source)
        return report.to_dict()
    assert args.workspace is not None
    repo = call.pipelines.get_repo(call.actor, args.workspace)
    mirror = call.pipelines.repos.mirror(repo)
    revision = mirror.resolve(args.revision or repo.branch)
    source = loading.Source(mirror.list_tree(revision), lambda p: mirror.read_file(revision, p))
    history = WorkspaceHistory(
        LocalWorkspace(call.service, call.actor),
        args.workspace,
        lambda query, limit, prefix: [
            hit.path
            for hit in call.service.search(
                call.actor, args.workspace or "", query, limit=limit, path_prefix=prefix
            ).hits
        ],
    )
    validator = validator_for(call.service.settings.validator)
    report = validator.validate(source, changed=args.changed, history=history)
    return {"revision": revision, **report.to_dict()}


@validate.action("rules", RulesArgs, read_only=True)
def rules(_call: Call, _args: RulesArgs) -> Reply:
    """Every rule: id, category, default severity, summary; and the category list."""
    return {
        "categories": list(CATEGORIES),
        "rules": [
            {
                "rule_id": r.rule_id,
                "category": r.category,
                "severity": r.severity,
                "summary": r.summary,
            }
            for r in Validator.rules()
        ],
    }
