"""numba kernels of the RRR trainer (no validation, no randomness: arrays in, arrays out).

State per training item ``i``: weight copies ``w[i, e]``, edge values ``x[i, e]`` (what the
receiving neuron sees) and node values ``y[i, node]``. ``_reference.py`` holds a plain NumPy
transcription of the paper's equations that tests compare against.

Speed (the loop runs 10⁴–10⁵ times on small arrays, so overheads dominate):

* one iteration is two passes over the (item, neuron) blocks and nothing is allocated inside
  the loop; blocks are addressed by index ranges of the 2-D arrays, never by slices (numba
  views cost a reference-count update each);
* pass 1 projects every block onto A and, in the same sweep, accumulates the concur sums of
  the reflected point 2p_A − z (weights: g-weighted sum per edge; node values: g-weighted sum
  per sending node), so the reflection is never stored;
* the concur weights are the same on every item and ``x_B[i, e] = y_B[i, sender(e)]``, so
  p_B is held as one weight vector and the node values, not as per-item copies;
* pass 2 computes the gap and applies ``z ← z + β (p_B − p_A)`` together;
* the BTF block projection picks the sign by comparing the two candidates' costs in closed
  form (the squared move of a hyperbola projection with multiplier u is
  ``u² [(1+u²) q + 4 u p] / (1−u²)²``) and writes only the winner.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def hyperbola_multiplier(p, q, c):
    """Root u ∈ (−1, 1) of f(u) = [(1+u²)p + u q]/(1−u²)² − c.

    f is increasing on (−1, 1) (q ≥ 2|p|), so the root is unique and lies on the side of 0
    given by the sign of f(0) = p − c. Newton runs on the quartic
    P(u) = (1+u²)p + u q − c (1−u²)² = (1−u²)² f(u), which has the same root and sign and
    costs one division per step, from the first-order start (c − p)/q, with a bisection
    guard on the bracket; it stops when |f| ≤ 1e-14 (1 + |c|) or after a Newton step
    shorter than 1e-9 (quadratic convergence: the next would be ~1e-18).
    """
    f0 = p - c
    if f0 == 0.0:
        return 0.0
    if f0 > 0.0:
        lo, hi = -1.0, 0.0
    else:
        lo, hi = 0.0, 1.0
    u = (c - p) / q if q > 0.0 else 0.0
    if not (lo < u < hi):
        u = 0.5 * (lo + hi)
    tol = 1e-14 * (1.0 + abs(c))
    for _ in range(100):
        uu = u * u
        one = 1.0 - uu
        P = (1.0 + uu) * p + u * q - c * one * one
        if abs(P) <= tol * one * one:
            break
        if P > 0.0:
            hi = u
        else:
            lo = u
        dP = 2.0 * u * p + q + 4.0 * c * u * one
        un = u - P / dP if dP != 0.0 else 0.5 * (lo + hi)
        if not (lo < un < hi):
            un = 0.5 * (lo + hi)
        elif abs(un - u) < 1e-9:
            # Newton converges quadratically: the next step would move u by ~1e-18
            u = un
            break
        if hi - lo < 1e-15:
            u = un
            break
        u = un
    return u


@njit(cache=True)
def hyperbola_move2(p, q, u):
    """Squared move ‖w'−w‖² + ‖x'−x‖² of the hyperbola projection with multiplier u
    (w' − w = u x', x' − x = u w', so it is u² (‖w'‖² + ‖x'‖²))."""
    one = 1.0 - u * u
    return u * u * ((1.0 + u * u) * q + 4.0 * u * p) / (one * one)


@njit(cache=True)
def btf_project(zw, zx, i, a, b, y, delta, aw, ax):
    """P_A on block (item i, in-edges a..b−1) of a neuron with current value y and margin
    delta: {y' = ±1, y' (w'·x') ≥ delta}. Writes ``aw[i, a:b]``, ``ax[i, a:b]``; returns y'.

    If y (w·x) > 0 the sign is kept; otherwise the cheaper of the two signs, cost
    (y − s)² plus the squared move, wins (ties go to +1).
    """
    p = 0.0
    q = 0.0
    for e in range(a, b):
        w = zw[i, e]
        x = zx[i, e]
        p += w * x
        q += w * w + x * x
    u = 0.0
    if y * p > 0.0:
        s = 1.0 if y > 0.0 else -1.0
        if s * p < delta:
            u = hyperbola_multiplier(p, q, s * delta)
    else:
        s = 1.0
        cost_p = (1.0 - y) ** 2
        if p < delta:
            u = hyperbola_multiplier(p, q, delta)
            cost_p += hyperbola_move2(p, q, u)
        cost_m = (1.0 + y) ** 2
        if cost_m < cost_p:  # else the −1 candidate cannot be strictly cheaper
            um = 0.0
            if p > -delta:
                um = hyperbola_multiplier(p, q, -delta)
                cost_m += hyperbola_move2(p, q, um)
            if cost_m < cost_p:
                s = -1.0
                u = um
    if u == 0.0:
        for e in range(a, b):
            aw[i, e] = zw[i, e]
            ax[i, e] = zx[i, e]
    else:
        r = 1.0 / (1.0 - u * u)
        for e in range(a, b):
            w = zw[i, e]
            x = zx[i, e]
            aw[i, e] = (w + u * x) * r
            ax[i, e] = (x + u * w) * r
    return s


@njit(cache=True)
def rrr_run(zw, zx, zy, g, sender, in_start, delta, n_in, inputs, targets, beta, gamma,
            max_iter, gap_stop, gaps, best_w):
    """Run RRR in place on (zw, zx, zy, g); returns (iterations, stopped).

    Per iteration: p_A = P_A(z); p_B = P_B(2 p_A − z) in the metric g; gap² = mean over
    (item, neuron) of ‖p_B − p_A‖² on the block; z ← z + β (p_B − p_A);
    g ← g + γ (gapnode / mean − g) on the neuron blocks; stop once gap < gap_stop (after the
    update, as the authors' code). ``gaps[k]`` receives the gap of iteration k, ``best_w``
    the concur weights at the smallest gap seen.
    """
    n_items, n_edges = zw.shape
    n_nodes = zy.shape[1]
    first = n_in + 1
    first_out = n_nodes - targets.shape[1]
    n_neur = n_nodes - first
    aw = np.empty_like(zw)
    ax = np.empty_like(zx)
    ay = np.empty_like(zy)
    wb = np.empty(n_edges)  # concur weights (shared by all items)
    wden = np.empty(n_nodes)
    yb = np.empty_like(zy)  # concur node values: numerators, then the values
    yden = np.empty_like(zy)
    gapnode = np.empty_like(zy)
    best = np.inf
    for it in range(max_iter):
        # pass 1: P_A per block, concur sums of the reflection 2 p_A − z
        for e in range(n_edges):
            wb[e] = 0.0
        for n in range(n_nodes):
            wden[n] = 0.0
        for i in range(n_items):
            ay[i, 0] = -1.0
            for k in range(n_in):
                ay[i, 1 + k] = inputs[i, k]
            for o in range(first):
                go = g[i, o]
                yb[i, o] = go * (2.0 * ay[i, o] - zy[i, o])
                yden[i, o] = go
            for n in range(first, n_nodes):
                yb[i, n] = 0.0
                yden[i, n] = 0.0
            for n in range(first, n_nodes):
                a = in_start[n]
                b = in_start[n + 1]
                yn = btf_project(zw, zx, i, a, b, zy[i, n], delta[n], aw, ax)
                ay[i, n] = yn
                gn = g[i, n]
                wden[n] += gn
                yb[i, n] += gn * (2.0 * yn - zy[i, n])
                yden[i, n] += gn
                for e in range(a, b):
                    wb[e] += gn * (2.0 * aw[i, e] - zw[i, e])
                    s = sender[e]
                    yb[i, s] += gn * (2.0 * ax[i, e] - zx[i, e])
                    yden[i, s] += gn
        # P_B: weights averaged over items, then on the sphere ‖w_n‖² = deg
        for n in range(first, n_nodes):
            a = in_start[n]
            b = in_start[n + 1]
            nrm = 0.0
            for e in range(a, b):
                wb[e] /= wden[n]
                nrm += wb[e] * wb[e]
            if nrm > 0.0:
                sc = np.sqrt((b - a) / nrm)
                for e in range(a, b):
                    wb[e] *= sc
        # pass 2: node values, gap and the RRR update
        total = 0.0
        for i in range(n_items):
            for o in range(first_out):
                yb[i, o] /= yden[i, o]
            for k in range(n_nodes - first_out):
                yb[i, first_out + k] = targets[i, k]
            for o in range(first):
                zy[i, o] += beta * (yb[i, o] - ay[i, o])
            for n in range(first, n_nodes):
                dy = yb[i, n] - ay[i, n]
                d = dy * dy
                zy[i, n] += beta * dy
                for e in range(in_start[n], in_start[n + 1]):
                    dw = wb[e] - aw[i, e]
                    dx = yb[i, sender[e]] - ax[i, e]
                    d += dw * dw + dx * dx
                    zw[i, e] += beta * dw
                    zx[i, e] += beta * dx
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
                best_w[e] = wb[e]
        if mean > 0.0:
            for i in range(n_items):
                for n in range(first, n_nodes):
                    g[i, n] += gamma * (gapnode[i, n] / mean - g[i, n])
        if gap < gap_stop:
            return it + 1, True
    return max_iter, False
