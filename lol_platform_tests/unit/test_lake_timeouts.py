"""A WebHDFS endpoint that accepts connections and never answers makes the lake fail fast with a message
naming the service, instead of hanging the sensor tick (a real socket on 127.0.0.1, no mock)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from lol_platform.resources import lake as lake_module
from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.lake import LakeResource


@pytest.fixture
def silent_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():  # take connections, never answer
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_webhdfs_that_never_answers_fails_fast_naming_the_lake(silent_server, monkeypatch):
    monkeypatch.setattr(lake_module, "WEBHDFS_TIMEOUT_S", (1.0, 1.0))
    lake = LakeResource(root=f"hdfs://127.0.0.1:{silent_server}/lake", webhdfs_port=silent_server)
    t0 = time.monotonic()
    with pytest.raises(ServiceUnavailable) as failure:
        lake.health_check()
    assert time.monotonic() - t0 < 30  # bounded by the timeout (and fsspec's retries), not forever
    assert "lake" in str(failure.value) and str(silent_server) in str(failure.value)
