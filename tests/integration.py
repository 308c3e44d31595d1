"""Finding the real components (Debian packages) integration tests use.

Without the component a test skips with the reason; with MONITOR_REQUIRE_INTEGRATION=1
(as CI sets) the missing component is a failure instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("MONITOR_REQUIRE_INTEGRATION") == "1"


def need(program: str, package: str) -> str:
    """The path of `program` (a name on PATH or an absolute path), or skip/fail."""
    path = program if os.path.isabs(program) and os.access(program, os.X_OK) else shutil.which(program)
    if path:
        return path
    message = f"{program} not found: apt-get install {package}"
    if REQUIRED:
        pytest.fail(message + " (MONITOR_REQUIRE_INTEGRATION=1)")
    pytest.skip(message)
