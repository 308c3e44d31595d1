"""The state machine: thresholds, degraded, maintenance and restarts."""

from __future__ import annotations

from monitor.config import Target
from monitor.result import Reason, Result, State
from monitor.state import StateMachine

TARGET = Target(id="web", name="Web", kind="http", url=None, spec=None, failure_threshold=3, success_threshold=2)
OK = Result(True, started=1.0)
SLOW = Result(True, Reason.SLOW, degraded=True, started=1.0)
FAIL = Result(False, Reason.TIMEOUT, "no answer", started=1.0)


def feed(machine: StateMachine, *results: Result) -> list[tuple[State, State]]:
    events = [machine.observe(TARGET, r) for r in results]
    return [(e.old, e.new) for e in events if e is not None]


def test_the_first_success_makes_an_unknown_target_up() -> None:
    assert feed(StateMachine(), OK) == [(State.UNKNOWN, State.UP)]


def test_it_marks_down_after_three_failures_not_before() -> None:
    machine = StateMachine()
    assert feed(machine, OK, FAIL, FAIL) == [(State.UNKNOWN, State.UP)]
    assert feed(machine, FAIL) == [(State.UP, State.DOWN)]
    assert machine.statuses["web"].reason == Reason.TIMEOUT


def test_a_success_between_failures_resets_the_count() -> None:
    machine = StateMachine()
    assert feed(machine, OK, FAIL, FAIL, OK, FAIL, FAIL) == [(State.UNKNOWN, State.UP)]


def test_it_comes_back_up_after_two_successes() -> None:
    machine = StateMachine()
    feed(machine, FAIL, FAIL, FAIL)
    assert machine.statuses["web"].state == State.DOWN
    assert feed(machine, OK) == []
    assert feed(machine, OK) == [(State.DOWN, State.UP)]


def test_degraded_needs_the_failure_threshold_and_recovers_on_the_success_threshold() -> None:
    machine = StateMachine()
    feed(machine, OK)
    assert feed(machine, SLOW, SLOW) == []
    assert feed(machine, SLOW) == [(State.UP, State.DEGRADED)]
    assert feed(machine, OK) == []
    assert feed(machine, OK) == [(State.DEGRADED, State.UP)]


def test_maintenance_overlays_the_state_and_reveals_it_at_the_end() -> None:
    machine = StateMachine()
    feed(machine, OK)
    event = machine.set_maintenance("web", True, 10.0)
    assert event is not None and (event.old, event.new) == (State.UP, State.MAINTENANCE)
    assert feed(machine, FAIL, FAIL, FAIL) == []
    event = machine.set_maintenance("web", False, 20.0)
    assert event is not None and (event.old, event.new, event.reason) == (State.MAINTENANCE, State.DOWN, "timeout")


def test_a_restored_down_target_stays_down_until_it_passes_the_success_threshold() -> None:
    machine = StateMachine()
    machine.restore("web", State.DOWN, 5.0, Reason.TIMEOUT)
    assert feed(machine, OK) == []
    assert feed(machine, OK) == [(State.DOWN, State.UP)]


def test_a_restored_down_target_that_still_fails_sends_no_new_event() -> None:
    machine = StateMachine()
    machine.restore("web", State.DOWN, 5.0)
    assert feed(machine, FAIL, FAIL, FAIL, FAIL) == []


def test_sync_forgets_removed_targets() -> None:
    machine = StateMachine()
    machine.sync(["a", "b"])
    machine.sync(["b"])
    assert list(machine.statuses) == ["b"]


# -- when a change happened: the first probe of the streak that made it --------------


def at(ok: bool, started: float, degraded: bool = False) -> Result:
    return Result(ok, Reason.OK if ok else Reason.TIMEOUT, started=started, degraded=degraded)


def changes(machine: StateMachine, *results: Result) -> list[tuple[State, float]]:
    events = [machine.observe(TARGET, r) for r in results]
    return [(e.new, e.at) for e in events if e is not None]


def test_an_outage_begins_at_the_first_failed_probe_of_its_streak() -> None:
    machine = StateMachine()
    found = changes(machine, at(True, 0.0), at(False, 10.0), at(False, 20.0), at(False, 30.0))
    assert found == [(State.UP, 0.0), (State.DOWN, 10.0)]
    assert machine.statuses["web"].since == 10.0


def test_a_failure_streak_broken_by_a_success_starts_again() -> None:
    machine = StateMachine()
    found = changes(machine, at(True, 0.0), at(False, 10.0), at(True, 20.0), *(at(False, t) for t in (30, 40, 50)))
    assert found == [(State.UP, 0.0), (State.DOWN, 30.0)]


def test_a_recovery_is_dated_by_the_first_passed_probe_of_the_streak_that_brought_it_back() -> None:
    machine = StateMachine()
    changes(machine, at(False, 0.0), at(False, 10.0), at(False, 20.0))
    assert changes(machine, at(True, 30.0), at(False, 40.0), at(True, 50.0), at(True, 60.0)) == [(State.UP, 50.0)]


def test_degraded_and_clean_again_are_dated_by_the_first_probe_of_their_streaks() -> None:
    machine = StateMachine()
    changes(machine, at(True, 0.0))
    slow = [at(True, t, degraded=True) for t in (10.0, 20.0, 30.0)]
    assert changes(machine, *slow, at(True, 40.0), at(True, 50.0)) == [(State.DEGRADED, 10.0), (State.UP, 40.0)]


def test_a_change_is_never_dated_before_the_end_of_the_maintenance_it_follows() -> None:
    machine = StateMachine()
    changes(machine, at(True, 0.0))
    machine.set_maintenance("web", True, 5.0)
    changes(machine, at(False, 10.0))  # the streak begins inside the window
    event = machine.set_maintenance("web", False, 15.0)
    assert event is not None and (event.new, event.at) == (State.UP, 15.0)
    assert changes(machine, at(False, 20.0), at(False, 30.0)) == [(State.DOWN, 15.0)]


def test_a_target_restored_in_maintenance_stays_in_it_with_the_state_it_went_in_with() -> None:
    machine = StateMachine()
    machine.restore("web", State.MAINTENANCE, 5.0, Reason.TIMEOUT, entered_from=State.DOWN)
    status = machine.statuses["web"]
    assert (status.state, status.underlying, status.since) == (State.MAINTENANCE, State.DOWN, 5.0)
    assert machine.set_maintenance("web", True, 10.0) is None  # still in the window: no event
    assert feed(machine, FAIL, FAIL, FAIL) == []
    event = machine.set_maintenance("web", False, 20.0)
    assert event is not None and (event.old, event.new, event.at, event.reason) == (
        State.MAINTENANCE,
        State.DOWN,
        20.0,
        Reason.TIMEOUT,
    )
