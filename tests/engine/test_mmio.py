"""Graph file I/O: Matrix Market and edge-list CSV."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio

from sparsewire.engine.mmio import GraphData, read_graph, write_edge_csv, write_matrix_market
from sparsewire.errors import ParseError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
UNDIRECTED = DATA / "undirected"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/data not present: {path}")
    return path


def _mm(body: str, field: str = "real", sym: str = "general", size: str | None = None) -> bytes:
    lines = list(body.strip().splitlines())
    size = size or f"4 4 {len(lines)}"
    return f"%%MatrixMarket matrix coordinate {field} {sym}\n% a comment\n{size}\n{body.strip()}\n".encode()


def _edges(g: GraphData) -> list[tuple[int, int, float]]:
    return list(zip(g.u.tolist(), g.v.tolist(), g.w.tolist(), strict=True))


# ---------------------------------------------------------------------------------------- MatrixMarket
def test_mm_real_graph_matches_scipy() -> None:
    path = _need(UNDIRECTED / "fe_4elt2.mtx.gz")
    g = read_graph(path)
    assert (g.n, g.m, g.base, g.node_ids, g.warnings) == (11143, 32818, 1, None, [])
    a = sio.mmread(path).tocoo()
    low = a.row > a.col
    ref = sorted(zip(a.col[low].tolist(), a.row[low].tolist(), strict=True))
    assert list(zip(g.u.tolist(), g.v.tolist(), strict=True)) == ref
    assert np.all(g.u < g.v) and np.all(g.w == 1.0)


def test_mm_laplacian_reads_abs_offdiagonals_and_ignores_diagonal() -> None:
    path = _need(UNDIRECTED / "jagmesh7.mtx.gz")
    g = read_graph(path)
    assert (g.n, g.m) == (1138, 3156)
    data = _mm("1 1 2.5\n2 1 -0.5\n3 2 -1.25\n3 3 1.0", sym="symmetric")
    g = read_graph(data)
    assert g.n == 4 and _edges(g) == [(0, 1, 0.5), (1, 2, 1.25)]


def test_mm_gzip_bytes_and_file_object_and_isolated_vertices() -> None:
    data = _mm("2 1 3.0", size="5 5 1")
    for src in (data, gzip.compress(data), io.BytesIO(gzip.compress(data))):
        g = read_graph(src)
        assert g.n == 5 and _edges(g) == [(0, 1, 3.0)]


def test_mm_pattern_and_integer() -> None:
    g = read_graph(_mm("2 1\n4 3", field="pattern", sym="symmetric"))
    assert _edges(g) == [(0, 1, 1.0), (2, 3, 1.0)]
    g = read_graph(_mm("2 1 -7", field="integer", sym="symmetric"))
    assert _edges(g) == [(0, 1, 7.0)]


def test_mm_general_both_directions_one_edge_and_average() -> None:
    g = read_graph(_mm("1 2 2.0\n2 1 2.0\n3 4 1.0"))
    assert _edges(g) == [(0, 1, 2.0), (2, 3, 1.0)] and g.warnings == []
    g = read_graph(_mm("1 2 2.0\n2 1 4.0"))
    assert _edges(g) == [(0, 1, 3.0)]
    assert len(g.warnings) == 1 and "averaged" in g.warnings[0]


def test_mm_repeated_entry_summed_and_zero_dropped() -> None:
    g = read_graph(_mm("2 1 1.5\n2 1 2.0\n4 3 0", sym="symmetric"))
    assert _edges(g) == [(0, 1, 3.5)]
    assert any("summed" in w for w in g.warnings) and any("zero-weight" in w for w in g.warnings)


@pytest.mark.parametrize(
    ("body", "size", "line", "fragment"),
    [
        ("2 1 1.0\n3 1\n4 1 1.0", None, 5, "expected 3 fields, got 2"),
        ("2 1 1.0\n3 1 1.0 7", None, 5, "expected 3 fields, got 4"),
        ("2 1 1.0\n3 x 1.0", None, 5, "invalid index"),
        ("2 1 1.0\n3 2.5 1.0", None, 5, "invalid index"),
        ("2 1 1.0\n9 1 1.0", None, 5, "out of range"),
        ("2 1 abc\n3 1 1.0", None, 4, "invalid value"),
        ("2 1 nan\n3 1 1.0", None, 4, "non-finite"),
        ("2 1 1.0\n3 1 1.0", "4 4 1", 5, "more entries"),
        ("2 1 1.0\n3 1 1.0", "4 4 3", 5, "expected 3 entries, found 2"),
        ("2 1 1.0", "4 4", 3, "size line"),
        ("2 1 1.0", "4 5 1", 3, "square"),
    ],
)
def test_mm_malformed_line_numbers(body: str, size: str | None, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as ei:
        read_graph(_mm(body, size=size))
    assert ei.value.message.startswith(f"line {line}:"), ei.value.message
    assert fragment in ei.value.message


def test_mm_comment_inside_body_uses_line_parser() -> None:
    data = b"%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1.0\n% note\n\n3 2 2.0\nbad\n"
    with pytest.raises(ParseError, match=r"^line 7: expected 3 fields, got 1"):
        read_graph(data)
    g = read_graph(data.replace(b"bad\n", b""))
    assert _edges(g) == [(0, 1, 1.0), (1, 2, 2.0)]


@pytest.mark.parametrize("banner", [
    b"%%MatrixMarket matrix array real general\n", b"%%MatrixMarket matrix coordinate complex general\n",
    b"%%MatrixMarket matrix coordinate real hermitian\n", b"%%MatrixMarket vector coordinate real general\n"])
def test_mm_unsupported_banner(banner: bytes) -> None:
    with pytest.raises(ParseError, match=r"^line 1:"):
        read_graph(banner + b"2 2 1\n2 1 1\n", fmt="mtx")


def test_mm_roundtrip_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 50
    pairs = sorted({(int(a), int(b)) for a, b in rng.integers(0, n, (200, 2)) if a < b})
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    w = rng.random(len(pairs)) * 10 + 1e-3
    for name in ("g.mtx", "g.mtx.gz"):
        write_matrix_market(tmp_path / name, n + 3, u, v, w, comment="test\nsecond line")
        g = read_graph(tmp_path / name)
        assert g.n == n + 3 and g.base == 1 and g.warnings == []
        assert np.array_equal(g.u, u) and np.array_equal(g.v, v) and np.array_equal(g.w, w)
    a = (tmp_path / "g.mtx").read_bytes()
    write_matrix_market(tmp_path / "h.mtx", n + 3, u[::-1], v[::-1], w[::-1], comment="test\nsecond line")
    assert (tmp_path / "h.mtx").read_bytes() == a  # deterministic, sorted
    assert gzip.decompress((tmp_path / "g.mtx.gz").read_bytes()) == a
    rows = [tuple(map(int, ln.split()[:2])) for ln in a.decode().splitlines()[4:]]
    assert all(r > c for r, c in rows)
    buf = io.BytesIO()
    write_matrix_market(buf, n + 3, u, v, w, comment="test\nsecond line")
    assert buf.getvalue() == a


def test_mm_read_scipy_agrees_on_written_file(tmp_path: Path) -> None:
    write_matrix_market(tmp_path / "x.mtx", 4, [0, 1], [3, 2], [0.1, 1e300])
    a = sio.mmread(tmp_path / "x.mtx").toarray()
    assert a[3, 0] == 0.1 and a[0, 3] == 0.1 and a[2, 1] == 1e300


# ------------------------------------------------------------------------------------------------- CSV
def test_csv_header_weights_and_sorted_integer_ids() -> None:
    g = read_graph(b"source,target,weight\n10,30,2.5\n30,20,1\n# comment\n\n20,10,4\n")
    assert g.n == 3 and g.base == 0 and g.node_ids.tolist() == [10, 20, 30]
    assert _edges(g) == [(0, 1, 4.0), (0, 2, 2.5), (1, 2, 1.0)]
    assert g.external_id(2) == 30


def test_csv_contiguous_ids_give_base() -> None:
    g = read_graph(b"1\t2\n2\t3\n")
    assert (g.n, g.base, g.node_ids) == (3, 1, None) and _edges(g) == [(0, 1, 1.0), (1, 2, 1.0)]
    g = read_graph(b"0 1 3\n1   2 4\n")
    assert (g.n, g.base, g.node_ids) == (3, 0, None) and _edges(g) == [(0, 1, 3.0), (1, 2, 4.0)]


def test_csv_string_ids_loops_zero_duplicates() -> None:
    g = read_graph(b"bob,alice,1\nalice,bob,2\ncarol,carol,1\ndave,alice,0\n")
    assert g.node_ids == ["alice", "bob", "carol", "dave"]
    assert _edges(g) == [(0, 1, 3.0)]
    text = " ".join(g.warnings)
    assert "self-loop" in text and "zero-weight" in text and "duplicate" in text
    assert g.n == 4  # carol and dave are still vertices


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b"u,v,w\n1,2,1\n% c\n2,3\n", 4, "expected 3 fields, got 2"),
        (b"1,2,1\n2,3,-1\n", 2, "negative weight"),
        (b"1,2,1\n2,3,nan\n", 2, "non-finite"),
        (b"1,2,1\n2,3,inf\n", 2, "non-finite"),
        (b"1,2,1\n2,3,x1\n", 2, "invalid weight"),
        (b"\n\n7\n", 3, "at least 2 fields"),
    ],
)
def test_csv_malformed(data: bytes, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as ei:
        read_graph(data, fmt="csv")
    assert ei.value.message.startswith(f"line {line}:") and fragment in ei.value.message


def test_csv_roundtrip(tmp_path: Path) -> None:
    u = np.array([0, 0, 1, 2])
    v = np.array([1, 3, 2, 3])
    w = np.array([0.1, 2.0, 1 / 3, 7.5])
    write_edge_csv(tmp_path / "e.csv", 4, u, v, w)
    g = read_graph(tmp_path / "e.csv")
    assert g.n == 4 and np.array_equal(g.u, u) and np.array_equal(g.v, v) and np.array_equal(g.w, w)
    write_edge_csv(tmp_path / "s.tsv", 4, u, v, w, node_ids=["d", "c", "b", "a"], delimiter="\t")
    g = read_graph(tmp_path / "s.tsv")
    assert g.node_ids == ["a", "b", "c", "d"]
    got = {frozenset((g.node_ids[a], g.node_ids[b])): x for a, b, x in _edges(g)}
    assert got == {frozenset(("d", "c")): 0.1, frozenset(("d", "a")): 2.0, frozenset(("c", "b")): 1 / 3,
                   frozenset(("b", "a")): 7.5}


def test_bitcoin_csv_negative_ratings_rejected() -> None:
    path = _need(DATA / "signed" / "soc-sign-bitcoinotc.csv.gz")
    with pytest.raises(ParseError, match=r"^line \d+: negative weight"):
        read_graph(path)


def test_fmt_auto_and_explicit() -> None:
    data = _mm("2 1 1.0")
    assert read_graph(data, fmt="mtx").m == 1
    with pytest.raises(ValueError):
        read_graph(data, fmt="xml")


# ------------------------------------------------------------------------------------------- directed
def test_csv_directed_keeps_both_arcs_and_sums_repeats() -> None:
    g = read_graph(b"source,target,weight\n10,20,2\n20,10,3\n10,20,0.5\n30,30,1\n20,30,-1\n30,20,1\n",
                   directed=True, signed=True)
    ext = [(g.external_id(a), g.external_id(b), w) for a, b, w in _edges(g)]
    assert ext == [(10, 20, 2.5), (20, 10, 3.0), (20, 30, -1.0), (30, 20, 1.0)]
    assert any("repeated arcs summed" in w for w in g.warnings) and any("self-loop" in w for w in g.warnings)
    # the same data read undirected: one edge per pair
    und = read_graph(b"10,20,2\n20,10,3\n", directed=False)
    assert _edges(und) == [(0, 1, 5.0)]


def test_mm_directed_entry_ij_is_arc_j_to_i() -> None:
    g = read_graph(_mm("2 1 1.5\n1 2 4\n3 1 2"), directed=True)
    assert _edges(g) == [(0, 1, 1.5), (0, 2, 2.0), (1, 0, 4.0)]  # A[2,1] = arc 1 -> 2 (0-based 0 -> 1)
    sym = read_graph(_mm("2 1 1.5\n4 3 2", sym="symmetric"), directed=True)
    assert _edges(sym) == [(0, 1, 1.5), (1, 0, 1.5), (2, 3, 2.0), (3, 2, 2.0)]
    skew = read_graph(_mm("2 1 1.5", sym="skew-symmetric"), directed=True, signed=True)
    assert _edges(skew) == [(0, 1, 1.5), (1, 0, -1.5)]
    cancel = read_graph(_mm("2 1 1\n2 1 -1\n3 1 2"), directed=True, signed=True)
    assert _edges(cancel) == [(0, 2, 2.0)] and any("weight 0 dropped" in w for w in cancel.warnings)


def test_truncated_gzip_is_refused() -> None:
    whole = gzip.compress(b"0,1,1\n5,1234,25\n7,8,1\n")
    assert read_graph(whole).m == 3
    with pytest.raises(ParseError, match="truncated gzip"):
        read_graph(whole[: len(whole) - 12])
