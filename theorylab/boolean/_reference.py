"""Plain-NumPy transcription of the RRR trainer, written from the paper's equations (slow;
tests compare the kernels to it). Nothing here is shared with ``_kernels.py``: the margin
multiplier comes from the roots of a quartic (``numpy.roots``), the projections are the
definitions applied block by block, and the state is updated out of place.

Notation: the state is z = (w, x, y) with ``w[i, e]`` the copy of edge e's weight for item
i, ``x[i, e]`` the value the receiving neuron sees on e, ``y[i, n]`` the value of node n.

* Margin (hyperbola) projection, nearest point of {w'·x' = c}: stationarity gives
  w' = (w + u x)/(1 − u²), x' = (x + u w)/(1 − u²), and w'·x' = c reads
  (1+u²)p + u q = c (1−u²)², p = w·x, q = ‖w‖² + ‖x‖², with one root in (−1, 1).
* A (divide), per item and neuron with in-edges E(n), margin Δ_n = √(deg_n/σ):
  y ∈ {±1}, y (w·x) ≥ Δ_n. If y (w·x) > 0 the sign of y is kept and (w, x) moved onto the
  margin if short of it; otherwise the sign s = ±1 with the smaller (y − s)² + squared move
  wins (+1 on a tie). Bias (−1) and data inputs are pinned.
* B (concur) in the metric g (constant on a block (i, n)): w_B[e] = Σ_i g[i, n] w[i, e] /
  Σ_i g[i, n] for e ∈ E(n), then w_B on E(n) rescaled to ‖w_B‖² = deg_n; for a non-output
  node o, y_B[i, o] = (g[i, o] y[i, o] + Σ_{e out of o} g[i, recv e] x[i, e]) /
  (g[i, o] + Σ_{e out of o} g[i, recv e]) and x_B[i, e] = y_B[i, sender e]; outputs = labels.
* RRR: p_A = P_A(z), p_B = P_B(2 p_A − z), z ← z + β (p_B − p_A); gapnode[i, n] = squared
  distance of the (i, n) block (y_n and the in-edges' w, x); gap = √mean gapnode;
  g ← g + γ (gapnode/mean − g) on neuron blocks; stop once gap < gap_stop.
"""

import numpy as np


def margin_multiplier(p, q, c):
    """The root u ∈ (−1, 1) of −c u⁴ + (p + 2c) u² + q u + (p − c) = 0."""
    poly = np.array([-c, 0.0, p + 2.0 * c, q, p - c])
    # a tiny quartic term only adds roots far outside (−1, 1); dropping it keeps the
    # companion matrix well scaled, and the polish below restores it
    roots = np.roots(poly if abs(c) > 1e-8 * np.abs(poly).max() else poly[2:])
    real = roots[(np.abs(roots.imag) < 1e-7) & (np.abs(roots.real) < 1.0)].real
    if real.size == 0:
        raise FloatingPointError(f"no margin multiplier in (-1, 1) for p={p}, q={q}, c={c}")
    u = real[np.argmin(np.abs(np.polyval(poly, real)))]
    for _ in range(3):  # polish the eigenvalue-based root to full precision
        u = u - np.polyval(poly, u) / np.polyval(np.polyder(poly), u)
    return float(u)


def onto_hyperbola(w, x, c):
    """Nearest (w', x') with w'·x' = c."""
    u = margin_multiplier(w @ x, w @ w + x @ x, c)
    return (w + u * x) / (1.0 - u * u), (x + u * w) / (1.0 - u * u)


def project_neuron(w, x, y, delta):
    """P_A on one (item, neuron) block; returns (w', x', y')."""
    dot = w @ x
    if y * dot > 0:
        s = float(np.sign(y))
        if s * dot >= delta:
            return w.copy(), x.copy(), s
        return (*onto_hyperbola(w, x, s * delta), s)
    candidates = []
    for s in (1.0, -1.0):
        w2, x2 = (w.copy(), x.copy()) if s * dot >= delta else onto_hyperbola(w, x, s * delta)
        cost = (y - s) ** 2 + np.sum((w2 - w) ** 2) + np.sum((x2 - x) ** 2)
        candidates.append((cost, s, w2, x2))
    cost, s, w2, x2 = min(candidates, key=lambda cand: cand[0])  # first (+1) on a tie
    return w2, x2, s


def _in_edges(net, n):
    return np.flatnonzero(net.receiver == n)


def project_a(z, net, delta, inputs):
    w, x, y = z
    wA, xA, yA = w.copy(), x.copy(), y.copy()
    yA[:, 0] = -1.0
    yA[:, 1:net.n_in + 1] = inputs
    for i in range(y.shape[0]):
        for n in range(net.n_in + 1, net.n_nodes):
            E = _in_edges(net, n)
            wA[i, E], xA[i, E], yA[i, n] = project_neuron(w[i, E], x[i, E], y[i, n], delta[n])
    return wA, xA, yA


def project_b(z, g, net, targets):
    w, x, y = z
    wB = np.empty_like(w)
    for n in range(net.n_in + 1, net.n_nodes):
        E = _in_edges(net, n)
        shared = g[:, n] @ w[:, E] / g[:, n].sum()
        wB[:, E] = shared * np.sqrt(len(E) / (shared @ shared))
    yB = np.empty_like(y)
    for o in range(net.n_nodes - net.n_out):
        out = np.flatnonzero(net.sender == o)
        gr = g[:, net.receiver[out]]  # (items, out-edges): metric of the receiving blocks
        yB[:, o] = ((g[:, o] * y[:, o] + (gr * x[:, out]).sum(1))
                    / (g[:, o] + gr.sum(1)))
    yB[:, net.n_nodes - net.n_out:] = targets
    xB = yB[:, net.sender]
    return wB, xB, yB


def block_distances(zA, zB, net):
    """gapnode[i, n] = squared distance between p_A and p_B on block (i, n), neurons only."""
    (wA, xA, yA), (wB, xB, yB) = zA, zB
    gapnode = np.zeros_like(yA)
    for n in range(net.n_in + 1, net.n_nodes):
        E = _in_edges(net, n)
        gapnode[:, n] = ((yB[:, n] - yA[:, n]) ** 2 + ((wB[:, E] - wA[:, E]) ** 2).sum(1)
                         + ((xB[:, E] - xA[:, E]) ** 2).sum(1))
    return gapnode


def rrr_run(zw, zx, zy, g, net, delta, inputs, targets, beta, gamma, max_iter, gap_stop):
    """Returns (gaps, best_w, n_iter, stopped, (zw, zx, zy, g) at the end)."""
    z = (zw.copy(), zx.copy(), zy.copy())
    g = g.copy()
    neurons = slice(net.n_in + 1, net.n_nodes)
    gaps, best_w = [], None
    for it in range(1, max_iter + 1):
        zA = project_a(z, net, delta, inputs)
        zB = project_b(tuple(2 * a - b for a, b in zip(zA, z, strict=True)), g, net, targets)
        gapnode = block_distances(zA, zB, net)
        mean = gapnode[:, neurons].mean()
        gaps.append(np.sqrt(mean))
        if len(gaps) == 1 or gaps[-1] < min(gaps[:-1]):
            best_w = zB[0][0].copy()
        z = tuple(a + beta * (pb - pa) for a, pa, pb in zip(z, zA, zB, strict=True))
        if mean > 0:
            g[:, neurons] += gamma * (gapnode[:, neurons] / mean - g[:, neurons])
        if gaps[-1] < gap_stop:
            return np.array(gaps), best_w, it, True, (*z, g)
    return np.array(gaps), best_w, max_iter, False, (*z, g)
