"""The fast batch parser accepts exactly what the pydantic models accept, with the same columns."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sparsewire.api.ingest import IngestFrame
from sparsewire.api.parsing import columns_of, parse_batch
from sparsewire.api.schemas import UpdateBatch
from sparsewire.runtime import OpColumns

ids = st.one_of(st.integers(-3, 2**53 + 3), st.text(max_size=300), st.booleans(), st.none(), st.floats(0, 9))
weights = st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-5, 5), st.booleans(), st.text(max_size=3))
op = st.fixed_dictionaries({"op": st.sampled_from(["insert", "delete", "upsert"]), "u": ids, "v": ids},
                           optional={"w": weights, "x": st.integers()})


def same(a: OpColumns, b: OpColumns) -> bool:
    def norm(w: list[float]) -> list:
        return [None if math.isnan(x) else x for x in w]
    return (a.op, a.u, a.v, norm(a.w)) == (b.op, b.u, b.v, norm(b.w))


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=6), st.one_of(st.none(), st.text(max_size=210)))
def test_fast_path_agrees_with_the_models(ops: list[dict], frame_id: str | None) -> None:
    for model, body in ((UpdateBatch, {"ops": ops}), (IngestFrame, {"id": frame_id, "ops": ops})):
        raw = json.dumps(body)
        try:
            want = OpColumns.from_models(model.model_validate_json(raw).ops)
        except ValidationError:
            with pytest.raises(ValidationError):
                parse_batch(raw, model)
            continue
        got, _ = parse_batch(raw, model)
        assert same(got, want)
        fast = columns_of(ops)
        if fast is not None:
            assert same(fast, want) and fast.fingerprint() == want.fingerprint()


def test_fast_path_columns() -> None:
    cols, rest = parse_batch(b'{"id": "f1", "ops": [{"op": "insert", "u": 1, "v": "a", "w": 2},'
                             b' {"op": "delete", "u": 3, "v": 4}, {"op": "insert", "u": 5, "v": 6}]}', IngestFrame)
    assert rest == {"id": "f1"}
    assert cols.op == ["insert", "delete", "insert"] and cols.u == [1, 3, 5] and cols.v == ["a", 4, 6]
    assert cols.w[0] == 2.0 and type(cols.w[0]) is float and math.isnan(cols.w[1]) and cols.w[2] == 1.0
    with pytest.raises(ValidationError):
        parse_batch(b'{"ops": [{"op": "insert", "u": true, "v": 2}]}', UpdateBatch)
    with pytest.raises(ValidationError):
        parse_batch(b'{"ops": [], "extra": 1}', UpdateBatch)


def test_parse_checked_counts_before_validating_and_names_every_bad_op() -> None:
    from sparsewire.api.parsing import parse_checked  # noqa: PLC0415
    from sparsewire.errors import InvalidRequestError, TooLargeError  # noqa: PLC0415

    four = [{"op": "insert", "u": 1, "v": 2}] * 4
    for raw in (json.dumps({"ops": four}), json.dumps({"ops": four}).replace('"v": 2}', '"v": 2, "w": NaN}')):
        with pytest.raises(TooLargeError, match=r"^batch has 4 operations; the limit is 3$"):
            parse_checked(raw, UpdateBatch, max_ops=3)
    raw = ('{"ops": [{"op": "upsert", "u": 1, "v": 2}, {"op": "insert", "u": 3, "v": 3}, '
           '{"op": "delete", "u": 1, "v": 2}, {"op": "insert", "u": 3, "v": 4, "w": NaN}, {"op": "insert"}]}')
    seen: list[OpColumns] = []

    def check(cols: OpColumns) -> list[dict]:  # the graph's checks see the ops that passed the schema, in order
        seen.append(cols)
        return [{"index": 0, "error": "self-loop"}, {"index": 2, "error": "weight"}]

    with pytest.raises(InvalidRequestError) as info:
        parse_checked(raw, UpdateBatch, check=check)
    assert seen[0].op == ["insert", "delete", "insert"] and seen[0].u == [3, 1, 3] and math.isnan(seen[0].w[2])
    assert [(d["index"], d["error"]) for d in info.value.details] == [
        (0, "op: Input should be 'insert' or 'delete'"), (1, "self-loop"), (3, "weight"),
        (4, "u: Field required; v: Field required")]
    assert str(info.value).startswith("4 invalid operation(s): op 0: op: Input should be")
    with pytest.raises(ValidationError):  # nothing to name by index: the schema's own error
        parse_checked('{"ops": 5}', UpdateBatch, check=check)
