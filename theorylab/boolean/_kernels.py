"""numba kernels of the RRR trainer (no validation, no randomness: arrays in, arrays out).

State per training item ``i``: weight copies ``w[i, e]``, edge values ``x[i, e]`` (what the
receiving neuron sees) and node values ``y[i, node]``. ``_reference.py`` holds the plain
NumPy transcription that tests compare against.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def hyperbola_multiplier(p, q, c):
    """Root u ∈ (−1, 1) of f(u) = [(1+u²)p + u q]/(1−u²)² − c by safeguarded Newton
    (first-order start, bisection guard)."""
    f0 = p - c
    if f0 == 0.0:
        return 0.0
    if f0 > 0.0:
        lo, hi = -1.0, 0.0
    else:
        lo, hi = 0.0, 1.0
    # first-order start: f(u) ≈ p + q u near 0, clipped into the bracket
    u = (c - p) / q if q > 0.0 else 0.0
    if not (lo < u < hi):
        u = 0.5 * (lo + hi)
    for _ in range(100):
        one = 1.0 - u * u
        num = (1.0 + u * u) * p + u * q
        f = num / (one * one) - c
        if abs(f) <= 1e-14 * (1.0 + abs(c)):
            break
        if f > 0.0:
            hi = u
        else:
            lo = u
        df = ((2.0 * u * p + q) * one + 4.0 * u * num) / (one * one * one)
        un = u - f / df if df != 0.0 else 0.5 * (lo + hi)
        if not (lo < un < hi):
            un = 0.5 * (lo + hi)
        if abs(un - u) < 1e-15 or hi - lo < 1e-15:
            u = un
            break
        u = un
    return u


@njit(cache=True)
def hyperbola_project(w, x, c, wout, xout):
    """Nearest (w', x') with w'·x' = c; writes into wout, xout; returns the squared move."""
    p = 0.0
    q = 0.0
    for k in range(w.size):
        p += w[k] * x[k]
        q += w[k] * w[k] + x[k] * x[k]
    u = hyperbola_multiplier(p, q, c)
    s = 1.0 / (1.0 - u * u)
    d = 0.0
    for k in range(w.size):
        a = (w[k] + u * x[k]) * s
        b = (x[k] + u * w[k]) * s
        d += (a - w[k]) ** 2 + (b - x[k]) ** 2
        wout[k] = a
        xout[k] = b
    return d


@njit(cache=True)
def btf_block(w, x, y, delta, wout, xout, tw, tx):
    """Project one (item, neuron) block onto {y = ±1, y·(w·x) ≥ Δ}; returns the new y."""
    dot = 0.0
    for k in range(w.size):
        dot += w[k] * x[k]
    if y * dot > 0.0:
        s = 1.0 if y > 0.0 else -1.0
        if abs(dot) < delta:
            hyperbola_project(w, x, s * delta, wout, xout)
        else:
            wout[:] = w
            xout[:] = x
        return s
    # both signs: cost (y − s)² + squared (w, x) displacement; keep the cheaper
    if dot >= delta:
        cost_p = (1.0 - y) ** 2
        wout[:] = w
        xout[:] = x
    else:
        cost_p = (1.0 - y) ** 2 + hyperbola_project(w, x, delta, wout, xout)
    if (1.0 + y) ** 2 >= cost_p:  # the −1 candidate cannot be strictly cheaper
        return 1.0
    if dot <= -delta:
        cost_m = (1.0 + y) ** 2
        tw[:] = w
        tx[:] = x
    else:
        cost_m = (1.0 + y) ** 2 + hyperbola_project(w, x, -delta, tw, tx)
    if cost_m < cost_p:
        wout[:] = tw
        xout[:] = tx
        return -1.0
    return 1.0


@njit(cache=True)
def project_a(zw, zx, zy, in_start, delta, n_in, inputs, pw, px, py):
    """P_A: BTF constraint per (item, neuron); bias and data inputs pinned."""
    n_items, n_nodes = zy.shape
    maxdeg = 0
    for n in range(n_in + 1, n_nodes):
        maxdeg = max(maxdeg, in_start[n + 1] - in_start[n])
    tw = np.empty(maxdeg)
    tx = np.empty(maxdeg)
    for i in range(n_items):
        py[i, 0] = -1.0
        for k in range(n_in):
            py[i, 1 + k] = inputs[i, k]
        for n in range(n_in + 1, n_nodes):
            a, b = in_start[n], in_start[n + 1]
            m = b - a
            py[i, n] = btf_block(zw[i, a:b], zx[i, a:b], zy[i, n], delta[n], pw[i, a:b],
                                 px[i, a:b], tw[:m], tx[:m])


@njit(cache=True)
def project_b(rw, rx, ry, g, in_start, receiver, out_start, out_edges, n_in, targets,
              pw, px, py):
    """P_B (concur) in the metric g: shared weights on the sphere ‖w_n‖² = deg, one value per
    node across its copies, outputs fixed to the targets."""
    n_items, n_nodes = ry.shape
    n_edges = rw.shape[1]
    n_out = targets.shape[1]
    first_out = n_nodes - n_out
    wbar = np.zeros(n_edges)
    for e in range(n_edges):
        num = 0.0
        den = 0.0
        r = receiver[e]
        for i in range(n_items):
            num += g[i, r] * rw[i, e]
            den += g[i, r]
        wbar[e] = num / den
    for n in range(n_in + 1, n_nodes):
        a, b = in_start[n], in_start[n + 1]
        nrm = 0.0
        for e in range(a, b):
            nrm += wbar[e] * wbar[e]
        if nrm > 0.0:
            s = np.sqrt((b - a) / nrm)
            for e in range(a, b):
                wbar[e] *= s
    for i in range(n_items):
        for e in range(n_edges):
            pw[i, e] = wbar[e]
        for o in range(first_out):
            num = g[i, o] * ry[i, o]
            den = g[i, o]
            for k in range(out_start[o], out_start[o + 1]):
                e = out_edges[k]
                gr = g[i, receiver[e]]
                num += gr * rx[i, e]
                den += gr
            v = num / den
            py[i, o] = v
            for k in range(out_start[o], out_start[o + 1]):
                px[i, out_edges[k]] = v
        for k in range(n_out):
            py[i, first_out + k] = targets[i, k]


@njit(cache=True)
def rrr_run(zw, zx, zy, g, in_start, receiver, out_start, out_edges, delta, n_in, inputs,
            targets, beta, gamma, max_iter, gap_stop, gaps, best_w):
    """Run RRR in place on (zw, zx, zy, g); returns (iterations, stopped).

    ``gaps[k]`` receives the gap of iteration k; ``best_w`` the concur weights at the
    smallest gap seen (the solution when the gap falls below ``gap_stop``).
    """
    n_items, n_edges = zw.shape
    n_nodes = zy.shape[1]
    aw = np.empty_like(zw)
    ax = np.empty_like(zx)
    ay = np.empty_like(zy)
    bw = np.empty_like(zw)
    bx = np.empty_like(zx)
    by = np.empty_like(zy)
    rw = np.empty_like(zw)
    rx = np.empty_like(zx)
    ry = np.empty_like(zy)
    gapnode = np.zeros((n_items, n_nodes))
    best = np.inf
    n_neur = n_nodes - n_in - 1
    for it in range(max_iter):
        project_a(zw, zx, zy, in_start, delta, n_in, inputs, aw, ax, ay)
        for i in range(n_items):
            for e in range(n_edges):
                rw[i, e] = 2.0 * aw[i, e] - zw[i, e]
                rx[i, e] = 2.0 * ax[i, e] - zx[i, e]
            for n in range(n_nodes):
                ry[i, n] = 2.0 * ay[i, n] - zy[i, n]
        project_b(rw, rx, ry, g, in_start, receiver, out_start, out_edges, n_in, targets,
                  bw, bx, by)
        total = 0.0
        for i in range(n_items):
            for n in range(n_in + 1, n_nodes):
                d = (by[i, n] - ay[i, n]) ** 2
                for e in range(in_start[n], in_start[n + 1]):
                    d += (bw[i, e] - aw[i, e]) ** 2 + (bx[i, e] - ax[i, e]) ** 2
                gapnode[i, n] = d
                total += d
        mean = total / (n_items * n_neur)
        gap = np.sqrt(mean)
        gaps[it] = gap
        if not np.isfinite(gap):
            return it + 1, False
        if gap < best:
            best = gap
            for e in range(n_edges):
                best_w[e] = bw[0, e]
        if gap < gap_stop:
            return it + 1, True
        for i in range(n_items):
            for e in range(n_edges):
                zw[i, e] += beta * (bw[i, e] - aw[i, e])
                zx[i, e] += beta * (bx[i, e] - ax[i, e])
            for n in range(n_nodes):
                zy[i, n] += beta * (by[i, n] - ay[i, n])
        if mean > 0.0:
            for i in range(n_items):
                for n in range(n_in + 1, n_nodes):
                    g[i, n] += gamma * (gapnode[i, n] / mean - g[i, n])
    return max_iter, False
