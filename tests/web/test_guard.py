"""The web server's share of the open-file limit and its admission rules (the whole
attack, a crowd of slow clients against a running monitor, is tests/test_isolation.py)."""

from __future__ import annotations

from monitor.web.guard import MAX_CONNECTIONS, MIN_CONNECTIONS, Guard, connection_budget


class Transport:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_probes_keep_their_reserve_and_the_web_gets_the_rest() -> None:
    assert connection_budget(1024, 100) == (1024 - 128 - 200, None)
    assert connection_budget(1_048_576, 2000) == (MAX_CONNECTIONS, None)
    budget, warning = connection_budget(256, 2000)
    assert budget == MIN_CONNECTIONS
    assert warning is not None and "raise it to at least 4384" in warning


def test_a_full_budget_closes_the_oldest_client_still_sending_its_head() -> None:
    guard = Guard(budget=2)
    slow, answered, newcomer = Transport(), Transport(), Transport()
    assert guard.admit(slow) and guard.admit(answered)
    guard.head_done(answered)  # its request is being answered: never shed
    assert guard.admit(newcomer)
    assert slow.closed and not answered.closed and not newcomer.closed
    guard.gone(slow)
    assert guard.open == 2


def test_a_full_budget_of_requests_being_answered_refuses_the_newcomer() -> None:
    guard = Guard(budget=1)
    busy = Transport()
    assert guard.admit(busy)
    guard.head_done(busy)
    assert guard.admit(Transport()) is False
    assert not busy.closed and guard.open == 1 and guard.shed == 1
