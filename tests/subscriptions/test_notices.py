"""What subscribers are told of the configuration's maintenance windows (`notices.plan`):
a window is known by what it covers and its times; new, changed, cancelled, or nothing."""

from __future__ import annotations

from monitor.subscriptions.notices import CANCELLED, CHANGED, NEW, Plan, Tell, Window, plan

NOW = 1_800_000_000.0
HOUR = 3600.0


def night(offset: float = 0.0, *, targets: tuple[str, ...] = ("web", "dns"), reason: str = "") -> Window:
    start = NOW + 10 * HOUR + offset
    return Window(start, start + 4 * HOUR, targets, ("Kesehatan",), reason)


def test_a_window_ahead_or_under_way_is_new_and_one_over_is_not() -> None:
    ahead, under_way = night(), night(-11 * HOUR)
    over = Window(NOW - 5 * HOUR, NOW - HOUR, ("web",), ())
    assert plan([ahead, under_way, over], [], NOW) == Plan((Tell(NEW, under_way), Tell(NEW, ahead)))


def test_a_window_told_of_is_not_told_again_even_written_in_another_order_or_with_a_new_reason() -> None:
    told = night().notice(NOW - HOUR)
    again = Window(told.start, told.end, ("dns", "web"), ("Kesehatan",), "Penggantian switch")
    assert plan([again], [told], NOW) == Plan()


def test_new_times_for_the_same_services_are_a_change() -> None:
    told = night().notice(NOW - HOUR)
    moved = night(24 * HOUR)
    assert plan([moved], [told], NOW) == Plan((Tell(CHANGED, moved, told),))


def test_other_services_are_another_window_and_the_old_one_is_cancelled() -> None:
    told = night().notice(NOW - HOUR)
    other = night(targets=("web",))
    (new, cancelled) = plan([other], [told], NOW).tell
    assert new == Tell(NEW, other)
    assert (cancelled.what, cancelled.before, cancelled.window.start) == (CANCELLED, told, told.start)


def test_a_window_gone_after_its_start_or_over_is_forgotten_without_a_mail() -> None:
    started = night(-11 * HOUR).notice(NOW - 12 * HOUR)
    over = Window(NOW - 5 * HOUR, NOW - HOUR, ("web",), ()).notice(NOW - 6 * HOUR)
    still_written_but_over = Window(NOW - 9 * HOUR, NOW - 8 * HOUR, ("dns",), ())
    written = still_written_but_over.notice(NOW - 10 * HOUR)
    result = plan([still_written_but_over], [started, over, written], NOW)
    assert result.tell == () and set(result.forget) == {started.key, over.key, written.key}


def test_two_windows_of_the_same_services_moved_pair_earliest_with_earliest() -> None:
    first, second = night(), night(7 * 24 * HOUR)
    told = [first.notice(NOW - HOUR), second.notice(NOW - HOUR)]
    moved_first, moved_second = night(HOUR), night(7 * 24 * HOUR + HOUR)
    assert plan([moved_second, moved_first], told, NOW).tell == (
        Tell(CHANGED, moved_first, told[0]),
        Tell(CHANGED, moved_second, told[1]),
    )


def test_a_window_written_twice_is_told_once() -> None:
    assert plan([night(), night()], [], NOW).tell == (Tell(NEW, night()),)
