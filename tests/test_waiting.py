"""The tests' waiting helpers return as soon as the condition holds and fail naming what
they awaited."""

from __future__ import annotations

import itertools

import pytest

from tests.waiting import NotInTime, until, wait_for


async def test_until_returns_once_the_condition_holds() -> None:
    calls = itertools.count(1)
    await until(lambda: next(calls) >= 3, what="three calls", every=0)
    assert next(calls) == 4


async def test_until_names_what_it_awaited_when_time_runs_out() -> None:
    with pytest.raises(NotInTime, match=r"^not within 0.05 s: the outbox drained$"):
        await until(lambda: False, 0.05, what="the outbox drained")


async def test_until_awaits_a_condition_that_returns_an_awaitable() -> None:
    seen: list[int] = []

    async def third() -> bool:
        seen.append(len(seen))
        return len(seen) == 3

    await until(third, what="the third answer", every=0)
    assert seen == [0, 1, 2]


async def test_until_treats_ignored_errors_as_not_yet_and_quotes_the_last() -> None:
    with pytest.raises(NotInTime, match=r"the server \(last: ConnectionRefusedError\('refused'\)\)"):
        await until(_refused, 0.05, what="the server", ignoring=(OSError,))


async def test_until_lets_any_other_error_through_at_once() -> None:
    with pytest.raises(ConnectionRefusedError):
        await until(_refused, 10, what="the server")


def test_wait_for_blocks_until_the_condition_holds() -> None:
    calls = itertools.count(1)
    wait_for(lambda: next(calls) >= 3, what="three calls", every=0)
    assert next(calls) == 4


def test_wait_for_names_what_it_awaited_when_time_runs_out() -> None:
    with pytest.raises(NotInTime, match=r"^not within 0.05 s: the child's first attempt$"):
        wait_for(lambda: False, 0.05, what="the child's first attempt", every=0.01)


def test_wait_for_ignores_only_the_errors_it_is_told_to() -> None:
    with pytest.raises(NotInTime, match=r"\(last: ConnectionRefusedError"):
        wait_for(_refused, 0.05, what="the server", every=0.01, ignoring=(OSError,))
    with pytest.raises(ConnectionRefusedError):
        wait_for(_refused, 10, what="the server")


def _refused() -> bool:
    raise ConnectionRefusedError("refused")
