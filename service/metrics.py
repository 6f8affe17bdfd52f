"""Prometheus metrics (names prefixed ``sparsewire_``, base units, ``_total`` counters).

One registry per application instance, built in the app factory, so tests can run several apps.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from sparsewire import __version__


class Metrics:
    def __init__(self, backend: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("sparsewire_updates_total", "Edge update operations applied",
                               ["op", "outcome"], registry=r)
        self.batches = Counter("sparsewire_batches_total", "Update batches by result", ["result"], registry=r)
        self.batch_seconds = Histogram(
            "sparsewire_batch_seconds", "Time from request to durable acknowledgement of a batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.walker_steps = Counter("sparsewire_walker_steps_total", "Random-walk steps taken", ["backend"],
                                    registry=r)
        self.nodes = Gauge("sparsewire_graph_nodes", "Vertices of G", ["graph"], registry=r)
        self.edges = Gauge("sparsewire_graph_edges", "Edges of G", ["graph"], registry=r)
        self.sparsifier_edges = Gauge("sparsewire_sparsifier_edges", "Edges of the sparsifier H", ["graph"],
                                      registry=r)
        self.subscribers = Gauge("sparsewire_subscribers", "Open delta websocket subscriptions", registry=r)
        self.delta_lag = Histogram("sparsewire_delta_lag_batches",
                                   "How many batches a subscriber was behind the log head when a delta was sent",
                                   buckets=(0, 1, 2, 5, 10, 50, 100, 1000, 10000), registry=r)
        self.subscriber_lag = Gauge("sparsewire_subscriber_lag_batches",
                                    "Batches the furthest-behind subscriber of a graph has yet to receive (log head "
                                    "minus the cursor it was last sent), at scrape time", ["graph"], registry=r)
        #: per graph: a lag function per open subscription (the gauge reports their maximum)
        self._lags: dict[str, dict[object, Callable[[], int]]] = {}
        self.subscriber_disconnects = Counter("sparsewire_subscriber_disconnects_total",
                                              "Subscriptions closed by the server", ["reason"], registry=r)
        self.redis_errors = Counter("sparsewire_redis_errors_total", "Failed Redis operations", registry=r)
        self.ingest_frames = Counter("sparsewire_ingest_frames_total", "Ingest frames received", ["result"],
                                     registry=r)
        self.ingest_inflight = Gauge("sparsewire_ingest_inflight_frames",
                                     "Ingest frames read but not yet acknowledged (all connections)", registry=r)
        self.ingest_lag = Histogram("sparsewire_ingest_ack_seconds",
                                    "Time from reading an ingest frame to sending its acknowledgement",
                                    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                                    registry=r)
        self.build = Info("sparsewire_build", "Build information", registry=r)
        self.build.info({"version": __version__, "backend": backend})

    def track_subscriber(self, graph: str, token: object, lag: Callable[[], int]) -> None:
        """Count ``lag()`` (called at scrape time) in the graph's subscriber-lag gauge until
        :meth:`untrack_subscriber`."""
        lags = self._lags.get(graph)
        if lags is None:
            lags = self._lags[graph] = {}
            self.subscriber_lag.labels(graph).set_function(lambda: max((f() for f in list(lags.values())), default=0))
        lags[token] = lag

    def untrack_subscriber(self, graph: str, token: object) -> None:
        lags = self._lags.get(graph)
        if lags is None:
            return
        lags.pop(token, None)
        if not lags:
            del self._lags[graph]
            try:
                self.subscriber_lag.remove(graph)
            except KeyError:
                pass

    def forget_graph(self, name: str) -> None:
        for gauge in (self.nodes, self.edges, self.sparsifier_edges):
            try:
                gauge.remove(name)
            except KeyError:
                pass
