"""One error tree for the library and the service.

Every error carries a machine-readable ``code``; :mod:`sparsewire.api.errors` maps codes to HTTP status
codes and websocket close codes in one table.  Domain outcomes (bad input, unknown graph, conflicts) are kept
apart from transport failures (store unavailable), which are the only retryable ones.
"""

from __future__ import annotations

from typing import Any


class SparsewireError(Exception):
    """Root of every error raised by sparsewire."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInputError(SparsewireError, ValueError):
    """Input that can never succeed: a self-loop, a non-finite weight, a malformed file line."""

    code = "invalid_input"


class InvalidBatchError(InvalidInputError):
    """A batch with one or more invalid operations; ``details`` lists ``{"index", "error"}`` per bad op."""

    code = "invalid_batch"


class InvalidRequestError(InvalidInputError):
    """A request body that fails the API schema; ``details`` names each bad operation of a batch by ``index``."""

    code = "invalid_request"


class ParseError(InvalidInputError):
    """A malformed graph file; the message names the line number."""

    code = "parse_error"


class NotFoundError(SparsewireError, LookupError):
    code = "not_found"


class ConflictError(SparsewireError):
    code = "conflict"


class TooLargeError(SparsewireError):
    code = "too_large"


class UnsupportedMediaTypeError(SparsewireError):
    """A request body in a content type the endpoint does not read (HTTP 415)."""

    code = "unsupported_media_type"


class NotChordalError(SparsewireError):
    """Raised where a chordal graph is required; ``details`` carries the hole certificate."""

    code = "not_chordal"


class BackendUnavailableError(SparsewireError, RuntimeError):
    """A requested compute backend (e.g. CUDA) is not available on this machine."""

    code = "backend_unavailable"


class StoreUnavailableError(SparsewireError, ConnectionError):
    """The persistence layer cannot be reached or refused a write; retryable."""

    code = "store_unavailable"


class RecoveringError(SparsewireError):
    """The graph is still being loaded from Redis after a restart (HTTP 503 with ``Retry-After``); retryable."""

    code = "recovering"
