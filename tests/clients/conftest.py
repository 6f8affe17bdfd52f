"""Client tests run the SDK and the CLI against real servers and a real Redis: the fixtures of
``tests/service/conftest.py`` (re-exported here), plus a few helpers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _service_fixtures() -> ModuleType:
    """``tests/service/conftest.py`` as pytest imported it (whatever its module name), else loaded by path."""
    path = (Path(__file__).resolve().parents[1] / "service" / "conftest.py").resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    spec = importlib.util.spec_from_file_location("sparsewire_service_test_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_svc = _service_fixtures()
Server = _svc.Server
data_file = _svc.data_file
redis_url = _svc.redis_url
server_factory = _svc.server_factory
graph_name = _svc.graph_name

FE_4ELT2 = "undirected/fe_4elt2.mtx.gz"


def grid_csv(rows: int = 8, cols: int = 8) -> bytes:
    """A weighted grid graph as an edge-list CSV with 0-based integer ids."""
    lines = ["u,v,w"]
    for r in range(rows):
        for c in range(cols):
            x = r * cols + c
            if c + 1 < cols:
                lines.append(f"{x},{x + 1},{1 + (x % 3)}")
            if r + 1 < rows:
                lines.append(f"{x},{x + cols},{0.5 + (x % 5)}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str):  # noqa: ANN201
    """A service for one test module; 1 s heartbeats, so closed subscribers are noticed (and shutdown is quick)."""
    srv = Server(redis_url, tmp_path_factory.mktemp("server"), heartbeat_seconds=1).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):  # noqa: ANN001, ANN201
    from sparsewire.clients.sdk import Client

    with Client(server.url) as c:
        yield c


def edge_dict(snapshot) -> dict:  # noqa: ANN001
    """``{(min(u, v), max(u, v)): w}`` of an EdgeSnapshot."""
    return {(min(u, v), max(u, v)): float(w) for u, v, w in snapshot.edges}
