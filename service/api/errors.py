"""One table from error codes to HTTP status codes and websocket close codes, and the JSON error body."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sparsewire.errors import SparsewireError

HTTP_STATUS = {
    "invalid_input": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "invalid_batch": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "invalid_request": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "parse_error": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "not_chordal": status.HTTP_409_CONFLICT,
    "too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "unsupported_media_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "backend_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "store_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "recovering": status.HTTP_503_SERVICE_UNAVAILABLE,
}

#: ``Retry-After`` seconds of a 503 for a graph still being recovered.
RECOVERING_RETRY_AFTER = 2

#: Websocket close codes (4000–4999 are application codes).
WS_CURSOR_FUTURE = 4400
WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403
WS_NOT_FOUND = 4404
WS_TOO_SLOW = 4408
WS_CURSOR_TOO_OLD = 4410
WS_STORE_UNAVAILABLE = 4503


def error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details  # type: ignore[index]
    return body


async def _sparsewire_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SparsewireError)
    headers = {"Retry-After": str(RECOVERING_RETRY_AFTER)} if exc.code == "recovering" else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=HTTP_STATUS.get(exc.code, 500),
                        headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"loc": list(e.get("loc", ())), "error": e.get("msg", "")} for e in exc.errors()]
    first = details[0] if details else {"loc": [], "error": "invalid request"}
    message = f"invalid request at {'.'.join(map(str, first['loc']))}: {first['error']}"
    return JSONResponse(error_body("invalid_request", message, details),
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "too_large"}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (auth guards, unknown routes) in the same body shape as every other error."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _redis_error(request: Request, exc: Exception) -> JSONResponse:
    """Any Redis failure that escaped the store's own mapping (reads, reloads, idempotency look-ups): the
    store is unavailable (503, retryable), never an internal error."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.redis_errors.inc()
    return JSONResponse(error_body("store_unavailable", f"Redis unavailable: {exc}"),
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(SparsewireError, _sparsewire_error)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
