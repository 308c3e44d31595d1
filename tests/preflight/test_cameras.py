"""Cameras with `play = true` before a watch period: streaming at their last stored probe.
The camera is GStreamer's real RTSP server (tests/probes/rtsp_server.py: a test pattern at
/camera, a tone without video at /audio), probed by the rtsp probe and stored as
`monitor run` stores it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from monitor.preflight.model import Moment, ReasonCode, Status
from monitor.probes import probe_context
from monitor.result import Reason
from monitor.runtime import run_probe
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.preflight.kit import NOW, Clock, build, row, statuses, write_config
from tests.probes.test_rtsp import gstreamer_server

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'


@pytest.mark.integration
async def test_a_camera_that_streams_is_ok_and_one_without_video_is_a_problem(tmp_path: Path) -> None:
    with contextlib.contextmanager(gstreamer_server)("none") as port:
        cameras = {
            "lobby": f'url = "rtsp://127.0.0.1:{port}/camera"\nplay = true\n',
            "hall": f'url = "rtsp://127.0.0.1:{port}/camera"\nplay = true\nmin_frames = 5\n',
            "mic": f'url = "rtsp://127.0.0.1:{port}/audio"\nplay = true\n',  # a stream without video
            "gate": f'url = "rtsp://127.0.0.1:{port}/camera"\n',  # describes only: not this check's
            "yard": f'url = "rtsp://127.0.0.1:{free_port()}/camera"\nplay = true\n',  # never probed
        }
        body = "".join(f'[targets.{tid}]\ntimeout = "5s"\n{keys}' for tid, keys in cameras.items())
        config = write_config(tmp_path, body + NOTIFIER, defaults='notify = ["hook"]')
        ctx = probe_context()
        try:
            results = {tid: await run_probe(config.targets[tid], ctx) for tid in ("lobby", "hall", "mic", "gate")}
        finally:
            await ctx.aclose()
    assert results["lobby"].ok and results["hall"].ok, (results["lobby"].detail, results["hall"].detail)
    store = open_store(config.settings, clock=Clock(NOW))
    await store.open()
    for tid, result in results.items():
        store.add_result(tid, result)
    await store.flush()
    await store.close()
    checklist = await build(config)
    assert (Status.OK, ("lobby", "hall"), "preflight.camera.ok") in statuses(checklist, "cameras")
    mic = row(checklist, "cameras", "mic")
    assert (mic.status, mic.found.key) == (Status.PROBLEM, "preflight.camera.not_streaming")
    assert mic.found.values == {"at": Moment(results["mic"].started), "reason": ReasonCode(Reason.NO_VIDEO)}
    assert mic.todo is not None and mic.todo.key == "preflight.camera.not_streaming_todo"
    yard = row(checklist, "cameras", "yard")
    assert (yard.status, yard.found.key) == (Status.WARNING, "preflight.camera.unknown")
    assert all("gate" not in r.ids for r in checklist.rows if r.check == "cameras")
    assert checklist.exit_code == 1
