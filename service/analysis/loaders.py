"""Read signed graphs from files: CSV edge lists, Matrix Market, KONECT ``out.*`` TSV, PACE ``.gr``.

* CSV: ``source,target[,weight[,...]]``, optional header, ``.gz`` allowed (e.g. SNAP Bitcoin OTC
  ``SOURCE,TARGET,RATING,TIME``).  Ids stay as written (ints when every id is an integer).
* Matrix Market (``.mtx[.gz]``): ``A[i, j]`` is an edge ``j -> i``; symmetric files give undirected graphs;
  diagonal entries are dropped (reported as self-loops).
* KONECT ``out.*``: ``%`` comment lines, then ``u v [weight ...]`` (1-based ids kept as given).
* PACE ``.gr``: ``p tw n m`` then ``u v`` lines (1-based).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import ParseError
from .graph import SignedGraph


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)  # noqa: SIM115


def _edges_to_graph(src: list[str], dst: list[str], w: list[float], directed: bool) -> SignedGraph:
    tokens = list(dict.fromkeys(src + dst))
    try:
        ids: list = [int(t) for t in tokens]
    except ValueError:
        ids = tokens
    index = {t: k for k, t in enumerate(tokens)}
    u = np.fromiter((index[t] for t in src), dtype=np.int64, count=len(src))
    v = np.fromiter((index[t] for t in dst), dtype=np.int64, count=len(dst))
    return SignedGraph.from_arrays(len(ids), u, v, np.asarray(w, dtype=float), directed=directed, ids=ids)


def _read_rows(path: Path, sep: str | None, comment: str) -> SignedGraph | tuple:
    src, dst, w = [], [], []
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith(comment):
                continue
            parts = [p.strip() for p in (line.split(sep) if sep else line.split())]
            if len(parts) < 2:
                raise ParseError(f"{path.name}:{lineno}: expected 'source target [weight]'")
            weight = 1.0
            if len(parts) >= 3 and parts[2] != "":
                try:
                    weight = float(parts[2])
                except ValueError:
                    if not src:  # header line
                        continue
                    raise ParseError(f"{path.name}:{lineno}: weight {parts[2]!r} is not a number") from None
            elif not src and not parts[0].lstrip("-").isdigit():
                continue  # header without weight column
            src.append(parts[0])
            dst.append(parts[1])
            w.append(weight)
    return src, dst, w


def load_graph(path: str | Path, *, directed: bool | None = None) -> SignedGraph:
    """Load ``path`` by its name (see module docstring).  ``directed=None`` uses the format's default
    (CSV: directed; KONECT: from its ``% sym``/``% asym`` header; Matrix Market: from its symmetry; ``.gr``:
    undirected).

    Raises :class:`~sparsewire.errors.ParseError` naming the line, or the file when it is not a text graph file
    at all (binary data, an archive, damaged gzip, a directory); :class:`FileNotFoundError` when it is missing.
    """
    path = Path(path)
    if path.is_dir():
        raise ParseError(f"{path}: is a directory, not a graph file")
    if path.suffix.lower() == ".zip":
        raise ParseError(f"{path.name}: zip archives are not read; unpack it and pass the edge list inside")
    try:
        return _load(path, directed)
    except UnicodeDecodeError:
        raise ParseError(f"{path.name}: not a text graph file (its bytes are not UTF-8 text)") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ParseError(f"{path.name}: damaged gzip data ({exc})") from None
    except (PermissionError, IsADirectoryError) as exc:
        raise ParseError(f"{path}: cannot be read ({exc.strerror})") from None


def _load(path: Path, directed: bool | None) -> SignedGraph:
    name = path.name.removesuffix(".gz")
    if name.endswith(".mtx"):
        import scipy.io

        try:
            info = scipy.io.mminfo(str(path))
            mat = scipy.io.mmread(str(path)).tocoo()
        except Exception as exc:  # scipy raises ValueError/IndexError on malformed files
            raise ParseError(f"{path.name}: not a Matrix Market file ({exc})") from None
        sym = info[-1] != "general"
        und = sym if directed is None else not directed
        rows, cols, vals = mat.row, mat.col, mat.data
        if und and sym:
            keep = rows >= cols
            rows, cols, vals = rows[keep], cols[keep], vals[keep]
        vals = np.where(np.asarray(vals, dtype=float) == 0, 1.0, vals) if info[-2] == "pattern" else vals
        return SignedGraph.from_arrays(mat.shape[0], cols, rows, np.asarray(vals, dtype=float), directed=not und,
                                       ids=list(range(1, mat.shape[0] + 1)))
    if name.endswith(".gr"):
        src, dst, w = [], [], []
        n = None
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                parts = line.split()
                if not parts or parts[0] == "c":
                    continue
                if parts[0] == "p":
                    n = int(parts[2])
                    continue
                if len(parts) < 2:
                    raise ParseError(f"{path.name}:{lineno}: expected 'u v'")
                src.append(int(parts[0]) - 1)
                dst.append(int(parts[1]) - 1)
        if n is None:
            raise ParseError(f"{path.name}: missing 'p tw n m' header")
        return SignedGraph.from_arrays(n, src, dst, None, directed=bool(directed), ids=list(range(1, n + 1)))
    if name.startswith("out."):
        with _open_text(path) as fh:
            head = fh.readline()
        sym = "asym" not in head
        src, dst, w = _read_rows(path, None, "%")
        return _edges_to_graph(src, dst, w, (not sym) if directed is None else directed)
    sep = "\t" if name.endswith((".tsv", ".txt")) else ","
    src, dst, w = _read_rows(path, sep, "#")
    return _edges_to_graph(src, dst, w, True if directed is None else directed)
