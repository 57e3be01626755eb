"""Cosine search: every pair of embeddings within a cosine distance (1 - cosine).

Blocked products in fixed-size tiles. For large sets a first pass multiplies short vectors that
bound the cosine from above (mean-centred, principal axes, the tail folded into a
Cauchy-Schwarz term), so the full-width products are computed only for candidates. From
200,000 rows on, "auto" takes the approximate index (ann), exact on every pair it finds.
A query searches the pairs of some rows (new photos) in O(k * n); a cross search finds the
library rows near new ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np

from .ann import MIN_COSINE, lsh_pairs, plan_lsh
from .pairs import EXPAND_STEP, Neighbours, finish, no_pairs, query_pairs

# "approximate": multi-table hashing (search.ann), exact on every pair it finds, used by
# "auto" from _APPROXIMATE_FROM rows on, where exact search takes minutes.
EmbedMethod = Literal["auto", "index", "brute", "approximate"]

_EMB_ROWS = 2048
_EMB_COLS = 8192
# Float32 products are exact to about 1e-5 here; candidates get this much slack, then the
# pair is decided by one float64 dot product, the same for every method.
_EMB_SLACK = 1e-3
_PRUNE_BELOW = 8192
_PRUNE_DIMS = (32, 64, 96, 128, 192, 256, 384)
# Cost ratio of verifying one candidate pair to one full-width multiply-add per pair.
_VERIFY_PAIR = 4e-7
_GEMM_FLOP = 1.0e-11
# Exact search of 200,000 random 512-d rows takes minutes on 2 cores (it grows as n^2).
_APPROXIMATE_FROM = 200_000
# A query reads this many (query row, column) products per tile.
_QUERY_TILE = 1 << 18


def cosine_neighbours(
    embeddings: np.ndarray, max_distance: float, *, method: EmbedMethod = "auto"
) -> Neighbours:
    """Pairs with 1 - cosine <= max_distance; rows must be L2-normalised.

    "brute" and "index" are exact: candidates come from tiled float32 products (with slack),
    and each is decided by a float32 product of the two full rows. "approximate" (what "auto"
    uses from 200,000 rows on) decides the pairs it finds the same way but may miss a few
    (search.ann states how few). Memory: one tile plus O(n * dim).
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(emb)
    if n < 2:
        return no_pairs()
    min_sim = 1.0 - max_distance - 1e-6
    if method == "approximate" or (method == "auto" and approximate_suits(n, max_distance)):
        return _approximate(emb, min_sim)
    rows_m, cols_m = emb, emb
    if method == "index" or (method == "auto" and n >= _PRUNE_BELOW):
        bound = _cosine_bound(emb, min_sim, force=method == "index")
        if bound is not None:
            rows_m, cols_m = bound
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    pruned = rows_m is not emb
    slack = np.float32(min_sim - _EMB_SLACK) if pruned else np.float32(min_sim)
    for r0, c0, hot, tile in _tile_candidates(rows_m, cols_m, slack):
        c1 = c0 + tile.shape[1]
        # Decide on real float32 products: the tile itself when it holds them, else one BLAS
        # product of the surviving rows (a per-pair gather is ~10x slower on dense sets).
        sims = tile[hot] if not pruned else emb[hot + r0] @ emb[c0:c1].T
        rr, cc = np.nonzero(sims >= np.float32(min_sim))
        ii, jj = hot[rr] + r0, cc + c0
        keep = ii < jj
        if keep.any():
            out_i.append(ii[keep])
            out_j.append(jj[keep])
            out_d.append(np.clip(1.0 - sims[rr[keep], cc[keep]], 0.0, 2.0).astype(np.float32))
    return finish(n, out_i, out_j, out_d)


def approximate_suits(n: int, max_distance: float) -> bool:
    """Whether "auto" takes the approximate search: a large set, and a threshold tight enough
    for its plan's recall (ann.MIN_COSINE); otherwise the exact search, however long."""
    return n >= _APPROXIMATE_FROM and 1.0 - max_distance >= MIN_COSINE - 1e-9


def _approximate(emb: np.ndarray, min_sim: float) -> Neighbours:
    n = len(emb)
    found = no_pairs()
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    held = 0
    for i, j, sims in lsh_pairs(emb, np.float32(min_sim), plan_lsh(n)):
        out_i.append(i)
        out_j.append(j)
        out_d.append(np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32))
        held += len(i)
        if held > EXPAND_STEP:
            # A pair comes back from every table it shares a bucket in: drop repeats as we go,
            # so memory follows the distinct pairs (a burst of near-identical photos has many).
            found = finish(n, [found.i, *out_i], [found.j, *out_j], [found.distance, *out_d])
            out_i, out_j, out_d, held = [], [], [], 0
    return finish(n, [found.i, *out_i], [found.j, *out_j], [found.distance, *out_d])


def _tile_candidates(
    rows_m: np.ndarray, cols_m: np.ndarray, bound: np.float32
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(r0, c0, rows with a value >= bound, tile) for upper-triangle tiles of rows_m . cols_m.

    The tile is a view of one reused buffer: consume it before the next one is produced.
    """
    n = len(rows_m)
    buf = np.empty((min(n, _EMB_ROWS), min(n, _EMB_COLS)), dtype=np.float32)
    for r0 in range(0, n, _EMB_ROWS):
        r1 = min(n, r0 + _EMB_ROWS)
        block = rows_m[r0:r1]
        for c0 in range(r0, n, _EMB_COLS):
            c1 = min(n, c0 + _EMB_COLS)
            tile = buf[: r1 - r0, : c1 - c0]
            np.matmul(block, cols_m[c0:c1].T, out=tile)
            hot = np.flatnonzero(tile.max(axis=1) >= bound)
            if len(hot):
                yield r0, c0, hot, tile


def _cosine_bound(
    emb: np.ndarray, min_sim: float, *, force: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """Short row/column vectors whose product bounds the cosine from above, or None.

    With mean m, c_x = m.x and z = x - m: x.y = c_x + c_y - |m|^2 + z_x.z_y. Split z on
    orthonormal axes A (principal axes of a sample) into head = A^T z (k values) and the rest,
    of norm t = sqrt(|z|^2 - |head|^2): z_x.z_y <= head_x.head_y + t_x t_y (Cauchy-Schwarz).
    Rows get [head, g, 1, t] and columns [head, 1, g, t] with g = c - |m|^2 / 2, so one product
    of width k + 3 bounds x.y. Any orthonormal A keeps the bound valid; good axes make it tight.
    k is chosen on a sample: the narrowest that still rules out almost every pair.
    """
    n, dim = emb.shape
    rng = np.random.default_rng(0)
    fit = emb[np.sort(rng.choice(n, size=min(n, 16384), replace=False))]
    mean = fit.mean(axis=0, dtype=np.float64)
    centred = fit - mean.astype(np.float32)
    _, axes = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    axes = np.ascontiguousarray(axes[:, ::-1])  # largest variance first
    widths = [k for k in _PRUNE_DIMS if k < dim]
    if not widths:
        return None
    sample_r = rng.choice(n, size=min(n, 512), replace=False)
    sample_c = rng.choice(n, size=min(n, 4096), replace=False)
    head_r, g_r, norm_r = _project(emb[sample_r], mean, axes[:, : widths[-1]])
    head_c, g_c, norm_c = _project(emb[sample_c], mean, axes[:, : widths[-1]])
    other = sample_r[:, None] != sample_c[None, :]
    prod = np.add.outer(g_r, g_c)
    done = 0
    full_cost = n * n / 2 * dim * _GEMM_FLOP
    best = (full_cost, dim)
    for k in widths:
        prod += head_r[:, done:k] @ head_c[:, done:k].T
        done = k
        tail_r = _tail_norm(norm_r, head_r[:, :k])
        tail_c = _tail_norm(norm_c, head_c[:, :k])
        passing = int(np.count_nonzero((prod + np.outer(tail_r, tail_c) >= min_sim) & other))
        rate = (passing + 1) / prod.size  # +1: never trust an empty sample completely
        cost = n * n / 2 * ((k + 3) * _GEMM_FLOP + rate * _VERIFY_PAIR)
        if cost < best[0]:
            best = (cost, k)
    k = best[1]
    if k >= dim:
        if not force:
            return None
        k = widths[-1]
    rows = np.empty((n, k + 3), dtype=np.float32)
    cols = np.empty((n, k + 3), dtype=np.float32)
    step = 16384
    for s in range(0, n, step):
        e = min(n, s + step)
        head, g, norm = _project(emb[s:e], mean, axes[:, :k])
        tail = _tail_norm(norm, head)
        rows[s:e, :k] = head
        cols[s:e, :k] = head
        rows[s:e, k], rows[s:e, k + 1], rows[s:e, k + 2] = g, 1.0, tail
        cols[s:e, k], cols[s:e, k + 1], cols[s:e, k + 2] = 1.0, g, tail
    return rows, cols


def _project(
    emb: np.ndarray, mean: np.ndarray, axes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(head on `axes`, g = m.x - |m|^2 / 2, |x - m|^2), in float64."""
    x = emb.astype(np.float64)
    g = x @ mean - float(mean @ mean) / 2
    z = x - mean
    return z @ axes, g, np.einsum("ij,ij->i", z, z)


def _tail_norm(norm2: np.ndarray, head: np.ndarray) -> np.ndarray:
    tail2 = norm2 - np.einsum("ij,ij->i", head, head)
    # Rounding can make the rest look shorter than it is; a little extra keeps the bound.
    return np.asarray(np.sqrt(np.maximum(tail2, 0.0)) + 1e-6, dtype=np.float64)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out: np.ndarray = x / np.maximum(norms, np.float32(1e-12))
    return out


def cosine_query(embeddings: np.ndarray, query: np.ndarray, max_distance: float) -> Neighbours:
    """Pairs with 1 - cosine <= max_distance involving a `query` row; rows L2-normalised."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    query = np.unique(np.asarray(query, dtype=np.int64))
    n = len(emb)
    if n < 2 or len(query) == 0:
        return no_pairs()
    min_sim = np.float32(1.0 - max_distance - 1e-6)
    q = emb[query]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    step = max(1, _QUERY_TILE // len(query))
    for c0 in range(0, n, step):
        sims = q @ emb[c0 : c0 + step].T
        rr, cc = np.nonzero(sims >= min_sim)
        if len(rr):
            rows.append(rr)
            cols.append(cc + c0)
            dists.append(np.clip(1.0 - sims[rr, cc], 0.0, 2.0).astype(np.float32))
    return query_pairs(query, rows, cols, dists, n)


# Library rows near new ones: a superset, decided afterwards on the full features.
_CROSS_ROWS = 8192
# The library side is normalised per tile here and once per row by the exact search, which
# can round differently: candidates get this much room.
_CROSS_SLACK = 1e-4


def cosine_cross(library: np.ndarray, new: np.ndarray, max_distance: float) -> np.ndarray:
    """Rows of `library` within `max_distance` (1 - cosine) of some `new` row, sorted.

    Neither side needs to be normalised; the library is read tile by tile (it may be a
    memory-mapped float16 file far larger than memory allows in float32).
    """
    if len(library) == 0 or len(new) == 0:
        return np.zeros(0, np.int64)
    q = np.ascontiguousarray(l2_normalise(new).T)
    min_sim = np.float32(1.0 - max_distance - 1e-6 - _CROSS_SLACK)
    hits: list[np.ndarray] = []
    buf = np.empty((min(len(library), _CROSS_ROWS), library.shape[1]), dtype=np.float32)
    for r0 in range(0, len(library), _CROSS_ROWS):
        src = library[r0 : r0 + _CROSS_ROWS]
        tile = buf[: len(src)]
        np.copyto(tile, src)
        # Scaling the best product by the row's norm is the same test as normalising the row
        # first, on a matrix a fifth of the size.
        norms = np.sqrt(np.einsum("ij,ij->i", tile, tile))
        best = (tile @ q).max(axis=1)
        near = np.flatnonzero(best >= min_sim * np.maximum(norms, np.float32(1e-12)))
        if len(near):
            hits.append(near + r0)
    return np.concatenate(hits).astype(np.int64) if hits else np.zeros(0, np.int64)
