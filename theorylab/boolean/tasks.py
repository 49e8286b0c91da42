"""Tasks of the paper as ±1 data (1 → +1, 0 → −1): multipliers, autoencoders, parity,
elementary cellular automata and planted random AND/OR circuits."""

from __future__ import annotations

import numpy as np

from theorylab._validation import check_array, check_int, check_rng
from theorylab.boolean.network import Network, layered_network

__all__ = ["multiplier_task", "autoencoder_task", "parity_task", "cellular_automaton_task",
           "random_andor_circuit", "to_pm1", "bits"]


def to_pm1(b: np.ndarray) -> np.ndarray:
    """0/1 → −1/+1."""
    b = check_array(b, name="b", ndim=None, allow_bool=True, min_shape=(1,))
    return 2.0 * b - 1.0


def bits(values: np.ndarray, n: int) -> np.ndarray:
    """Integers → their ``n`` bits, most significant first, shape (len(values), n)."""
    n = check_int(n, name="n", minimum=1)
    v = check_array(values, name="values", ndim=1, dtype=np.int64, min_shape=(1,))[:, None]
    return (v >> np.arange(n - 1, -1, -1)) & 1


def multiplier_task(n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``4^n`` products of two ``n``-bit numbers: inputs (a, b) bits, outputs 2n bits.

    Examples
    --------
    >>> X, Y = multiplier_task(2)
    >>> X.shape, Y.shape
    ((16, 4), (16, 4))
    """
    n = check_int(n_bits, name="n_bits", minimum=1, maximum=8)
    a, b = np.divmod(np.arange(4**n), 2**n)
    return to_pm1(np.hstack([bits(a, n), bits(b, n)])), to_pm1(bits(a * b, 2 * n))


def autoencoder_task(n_bits: int, n_items: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``n_items`` distinct random ``n_bits``-bit vectors; targets equal inputs."""
    n = check_int(n_bits, name="n_bits", minimum=1, maximum=62)
    m = check_int(n_items, name="n_items", minimum=1, maximum=2**min(n, 30))
    rng = check_rng(rng)
    codes = rng.choice(2**n, size=m, replace=False) if n <= 30 else rng.integers(0, 2**n, m)
    X = to_pm1(bits(codes, n))
    return X, X.copy()


def parity_task(n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``2^n`` inputs; output +1 when an odd number of bits is 1."""
    n = check_int(n_bits, name="n_bits", minimum=1, maximum=16)
    b = bits(np.arange(2**n), n)
    return to_pm1(b), to_pm1((b.sum(1) % 2)[:, None])


def ca_step(state01: np.ndarray, rule: int) -> np.ndarray:
    """One step of an elementary cellular automaton on a ring (0/1 arrays, rows = items)."""
    left, right = np.roll(state01, 1, axis=1), np.roll(state01, -1, axis=1)
    idx = 4 * left + 2 * state01 + right
    return (rule >> idx) & 1


def cellular_automaton_task(rule: int, n_cells: int, *, steps: int = 1, n_items: int | None = None,
                            rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Random ring states and their images after ``steps`` steps of Wolfram ``rule``.

    ``n_items=None`` enumerates all ``2^n_cells`` states (for small rings).
    """
    rule = check_int(rule, name="rule", minimum=0, maximum=255)
    n = check_int(n_cells, name="n_cells", minimum=3, maximum=62)
    steps = check_int(steps, name="steps", minimum=1)
    if n_items is None:
        if n > 20:
            raise ValueError(f"n_items must be given when n_cells > 20, got n_cells={n}")
        s = bits(np.arange(2**n), n)
    else:
        m = check_int(n_items, name="n_items", minimum=1)
        s = check_rng(rng).integers(0, 2, size=(m, n))
    out = s
    for _ in range(steps):
        out = ca_step(out, rule)
    return to_pm1(s), to_pm1(out)


def random_andor_circuit(width: int, depth: int, *, rng=None) -> tuple[Network, np.ndarray]:
    """A planted layered circuit: every neuron is AND or OR (probability 1/2 each) of two
    distinct random nodes of the previous layer, written as a σ = 3 BTF
    (weights √(deg/3) on the two inputs and ±√(deg/3) on the bias).

    Returns the network (``depth`` layers of ``width`` after the input layer of ``width``)
    and its weights; ``network.predict(weights, X)`` labels inputs.
    """
    width = check_int(width, name="width", minimum=2)
    depth = check_int(depth, name="depth", minimum=1)
    rng = check_rng(rng)
    net = layered_network([width] * (depth + 1))
    w = np.zeros(net.n_edges)
    for n in range(net.first_neuron, net.n_nodes):
        a, b = net.in_start[n], net.in_start[n + 1]
        amp = np.sqrt((b - a) / 3.0)
        picks = rng.choice(np.arange(a + 1, b), size=2, replace=False)  # edge a is the bias
        w[picks] = amp
        w[a] = amp if rng.random() < 0.5 else -amp  # +: constant False → AND; −: OR
    return net, w
