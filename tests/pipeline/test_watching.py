"""The watcher: status files from outside, schedules, and agent-health alerts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.engine_support import WORKSPACE, Stack, stack

MONITOR = """\
    monitor:
      trigger: schedule:5m
      uses: builtin:noop
      reads: /status/deployed.json
"""


def _drain(s: Stack) -> None:
    workers = s.pipelines.workers
    while workers.dispatch_one() or workers.work_one():
        pass


def test_a_status_file_written_by_an_outside_agent_starts_the_next_stage(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        workers = s.pipelines.workers
        workers.watch_once()  # first look: remembers where the event log stands
        document = {"status": "succeeded", "stage": "external-validator", "summary": "by hand"}
        s.service.write_file(
            s.admin, WORKSPACE, "/status/validated.json", json.dumps(document).encode()
        )
        workers.watch_once()
        _drain(s)
        run = s.runs()[0]
        assert [j.stage for j in run.jobs] == ["tester", "deployer"]
        assert run.trigger_kind == "file_change" and run.status == "succeeded"
        # the runner's own status writes, seen again by the watcher, start nothing twice
        workers.watch_once()
        _drain(s)
        assert len(s.runs()) == 1
        # a non-terminal or non-JSON status file starts nothing
        s.service.write_file(s.admin, WORKSPACE, "/status/validated.json", b"not json")
        s.service.write_file(s.admin, WORKSPACE, "/status/validated.json", b'{"status": "running"}')
        workers.watch_once()
        _drain(s)
        assert len(s.runs()) == 1


def test_a_schedule_fires_once_per_slot_and_a_silent_agent_raises_an_alert(tmp_path: Path):
    with stack(tmp_path, start=False, extra=MONITOR) as s:
        workers = s.pipelines.workers
        into_slot = s.clock.now().timestamp() % 300
        s.clock.advance(300 - into_slot + 100)  # 100 s into a slot: past any jitter (≤ 30 s)
        workers.watch_once()
        workers.watch_once()  # same slot: deduplicated
        _drain(s)
        assert [(r.trigger_kind, r.jobs[0].stage) for r in s.runs()] == [("schedule", "monitor")]
        s.clock.advance(300)
        workers.watch_once()
        _drain(s)
        assert len(s.runs()) == 2
        # the workers stop; three intervals later the watcher raises one alert
        s.clock.advance(16 * 60)
        workers.watch_once()
        workers.watch_once()
        alerts = s.service.list_events(s.admin, WORKSPACE, types=["agent.alert"])
        assert [(a.data["stage"], a.data["kind"]) for a in alerts] == [("monitor", "silent")]


def test_a_failing_agent_raises_a_failure_rate_alert(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        s.origin.set_modes({"validator": "fail"})
        workers = s.pipelines.workers
        for _ in range(5):
            s.pipelines.trigger(s.admin, WORKSPACE, "validator")
            _drain(s)
        workers.watch_once()
        alerts = s.service.list_events(s.admin, WORKSPACE, types=["agent.alert"])
        assert [(a.data["stage"], a.data["kind"]) for a in alerts] == [("validator", "failing")]
        assert alerts[0].data["failure_rate"] == 1.0
        table = {r["stage"]: r for r in s.pipelines.agents(s.admin, WORKSPACE)}
        assert table["validator"]["failed"] == 5


GATE = """\
    gate:
      trigger: manual
      approval: required
      uses: builtin:noop
      writes: /status/gate.json
"""


def test_a_stage_that_needs_approval_waits_for_an_admin(tmp_path: Path):
    with stack(tmp_path, start=False, extra=GATE) as s:
        s.pipelines.trigger(s.admin, WORKSPACE, "gate")
        _drain(s)
        run = s.runs()[0]
        assert (run.status, run.jobs[0].status) == ("running", "awaiting_approval")
        approved = s.pipelines.approve(s.admin, WORKSPACE, run.id, "gate")
        assert approved.jobs[0].status == "queued"
        _drain(s)
        assert s.runs()[0].status == "succeeded"
        assert s.status("/status/gate.json")["status"] == "succeeded"
        events = s.service.list_events(s.admin, WORKSPACE, types=["pipeline.stage_approved"])
        assert [e.data["stage"] for e in events] == ["gate"]


POLLER = """\
    poller:
      trigger: {git.poll: {interval: 1m}}
      uses: builtin:noop
      writes: /status/polled.json
"""


def test_git_poll_runs_when_the_branch_tip_moves(tmp_path: Path):
    with stack(tmp_path, start=False, extra=POLLER) as s:
        workers = s.pipelines.workers
        workers.watch_once()  # the first look runs on the current tip, once
        _drain(s)
        assert [r.trigger_kind for r in s.runs()] == ["git.poll"]
        _, after = s.origin.commit({"manifests/app.yaml": "kind: Job\n"}, "change")
        workers.watch_once()  # within the interval: no fetch yet
        _drain(s)
        assert len(s.runs()) == 1
        s.clock.advance(61)
        workers.watch_once()
        _drain(s)
        newest = s.runs()[0]
        assert (newest.trigger_kind, newest.revision) == ("git.poll", after)
        assert newest.jobs[0].context["changed_files"] == ["manifests/app.yaml"]
        s.clock.advance(61)
        workers.watch_once()  # nothing moved: nothing new
        _drain(s)
        assert len(s.runs()) == 2
