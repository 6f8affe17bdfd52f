"""Fast parsing of update batches into columns.

A 1,000-operation batch costs ~3.5 ms through the pydantic models (one model per operation, then one object per
operation again for the runtime) but ~0.7 ms as ``json.loads`` plus a shape check per operation.  The fast path
accepts only what :class:`~sparsewire.api.schemas.UpdateBatch` / :class:`~sparsewire.api.ingest.IngestFrame`
accept; anything else (a missing field, a wrong type, an extra key, invalid JSON) goes through the models, so
errors are reported exactly as the schema words them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from sparsewire.errors import InvalidRequestError, TooLargeError
from sparsewire.runtime import OpColumns

#: Bounds of :data:`~sparsewire.api.schemas.NodeId`.
MAX_INT_ID = 2**53
MAX_STR_ID = 256
MAX_OPS = 1_000_000
_OP_KEYS = frozenset(("op", "u", "v", "w"))
_NAN = float("nan")  # the weight column of a deletion
_OP_NAMES = frozenset(("insert", "delete"))
_W_TYPES = frozenset((type(None), float, int))


def _is_id(x: object) -> bool:
    t = type(x)
    return (t is int and 0 <= x <= MAX_INT_ID) or (t is str and 0 < len(x) <= MAX_STR_ID)  # type: ignore[operator]


def columns_of(items: object) -> OpColumns | None:
    """Columns of a decoded ``ops`` list, or None when some operation is not in the plain accepted shape."""
    if type(items) is not list or not 0 < len(items) <= MAX_OPS:
        return None
    return _columns_bulk(items) or _columns_each(items)


def _ids_ok(ids: list[Any]) -> bool:
    kinds = set(map(type, ids))
    if kinds == {int}:
        return 0 <= min(ids) and max(ids) <= MAX_INT_ID
    if kinds == {str}:
        lengths = list(map(len, ids))
        return 0 < min(lengths) and max(lengths) <= MAX_STR_ID
    return all(map(_is_id, ids))


def _columns_bulk(items: list[Any]) -> OpColumns | None:
    """Whole-column checks (a few C-level passes), for batches of plain dicts; None to take the per-op path."""
    try:
        kinds = [o["op"] for o in items]
        us = [o["u"] for o in items]
        vs = [o["v"] for o in items]
        ws = [o.get("w") for o in items]
    except (KeyError, TypeError, AttributeError):
        return None
    with_w = sum(1 for o in items if "w" in o)
    if sum(map(len, items)) != 3 * len(items) + with_w or not set(map(type, items)) == {dict}:
        return None  # a key besides op, u, v, w
    if not set(kinds) <= _OP_NAMES or not set(map(type, ws)) <= _W_TYPES or not (_ids_ok(us) and _ids_ok(vs)):
        return None
    weights = [_NAN if k == "delete" else (1.0 if w is None else float(w)) for k, w in zip(kinds, ws, strict=True)]
    return OpColumns(kinds, us, vs, weights)


def _columns_each(items: list[Any]) -> OpColumns | None:
    kinds: list[str] = []
    us: list[Any] = []
    vs: list[Any] = []
    ws: list[float] = []
    for o in items:
        if type(o) is not dict or not o.keys() <= _OP_KEYS:
            return None
        k, u, v, w = o.get("op"), o.get("u"), o.get("v"), o.get("w")
        if not (_is_id(u) and _is_id(v)):
            return None
        tw = type(w)
        if not (w is None or tw is float or tw is int):
            return None
        if k == "insert":
            ws.append(1.0 if w is None else float(w))
        elif k == "delete":
            ws.append(_NAN)
        else:
            return None
        kinds.append(k)
        us.append(u)
        vs.append(v)
    return OpColumns(kinds, us, vs, ws)


def parse_batch(raw: bytes | str, model: type[BaseModel], *,
                max_ops: int = MAX_OPS) -> tuple[OpColumns, dict[str, Any]]:
    """Operations and the other top-level fields of a request body (``{"ops": [...], ...}``) validated against
    ``model``; raises pydantic's ``ValidationError`` exactly as ``model.model_validate_json`` would, or
    :class:`TooLargeError` for more than ``max_ops`` operations (at most :data:`MAX_OPS`, the schema's bound)."""
    try:
        data = orjson.loads(raw)  # strict JSON (no NaN literals, 64-bit ints): anything else takes the model path
    except orjson.JSONDecodeError:
        data = None
        try:  # NaN literals, huge ints: count the ops before the model validates each of them
            lenient = from_json(raw)
        except ValueError:
            lenient = None
        if type(lenient) is dict:
            _check_count(lenient.get("ops"), min(max_ops, MAX_OPS))
    if type(data) is dict:
        _check_count(data.get("ops"), min(max_ops, MAX_OPS))
        cols = columns_of(data.get("ops"))
        if cols is not None:
            rest = {k: v for k, v in data.items() if k != "ops"}
            try:  # the other fields (a frame id), by the model's own rules, with a one-op stand-in batch
                model.model_validate({**rest, "ops": _PROBE}, strict=True)
            except ValidationError:
                pass
            else:
                return cols, rest
    parsed = model.model_validate_json(raw)
    return OpColumns.from_models(parsed.ops), {k: getattr(parsed, k) for k in parsed.model_fields_set if k != "ops"}


_PROBE = [{"op": "delete", "u": 0, "v": 1}]


def _check_count(ops: object, limit: int) -> None:
    if type(ops) is list and len(ops) > limit:
        raise TooLargeError(f"batch has {len(ops)} operations; the limit is {limit}")


def parse_checked(raw: bytes | str, model: type[BaseModel], *, max_ops: int = MAX_OPS,
                  check: Callable[[OpColumns], list[dict[str, Any]]] | None = None) -> tuple[OpColumns, dict[str, Any]]:
    """:func:`parse_batch`, with every refusal as one error: :class:`TooLargeError` (413) above ``max_ops``
    operations, :class:`InvalidRequestError` (422) naming every bad operation by index when some operation fails
    the schema — also those that pass it but that ``check`` (the graph's own checks: self-loops, weights, ids)
    refuses, so one reply lists them all — and pydantic's ``ValidationError`` for the other schema failures (no
    ``ops`` list, a bad frame id alone, invalid JSON)."""
    try:
        return parse_batch(raw, model, max_ops=max_ops)
    except ValidationError as exc:
        rejection = _per_op_rejection(raw, exc, min(max_ops, MAX_OPS), check)
        if rejection is None:
            raise
        raise rejection from None


def _weight(op: dict[str, Any]) -> float:
    w = op.get("w")
    return _NAN if op["op"] == "delete" else 1.0 if w is None else float(w)


def _per_op_rejection(raw: bytes | str, exc: ValidationError, limit: int,
                      check: Callable[[OpColumns], list[dict[str, Any]]] | None) -> Exception | None:
    errors = exc.errors(include_url=False, include_input=False)
    for e in errors:
        if e["type"] == "too_long" and tuple(e["loc"]) == ("ops",):
            actual = (e.get("ctx") or {}).get("actual_length")
            return TooLargeError(f"batch has {actual if actual is not None else 'too many'} operations; the limit "
                                 f"is {limit}")
    per_op: dict[int, list[str]] = {}
    other: list[dict[str, Any]] = []
    for e in errors:
        loc = tuple(e["loc"])
        if len(loc) >= 2 and loc[0] == "ops" and type(loc[1]) is int:
            field = ".".join(map(str, loc[2:]))
            per_op.setdefault(loc[1], []).append(f"{field}: {e['msg']}" if field else e["msg"])
        else:
            other.append({"loc": list(loc), "error": e["msg"]})
    if not per_op:
        return None
    details = {i: {"index": i, "loc": ["ops", i], "error": "; ".join(msgs)} for i, msgs in per_op.items()}
    if check is not None:
        try:
            ops = from_json(raw)["ops"]  # the parser the schema used: every op not named above passed it
            good = [i for i in range(len(ops)) if i not in per_op]
            cols = OpColumns([ops[i]["op"] for i in good], [ops[i]["u"] for i in good], [ops[i]["v"] for i in good],
                             [_weight(ops[i]) for i in good])
            found = check(cols) if good else []
        except (ValueError, TypeError, KeyError, IndexError):
            found = []
        for d in found:
            i = good[d["index"]]
            details[i] = {"index": i, "loc": ["ops", i], "error": d["error"]}
    bad = [details[i] for i in sorted(details)]
    shown = ", ".join(f"op {b['index']}: {b['error']}" for b in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    head = "; ".join(f"{'.'.join(map(str, o['loc'])) or 'body'}: {o['error']}" for o in other)
    return InvalidRequestError(f"{head + '; ' if head else ''}{len(bad)} invalid operation(s): {shown}{more}",
                               details=other + bad)
