"""Signed consensus dynamics and regime classification (spec §1.3).

Continuous time ``x' = -L x``; discrete rounds ``x(k+1) = (I - eps L) x(k)``.  For the opposing Laplacian
(Altafini 2013), in a strongly connected graph 0 is a simple eigenvalue iff the graph is structurally balanced,
with right null vector ``sigma`` (the gauge) and limit ``x(inf) = sigma (l' x0)``; otherwise every eigenvalue has
``Re > 0`` and opinions decay to 0 (possibly with *damped* oscillation).  For a general digraph ``L`` is
block-triangular in the condensation order and the multiplicity of 0 equals the number of balanced *root* strongly
connected components (SCCs that listen to nobody outside themselves); Shi–Altafini–Baras, SIAM Rev. 2019.

Regimes: ``consensus``, ``bipartite_consensus``, ``partial_bipartite``, ``neutralized``, ``fragmented``,
``unstable`` (only reachable with ``variant="repelling"``, or with too large a discrete step).

Numerics: dense LAPACK (``eigh`` for symmetric ``L``, ``eig`` otherwise), ``O(n^3)``, ``n <= max_nodes``
(default 2,000, else :class:`~sparsewire.errors.TooLargeError`).  Zero tests use
``tol = 1e-9 * max(1, max_i d_i)``; for the opposing and unsigned variants the zero multiplicity is taken from the
exact structural count (balanced root SCCs) and cross-checked against the spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import InvalidInputError
from .balance import is_balanced
from .graph import DEFAULT_MAX_DENSE_NODES, SignedGraph, clean, conventions, warning
from .laplacians import check_variant, laplacian

SPECTRUM_LIMIT = 50


def root_components(graph: SignedGraph) -> tuple[np.ndarray, list[int]]:
    """SCC labels and the labels of root SCCs (no edge enters them from another SCC), ``O(n + m)``."""
    n = graph.n
    if n == 0:
        return np.zeros(0, dtype=np.int64), []
    if not graph.directed:
        mat = coo_matrix((np.ones(graph.m), (graph.src, graph.dst)), shape=(n, n))
        _, lab = connected_components(mat, directed=False)
        return lab, sorted(set(lab.tolist()), key=lambda c: int(np.flatnonzero(lab == c)[0]))
    mat = coo_matrix((np.ones(graph.m), (graph.src, graph.dst)), shape=(n, n))
    _, lab = connected_components(mat, directed=True, connection="strong")
    fed = set(lab[graph.dst[lab[graph.src] != lab[graph.dst]]].tolist())
    first = {}
    for k, c in enumerate(lab.tolist()):
        first.setdefault(c, k)
    return lab, sorted((c for c in first if c not in fed), key=first.get)


def _subgraph(graph: SignedGraph, verts: np.ndarray) -> SignedGraph:
    mask = np.zeros(graph.n, dtype=bool)
    mask[verts] = True
    local = -np.ones(graph.n, dtype=np.int64)
    local[verts] = np.arange(verts.size)
    e = mask[graph.src] & mask[graph.dst]
    return SignedGraph.from_arrays(verts.size, local[graph.src[e]], local[graph.dst[e]], graph.weight[e],
                                   directed=graph.directed)


def null_spaces(mat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases (columns) of the right and left null spaces of ``mat``: its ``k`` least singular
    directions, ``mat r ≈ 0`` and ``l' mat ≈ 0``, from one SVD ``mat = U Σ V'`` (last ``k`` columns of V and U)."""
    if k == 0:
        return np.zeros((mat.shape[1], 0)), np.zeros((mat.shape[0], 0))
    u, _, vh = np.linalg.svd(mat)
    return vh[-k:].conj().T.real, u[:, -k:].real


def _canonical(r: np.ndarray) -> np.ndarray:
    big = np.abs(r).max()
    first = np.flatnonzero(np.abs(r) > 1e-9 * big)[0]
    return r * np.sign(r[first]) / big


def spectrum_clusters(eigs: np.ndarray, tol: float) -> list[dict[str, Any]]:
    """Eigenvalues sorted by (Re, Im) and grouped within ``tol``: ``[{re, im, multiplicity}]``."""
    vals = sorted(eigs.tolist() if np.iscomplexobj(eigs) else [complex(x) for x in eigs],
                  key=lambda z: (z.real, z.imag))
    out: list[dict[str, Any]] = []
    for z in vals:
        if out and abs(complex(out[-1]["re"], out[-1]["im"]) - z) <= tol:
            out[-1]["multiplicity"] += 1
            continue
        out.append({"re": clean(z.real, tol), "im": clean(z.imag, tol), "multiplicity": 1})
    out.sort(key=lambda c: (c["re"], c["im"]))
    return out


def eigenvalues(lap: np.ndarray, symmetric: bool) -> np.ndarray:
    return np.linalg.eigvalsh(lap).astype(complex) if symmetric else np.linalg.eigvals(lap)


@dataclass(frozen=True)
class ConsensusResult:
    """Regime and spectral data of ``x' = -L x`` (or the discrete rounds).

    Attributes
    ----------
    regime : str
        One of the spec §1.3 regimes.
    oscillatory : bool
        Some eigenvalue has ``|Im| > tol`` (damped unless on the imaginary axis).
    spectrum : list of dict
        ``[{re, im, multiplicity}]`` sorted by Re then Im, first 50 (``spectrum_truncated``).
    zero_multiplicity : int
    convergence_rate : float or None
        Smallest ``Re`` over the non-zero eigenvalues.
    algebraic_connectivity : dict or None
        Undirected only: ``{variant, value, lambda_min}``; ``value`` is the second-smallest eigenvalue when the
        smallest is 0, else ``None`` (trap C9).
    null_vectors : dict
        ``{right: [[...]], left: [[...]]}`` bases of the zero eigenspace (``l' r = 1`` when simple).
    predicted_limit : list or None
    influence_share : float or None
    root_components : list of dict
        ``{nodes, balanced}`` per root SCC.
    discrete : dict or None
    """

    regime: str
    oscillatory: bool
    spectrum: list
    spectrum_truncated: bool
    zero_multiplicity: int
    convergence_rate: float | None
    algebraic_connectivity: dict | None
    null_vectors: dict
    predicted_limit: list | None
    influence_share: float | None
    root_components: list
    balanced: bool
    discrete: dict | None
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _zero_multiplicity(graph: SignedGraph, variant: str, eigs: np.ndarray, tol: float, roots: list,
                       lab: np.ndarray, warns: list) -> tuple[int, list[dict]]:
    root_info = []
    for c in roots:
        verts = np.flatnonzero(lab == c)
        bal = is_balanced(_subgraph(graph, verts)) if variant == "opposing" else True
        root_info.append({"nodes": graph.id_list(verts), "balanced": bal})
    numeric = int((np.abs(eigs) <= tol).sum())
    if variant == "repelling":
        return numeric, root_info
    structural = sum(1 for r in root_info if r["balanced"])
    if numeric != structural:
        warns.append(warning("zero_count_mismatch", f"spectrum shows {numeric} eigenvalue(s) within tol of 0; "
                             f"the structural count (balanced root SCCs) is {structural}; using the latter"))
    return structural, root_info


def consensus(
    graph: SignedGraph,
    *,
    variant: str = "opposing",
    time: str = "continuous",
    step: float | None = None,
    initial_state: Any = None,
    hidden: Any = None,
    max_nodes: int = DEFAULT_MAX_DENSE_NODES,
) -> ConsensusResult:
    """Classify the consensus regime of ``graph`` (spec §1.3).

    Parameters
    ----------
    variant : {"opposing", "repelling", "unsigned"}
    time : {"continuous", "discrete"}
        Discrete rounds use ``I - step L``; ``step`` defaults to ``1 / (1 + max_i d_i)`` (inside the sufficient
        condition ``0 < step < 1 / max_i d_i`` of Gershgorin).
    initial_state : list or dict, optional
        ``x0`` by node order or ``{id: value}``; gives ``predicted_limit = R (Λ' R)^-1 Λ' x0`` with ``R``, ``Λ``
        right/left null bases.
    hidden : list, optional
        Hidden agents; ``influence_share = sum_{h in H} |l_h| / sum_j |l_j|`` (simple zero eigenvalue only).
    """
    check_variant(variant)
    if time not in ("continuous", "discrete"):
        raise InvalidInputError(f"time must be 'continuous' or 'discrete', got {time!r}")
    graph.require_dense(max_nodes, "consensus")
    n = graph.n
    warns = list(graph.warnings)
    tol = graph.tolerance()
    lap = laplacian(graph, variant)
    symmetric = not graph.directed
    eigs = eigenvalues(lap, symmetric) if n else np.zeros(0, complex)
    lab, roots = root_components(graph)
    k, root_info = _zero_multiplicity(graph, variant, eigs, tol, roots, lab, warns)
    bal = is_balanced(graph) if variant == "opposing" else True
    order = np.argsort(np.abs(eigs), kind="stable")
    nonzero = eigs[order[k:]]
    min_re = float(eigs.real.min()) if n else 0.0
    oscillatory = bool(n and np.abs(eigs.imag).max() > tol)
    rate = clean(nonzero.real.min(), tol) if nonzero.size else None

    right = left = np.zeros((n, 0))
    if k:
        right, left = null_spaces(lap, k)
        if k == 1:
            right = _canonical(right[:, 0])[:, None]
            left = left / float(left[:, 0] @ right[:, 0])
    if min_re < -tol:
        regime = "unstable"
    elif k == 0:
        regime = "neutralized"
    elif k > 1:
        regime = "fragmented"
    elif bal:
        r = right[:, 0]
        regime = "consensus" if bool(np.all(r > tol) or np.all(r < -tol)) else "bipartite_consensus"
    else:
        regime = "partial_bipartite"

    discrete = None
    if time == "discrete":
        dmax = float(graph.abs_in_degree().max()) if n else 0.0
        eps = step if step is not None else 1.0 / (1.0 + dmax)
        if not (eps > 0 and np.isfinite(eps)):
            raise InvalidInputError("step must be a positive finite number")
        mu = 1.0 - eps * eigs
        mu_nz = 1.0 - eps * nonzero
        radius = float(np.abs(mu_nz).max()) if mu_nz.size else 0.0
        if n and float(np.abs(mu).max()) > 1.0 + tol:
            regime = "unstable"
        discrete = {"step": eps, "step_condition": "0 < step < 1 / max_i d_i",
                    "step_condition_holds": bool(dmax == 0 or eps < 1.0 / dmax),
                    "spectral_radius_nonzero_modes": radius,
                    "alternating": bool(mu_nz.size and (mu_nz.real < -tol).any())}

    limit = None
    if initial_state is not None:
        x0 = _state_vector(graph, initial_state)
        if regime == "unstable":
            warns.append(warning("no_limit", "the dynamics diverge; no predicted limit"))
        elif k == 0:
            limit = [0.0] * n
        else:
            proj = right @ np.linalg.solve(left.T @ right, left.T @ x0)
            limit = [clean(x, tol) for x in proj]
    share = None
    if hidden is not None:
        h = graph.indices_of(hidden, "hidden")
        if k == 1:
            lab_abs = np.abs(left[:, 0])
            share = float(lab_abs[h].sum() / lab_abs.sum())
        else:
            warns.append(warning("influence_undefined", "influence_share needs a simple zero eigenvalue"))

    alg = None
    if symmetric and n:
        re = np.sort(eigs.real)
        alg = {"variant": variant, "lambda_min": clean(re[0], tol),
               "value": clean(re[1], tol) if (k >= 1 and n >= 2) else None}
        if k == 0:
            alg["note"] = "no zero eigenvalue: the second-smallest eigenvalue is not an algebraic connectivity"
    spec = spectrum_clusters(eigs, tol if symmetric else max(tol, 1e-7 * max(1.0, tol * 1e9)))
    return ConsensusResult(
        regime=regime, oscillatory=oscillatory, spectrum=spec[:SPECTRUM_LIMIT],
        spectrum_truncated=len(spec) > SPECTRUM_LIMIT, zero_multiplicity=int(k), convergence_rate=rate,
        algebraic_connectivity=alg,
        null_vectors={"right": [[clean(x, tol) for x in col] for col in right.T],
                      "left": [[clean(x, tol) for x in col] for col in left.T]},
        predicted_limit=limit, influence_share=share, root_components=root_info, balanced=bal,
        discrete=discrete, warnings=tuple(warns),
        conventions=conventions(graph, variant, time=time, dynamics="x' = -L x" if time == "continuous"
                                else "x(k+1) = (I - step L) x(k)"),
    )


def _state_vector(graph: SignedGraph, state: Any) -> np.ndarray:
    if isinstance(state, dict):
        x0 = np.zeros(graph.n)
        for key, val in state.items():
            x0[graph.index_of(key, "initial_state")] = float(val)
    else:
        x0 = np.asarray(state, dtype=float)
        if x0.shape != (graph.n,):
            raise InvalidInputError(f"initial_state must have {graph.n} entries, got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise InvalidInputError("initial_state must be finite")
    return x0
