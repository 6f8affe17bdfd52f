"""Graph file I/O: Matrix Market (``.mtx``, ``.mtx.gz``) and edge-list CSV/TSV.

Reading always yields a :class:`GraphData`: an undirected simple graph with internal 0-based vertex ids,
edges ``u < v`` sorted by ``(u, v)`` and positive float64 weights.

Matrix Market rules (coordinate format, ``real``/``integer``/``pattern``, ``general``/``symmetric``/
``skew-symmetric``):

* diagonal entries are ignored (a Laplacian's diagonal carries no edge);
* values are read as ``|value|`` (Laplacian-form files have negative off-diagonals);
* a repeated ``(i, j)`` entry is summed (Matrix Market convention), with a warning;
* ``(i, j)`` and ``(j, i)`` describe one undirected edge: if both are present one edge is kept, and if
  their ``|values|`` differ the two are averaged, with a warning;
* zero weights are dropped with a warning; NaN/inf values are a :class:`~sparsewire.errors.ParseError`;
* ``n`` is the header's row count (isolated vertices are kept), ``base`` is 1, ``node_ids`` is None.

The reader parses with vectorised numpy (G3_circuit, 7.6 M entries, in about 3 s); any file the fast
path cannot take (comments or blank lines inside the body, malformed lines) goes through a line-by-line
parser, which names the offending line in its :class:`~sparsewire.errors.ParseError`.

Edge-list rules: separator ``,``, tab, or whitespace (chosen from the first data line); an optional header
line; ``#``/``%`` comment lines and blank lines are skipped; columns ``source target [weight [...]]`` --
every data line must have the same number of fields as the first one, extra columns are ignored, the
weight defaults to 1.0. NaN/inf/negative weights are errors; zero weights, self-loops and duplicate pairs
(in either orientation; weights summed) are dropped or merged with a warning. Vertex ids are integers or
strings; internal ids follow the **sorted** order of the distinct ids (numeric order for integer ids,
code-point order for strings). Integer ids that are exactly ``0..n-1`` or ``1..n`` give ``node_ids=None``
and ``base`` 0 or 1; other ids are returned in ``node_ids`` (int64 array or list of str) with ``base=0``.
A vertex named only on a dropped line (self-loop, zero weight) is still a vertex.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from sparsewire.errors import ParseError, TooLargeError

__all__ = ["GraphData", "read_graph", "write_edge_csv", "write_matrix_market"]

_HEADER_NAMES = {
    "source", "target", "src", "dst", "from", "to", "u", "v", "i", "j", "node1", "node2", "a", "b",
    "head", "tail", "id1", "id2", "source_id", "target_id", "weight", "w", "value",
}


@dataclass(frozen=True, eq=False)
class GraphData:
    """An undirected weighted graph as read from a file (or, read with ``directed=True``, a directed one).

    Attributes
    ----------
    n : int
        Number of vertices (internal ids ``0..n-1``).
    u, v : numpy.ndarray of int64
        Edge endpoints, ``u < v``, sorted by ``(u, v)``, no duplicates; for a directed graph arcs ``u -> v``
        (either order), sorted by ``(u, v)``, no duplicate ordered pairs.
    w : numpy.ndarray of float64
        Edge weights, all finite and ``> 0``.
    node_ids : None, numpy.ndarray of int64, or list of str
        External id of each internal vertex; None when the external id is ``internal + base``.
    base : int
        Offset of the external ids when ``node_ids`` is None (1 for Matrix Market).
    warnings : list of str
        Human-readable notes about dropped or merged input.
    """

    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    node_ids: np.ndarray | list[str] | None = None
    base: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        """Number of edges."""
        return int(self.u.shape[0])

    def external_id(self, i: int) -> Any:
        """External id of internal vertex ``i``."""
        if self.node_ids is None:
            return int(i) + self.base
        x = self.node_ids[int(i)]
        return int(x) if isinstance(x, np.integer) else x


# ----------------------------------------------------------------------------------------------- input
def _gunzip(data: bytes, max_bytes: int | None) -> bytes:
    """Decompress (multi-member) gzip without ever holding more than ``max_bytes`` of output."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(31)
            chunk = d.decompress(rest, (max_bytes - size + 1) if max_bytes is not None else 0)
            size += len(chunk)
            if max_bytes is not None and (size > max_bytes or d.unconsumed_tail):
                raise TooLargeError(f"gzip body inflates beyond {max_bytes} bytes")
            out.append(chunk)
            tail = d.flush()
            size += len(tail)
            out.append(tail)
            if not d.eof:
                raise ParseError("truncated gzip data: the body ends before the end of the compressed stream")
            rest = d.unused_data
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip data: {exc}") from exc
    return b"".join(out)


def _read_bytes(source: Any, max_bytes: int | None = None) -> tuple[bytes, str | None]:
    name = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as fh:
            data = fh.read()
    elif hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
    else:
        raise TypeError(f"cannot read a graph from {type(source).__name__}")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes)
    return data, name


def read_graph(source: Any, *, fmt: str = "auto", header: bool | None = None, max_nodes: int | None = None,
               max_bytes: int | None = None, signed: bool = False, directed: bool = False) -> GraphData:
    """Read an undirected weighted graph (or a directed one).

    Parameters
    ----------
    source : path, bytes, or binary file object
        gzip-compressed input is detected by its magic bytes.
    fmt : {"auto", "mtx", "csv"}
        ``auto`` picks Matrix Market when the data starts with ``%%MatrixMarket``, CSV otherwise.
    header : bool, optional
        CSV only: whether the first data line is a header; None guesses (a non-numeric weight column, or
        the first two fields being usual column names such as ``source,target``).
    signed : bool
        Keep the signs of weights (a signed graph): Matrix Market values are not read as ``|value|`` and
        edge-list weights may be negative.  Merged entries sum with their signs; a sum of 0 is dropped with a
        warning.
    directed : bool
        Keep arcs instead of undirected edges: an edge-list line ``source target`` is the arc source -> target,
        and a Matrix Market entry ``A[i, j]`` is the arc j -> i (row i listens to column j, the convention of a
        directed Laplacian ``L = D - A``; the same as :func:`sparsewire.analysis.loaders.load_graph`).  A
        ``symmetric`` file gives both arcs, a ``skew-symmetric`` one the mirrored arc with the opposite sign.
        Repeated ordered pairs are summed.

    Returns
    -------
    GraphData

    Raises
    ------
    ParseError
        Malformed input; the message starts with ``line N:`` where a line is at fault.
    TooLargeError
        A gzip body inflating beyond ``max_bytes``, or a Matrix Market header declaring more than ``max_nodes``
        vertices (checked before anything of that size is allocated).
    """
    if fmt not in ("auto", "mtx", "csv"):
        raise ValueError(f"fmt must be 'auto', 'mtx' or 'csv', got {fmt!r}")
    data, _ = _read_bytes(source, max_bytes)
    if fmt == "auto":
        fmt = "mtx" if data.lstrip()[:14].lower() == b"%%matrixmarket" else "csv"
    if fmt == "mtx":
        return _read_mtx(data, max_nodes, signed, directed)
    return _read_csv(data, header, signed, directed)


# ------------------------------------------------------------------------------------------ MatrixMarket
def _mm_header(data: bytes) -> tuple[int, int, int, str, int, int]:
    """Parse banner + comments + size line: ``(n, nnz, fields, symmetry, body_offset, body_first_line)``."""
    pos = 0
    line_no = 0
    banner = None
    while True:
        if pos >= len(data):
            if banner is None:
                raise ParseError("line 1: empty file, expected a %%MatrixMarket banner")
            raise ParseError(f"line {line_no}: missing size line 'rows cols entries'")
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        raw = data[pos:end].decode("utf-8", "replace").strip()
        pos = end + 1
        line_no += 1
        if banner is None:
            banner = raw.split()
            if not banner or banner[0].lower() != "%%matrixmarket":
                raise ParseError("line 1: expected a '%%MatrixMarket' banner")
            if len(banner) != 5:
                raise ParseError("line 1: banner must be "
                                 "'%%MatrixMarket matrix coordinate <field> <symmetry>'")
            obj, form, fld, sym = (b.lower() for b in banner[1:])
            if obj != "matrix":
                raise ParseError(f"line 1: unsupported object {obj!r} (only 'matrix')")
            if form != "coordinate":
                raise ParseError(f"line 1: unsupported format {form!r} (only 'coordinate')")
            if fld not in ("real", "integer", "pattern", "double"):
                raise ParseError(f"line 1: unsupported field {fld!r} (real, integer or pattern)")
            if sym not in ("general", "symmetric", "skew-symmetric"):
                raise ParseError(f"line 1: unsupported symmetry {sym!r} (general, symmetric, skew-symmetric)")
            continue
        if not raw or raw.startswith("%"):
            continue
        parts = raw.split()
        try:
            if len(parts) != 3:
                raise ValueError
            rows, cols, nnz = (int(p) for p in parts)
        except ValueError:
            raise ParseError(
                f"line {line_no}: expected size line 'rows cols entries', got {raw[:60]!r}") from None
        if rows != cols:
            raise ParseError(f"line {line_no}: adjacency matrix must be square, got {rows} x {cols}")
        if rows < 0 or nnz < 0:
            raise ParseError(f"line {line_no}: negative size")
        pattern = banner[3].lower() == "pattern"
        return rows, nnz, (2 if pattern else 3), banner[4].lower(), pos, line_no + 1


def _mm_fast(body: bytes, n: int, nnz: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Vectorised parse of a clean body; None when anything looks off (the slow path then decides)."""
    if b"%" in body:
        return None
    nlines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    if nlines != nnz:
        return None
    tok = body.split()
    if len(tok) != nnz * k:
        return None
    if nnz == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    try:
        i = np.array(tok[0::k]).astype(np.int64)
        j = np.array(tok[1::k]).astype(np.int64)
        x = np.array(tok[2::k]).astype(np.float64) if k == 3 else np.ones(nnz)
    except (ValueError, OverflowError):
        return None
    del tok
    if i.min() < 1 or j.min() < 1 or i.max() > n or j.max() > n or not np.all(np.isfinite(x)):
        return None
    return i - 1, j - 1, x


def _mm_slow(text_lines: list[str], first_line: int, n: int, nnz: int, k: int):  # noqa: ANN202
    ii: list[int] = []
    jj: list[int] = []
    xx: list[float] = []
    last = first_line - 1
    for off, raw in enumerate(text_lines):
        ln = first_line + off
        s = raw.strip()
        if not s or s.startswith("%"):
            continue
        last = ln
        parts = s.split()
        if len(parts) != k:
            raise ParseError(f"line {ln}: expected {k} fields, got {len(parts)}")
        if len(ii) >= nnz:
            raise ParseError(f"line {ln}: more entries than the {nnz} declared in the size line")
        try:
            a, b = int(parts[0]), int(parts[1])
        except ValueError:
            raise ParseError(f"line {ln}: invalid index in {s[:60]!r}") from None
        if not (1 <= a <= n and 1 <= b <= n):
            raise ParseError(f"line {ln}: index out of range 1..{n} in {s[:60]!r}")
        x = 1.0
        if k == 3:
            try:
                x = float(parts[2])
            except ValueError:
                raise ParseError(f"line {ln}: invalid value {parts[2][:40]!r}") from None
            if not math.isfinite(x):
                raise ParseError(f"line {ln}: non-finite value {parts[2]!r}")
        ii.append(a - 1)
        jj.append(b - 1)
        xx.append(x)
    if len(ii) != nnz:
        raise ParseError(f"line {max(last, first_line - 1)}: expected {nnz} entries, found {len(ii)}")
    return np.array(ii, np.int64), np.array(jj, np.int64), np.array(xx, np.float64)


def _read_mtx(data: bytes, max_nodes: int | None = None, signed: bool = False, directed: bool = False) -> GraphData:
    n, nnz, k, symmetry, off, first = _mm_header(data)
    if max_nodes is not None and n > max_nodes:
        raise TooLargeError(f"the Matrix Market header declares {n} vertices; the limit is {max_nodes}")
    body = data[off:]
    got = _mm_fast(body, n, nnz, k)
    if got is None:
        got = _mm_slow(body.decode("utf-8", "replace").split("\n"), first, n, nnz, k)
    i, j, x = got
    warnings: list[str] = []
    keep = i != j
    i, j, x = i[keep], j[keep], x[keep]
    if directed:
        if symmetry != "general":  # the file stores one triangle: add the mirrored entries
            mirrored = -x if symmetry == "skew-symmetric" else x
            i, j, x = np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([x, mirrored])
        if not signed:
            x = np.abs(x)
        u, v, w, warn = _arcs(j, i, x, lambda a: int(a) + 1)  # A[i, j] is the arc j -> i
        return GraphData(n=int(n), u=u, v=v, w=w, node_ids=None, base=1, warnings=warn)
    # 1) repeated ordered entries are summed (MM convention)
    nn = np.int64(max(n, 1))
    okey = i * nn + j
    ukeys, inv, cnt = np.unique(okey, return_inverse=True, return_counts=True)
    if ukeys.shape[0] != okey.shape[0]:
        nrep = int((cnt > 1).sum())
        first_rep = int(ukeys[np.argmax(cnt > 1)])
        warnings.append(f"{nrep} repeated entries were summed (Matrix Market convention), first "
                        f"({first_rep // nn + 1}, {first_rep % nn + 1})")
        x = np.bincount(inv, weights=x, minlength=ukeys.shape[0])
        i, j = ukeys // nn, ukeys % nn
    if not signed:
        x = np.abs(x)
    # 2) (i, j) and (j, i) are one undirected edge
    a, b = np.minimum(i, j), np.maximum(i, j)
    key = a * nn + b
    order = np.argsort(key, kind="stable")
    key, x = key[order], x[order]
    uk, start, cnt = np.unique(key, return_index=True, return_counts=True)
    w = x[start].copy()
    both = np.flatnonzero(cnt == 2)
    if both.shape[0]:
        x1, x2 = x[start[both]], x[start[both] + 1]
        diff = x1 != x2
        w[both] = np.where(diff, 0.5 * (x1 + x2), x1)
        if diff.any():
            f = both[np.argmax(diff)]
            warnings.append(f"{int(diff.sum())} edges given as (i, j) and (j, i) with different |values| "
                            f"were averaged, first ({uk[f] // nn + 1}, {uk[f] % nn + 1})")
    u, v = uk // nn, uk % nn
    zero = w == 0
    if zero.any():
        f = int(np.argmax(zero))
        warnings.append(f"{int(zero.sum())} zero-weight edges dropped, first ({u[f] + 1}, {v[f] + 1})")
        u, v, w = u[~zero], v[~zero], w[~zero]
    return GraphData(n=int(n), u=u.astype(np.int64), v=v.astype(np.int64), w=w.astype(np.float64),
                     node_ids=None, base=1, warnings=warnings)


# ------------------------------------------------------------------------------------------------- CSV
def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [f.strip() for f in line.split(delim)]


def _arcs(a: np.ndarray, b: np.ndarray, w: np.ndarray, show: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                           list[str]]:
    """Distinct arcs ``a -> b`` sorted by ``(a, b)``: repeated ordered pairs summed, zero sums dropped; with
    warnings naming the first case (``show`` maps an internal id to its external form)."""
    warnings: list[str] = []
    nn = np.int64(max(int(a.max(initial=0)), int(b.max(initial=0))) + 1)
    key = a.astype(np.int64) * nn + b
    uk, first, inv = np.unique(key, return_index=True, return_inverse=True)
    if uk.shape[0] != key.shape[0]:
        rep = np.ones(key.shape[0], bool)
        rep[first] = False
        f = int(key[np.argmax(rep)])
        warnings.append(f"{int(rep.sum())} repeated arcs summed, first ({show(f // nn)} -> {show(f % nn)})")
    w = np.bincount(inv.ravel(), weights=w, minlength=uk.shape[0])
    u, v = uk // nn, uk % nn
    zero = w == 0
    if zero.any():
        f = int(np.argmax(zero))
        warnings.append(f"{int(zero.sum())} arcs of weight 0 dropped, first ({show(u[f])} -> {show(v[f])})")
        u, v, w = u[~zero], v[~zero], w[~zero]
    return u.astype(np.int64), v.astype(np.int64), np.asarray(w, np.float64), warnings


def _read_csv(data: bytes, header: bool | None, signed: bool = False, directed: bool = False) -> GraphData:
    text = data.decode("utf-8-sig", "replace")
    src: list[str] = []
    dst: list[str] = []
    wts: list[float] = []
    lns: list[int] = []
    delim: str | None = ""
    k = 0
    seen_first = False
    for ln, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s[0] in "#%":
            continue
        if delim == "":
            delim = "," if "," in s else ("\t" if "\t" in s else None)
        parts = _split(s, delim)
        if not seen_first:
            seen_first = True
            is_header = header
            if is_header is None:
                names = [p.lower() for p in parts[:2]]
                is_header = (len(parts) >= 3 and not _is_float(parts[2])) or (
                    len(names) == 2 and all(x in _HEADER_NAMES for x in names))
            if is_header:
                continue
        if k == 0:
            if len(parts) < 2:
                raise ParseError(f"line {ln}: expected at least 2 fields, got {len(parts)}")
            k = len(parts)
        if len(parts) != k:
            raise ParseError(f"line {ln}: expected {k} fields, got {len(parts)}")
        if not parts[0] or not parts[1]:
            raise ParseError(f"line {ln}: empty vertex id")
        wt = 1.0
        if k >= 3:
            try:
                wt = float(parts[2])
            except ValueError:
                raise ParseError(f"line {ln}: invalid weight {parts[2][:40]!r}") from None
            if not math.isfinite(wt):
                raise ParseError(f"line {ln}: non-finite weight {parts[2]!r}")
            if wt < 0 and not signed:
                raise ParseError(f"line {ln}: negative weight {parts[2]!r}")
        src.append(parts[0])
        dst.append(parts[1])
        wts.append(wt)
        lns.append(ln)

    warnings: list[str] = []
    m0 = len(src)
    node_ids: np.ndarray | list[str] | None
    try:
        ids = np.array([int(s) for s in src] + [int(s) for s in dst], dtype=np.int64)
        uniq, inv = np.unique(ids, return_inverse=True)
        base = 0
        if uniq.shape[0] and uniq[0] in (0, 1) and uniq[-1] - uniq[0] == uniq.shape[0] - 1:
            node_ids, base = None, int(uniq[0])
        else:
            node_ids = uniq.astype(np.int64)
    except (ValueError, OverflowError):
        sids = np.array(src + dst, dtype=object)
        uniq_s = sorted(set(src) | set(dst))
        index = {s: i for i, s in enumerate(uniq_s)}
        inv = np.fromiter((index[s] for s in sids), dtype=np.int64, count=sids.shape[0])
        node_ids, base = uniq_s, 0
        uniq = np.arange(len(uniq_s))
    n = int(uniq.shape[0])
    a, b = inv[:m0].astype(np.int64), inv[m0:].astype(np.int64)
    w = np.array(wts, dtype=np.float64)
    lines = np.array(lns, dtype=np.int64)

    loop = a == b
    if loop.any():
        warnings.append(f"{int(loop.sum())} self-loops dropped, first on line {int(lines[np.argmax(loop)])}")
    zero = (w == 0) & ~loop
    if zero.any():
        warnings.append(f"{int(zero.sum())} zero-weight edges dropped, "
                        f"first on line {int(lines[np.argmax(zero)])}")
    keep = ~(loop | zero)
    a, b, w, lines = a[keep], b[keep], w[keep], lines[keep]
    if directed:
        u, v, w, warn = _arcs(a, b, w, lambda i: _show_id(node_ids, base, int(i)))
        return GraphData(n=n, u=u, v=v, w=w, node_ids=node_ids, base=base, warnings=warnings + warn)
    u, v = np.minimum(a, b), np.maximum(a, b)
    nn = np.int64(max(n, 1))
    key = u * nn + v
    uk, first, inv2 = np.unique(key, return_index=True, return_inverse=True)
    if uk.shape[0] != key.shape[0]:
        rep = np.ones(key.shape[0], dtype=bool)
        rep[first] = False
        warnings.append(f"{int(rep.sum())} duplicate pairs merged (weights summed), first on line "
                        f"{int(lines[np.argmax(rep)])}")
        w = np.bincount(inv2, weights=w, minlength=uk.shape[0])
    else:
        w = w[np.argsort(key, kind="stable")]
    u, v = uk // nn, uk % nn
    cancelled = w == 0  # signed parallel edges that sum to zero
    if cancelled.any():
        f = int(np.argmax(cancelled))
        warnings.append(f"{int(cancelled.sum())} pairs whose signed weights sum to 0 dropped, first "
                        f"({_show_id(node_ids, base, int(u[f]))}, {_show_id(node_ids, base, int(v[f]))})")
        u, v, w = u[~cancelled], v[~cancelled], w[~cancelled]
    return GraphData(n=n, u=u.astype(np.int64), v=v.astype(np.int64), w=np.asarray(w, np.float64),
                     node_ids=node_ids, base=base, warnings=warnings)


def _show_id(node_ids: Any, base: int, i: int) -> Any:
    return i + base if node_ids is None else node_ids[i]


# ---------------------------------------------------------------------------------------------- output
def _open_out(path_or_file: Any) -> tuple[IO[Any], bool, bool]:
    """(handle, binary, we_own_it)."""
    if isinstance(path_or_file, (str, os.PathLike)):
        p = os.fspath(path_or_file)
        if p.endswith(".gz"):
            raw = open(p, "wb")  # noqa: SIM115
            return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0), True, True
        return open(p, "wb"), True, True  # noqa: SIM115
    binary = not isinstance(path_or_file, io.TextIOBase)
    return path_or_file, binary, False


def _emit(path_or_file: Any, chunks: list[str]) -> None:
    fh, binary, own = _open_out(path_or_file)
    try:
        for c in chunks:
            fh.write(c.encode("utf-8") if binary else c)
    finally:
        if own:
            inner = getattr(fh, "fileobj", None)
            fh.close()
            if inner is not None:
                inner.close()


def _check_edges(n: int, u: Any, v: Any, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    if not (u.shape == v.shape == w.shape) or u.ndim != 1:
        raise ValueError("u, v, w must be 1-d arrays of equal length")
    if u.shape[0] and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
        raise ValueError(f"vertex ids must lie in 0..{n - 1}")
    if np.any(u == v):
        raise ValueError("self-loops cannot be written")
    return u, v, w


def _lines(rows: list[Any], cols: list[Any], vals: list[float], sep: str) -> list[str]:
    out: list[str] = []
    step = 1 << 16
    for s in range(0, len(rows), step):
        out.append("".join(f"{r}{sep}{c}{sep}{x!r}\n" for r, c, x in
                           zip(rows[s:s + step], cols[s:s + step], vals[s:s + step], strict=True)))
    return out


def write_matrix_market(path_or_file: Any, n: int, u: Any, v: Any, w: Any, *, base: int = 1,
                        comment: str | None = None) -> None:
    """Write a ``coordinate real symmetric`` Matrix Market file (lower triangle, ``row > col``).

    Entries are sorted column-major (by column, then row) and values are written with Python's
    shortest round-trip ``repr``, so reading the file back gives bit-identical weights. A path ending in
    ``.gz`` is gzip-compressed (mtime 0, deterministic). ``base`` is the id offset (1 is standard Matrix
    Market; 0 only for legacy 0-based consumers). ``comment`` lines are written as ``%`` lines.
    """
    u, v, w = _check_edges(n, u, v, w)
    row = np.maximum(u, v)
    col = np.minimum(u, v)
    order = np.lexsort((row, col))
    head = ["%%MatrixMarket matrix coordinate real symmetric\n"]
    if comment:
        head.extend(f"% {c}\n" if c else "%\n" for c in comment.splitlines())
    head.append(f"{n} {n} {u.shape[0]}\n")
    body = _lines((row[order] + base).tolist(), (col[order] + base).tolist(), w[order].tolist(), " ")
    _emit(path_or_file, head + body)


def write_edge_csv(path_or_file: Any, n: int, u: Any, v: Any, w: Any, *, node_ids: Any = None, base: int = 0,
                   header: bool = True, delimiter: str = ",") -> None:
    """Write an edge list ``source,target,weight`` (one line per edge, sorted by internal ``(min, max)``).

    External ids are ``node_ids[i]`` when given, else ``i + base``; weights use ``repr``. Isolated vertices
    are not representable in an edge list (read back, ``n`` counts only the vertices that appear).
    """
    u, v, w = _check_edges(n, u, v, w)
    a = np.minimum(u, v)
    b = np.maximum(u, v)
    order = np.lexsort((b, a))
    a, b, ws = a[order], b[order], w[order].tolist()
    if node_ids is None:
        ea, eb = (a + base).tolist(), (b + base).tolist()
    else:
        ids = list(node_ids.tolist() if isinstance(node_ids, np.ndarray) else node_ids)
        if len(ids) < n:
            raise ValueError("node_ids must have n entries")
        ea = [ids[i] for i in a.tolist()]
        eb = [ids[i] for i in b.tolist()]
    head = [delimiter.join(("source", "target", "weight")) + "\n"] if header else []
    _emit(path_or_file, head + _lines(ea, eb, ws, delimiter))
