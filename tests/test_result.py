"""A probe result is a plain value: it pickles, deep-copies and serializes as JSON, and
the empty phases and extras every result shares cannot be filled."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import pytest

from monitor.result import Result


def test_a_result_without_phases_serializes_copies_and_pickles() -> None:
    result = Result(True, duration=0.1, started=1.0)
    assert json.loads(json.dumps(dataclasses.asdict(result)))["phases"] == {}
    assert copy.deepcopy(result) == result
    assert pickle.loads(pickle.dumps(result)) == result


def test_the_shared_empty_phases_cannot_be_filled() -> None:
    first, second = Result(True), Result(False)
    with pytest.raises(TypeError, match="read-only"):
        first.phases["connect"] = 0.1  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        second.extra.update({"x": 1.0})  # type: ignore[attr-defined]
    assert first.phases == second.extra == {}
