"""``Mirror``: a local copy of a graph's sparsifier, from one snapshot plus the delta stream.

    with Client() as client:
        mirror = Mirror(client, "mesh")
        mirror.run_until(reply.cursor)        # catch up to a cursor in this thread, or
        mirror.start(); ...; mirror.wait_for(reply.cursor); mirror.stop()   # keep current in a thread
        H = mirror.to_scipy()                 # or mirror.edges(): {(u, v): w}
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sparsewire.api.schemas import EdgeSnapshot
from sparsewire.clients._requests import to_networkx, to_scipy
from sparsewire.clients.subscribe import BalanceEvent, DeltaEvent, Event, Heartbeat, Resync, Subscription

if TYPE_CHECKING:
    from sparsewire.clients.client import Client


def _key(u: Any, v: Any) -> tuple[Any, Any]:
    return (u, v) if u <= v else (v, u)


class Mirror:
    """The sparsifier of graph ``name`` as a dict ``{(u, v): w}`` (``u <= v``), kept current.

    ``cursor`` is the position the copy reflects.  ``resyncs`` counts snapshot reloads (history trimmed,
    graph re-imported); ``anomalies`` counts deltas that did not fit the copy (an added edge already present,
    a removed or reweighted edge absent) — always 0 unless a delta was lost or delivered twice.
    """

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self.resyncs = 0
        self.deltas = 0
        self.anomalies = 0
        self._edges: dict[tuple[Any, Any], float] = {}
        self._nodes = 0
        self._cursor: int | None = None
        self._cond = threading.Condition()
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ state
    @property
    def cursor(self) -> str | None:
        with self._cond:
            return None if self._cursor is None else str(self._cursor)

    @property
    def subscription(self) -> Subscription:
        """The underlying :class:`Subscription` (created by the first :meth:`run_until` / :meth:`start`)."""
        return self._subscription()

    def edges(self) -> dict[tuple[Any, Any], float]:
        """A copy of the mirrored sparsifier: ``{(u, v): w}`` with ``u <= v``."""
        with self._cond:
            return dict(self._edges)

    def snapshot(self) -> EdgeSnapshot:
        """The mirrored state as an :class:`EdgeSnapshot` (same shape as ``client.sparsifier(name)``)."""
        with self._cond:
            edges = [[u, v, w] for (u, v), w in sorted(self._edges.items())]
            seq = self._cursor or 0
            return EdgeSnapshot(cursor=str(seq), seq=seq, nodes=self._nodes, count=len(edges), edges=edges)

    def to_scipy(self, *, base: int | None = None) -> Any:
        """Symmetric ``scipy.sparse.csr_array`` of the mirrored sparsifier (see ``Client.sparsifier``)."""
        return to_scipy(self.snapshot(), base=base)

    def to_networkx(self, *, base: int | None = None) -> Any:
        return to_networkx(self.snapshot(), base=base)

    def load(self, snap: EdgeSnapshot) -> None:
        """Replace the copy with a snapshot."""
        with self._cond:
            self._edges = {_key(u, v): float(w) for u, v, w in snap.edges}
            self._nodes = snap.nodes
            self._cursor = int(snap.cursor)
            self._cond.notify_all()

    def apply(self, event: Event) -> None:
        """Apply one subscription event to the copy."""
        if isinstance(event, Resync):
            self.load(event.snapshot)
            self.resyncs += 1
            return
        if isinstance(event, Heartbeat | BalanceEvent):
            return
        assert isinstance(event, DeltaEvent)
        d = event.delta
        with self._cond:
            edges = self._edges
            for u, v in d.removed:
                if edges.pop(_key(u, v), None) is None:
                    self.anomalies += 1
            for u, v, w in d.added:
                k = _key(u, v)
                if k in edges:
                    self.anomalies += 1
                edges[k] = float(w)
            for u, v, w in d.reweighted:
                k = _key(u, v)
                if k not in edges:
                    self.anomalies += 1
                edges[k] = float(w)
            self._cursor = event.seq
            self.deltas += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ driving it
    def _subscription(self) -> Subscription:
        if self._sub is None:
            snap = self.client.sparsifier(self.name)
            self.load(snap)
            self._sub = self.client.subscribe(self.name, cursor=snap.cursor, heartbeats=True)
        return self._sub

    def _reached(self, target: int) -> bool:
        return self._cursor is not None and self._cursor >= target

    def run_until(self, cursor: str | int, timeout: float | None = None) -> str:
        """Bring the copy up to ``cursor`` (e.g. the ``cursor`` of an ``updates`` reply) and return the cursor it
        reflects.  Runs the subscription in this thread, or waits for the background thread after
        :meth:`start`.  ``timeout`` (seconds) raises :class:`TimeoutError`; without a background thread it is
        checked on each message, heartbeats included."""
        target = int(cursor)
        if self._thread is not None:
            return self.wait_for(target, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        sub = self._subscription()
        while not self._reached(target):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"mirror of {self.name!r} at cursor {self._cursor}, waiting for {target}")
            self.apply(next(sub))
        return str(self._cursor)

    def start(self) -> Mirror:
        """Keep the copy current in a daemon thread (until :meth:`stop`)."""
        if self._thread is None:
            self._subscription()
            self._thread = threading.Thread(target=self._follow, name=f"mirror-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _follow(self) -> None:
        try:
            for event in self._sub:  # type: ignore[union-attr]
                self.apply(event)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
        finally:
            with self._cond:
                self._cond.notify_all()

    def wait_for(self, cursor: str | int, timeout: float | None = None) -> str:
        """Wait until the background thread has applied everything up to ``cursor``."""
        target = int(cursor)
        with self._cond:
            ok = self._cond.wait_for(lambda: self._reached(target) or self._error is not None
                                     or not (self._thread and self._thread.is_alive()), timeout)
            if self._error is not None:
                raise self._error
            if not ok or not self._reached(target):
                raise TimeoutError(f"mirror of {self.name!r} at cursor {self._cursor}, waiting for {target}")
            return str(self._cursor)

    def stop(self) -> None:
        """Stop following (a later :meth:`run_until` / :meth:`start` reloads a snapshot first)."""
        if self._sub is not None:
            self._sub.close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._sub = None

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
