"""Update batches over real HTTP: per-op results, delta correctness, atomicity, idempotency and limits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from .conftest import Api, apply_delta, apply_ops, random_ops


def expected_status(g: dict, ops: list[dict]) -> list[str]:
    out, g = [], dict(g)
    for op in ops:
        key = (min(op["u"], op["v"]), max(op["u"], op["v"]))
        if op["op"] == "insert":
            out.append("merged" if key in g else "applied")
            g[key] = g.get(key, 0.0) + op["w"]
        else:
            out.append("applied" if g.pop(key, None) is not None else "absent")
    return out


def state(api: Api, name: str) -> tuple:
    return api.info(name)["seq"], api.snap(name, "edges"), api.snap(name, "sparsifier")


def test_batches_results_and_deltas(api: Api, graph_name: str) -> None:
    api.small_graph(graph_name, 10, 10)
    rng = np.random.default_rng(1)
    g, h = api.g(graph_name), api.h(graph_name)
    seq = 1
    seen_actions: set[str] = set()
    for i in range(12):
        ops = random_ops(rng, g, 110, 25)  # ids up to 109: the graph grows by 10 vertices on the way
        if i == 3:  # a duplicate insertion, a deletion of an absent edge, and a delete of a just-inserted edge
            ops += [dict(ops[0]) if ops[0]["op"] == "insert" else {"op": "insert", "u": 0, "v": 55, "w": 1.0},
                    {"op": "delete", "u": 0, "v": 99}, {"op": "insert", "u": 3, "v": 77, "w": 2.0},
                    {"op": "delete", "u": 77, "v": 3}]
        reply = api.update(graph_name, ops)
        seq += 1
        assert (reply["seq"], reply["cursor"]) == (seq, str(seq))
        assert [r["status"] for r in reply["results"]] == expected_status(g, ops)
        g_new, h_new = api.g(graph_name), api.h(graph_name)
        assert g_new == apply_ops(g, ops)
        assert apply_delta(h, reply["delta"]) == h_new
        # H is a subgraph of G with G's weights, and the delta is net (no edge both added and removed)
        assert all(g_new[k] == w for k, w in h_new.items())
        added = {(min(u, v), max(u, v)) for u, v, _ in reply["delta"]["added"]}
        removed = {(min(u, v), max(u, v)) for u, v in reply["delta"]["removed"]}
        assert not added & removed
        for op, r in zip(ops, reply["results"], strict=True):
            seen_actions.add(r["action"])
            key = (min(op["u"], op["v"]), max(op["u"], op["v"]))
            if op["op"] == "delete" and r["status"] == "absent":
                assert r["action"] == "unchanged"
            if op["op"] == "insert" and r["action"] == "added":
                assert key in added or key in h_new or key not in g_new
        g, h = g_new, h_new
        assert api.info(graph_name)["seq"] == seq
    assert {"added", "skipped"} <= seen_actions
    # every component of G is a component of H
    q = api.http.get(f"/v1/graphs/{graph_name}/quality").json()
    assert q["components_graph"] == q["components_sparsifier"]
    assert math.isfinite(q["kappa"]) and q["kappa"] >= 1.0 - 1e-9


BAD_OPS = [
    ({"op": "insert", "u": 4, "v": 4, "w": 1.0}, "self-loop"),
    ({"op": "insert", "u": 1, "v": 7, "w": -1.0}, "weight"),
    ({"op": "insert", "u": 1, "v": 7, "w": 0.0}, "weight"),
    ({"op": "upsert", "u": 1, "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": "seven", "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": 2**40, "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": -3, "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": 1.5, "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": True, "v": 7, "w": 1.0}, None),
    ({"op": "insert", "u": 2**80, "v": 7, "w": 1.0}, None),
    ({"op": "delete", "u": 1, "v": 2, "extra": 1}, None),
    ({"op": "insert", "u": 1}, None),
]


def bad_indices(body: dict) -> set[int]:
    """Op indices named by a 422 body (engine ``details[].index`` or validation ``loc``)."""
    out = set()
    for d in body["error"].get("details") or []:
        if "index" in d:
            out.add(d["index"])
        else:
            loc = d["loc"]
            assert loc[:2] == ["body", "ops"] or loc[:1] == ["ops"], loc
            out.add(loc[loc.index("ops") + 1])
    return out


@pytest.mark.parametrize(("bad", "word"), BAD_OPS, ids=[f"bad{i}" for i in range(len(BAD_OPS))])
def test_atomic_rejection(api: Api, shared_small: str, bad: dict, word: str | None) -> None:
    before = state(api, shared_small)
    ops = [{"op": "insert", "u": 0, "v": 50, "w": 1.0}, bad, {"op": "delete", "u": 0, "v": 1},
           {"op": "insert", "u": 0, "v": 120, "w": 1.0}]  # 120: would grow the graph
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", json={"ops": ops})
    assert r.status_code == 422, r.text
    body = r.json()
    assert bad_indices(body) == {1}, body
    if word:
        assert word in body["error"]["message"]
    assert state(api, shared_small) == before


def test_atomic_rejection_names_every_bad_op(api: Api, shared_small: str) -> None:
    before = state(api, shared_small)
    ops = [{"op": "insert", "u": 3, "v": 3, "w": 1.0}, {"op": "insert", "u": 0, "v": 9, "w": 1.0},
           {"op": "insert", "u": 0, "v": 8, "w": float("nan")}, {"op": "delete", "u": 0, "v": 1},
           {"op": "insert", "u": 2**40, "v": 8, "w": 1.0}, {"op": "insert", "u": 1, "v": 8, "w": float("inf")}]
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", content=json.dumps({"ops": ops}),
                      headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert bad_indices(r.json()) == {0, 2, 4, 5}, r.json()
    assert state(api, shared_small) == before


MIXED_BAD = [{"op": "insert", "u": 0, "v": 50, "w": 1.0},  # fine
             {"op": "upsert", "u": 1, "v": 7, "w": 1.0},  # schema: unknown op
             {"op": "insert", "u": 4, "v": 4, "w": 1.0},  # engine: self-loop
             {"op": "insert", "u": 1, "v": 7, "w": -1.0},  # engine: weight
             {"op": "delete", "u": 0, "v": 1},  # fine
             {"op": "insert", "u": 2**40, "v": 7, "w": 1.0},  # engine: id out of range
             {"op": "insert", "u": 1}]  # schema: no v


def check_mixed_rejection(error: dict) -> None:
    assert error["code"] == "invalid_request", error
    by_index = {d["index"]: d["error"] for d in error["details"]}
    assert sorted(by_index) == [1, 2, 3, 5, 6], error
    assert "insert" in by_index[1] and "self-loop" in by_index[2] and "weight" in by_index[3]
    assert "bad node id" in by_index[5] and "v: Field required" in by_index[6]
    assert error["message"].startswith("5 invalid operation(s): op 1: op: "), error["message"]


def test_rejection_names_schema_and_engine_errors_together(api: Api, shared_small: str) -> None:
    """One op failing the schema does not hide the others' self-loop, weight or id errors: one 422 names all."""
    before = state(api, shared_small)
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", json={"ops": MIXED_BAD})
    assert r.status_code == 422, r.text
    check_mixed_rejection(r.json()["error"])
    # the same over the NDJSON ingest stream: an error acknowledgement with the same list
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", content=json.dumps({"id": "mixed-1", "ops": MIXED_BAD}),
                      headers={"content-type": "application/x-ndjson"})
    ack = json.loads(r.text)
    assert ack["id"] == "mixed-1"
    check_mixed_rejection(ack["error"])
    assert state(api, shared_small) == before


def test_string_graph_mixed_rejection_names_all_and_leaks_no_ids(api: Api, graph_name: str) -> None:
    api.create(graph_name, node_ids="str")
    api.import_(graph_name, b"p,q\nq,r\n")
    ops = [{"op": "insert", "u": "new1", "v": "new2"}, {"op": "insert", "u": "x", "v": "x"},
           {"op": "insert", "u": "p", "v": "q", "w": "heavy"}, {"op": "insert", "u": 5, "v": "q"},
           {"op": "insert", "u": "new1", "v": "new3", "w": 0.0}]
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": ops})
    assert r.status_code == 422, r.text
    by_index = {d["index"]: d["error"] for d in r.json()["error"]["details"]}
    assert sorted(by_index) == [1, 2, 3, 4], by_index
    assert "self-loop" in by_index[1] and "w: " in by_index[2] and "bad node id" in by_index[3]
    assert "weight" in by_index[4]
    assert api.info(graph_name)["nodes"] == 3 and api.info(graph_name)["seq"] == 1


def test_oversized_batches_are_413_everywhere(api: Api, shared_small: str) -> None:
    """Over the ops limit (200,000 here) and over the schema's 1,000,000: 413 over HTTP, too_large on ingest."""
    before = state(api, shared_small)
    op = b'{"op":"delete","u":0,"v":1}'
    for count in (200_001, 1_000_001):
        body = b'{"ops":[' + b",".join([op] * count) + b"]}"
        r = api.http.post(f"/v1/graphs/{shared_small}/updates", content=body,
                          headers={"content-type": "application/json"})
        assert r.status_code == 413, (count, r.status_code, r.text[:300])
        assert r.json()["error"] == {"code": "too_large",
                                     "message": f"batch has {count} operations; the limit is 200000"}
        frame = b'{"id":"big-%d","ops":[' % count + b",".join([op] * count) + b"]}\n"
        r = api.http.post(f"/v1/graphs/{shared_small}/updates", content=frame,
                          headers={"content-type": "application/x-ndjson"})
        ack = json.loads(r.text)
        assert ack == {"id": f"big-{count}", "error": {
            "code": "too_large", "message": f"batch has {count} operations; the limit is 200000"}}, ack
    assert state(api, shared_small) == before


def test_string_id_rejection_does_not_leak_ids(api: Api, graph_name: str) -> None:
    api.create(graph_name, node_ids="str")
    api.import_(graph_name, b"p,q\nq,r\n")
    r = api.http.post(f"/v1/graphs/{graph_name}/updates",
                      json={"ops": [{"op": "insert", "u": "new1", "v": "new2"}, {"op": "insert", "u": "x", "v": "x"}]})
    assert r.status_code == 422 and bad_indices(r.json()) == {1}
    assert api.info(graph_name)["nodes"] == 3
    api.update(graph_name, [{"op": "insert", "u": "r", "v": "s", "w": 1.0}])
    assert api.info(graph_name)["nodes"] == 4
    assert sorted(api.g(graph_name)) == [("p", "q"), ("q", "r"), ("r", "s")]


def test_idempotency(api: Api, shared_small: str) -> None:
    ops = [{"op": "insert", "u": 2, "v": 40, "w": 1.5}, {"op": "delete", "u": 0, "v": 1}]
    first = api.update(shared_small, ops, **{"Idempotency-Key": "k-1"})
    after = state(api, shared_small)
    again = api.update(shared_small, ops, **{"Idempotency-Key": "k-1"})
    assert again == first
    assert state(api, shared_small) == after  # applied once: seq and G unchanged
    other = api.http.post(f"/v1/graphs/{shared_small}/updates", headers={"Idempotency-Key": "k-1"},
                          json={"ops": [{"op": "insert", "u": 2, "v": 41, "w": 1.5}]})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["error"]["message"]
    assert state(api, shared_small) == after
    # a different key applies again (the insertion merges)
    third = api.update(shared_small, ops, **{"Idempotency-Key": "k-2"})
    assert third["seq"] == first["seq"] + 1
    assert [r["status"] for r in third["results"]] == ["merged", "absent"]
    assert api.g(shared_small)[(2, 40)] == 3.0
    empty = api.http.post(f"/v1/graphs/{shared_small}/updates", headers={"Idempotency-Key": ""}, json={"ops": ops})
    assert empty.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"ops": 5}', b'{"ops": [5]}', b"[]", b"null", b"",
                                  b'{"ops": [{"op": "insert"}]}', b"\xff\xfe\x00", b'{"ops": [], "x": 1}',
                                  b'{"ops": [{"op": "insert", "u": 1, "v": 2, "w": "heavy"}]}',
                                  b'{"ops": [{"op": "insert", "u": 1, "v": 2, "w": 1e400}]}'])
def test_malformed_json(api: Api, shared_small: str, body: bytes) -> None:
    before = state(api, shared_small)
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", content=body,
                      headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), (body, r.status_code, r.text)
    assert "error" in r.json()
    assert state(api, shared_small) == before


def test_empty_batch(api: Api, shared_small: str) -> None:
    seq = api.info(shared_small)["seq"]
    r = api.http.post(f"/v1/graphs/{shared_small}/updates", json={"ops": []})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["results"] == [] and r.json()["seq"] == seq + 1


def test_unknown_graph(api: Api) -> None:
    r = api.http.post("/v1/graphs/does-not-exist/updates", json={"ops": [{"op": "insert", "u": 0, "v": 1}]})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_limits(server_factory, graph_name: str) -> None:  # noqa: ANN001
    srv = server_factory(max_body_bytes=4096, max_ops_per_batch=5, max_graph_edges=50)
    api = Api(srv.url)
    try:
        api.small_graph(graph_name, 5, 5)  # 40 edges
        before = state(api, graph_name)
        ops = [{"op": "insert", "u": 0, "v": 10 + i, "w": 1.0} for i in range(6)]
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": ops})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "too_large"
        big = {"ops": [{"op": "insert", "u": 0, "v": 1, "w": 1.0}], "pad": "x" * 5000}
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", json=big)
        assert r.status_code == 413
        # a chunked body (no Content-Length) over the limit is cut off too
        def chunks():  # noqa: ANN202
            for _ in range(10):
                yield b" " * 1000
            yield b'{"ops": []}'
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", content=chunks(),
                          headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        r = api.http.post(f"/v1/graphs/{graph_name}/import?format=csv", content=b"0,1\n" * 2000)
        assert r.status_code == 413
        assert state(api, graph_name) == before
        ok = api.update(graph_name, ops[:5])
        assert ok["seq"] == 2
        # graph size limit (50 edges): 45 now, 5 more fit, then one more is refused with 413
        r = api.http.post(f"/v1/graphs/{graph_name}/updates",
                          json={"ops": [{"op": "insert", "u": 1 + i, "v": 24 - i, "w": 1.0} for i in range(5)]})
        assert r.status_code == 200 and api.info(graph_name)["edges"] == 50
        full = state(api, graph_name)
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "insert", "u": 0, "v": 24}]})
        assert r.status_code == 413 and "50 edges" in r.json()["error"]["message"]
        assert state(api, graph_name) == full
        # an import above the limit is refused the same way
        api.create(graph_name + "-big")
        r = api.http.post(f"/v1/graphs/{graph_name}-big/import", content=b"".join(
            f"{i},{i + 1}\n".encode() for i in range(60)))
        assert r.status_code == 413
        assert api.info(graph_name + "-big")["edges"] == 0
    finally:
        api.close()


@pytest.fixture(scope="module")
def shared_small(api: Api) -> str:
    name = "upd-shared-small"
    api.small_graph(name, 10, 10)
    return name


def test_deleting_unknown_string_ids_creates_no_vertex(api: Api, graph_name: str) -> None:
    """A deletion naming vertices never inserted is absent and leaves no vertex behind, also not once a later
    insertion grows the graph (phantom isolated vertices in analyses before); the same pair as a self-loop is
    still refused."""
    api.create(graph_name, node_ids="str")
    api.update(graph_name, [{"op": "insert", "u": "a", "v": "b"}])
    r = api.update(graph_name, [{"op": "delete", "u": "ghost1", "v": "ghost2"},
                                {"op": "delete", "u": "ghost1", "v": "a"},
                                {"op": "insert", "u": "c", "v": "a"}])
    assert [x["status"] for x in r["results"]] == ["absent", "absent", "applied"]
    assert api.info(graph_name)["nodes"] == 3
    api.update(graph_name, [{"op": "insert", "u": "p", "v": "q"}])
    assert api.info(graph_name)["nodes"] == 5
    balance = api.http.get(f"/v1/graphs/{graph_name}/analysis/balance").json()
    assert sorted(balance["camp_plus"] + balance["camp_minus"]) == ["a", "b", "c", "p", "q"]
    bad = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "delete", "u": "g", "v": "g"}]})
    assert bad.status_code == 422 and "self-loop" in bad.text
