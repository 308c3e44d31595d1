"""`monitor run`: the monitor and its web app in one process, until SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator

import uvicorn

from monitor import log as logsetup
from monitor.config import Config
from monitor.log import kv
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from monitor.web import create_app

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would
    die by the signal; `monitor run` promises exit 0 on a clean stop instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def serve(config: Config, log_level: str = "info", prepare: Callable[[Config], Config] | None = None) -> int:
    """Run until stopped; 0 on a clean stop. `prepare` is applied to every configuration
    loaded by a reload (the command line's overrides)."""
    logsetup.setup(log_level)
    # The store's writer and the /metrics renderer share the GIL with the probe loop: at
    # the default 5 ms switch interval each of their batches delayed probes by 5-25 ms.
    sys.setswitchinterval(SWITCH_INTERVAL)
    config.settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config.settings)
    monitor = Monitor(config, store, alerting=True, prepare=prepare)
    app = create_app(monitor, manage=True, watch_config=True)
    host, _, port = config.settings.listen.rpartition(":")
    log.info("serving", extra=kv(listen=config.settings.listen, config=str(config.path)))
    server = _Server(
        uvicorn.Config(
            app,
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    server.run()
    return 0 if server.started else 1
