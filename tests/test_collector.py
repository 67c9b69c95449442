"""core.collector: the cyclic collector paused re-entrantly, across threads."""

from __future__ import annotations

import gc
import threading

from pilothouse.core import collector


def test_paused_blocks_nest_and_restore_the_collector() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_last_thread_to_leave_re_enables_it() -> None:
    entered, release = threading.Barrier(2), threading.Event()
    states: list[bool] = []

    def hold() -> None:
        with collector.paused():
            entered.wait()
            release.wait()

    worker = threading.Thread(target=hold)
    worker.start()
    with collector.paused():
        entered.wait()
    states.append(gc.isenabled())  # the worker is still inside its block
    release.set()
    worker.join()
    states.append(gc.isenabled())
    assert states == [False, True]


def test_an_exception_inside_still_restores_it() -> None:
    try:
        with collector.paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
