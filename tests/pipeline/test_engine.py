"""End to end: signed GitHub deliveries, a real bare repository, command agents, status files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pilothouse.pipeline import store
from pilothouse.workspace import database
from tests.fakes.github import serve_fake_github
from tests.pipeline.engine_support import WORKSPACE, git, stack


def test_a_push_runs_validator_tester_deployer_in_order_through_status_files(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.commit({"manifests/app.yaml": "kind: ConfigMap\n"}, "change")
        answer = s.deliver("push", _push(before, after), "d-1")
        assert answer.status_code == 200, answer.text
        assert answer.json()["duplicate"] is False
        run = s.settled_run()
        assert run.status == "succeeded"
        assert [j.stage for j in run.jobs] == ["validator", "tester", "deployer"]
        statuses = [s.status(f"/status/{n}.json") for n in ("validated", "tested", "deployed")]
        assert {d["run_id"] for d in statuses} == {run.id}
        assert [d["status"] for d in statuses] == ["succeeded"] * 3
        assert all(d["revision"] == after and d["trigger"] == "github.push" for d in statuses)
        assert statuses[0]["findings"] == [{"stage": "validator", "files": ["manifests/app.yaml"]}]
        traces = s.origin.traces()
        assert [t["stage"] for t in traces] == ["validator", "tester", "deployer"]
        assert all(t["run_id"] == run.id and t["cwd_has_manifests"] for t in traces)
        # the deployer held the tree lock on /status/ while it ran, and got its tokens
        deployer = traces[2]
        assert deployer["lock_token"] and int(deployer["fencing"]) > 0
        assert [(lk["path"], lk["scope"], lk["agent_name"]) for lk in deployer["locks"]] == [
            ("/status", "tree", "deployer")
        ]
        assert traces[0]["lock_token"] is None
        assert s.service.list_locks(s.admin, WORKSPACE) == []
        chain = s.status(f"/runs/{run.id}/run.json")
        assert [(st["stage"], st["status"]) for st in chain["stages"]] == [
            ("validator", "succeeded"),
            ("tester", "succeeded"),
            ("deployer", "succeeded"),
        ]
        log = s.pipelines.logs(s.admin, WORKSPACE, run.id, "tester")
        assert "tester looked at 1 files" in log
        # status files are written by each stage's own agent identity
        written = s.service.list_events(s.admin, WORKSPACE, types=["file.written"], limit=500)
        writers = {e.path: e.agent_name for e in written if e.path.startswith("/status/")}
        assert writers["/status/validated.json"] == "validator"
        assert writers["/status/deployed.json"] == "deployer"
        # per-agent health
        table = {row["stage"]: row for row in s.pipelines.agents(s.admin, WORKSPACE)}
        assert table["deployer"]["succeeded"] == 1 and table["deployer"]["failed"] == 0


def test_a_redelivered_delivery_runs_nothing_new(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.commit({"manifests/app.yaml": "kind: ConfigMap\n"}, "change")
        assert s.deliver("push", _push(before, after), "same-id").json()["duplicate"] is False
        s.settled_run()
        again = s.deliver("push", _push(before, after), "same-id")
        assert again.status_code == 200 and again.json()["duplicate"] is True
        # the dispatcher has nothing pending: the redelivery queued nothing
        assert s.pipelines.workers.dispatch_one() is False
        assert len(s.runs()) == 1
        assert len(s.origin.traces()) == 3


def test_bad_signatures_and_unknown_workspaces_are_refused_and_ping_answers(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.commit({"manifests/app.yaml": "x: 1\n"}, "change")
        wrong = s.deliver("push", _push(before, after), "d-2", secret="not-the-secret-at-all")
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_signature"
        assert s.deliver("ping", {"zen": "Keep it simple.", "hook_id": 1}, "d-3").json()["ok"]
        garbage = s.deliver("push", {"ref": 5}, "d-4")
        assert garbage.status_code == 400
        assert garbage.json()["error"]["code"] == "invalid_payload"
        assert s.runs() == []


def test_a_failing_deployer_releases_the_lock_and_fails_the_run(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.set_modes({"deployer": "fail"})
        s.deliver("push", _push(before, after), "d-5")
        run = s.settled_run()
        assert run.status == "failed"
        assert s.status("/status/deployed.json")["status"] == "failed"
        assert s.origin.traces()[-1]["locks"][0]["path"] == "/status"
        assert s.service.list_locks(s.admin, WORKSPACE) == []
        types = [e.type for e in s.service.list_events(s.admin, WORKSPACE, types=["lock.*"])]
        assert types == ["lock.acquired", "lock.released"]


def test_after_a_failure_the_downstream_stages_do_not_run(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.set_modes({"validator": "fail"})
        s.deliver("push", _push(before, after), "d-6")
        run = s.settled_run()
        assert run.status == "failed"
        assert [j.stage for j in run.jobs] == ["validator"]
        assert s.status("/status/validated.json")["status"] == "failed"


def test_a_stage_that_never_finishes_times_out_and_runs_its_fallback(tmp_path: Path):
    with stack(tmp_path, tester_timeout="1s") as s:
        before, after = s.origin.set_modes({"tester": "hang"})
        s.deliver("push", _push(before, after), "d-7")
        run = s.settled_run()
        stages = {j.stage: j.status for j in run.jobs}
        assert stages == {"validator": "succeeded", "tester": "timed_out", "notifier": "succeeded"}
        assert s.status("/status/tested.json")["status"] == "timed_out"
        assert s.status("/status/notified.json")["run_id"] == run.id
        assert run.status == "failed"


def test_cancelling_a_run_stops_the_running_stage_and_releases_nothing_twice(tmp_path: Path):
    with stack(tmp_path) as s:
        before, after = s.origin.set_modes({"tester": "hang"})
        s.deliver("push", _push(before, after), "d-9")
        s.wait_for(lambda: any(t["stage"] == "tester" for t in s.origin.traces()))
        run_id = s.runs()[0].id
        s.pipelines.cancel(s.admin, WORKSPACE, run_id)
        s.wait_for(lambda: s.runs()[0].jobs[-1].status == "cancelled", timeout=30)
        run = s.runs()[0]
        assert run.status == "cancelled"
        assert [(j.stage, j.status) for j in run.jobs] == [
            ("validator", "succeeded"),
            ("tester", "cancelled"),
        ]
        assert s.status("/status/tested.json")["status"] == "failed"
        assert s.status("/status/tested.json")["summary"] == "cancelled while running"


def test_a_temporary_failure_is_retried_with_backoff_until_retries_are_spent(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        before, after = s.origin.set_modes({"validator": "tempfail"})
        s.deliver("push", _push(before, after), "d-10")
        workers = s.pipelines.workers
        workers.drain()
        job = s.runs()[0].jobs[0]
        assert (job.status, job.attempts) == ("queued", 1)  # backing off, not yet due
        assert workers.work_one() is False
        s.clock.advance(1)
        workers.drain()
        run = s.runs()[0]
        assert (run.status, run.jobs[0].status, run.jobs[0].attempts) == ("failed", "failed", 2)
        assert [t["stage"] for t in s.origin.traces()] == ["validator", "validator"]
        assert "exited 75" in (run.jobs[0].summary or "")


def test_a_killed_workers_job_is_resumed_after_its_lease(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        before, after = s.origin.commit({"manifests/app.yaml": "kind: Secret\n"}, "change")
        s.deliver("push", _push(before, after), "d-8")
        workers = s.pipelines.workers
        assert workers.dispatch_one() is True
        lease = timedelta(seconds=s.pipelines.settings.pipeline.lease_seconds)
        with database.begin_write(s.service.engine) as conn:  # a worker that then dies
            dead = store.claim_job(conn, "wk_dead", s.clock.now(), lease)
        assert dead is not None and dead.stage == "validator"
        assert workers.work_one() is False  # leased: nobody else may take it
        s.clock.advance(lease.total_seconds() + 1)
        assert workers.work_one() is True  # the lease lapsed: resumed
        while workers.work_one() or workers.dispatch_one():
            pass
        run = s.runs()[0]
        assert run.status == "succeeded"
        assert [(j.stage, j.attempts) for j in run.jobs] == [
            ("validator", 2),
            ("tester", 1),
            ("deployer", 1),
        ]


def test_a_manual_trigger_runs_one_stage_and_unknown_stages_fail_the_trigger(tmp_path: Path):
    with stack(tmp_path) as s:
        made = s.pipelines.trigger(s.admin, WORKSPACE, "notifier")
        run = s.settled_run()
        assert [j.stage for j in run.jobs] == ["notifier"] and run.status == "succeeded"
        bad = s.pipelines.trigger(s.admin, WORKSPACE, "nobody")
        status = s.wait_for(
            lambda: (
                (t := s.pipelines.trigger_status(s.admin, WORKSPACE, bad["trigger_id"]))["status"]
                != "pending"
                and t
            )
        )
        assert status["status"] == "failed" and "nobody" in status["error"]
        assert made["trigger_id"] != bad["trigger_id"]


def test_a_pull_request_runs_on_the_changed_files_and_reports_to_github(tmp_path: Path):
    with serve_fake_github() as (github_url, fake), stack(tmp_path, github_url=github_url) as s:
        base = git(s.origin.work, "rev-parse", "HEAD")
        git(s.origin.work, "checkout", "-q", "-b", "feature")
        (s.origin.work / "manifests" / "app.yaml").write_text("kind: Deployment\n")
        git(s.origin.work, "commit", "-q", "-am", "feature change")
        git(s.origin.work, "push", "-q", "origin", "feature")
        head = git(s.origin.work, "rev-parse", "HEAD")
        number = fake.seed_pull(head="feature")
        payload = {
            "action": "opened",
            "number": number,
            "pull_request": {
                "head": {"sha": head, "ref": "feature"},
                "base": {"sha": base, "ref": "main"},
                "merged": False,
            },
            "repository": {"full_name": "acme/gitops"},
        }
        s.deliver("pull_request", payload, "pr-1")
        run = s.settled_run()
        assert run.status == "succeeded" and run.revision == head
        assert s.origin.traces()[0]["event"]["changed_files"] == ["manifests/app.yaml"]
        contexts = {(st["context"], st["state"]) for st in fake.statuses[head]}
        assert contexts == {
            ("pilothouse/validator", "success"),
            ("pilothouse/tester", "success"),
            ("pilothouse/deployer", "success"),
        }
        assert len(fake.comments[number]) == 3
        # a re-run (synchronize, new delivery) edits the three comments instead of adding
        s.deliver("pull_request", {**payload, "action": "synchronize"}, "pr-2")
        s.wait_for(lambda: len(s.runs()) == 2 and s.runs()[0].status != "running")
        assert len(fake.comments[number]) == 3
        assert len(fake.statuses[head]) == 6


def _push(before: str, after: str) -> dict[str, object]:
    from tests.pipeline.engine_support import push_payload

    return push_payload(before, after, ["manifests/app.yaml"])


def test_a_pipeline_runs_at_most_its_concurrency_of_stages_at_once(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        s.pipelines.trigger(s.admin, WORKSPACE, "notifier")
        s.pipelines.trigger(s.admin, WORKSPACE, "notifier")
        workers = s.pipelines.workers
        assert workers.dispatch_one() and workers.dispatch_one()
        lease = timedelta(seconds=30)
        with database.begin_write(s.service.engine) as conn:
            first = store.claim_job(conn, "wk_a", s.clock.now(), lease)
            second = store.claim_job(conn, "wk_b", s.clock.now(), lease)
        assert first is not None and second is None  # concurrency: 1 (the default)


def test_a_stage_whose_worker_vanished_past_its_time_limit_times_out(tmp_path: Path):
    with stack(tmp_path, start=False) as s:
        s.pipelines.trigger(s.admin, WORKSPACE, "tester")
        workers = s.pipelines.workers
        assert workers.dispatch_one()
        with database.begin_write(s.service.engine) as conn:
            job = store.claim_job(conn, "wk_gone", s.clock.now(), timedelta(seconds=3))
        assert job is not None and job.timeout_seconds == 120
        s.clock.advance(120 + 61)
        workers.watch_once()  # the watchdog ends it and queues its on_timeout fallback
        workers.drain()
        run = s.runs()[0]
        assert [(j.stage, j.status) for j in run.jobs] == [
            ("tester", "timed_out"),
            ("notifier", "succeeded"),
        ]
        assert s.status("/status/tested.json")["status"] == "timed_out"
