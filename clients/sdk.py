"""The sparsewire Python SDK: one import for everything a client program needs.

    from sparsewire.clients.sdk import Client, Mirror

    with Client() as client:                      # $SPARSEWIRE_URL / $SPARSEWIRE_TOKEN, or arguments
        client.create_graph("mesh", K=33)
        client.import_file("mesh", "fe_4elt2.mtx.gz", progress=lambda sent, total: ...)
        reply = client.updates("mesh", [("insert", 1, 500, 2.0), ("delete", 1, 2)])
        for event in client.subscribe("mesh", cursor=reply.cursor): ...

Request and reply models are the service's own (:mod:`sparsewire.api.schemas`).  Guide: ``docs/clients.md``.
"""

from sparsewire.api.schemas import (
    Delta,
    EdgeSnapshot,
    GraphInfo,
    Operation,
    OpResult,
    Params,
    Quality,
    UpdateReply,
)
from sparsewire.clients._requests import (
    ClientError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServerError,
    ServiceUnavailable,
    TooLarge,
    Unauthorized,
    Unreachable,
    to_networkx,
    to_scipy,
)
from sparsewire.clients.client import AsyncClient, Client
from sparsewire.clients.mirror import Mirror
from sparsewire.clients.subscribe import (
    AsyncSubscription,
    BalanceEvent,
    DeltaEvent,
    Event,
    Heartbeat,
    Resync,
    Subscription,
)

__all__ = [
    "AsyncClient", "AsyncSubscription", "BalanceEvent", "Client", "ClientError", "Conflict", "Delta", "DeltaEvent",
    "EdgeSnapshot", "Event", "Forbidden", "GraphInfo", "Heartbeat", "InvalidRequest", "Mirror", "NotFound",
    "OpResult", "Operation", "Params", "Quality", "Resync", "ServerError", "ServiceUnavailable", "Subscription",
    "TooLarge", "Unauthorized", "Unreachable", "UpdateReply", "to_networkx", "to_scipy",
]
