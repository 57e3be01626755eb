"""Pooling / whitening variants + grouped 5-fold CV threshold calibration on Holidays dev.

Protocol (per fold k of 5, folds by group):
  * whitening (if any) is learned only on the training folds' images (or on external photos);
  * thresholds per level are picked on the training folds alone (complete linkage over the
    training images, max recall subject to precision >= the level's target);
  * the held-out fold is scored with every dev image present (the training images act as
    distractors, so the density of look-alikes is that of a ~390-photo collection): precision over
    predicted pairs touching a held-out photo, recall over the held-out fold's true pairs.
Features are rounded to float16 (the engine's cache) before matching.
"""
from __future__ import annotations

import math
import sys
from functools import lru_cache

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from common import HERE, holidays_dev, ukbench

LEVELS = {"loose": 0.85, "balanced": 0.95, "strict": 0.98, "exact": 0.995}
GRID = np.round(np.arange(0.05, 0.991, 0.005), 4)  # cosine thresholds swept


# ---------------------------------------------------------------- pooling
def l2n(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def gem(f, p=3.0):
    f = np.maximum(f.astype(np.float64), 1e-6)
    return (f ** p).reshape(f.shape[0], -1).mean(1) ** (1 / p)


def rmac_regions(H, W, L=3):
    """Tolias et al. R-MAC regions (y0, x0, h, w) on an H x W map."""
    ovr = 0.4
    steps = np.arange(2, 8)
    w = min(W, H)
    b = (max(H, W) - w) / (steps - 1)
    idx = np.argmin(np.abs(((w ** 2 - w * b) / w ** 2) - ovr))
    Wd = Hd = 0
    if H < W:
        Wd = idx + 1
    elif H > W:
        Hd = idx + 1
    regions = [(0, 0, H, W)]
    for l in range(1, L + 1):
        wl = math.floor(2 * w / (l + 1))
        if wl < 1:
            continue
        wl2 = math.floor(wl / 2 - 1)
        bW = (W - wl) / (l + Wd - 1) if l + Wd > 1 else 0
        cW = np.floor(wl2 + np.arange(l - 1 + Wd + 1) * bW) - wl2
        bH = (H - wl) / (l + Hd - 1) if l + Hd > 1 else 0
        cH = np.floor(wl2 + np.arange(l - 1 + Hd + 1) * bH) - wl2
        for y in cH:
            for x in cW:
                if l == 1 and wl == min(H, W) and (H == W):
                    continue  # same as the full map
                regions.append((int(y), int(x), wl, wl))
    return regions


def region_vecs(f, pool="max", L=3, p=3.0):
    C, H, W = f.shape
    f = np.maximum(f.astype(np.float64), 1e-6)
    out = []
    for y, x, h, w in rmac_regions(H, W, L):
        r = f[:, y : y + h, x : x + w].reshape(C, -1)
        out.append(r.max(1) if pool == "max" else (r ** p).mean(1) ** (1 / p))
    return np.array(out)


# ---------------------------------------------------------------- features
@lru_cache(maxsize=None)
def load(cfg):
    z = np.load(HERE / "feats" / f"{cfg}.npz", allow_pickle=True)
    out = {}
    for k in z.files:
        a = z[k]
        if a.dtype == object and a.ndim > 1:  # early files: stacked object scalars
            a = a.astype(np.float16)
        out[k] = [np.asarray(m, dtype=np.float32) for m in a]
    return out


@lru_cache(maxsize=None)
def pooled(cfg, pool, part):
    """Per image either a (C,) global vector ('gem') or an (R, C) region matrix."""
    maps = load(cfg)[part]
    if pool == "gem":
        return np.array([gem(m) for m in maps])
    if pool == "rmac":
        return [l2n(region_vecs(m, "max")) for m in maps]
    if pool == "rgem":
        return [l2n(region_vecs(m, "gem")) for m in maps]
    raise ValueError(pool)


class Whitening:
    def __init__(self, X, dim, shrink=0.1, power=0.5):
        X = np.asarray(X, dtype=np.float64)
        self.m = X.mean(0)
        C = np.cov((X - self.m).T)
        lam, V = np.linalg.eigh(C)
        order = np.argsort(lam)[::-1][:dim]
        lam, V = lam[order], V[:, order]
        lam = lam + shrink * lam.mean()  # shrinkage keeps tiny noisy directions from dominating
        self.P = (V / lam ** power).T  # (dim, C)

    def __call__(self, x):
        return l2n((np.asarray(x, dtype=np.float64) - self.m) @ self.P.T)


def describe(spec, part, white=None):
    """(N, 2, D) unit descriptors: [:,0] as stored, [:,1] turned 90 degrees."""
    out = []
    for rot in (0, 1):
        acc = 0
        for cfg in spec["cfgs"]:
            v = pooled(cfg, spec["pool"], f"{part}_{rot}")
            if spec["pool"] == "gem":
                d = l2n(v)
                if white is not None and spec.get("white_regions") is not True:
                    d = white(d)
            else:  # regional: (optionally whiten each region) then sum
                if white is not None:
                    d = np.array([l2n(white(r).sum(0)) for r in v])
                else:
                    d = np.array([l2n(r.sum(0)) for r in v])
            acc = acc + d
        out.append(l2n(acc))
    return np.stack(out, 1).astype(np.float16).astype(np.float64)


def whitening_samples(spec, parts, idx=None):
    """Training vectors for the PCA: global descriptors (both rotations) and, for regional
    pooling, every region vector."""
    rows = []
    for part in parts:
        for rot in (0, 1):
            for cfg in spec["cfgs"]:
                v = pooled(cfg, spec["pool"], f"{part}_{rot}")
                sel = range(len(v)) if (idx is None or part != "dev") else idx
                for i in sel:
                    rows.append(l2n(v[i])[None] if spec["pool"] == "gem" else v[i])
    return np.concatenate(rows)


# ---------------------------------------------------------------- matching / scoring
def similarity(D):
    a, b = D[:, 0], D[:, 1]
    s = np.maximum(a @ a.T, np.maximum(a @ b.T, b @ a.T))
    np.fill_diagonal(s, 1.0)
    return np.clip(s, -1, 1)


def tree(S):
    d = np.maximum(1.0 - S, 0)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    return linkage(squareform(d, checks=False), method="complete")


def labels_at(Z, cos):
    return fcluster(Z, t=1.0 - cos + 1e-9, criterion="distance")


def pr(lab, truth, score_mask=None):
    """Pairwise P/R. score_mask: bool array of items whose pairs are scored (a predicted pair
    counts if it touches a scored item; a true pair if both are scored)."""
    same_pred = lab[:, None] == lab[None, :]
    same_true = truth[:, None] == truth[None, :]
    iu = np.triu(np.ones_like(same_pred, dtype=bool), 1)
    if score_mask is not None:
        touch = score_mask[:, None] | score_mask[None, :]
        both = score_mask[:, None] & score_mask[None, :]
    else:
        touch = both = np.ones_like(iu)
    pred = same_pred & iu & touch
    true = same_true & iu & both
    hit = (pred & same_true).sum()
    P = hit / pred.sum() if pred.sum() else 1.0
    R = (pred & true).sum() / true.sum() if true.sum() else 1.0
    return P, R


def sweep(S, truth):
    Z = tree(S)
    return [(c, *pr(labels_at(Z, c), truth)) for c in GRID]


def choose(curve, target):
    ok = [(r, c) for c, p, r in curve if p >= target]
    if not ok:
        return float(GRID[-1])
    best = max(r for r, _ in ok)
    return max(c for r, c in ok if r == best)  # strictest cosine reaching the best recall


def folds(groups, k=5, seed=0):
    g = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(g)
    return [np.isin(groups, g[i::k]) for i in range(k)]


def run(spec, k=5, seeds=(0,), verbose=False):
    _, groups = holidays_dev()
    res = {lv: [] for lv in LEVELS}
    thr = {lv: [] for lv in LEVELS}
    for seed in seeds:
        for held in folds(groups, k, seed):
            train = np.flatnonzero(~held)
            white = None
            if spec.get("white"):
                src = spec["white"]
                if src == "devtrain":
                    X = whitening_samples(spec, ["dev"], train)
                elif src == "photos":
                    X = whitening_samples(spec, ["photos"])
                elif src == "devtrain+photos":
                    X = np.concatenate([whitening_samples(spec, ["dev"], train),
                                        whitening_samples(spec, ["photos"])])
                white = Whitening(X, spec["dim"], spec.get("shrink", 0.1))
            D = describe(spec, "dev", white)
            S = similarity(D)
            curve = sweep(S[np.ix_(train, train)], groups[train])
            Z = tree(S)
            for lv, target in LEVELS.items():
                c = choose(curve, target)
                thr[lv].append(c)
                res[lv].append(pr(labels_at(Z, c), groups, held))
    return {lv: (np.array(res[lv]), np.array(thr[lv])) for lv in LEVELS}


def final(spec):
    """Whitening + thresholds fitted on all of dev; UKBench scored with them."""
    _, groups = holidays_dev()
    white = None
    if spec.get("white"):
        src = spec["white"]
        parts = {"devtrain": ["dev"], "photos": ["photos"], "devtrain+photos": ["dev", "photos"]}[src]
        white = Whitening(whitening_samples(spec, parts), spec["dim"], spec.get("shrink", 0.1))
    D = describe(spec, "dev", white)
    curve = sweep(similarity(D), groups)
    thr = {lv: choose(curve, t) for lv, t in LEVELS.items()}
    _, ug = ukbench()
    Zu = tree(similarity(describe(spec, "ukb", white)))
    ukb = {lv: pr(labels_at(Zu, c), ug) for lv, c in thr.items()}
    dev_in = {lv: next((p, r) for c, p, r in curve if c == thr[lv]) for lv in LEVELS}
    return thr, ukb, dev_in, white


def fmt(spec, out):
    P, R = out["balanced"][0][:, 0], out["balanced"][0][:, 1]
    t = out["balanced"][1]
    return (f"bal P {P.mean():.3f}±{P.std():.3f} R {R.mean():.3f}±{R.std():.3f} "
            f"(cos {t.mean():.3f}±{t.std():.3f}) | strict R {out['strict'][0][:,1].mean():.3f} "
            f"P {out['strict'][0][:,0].mean():.3f} | loose P {out['loose'][0][:,0].mean():.3f} "
            f"R {out['loose'][0][:,1].mean():.3f}")


# ---------------------------------------------------------------- nested (cross-fitted) whitening
def counts(lab, truth, mask):
    same_pred = lab[:, None] == lab[None, :]
    same_true = truth[:, None] == truth[None, :]
    iu = np.triu(np.ones_like(same_pred, dtype=bool), 1)
    touch = mask[:, None] | mask[None, :]
    both = mask[:, None] & mask[None, :]
    pred = same_pred & iu & touch
    return np.array([(pred & same_true).sum(), pred.sum(), (pred & same_true & both).sum(),
                     (same_true & iu & both).sum()], dtype=np.float64)


def fit_white(spec, dev_idx, extra_parts=()):
    X = whitening_samples(spec, ["dev"], dev_idx)
    if extra_parts:
        X = np.concatenate([X, whitening_samples(spec, list(extra_parts))])
    return Whitening(X, spec["dim"], spec.get("shrink", 0.1), spec.get("power", 0.5))


def crossfit_thresholds(spec, idx, groups, k=4, seed=1):
    """Thresholds for whitening fitted on `idx`: inner folds by group; each inner fold is
    scored (all of idx present) under whitening fitted without it; counts pooled."""
    extra = spec.get("extra", ())
    tot = np.zeros((len(GRID), 4))
    for inner in folds(groups[idx], k, seed):
        W = fit_white(spec, idx[~inner], extra)
        D = describe(spec, "dev", W)[idx]
        Z = tree(similarity(D))
        for gi, c in enumerate(GRID):
            tot[gi] += counts(labels_at(Z, c), groups[idx], inner)
    curve = [(c, t[0] / max(t[1], 1), t[2] / max(t[3], 1)) for c, t in zip(GRID, tot)]
    return {lv: choose(curve, target) for lv, target in LEVELS.items()}, curve


def run_nested(spec, k=5, seed=0):
    _, groups = holidays_dev()
    res = {lv: [] for lv in LEVELS}
    thr = {lv: [] for lv in LEVELS}
    for held in folds(groups, k, seed):
        train = np.flatnonzero(~held)
        th, _ = crossfit_thresholds(spec, train, groups)
        W = fit_white(spec, train, spec.get("extra", ()))
        Z = tree(similarity(describe(spec, "dev", W)))
        for lv in LEVELS:
            thr[lv].append(th[lv])
            res[lv].append(pr(labels_at(Z, th[lv]), groups, held))
    return {lv: (np.array(res[lv]), np.array(thr[lv])) for lv in LEVELS}
