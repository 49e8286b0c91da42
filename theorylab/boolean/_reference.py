"""Plain-NumPy transcription of the RRR trainer (slow; tests compare the kernels to it)."""

import numpy as np


def hyperbola_multiplier(p, q, c):
    f0 = p - c
    if f0 == 0.0:
        return 0.0
    lo, hi = (-1.0, 0.0) if f0 > 0 else (0.0, 1.0)
    # first-order start: f(u) ≈ p + q u near 0, clipped into the bracket
    u = (c - p) / q if q > 0.0 else 0.0
    if not (lo < u < hi):
        u = 0.5 * (lo + hi)
    for _ in range(100):
        one = 1.0 - u * u
        num = (1.0 + u * u) * p + u * q
        f = num / one**2 - c
        if abs(f) <= 1e-14 * (1.0 + abs(c)):
            break
        if f > 0:
            hi = u
        else:
            lo = u
        df = ((2.0 * u * p + q) * one + 4.0 * u * num) / one**3
        un = u - f / df if df != 0.0 else 0.5 * (lo + hi)
        if not (lo < un < hi):
            un = 0.5 * (lo + hi)
        if abs(un - u) < 1e-15 or hi - lo < 1e-15:
            u = un
            break
        u = un
    return u


def hyperbola_project(w, x, c):
    u = hyperbola_multiplier(float(w @ x), float(w @ w + x @ x), c)
    w2 = (w + u * x) / (1 - u * u)
    x2 = (x + u * w) / (1 - u * u)
    return w2, x2, float(np.sum((w2 - w) ** 2) + np.sum((x2 - x) ** 2))


def btf_block(w, x, y, delta):
    dot = float(w @ x)
    if y * dot > 0:
        s = 1.0 if y > 0 else -1.0
        if abs(dot) < delta:
            w2, x2, _ = hyperbola_project(w, x, s * delta)
            return w2, x2, s
        return w.copy(), x.copy(), s
    if dot >= delta:
        wp, xp, cp = w.copy(), x.copy(), (1 - y) ** 2
    else:
        wp, xp, d = hyperbola_project(w, x, delta)
        cp = (1 - y) ** 2 + d
    if (1 + y) ** 2 >= cp:
        return wp, xp, 1.0
    if dot <= -delta:
        wm, xm, cm = w.copy(), x.copy(), (1 + y) ** 2
    else:
        wm, xm, d = hyperbola_project(w, x, -delta)
        cm = (1 + y) ** 2 + d
    if cm < cp:
        return wm, xm, -1.0
    return wp, xp, 1.0


def project_a(zw, zx, zy, net, delta, inputs):
    pw, px, py = zw.copy(), zx.copy(), zy.copy()
    py[:, 0] = -1.0
    py[:, 1:net.n_in + 1] = inputs
    for i in range(zy.shape[0]):
        for n in range(net.first_neuron, net.n_nodes):
            e = slice(net.in_start[n], net.in_start[n + 1])
            pw[i, e], px[i, e], py[i, n] = btf_block(zw[i, e], zx[i, e], zy[i, n], delta[n])
    return pw, px, py


def project_b(rw, rx, ry, g, net, targets):
    gr = g[:, net.receiver]  # (items, edges): metric of each edge's block
    wbar = (gr * rw).sum(0) / gr.sum(0)
    for n in range(net.first_neuron, net.n_nodes):
        e = slice(net.in_start[n], net.in_start[n + 1])
        nrm = wbar[e] @ wbar[e]
        if nrm > 0:
            wbar[e] *= np.sqrt((net.in_start[n + 1] - net.in_start[n]) / nrm)
    pw = np.broadcast_to(wbar, rw.shape).copy()
    px = np.empty_like(rx)
    py = np.empty_like(ry)
    for o in range(net.first_output):
        out = net.out_edges[net.out_start[o]:net.out_start[o + 1]]
        num = g[:, o] * ry[:, o] + (gr[:, out] * rx[:, out]).sum(1)
        den = g[:, o] + gr[:, out].sum(1)
        py[:, o] = num / den
        px[:, out] = py[:, o][:, None]
    py[:, net.first_output:] = targets
    return pw, px, py


def rrr_run(zw, zx, zy, g, net, delta, inputs, targets, beta, gamma, max_iter, gap_stop):
    """Returns (gaps, best_w, n_iter, stopped, final z and g)."""
    zw, zx, zy, g = zw.copy(), zx.copy(), zy.copy(), g.copy()
    gaps, best, best_w = [], np.inf, None
    neur = slice(net.first_neuron, net.n_nodes)
    for it in range(max_iter):
        aw, ax, ay = project_a(zw, zx, zy, net, delta, inputs)
        bw, bx, by = project_b(2 * aw - zw, 2 * ax - zx, 2 * ay - zy, g, net, targets)
        dwx = (bw - aw) ** 2 + (bx - ax) ** 2
        gapnode = (by - ay) ** 2
        for n in range(net.first_neuron, net.n_nodes):
            gapnode[:, n] += dwx[:, net.in_start[n]:net.in_start[n + 1]].sum(1)
        mean = gapnode[:, neur].mean()
        gap = np.sqrt(mean)
        gaps.append(gap)
        if gap < best:
            best, best_w = gap, bw[0].copy()
        if gap < gap_stop:
            return np.array(gaps), best_w, it + 1, True, (zw, zx, zy, g)
        zw = zw + beta * (bw - aw)
        zx = zx + beta * (bx - ax)
        zy = zy + beta * (by - ay)
        if mean > 0:
            g[:, neur] += gamma * (gapnode[:, neur] / mean - g[:, neur])
    return np.array(gaps), best_w, max_iter, False, (zw, zx, zy, g)
