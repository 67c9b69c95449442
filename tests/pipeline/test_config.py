from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from pilothouse.pipeline import config
from pilothouse.pipeline.errors import InvalidPipeline, Problem
from pilothouse.pipeline.triggers import (
    FileChangeTrigger,
    GithubPullRequestTrigger,
    GithubPushTrigger,
    ManualTrigger,
    ScheduleTrigger,
)
from pilothouse.pipeline.uses import BuiltinUses, CommandUses, HttpUses

ProblemsIn = Callable[[str], list[Problem]]


def test_the_seed_example_parses_as_written(seed: str):
    pipeline = config.load_pipeline(seed)

    assert pipeline.name == pipeline.workspace == "gitops-pipeline-prod"
    assert pipeline.concurrency == 1
    assert list(pipeline.agents) == ["validator", "tester", "deployer", "monitor"]
    validator, tester, deployer, monitor = pipeline.agents.values()
    assert validator.triggers == (GithubPullRequestTrigger(),)
    assert validator.triggers[0].actions == ("opened", "synchronize", "reopened")
    assert validator.writes == "/status/validated.json"
    assert tester.triggers == (FileChangeTrigger(path="/status/validated.json"),)
    assert deployer.requires_lock == "/status/deploy.lock"
    assert deployer.lock_tree == "/status/"
    assert monitor.triggers == (
        ScheduleTrigger(interval_seconds=300.0, cron=None, jitter_seconds=30.0),
    )
    assert monitor.reads == ("/status/deployed.json",)
    assert monitor.writes is None and monitor.lock_tree is None


def test_the_seed_example_takes_every_default(seed: str):
    tester = config.load_pipeline(seed).agents["tester"]

    assert tester.uses == BuiltinUses(name="tester")
    assert tester.timeout_seconds is None and tester.on_timeout is None
    assert tester.retries == 0
    assert tester.approval_required is False
    assert tester.env == {} and tester.when == () and tester.model is None
    assert tester.triggers[0].on_status == ("succeeded",)  # type: ignore[union-attr]


def test_the_seed_example_has_no_warnings(seed: str):
    report = config.check_pipeline(seed)

    assert report.ok and report.problems == () and report.warnings == ()


EXTENDED = """\
pipeline:
  name: infra-prod
  workspace: gitops-pipeline-prod
  concurrency: 2
  agents:
    validator:
      trigger:
        - github.push: {branches: [main, "release/*"]}
        - github.pull_request
        - manual
      uses: {command: [kubeconform, -strict, .]}
      writes: /status/validated.json
      when: {paths: ["k8s/**", "*.yaml"]}
    deployer:
      trigger:
        - file_change:/status/validated.json:
            on_status: [succeeded, timed_out]
        - schedule:cron(0 3 * * 1-5)
      uses: {http: "https://agents.example.com/deploy"}
      requires_lock: /status/deploy.lock
      writes: /status/deployed.json
      reads: [/status/validated.json, /config/]
      model: claude-sonnet
      timeout: 1h30m
      on_timeout: rollback
      retries: 3
      approval: required
      env: {KUBE_CONTEXT: prod, DRY_RUN: "false"}
    rollback:
      trigger: {git.poll: {interval: 30s, branches: [main]}}
      uses: builtin:rollback-helm
      when: [charts/*]
"""


def test_the_extended_format_parses_options_and_defaults():
    pipeline = config.load_pipeline(EXTENDED)

    assert (pipeline.name, pipeline.workspace, pipeline.concurrency) == (
        "infra-prod",
        "gitops-pipeline-prod",
        2,
    )
    validator, deployer, rollback = pipeline.agents.values()
    assert validator.triggers == (
        GithubPushTrigger(branches=("main", "release/*")),
        GithubPullRequestTrigger(),
        ManualTrigger(),
    )
    assert validator.uses == CommandUses(argv=("kubeconform", "-strict", "."))
    assert validator.when == ("k8s/**", "*.yaml")
    schedule = deployer.triggers[1]
    assert deployer.triggers[0] == FileChangeTrigger(
        path="/status/validated.json", on_status=("succeeded", "timed_out")
    )
    assert isinstance(schedule, ScheduleTrigger)
    assert schedule.cron == "0 3 * * 1-5" and schedule.interval_seconds is None
    assert schedule.jitter_seconds == 30.0
    assert deployer.uses == HttpUses(url="https://agents.example.com/deploy")
    assert deployer.reads == ("/status/validated.json", "/config/")
    assert deployer.model == "claude-sonnet"
    assert deployer.timeout_seconds == 5400.0 and deployer.on_timeout == "rollback"
    assert deployer.retries == 3 and deployer.approval_required
    assert deployer.env == {"KUBE_CONTEXT": "prod", "DRY_RUN": "false"}
    assert rollback.uses == BuiltinUses(name="rollback-helm")
    poll = rollback.triggers[0]
    assert poll.kind == "git.poll"
    assert (poll.interval_seconds, poll.branches) == (30.0, ("main",))  # type: ignore[union-attr]


def test_stages_are_found_by_trigger_kind_in_file_order():
    pipeline = config.load_pipeline(EXTENDED)

    found = pipeline.stages_for("github.pull_request")
    assert [(stage.name, trigger.kind) for stage, trigger in found] == [
        ("validator", "github.pull_request")
    ]
    assert [stage.name for stage, _ in pipeline.stages_for("schedule")] == ["deployer"]
    assert pipeline.stages_for("github.push")[0][1] == GithubPushTrigger(
        branches=("main", "release/*")
    )


def test_downstream_stages_are_those_triggered_by_a_written_file(seed: str):
    pipeline = config.load_pipeline(seed)

    assert [s.name for s in pipeline.downstream_of("/status/validated.json")] == ["tester"]
    assert [s.name for s in pipeline.downstream_of("/status/tested.json")] == ["deployer"]
    assert pipeline.downstream_of("/status/deployed.json") == []


def test_downstream_stages_can_be_filtered_by_the_writer_status():
    pipeline = config.load_pipeline(EXTENDED)

    path = "/status/validated.json"
    assert [s.name for s in pipeline.downstream_of(path, status="timed_out")] == ["deployer"]
    assert pipeline.downstream_of(path, status="failed") == []


@pytest.mark.parametrize(
    ("changed", "runs"),
    [
        (["k8s/prod/app.yaml"], True),
        (["/k8s/prod/app.yaml"], True),
        (["values.yaml"], True),
        (["README.md", "docs/intro.md"], False),
        ([], False),
    ],
)
def test_a_stage_with_when_runs_only_for_matching_changes(changed: list[str], runs: bool):
    validator = config.load_pipeline(EXTENDED).agents["validator"]

    assert validator.matches_paths(changed) is runs


def test_a_stage_without_when_runs_for_any_change(seed: str):
    assert config.load_pipeline(seed).agents["tester"].matches_paths(["anything"])


def test_paths_are_canonicalised_so_cross_references_compare_equal():
    pipeline = config.load_pipeline(
        textwrap.dedent(
            """\
            pipeline:
              workspace: w
              agents:
                a: {trigger: manual, writes: //status/./a.json}
                b: {trigger: file_change:/status//a.json}
            """
        )
    )

    assert pipeline.agents["a"].writes == "/status/a.json"
    assert [s.name for s in pipeline.downstream_of("/status/a.json")] == ["b"]


def test_a_lock_on_a_directory_locks_that_tree():
    pipeline = config.load_pipeline(
        "pipeline: {workspace: w, agents: {a: {trigger: manual, requires_lock: /deploy/}}}"
    )

    assert pipeline.agents["a"].lock_tree == "/deploy/"


def test_a_lock_file_at_the_root_locks_the_whole_workspace():
    pipeline = config.load_pipeline(
        "pipeline: {workspace: w, agents: {a: {trigger: manual, requires_lock: /deploy.lock}}}"
    )

    assert pipeline.agents["a"].lock_tree == "/"


# Error cases: each reports line, column (both 1-based) and the path into the document.


def test_a_typo_in_a_key_is_reported_with_a_suggestion(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            tester:
              trigers: manual
        """
    )

    typo = "unknown key 'trigers' (did you mean 'trigger'?)"
    assert Problem(5, 7, "pipeline.agents.tester.trigers", typo) in problems
    assert Problem(4, 5, "pipeline.agents.tester", "missing required key 'trigger'") in problems


def test_an_unknown_trigger_points_at_its_value(problems_in: ProblemsIn, seed: str):
    text = seed.replace("file_change:/status/validated.json", "file_chnage:/status/validated.json")

    assert problems_in(text) == [
        Problem(
            8,
            16,
            "pipeline.agents.tester.trigger",
            "unknown trigger 'file_chnage:/status/validated.json' (did you mean 'file_change:'?)",
        )
    ]


def test_the_error_message_lists_problems_as_source_line_column(seed: str):
    text = seed.replace("file_change:/status/validated.json", "file_chnage:/status/validated.json")

    with pytest.raises(InvalidPipeline) as caught:
        config.load_pipeline(text, source="repo/pilothouse.yaml")

    assert caught.value.code == "invalid_pipeline"
    assert caught.value.message.startswith(
        "repo/pilothouse.yaml:8:16: pipeline.agents.tester.trigger: unknown trigger 'file_chnage:"
    )
    assert caught.value.details["problems"][0]["line"] == 8


def test_every_problem_is_reported_at_once(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger: manual
              retries: 11
              approval: yes
        """
    )

    assert [(p.line, p.column, p.path) for p in problems] == [
        (6, 16, "pipeline.agents.a.retries"),
        (7, 17, "pipeline.agents.a.approval"),
    ]
    assert problems[1].message == "expected 'required' or 'none', got True"


def test_a_bad_item_in_a_trigger_list_points_at_that_item(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger:
                - manual
                - github.pushh
        """
    )

    assert [(p.line, p.column, p.path) for p in problems] == [
        (7, 11, "pipeline.agents.a.trigger[1]")
    ]
    assert problems[0].message.startswith("unknown trigger 'github.pushh'")


def test_an_unknown_trigger_option_points_at_the_option(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger:
                - github.push:
                    branchs: [main]
        """
    )

    assert problems == [
        Problem(
            7,
            13,
            "pipeline.agents.a.trigger[0]['github.push'].branchs",
            "unknown key 'branchs' (did you mean 'branches'?)",
        )
    ]


def test_options_indented_as_a_sibling_of_the_trigger_are_explained(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger:
                - github.push:
                  branches: [main]
        """
    )

    assert (problems[0].line, problems[0].column) == (6, 11)
    assert "indent the options under the trigger" in problems[0].message


def test_a_bad_duration_points_at_the_value(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger: manual
              timeout: 10 minutes
        """
    )

    assert [(p.line, p.column, p.path) for p in problems] == [(6, 16, "pipeline.agents.a.timeout")]
    assert "invalid duration '10 minutes'" in problems[0].message


def test_a_duration_without_unit_is_refused_rather_than_guessed(problems_in: ProblemsIn):
    problems = problems_in("pipeline: {workspace: w, agents: {a: {trigger: manual, timeout: 10}}}")

    assert problems[0].message == "duration '10' has no unit; write e.g. '10s' or '10m'"


def test_a_bad_schedule_interval_is_reported(problems_in: ProblemsIn, seed: str):
    problems = problems_in(seed.replace("schedule:5m", "schedule:5 min"))

    assert (problems[0].line, problems[0].column) == (15, 16)
    assert problems[0].message.startswith("bad schedule interval: invalid duration '5 min'")


def test_a_bad_cron_expression_is_reported(problems_in: ProblemsIn, seed: str):
    problems = problems_in(seed.replace("schedule:5m", "schedule:cron(61 * * * *)"))

    assert problems == [
        Problem(15, 16, "pipeline.agents.monitor.trigger", "invalid cron expression '61 * * * *'")
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "must have 5 fields"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_cron_expressions_that_cannot_work_are_refused(
    problems_in: ProblemsIn, seed: str, expression: str, message: str
):
    problems = problems_in(seed.replace("schedule:5m", f"schedule:cron({expression})"))

    assert message in problems[0].message


def test_on_timeout_must_name_an_agent_of_the_pipeline(problems_in: ProblemsIn, seed: str):
    text = seed.replace(
        "      writes: /status/tested.json\n",
        "      writes: /status/tested.json\n      timeout: 10m\n      on_timeout: rollbak\n",
    )

    assert problems_in(text) == [
        Problem(
            11,
            19,
            "pipeline.agents.tester.on_timeout",
            "on_timeout names unknown agent 'rollbak' "
            "(agents: deployer, monitor, tester, validator)",
        )
    ]


def test_on_timeout_cannot_name_the_agent_itself(problems_in: ProblemsIn):
    problems = problems_in(
        "pipeline: {workspace: w, agents: {a: {trigger: manual, timeout: 1m, on_timeout: a}}}"
    )

    assert problems[0].path == "pipeline.agents.a.on_timeout"
    assert "another agent" in problems[0].message


def test_a_duplicate_key_is_an_error_at_the_second_occurrence(problems_in: ProblemsIn, seed: str):
    text = seed.replace(
        "      writes: /status/tested.json\n",
        "      writes: /status/tested.json\n      writes: /status/other.json\n",
    )

    assert problems_in(text) == [
        Problem(
            10,
            7,
            "pipeline.agents.tester.writes",
            "duplicate key 'writes' (first defined at line 9)",
        )
    ]


def test_a_duplicate_agent_is_an_error(problems_in: ProblemsIn, seed: str):
    problems = problems_in(seed.replace("    monitor:", "    tester:"))

    assert (problems[0].line, problems[0].column, problems[0].path) == (
        14,
        5,
        "pipeline.agents.tester",
    )


def test_malformed_yaml_reports_where_the_parser_stopped(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger: [manual
              writes: /x
        """
    )

    assert len(problems) == 1
    assert (problems[0].line, problems[0].path) == (6, "")
    assert "while parsing a flow sequence at line 5" in problems[0].message


def test_a_tab_in_indentation_reports_its_position(problems_in: ProblemsIn):
    problems = problems_in("pipeline:\n  workspace: w\n\tagents: {}\n")

    assert (problems[0].line, problems[0].column) == (3, 1)
    assert "cannot start any token" in problems[0].message


def test_a_loop_of_file_change_triggers_is_an_error(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger: [manual, file_change:/b.json]
              writes: /a.json
            b:
              trigger: file_change:/a.json
              writes: /b.json
        """
    )

    assert problems == [
        Problem(
            5, 25, "pipeline.agents.a.trigger[1]", "file_change triggers form a cycle: a -> b -> a"
        )
    ]


def test_a_stage_triggered_by_its_own_output_is_a_loop(problems_in: ProblemsIn):
    problems = problems_in(
        "pipeline: {workspace: w, agents: {a: {trigger: file_change:/a.json, writes: /a.json}}}"
    )

    assert problems[0].message == "file_change triggers form a cycle: a -> a"


def test_a_long_chain_of_stages_is_not_a_loop():
    agents = "\n".join(
        f"    s{i}: {{trigger: file_change:/s{i - 1}.json, writes: /s{i}.json}}"
        for i in range(1, 400)
    )
    first = "    s0: {trigger: manual, writes: /s0.json}"
    text = f"pipeline:\n  workspace: w\n  agents:\n{first}\n{agents}\n"

    pipeline = config.load_pipeline(text)

    assert len(pipeline.agents) == 400


def test_two_agents_writing_one_file_is_an_error(problems_in: ProblemsIn, seed: str):
    text = seed.replace("writes: /status/tested.json", "writes: /status/validated.json")

    problems = problems_in(text)

    assert (
        Problem(
            9,
            15,
            "pipeline.agents.tester.writes",
            "'/status/validated.json' is already written by agent 'validator'",
        )
        in problems
    )


def test_a_trigger_on_a_file_nobody_writes_is_only_a_warning(seed: str):
    report = config.check_pipeline(
        seed.replace("/status/tested.json\n    deployer", "/x.json\n    deployer")
    )

    assert report.ok and report.pipeline is not None
    assert report.warnings == (
        Problem(
            11,
            16,
            "pipeline.agents.deployer.trigger",
            "no agent writes '/status/tested.json'; only an outside writer can fire this",
        ),
    )
    assert report.lines() == [
        "warning: pilothouse.yaml:11:16: pipeline.agents.deployer.trigger: no agent writes "
        "'/status/tested.json'; only an outside writer can fire this"
    ]


def test_on_timeout_without_a_timeout_is_a_warning():
    report = config.check_pipeline(
        "pipeline: {workspace: w, agents: {a: {trigger: manual, on_timeout: b},"
        " b: {trigger: manual}}}"
    )

    assert report.ok
    assert [w.message for w in report.warnings] == ["on_timeout has no effect without a timeout"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("status/validated.json", "must be absolute"),
        ("/status/../etc/passwd", "'..' segment"),
        ("C:\\\\status\\\\x.json", "must be absolute"),
        ("/status\\\\x.json", "backslash"),
        ("/status/", "names a directory"),
    ],
)
def test_bad_write_paths_are_refused(problems_in: ProblemsIn, seed: str, path: str, message: str):
    problems = problems_in(seed.replace("writes: /status/tested.json", f'writes: "{path}"'))

    assert [(p.line, p.column, p.path) for p in problems] == [
        (9, 15, "pipeline.agents.tester.writes")
    ]
    assert message in problems[0].message


def test_a_relative_file_change_path_is_refused(problems_in: ProblemsIn, seed: str):
    problems = problems_in(seed.replace("file_change:/status/tested.json", "file_change:x.json"))

    assert problems[0].path == "pipeline.agents.deployer.trigger"
    assert "must be absolute" in problems[0].message


def test_a_bad_env_key_points_at_the_key(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            a:
              trigger: manual
              env:
                GOOD_KEY: x
                kube-context: prod
        """
    )

    assert [(p.line, p.column, p.path) for p in problems] == [
        (8, 9, "pipeline.agents.a.env.kube-context")
    ]
    assert "environment variable 'kube-context' must match" in problems[0].message


def test_env_values_must_be_strings(problems_in: ProblemsIn):
    problems = problems_in("pipeline: {workspace: w, agents: {a: {trigger: manual, env: {N: 1}}}}")

    assert problems[0].message == "expected a string, got 1"


def test_a_bad_agent_name_points_at_the_name(problems_in: ProblemsIn):
    problems = problems_in(
        """\
        pipeline:
          workspace: w
          agents:
            Deployer:
              trigger: manual
        """
    )

    assert [(p.line, p.column) for p in problems] == [(4, 5)]
    assert "agent name 'Deployer' must match" in problems[0].message


@pytest.mark.parametrize(
    ("uses", "message"),
    [
        ("docker:thing", "expected 'builtin:<name>'"),
        ("{command: []}", "expected at least 1 item"),
        ("{command: kubeconform}", "expected a list"),
        ("{http: ftp://x}", "expected an http:// or https:// URL"),
        ("{http: 'https://user:pw@x'}", "must not contain credentials"),
        ("{command: [x], http: 'https://x'}", "unknown key 'http'"),
    ],
)
def test_bad_uses_are_refused(problems_in: ProblemsIn, uses: str, message: str):
    problems = problems_in(
        f"pipeline: {{workspace: w, agents: {{a: {{trigger: manual, uses: {uses}}}}}}}"
    )

    assert message in problems[0].message
    assert problems[0].path.startswith("pipeline.agents.a.uses")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("retries: -1", "greater than or equal to 0"),
        ("retries: '3'", "expected an integer, got '3'"),
        ("retries: true", "expected an integer, got True"),
        ("timeout: 0s", "longer than zero"),
        ("model: ''", "non-empty"),
        ("trigger: []", "expected at least 1 item"),
        ("when: {paths: []}", "expected at least 1 item"),
        ("when: {globs: [x]}", "unknown key 'globs'"),
    ],
)
def test_field_values_are_checked(problems_in: ProblemsIn, field: str, message: str):
    fields = "trigger: manual, " + field if not field.startswith("trigger") else field
    problems = problems_in(f"pipeline: {{workspace: w, agents: {{a: {{{fields}}}}}}}")

    assert any(message in p.message for p in problems)


def test_concurrency_is_at_least_one(problems_in: ProblemsIn):
    problems = problems_in(
        "pipeline: {workspace: w, concurrency: 0, agents: {a: {trigger: manual}}}"
    )

    assert problems[0].path == "pipeline.concurrency"


def test_a_pipeline_needs_a_workspace_and_agents(problems_in: ProblemsIn):
    problems = problems_in("pipeline:\n  name: x\n")

    assert problems == [
        Problem(1, 1, "pipeline", "missing required key 'agents'"),
        Problem(1, 1, "pipeline", "missing required key 'workspace'"),
    ]


def test_a_file_that_is_not_a_mapping_is_refused(problems_in: ProblemsIn):
    problems = problems_in("- pipeline\n")

    assert problems == [Problem(1, 1, "", "expected a mapping, got a list")]


def test_an_empty_file_is_refused(problems_in: ProblemsIn):
    assert problems_in("# nothing yet\n")[0].message.startswith("the file is empty")


def test_a_bare_key_that_yaml_reads_as_a_boolean_must_be_quoted(problems_in: ProblemsIn):
    problems = problems_in("pipeline:\n  workspace: w\n  on: x\n")

    assert problems == [Problem(3, 3, "pipeline", "key 'on' is not a string; quote it")]


def test_check_never_raises_for_bad_input(seed: str):
    report = config.check_pipeline(seed + "  bogus: [\n")

    assert not report.ok and report.pipeline is None
    assert report.lines()[0].startswith("pilothouse.yaml:")
