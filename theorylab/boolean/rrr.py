"""Training Boolean-threshold networks by reflect-reflect-relax (Elser & Lal 2026).

Every node value is ±1 and every neuron a Boolean threshold function ``y = sgn(w·x)`` with
margin ``|w·x| ≥ Δ = √(deg/σ)`` at ``‖w‖² = deg``. Learning is the feasibility problem
A ∩ B solved by RRR:

* A (divide): per training item and neuron, ``y ∈ {±1}`` and ``y (w·x) ≥ Δ``; data inputs
  pinned to the item's bits.
* B (concur): each edge's weight equal across items and on the sphere ``‖w_n‖² = deg``;
  a node's value equal to what every receiving edge sees; outputs equal to the labels.

``p_A = P_A(z); p_B = P_B(2p_A − z); z ← z + β (p_B − p_A)``, with an adaptive metric
``g ← g + γ (gapnode/mean − g)`` on the (item, neuron) blocks, until the gap
``√mean ‖p_B − p_A‖²`` falls below ``gap_stop``.

=============  ===========================  ================
paper / code   meaning                      argument
=============  ===========================  ================
σ (btfn)       BTF norm, Δ = √(deg/σ)       ``sigma``
β              RRR step                     ``beta``
γ (gam)        metric relaxation rate       ``gamma``
gapstop        stopping gap                 ``gap_stop``
itermax        iteration cap                ``max_iter``
=============  ===========================  ================

References
----------
V. Elser, M. K. Lal, *Learning with Boolean threshold functions*, arXiv:2602.17493 (2026).
The projections follow the authors' public C code
(``veitelser/boolearn``), re-derived and implemented independently here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import check_int, check_matrix, check_positive, check_rng, check_scalar
from theorylab.boolean import _kernels
from theorylab.boolean.network import Network
from theorylab.results import ResultRepr

__all__ = ["RRRResult", "RRRState", "init_state", "solve_rrr", "check_pm1"]


def check_pm1(a, *, name: str, n_cols: int | None = None) -> np.ndarray:
    """A 2-D float array whose entries are exactly ±1."""
    arr = check_matrix(a, name=name)
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} columns (the network's width), "
                         f"got {arr.shape[1]}")
    bad = ~np.isin(arr, (-1.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must contain only ±1 values, got {arr[bad][0]!r}")
    return arr


@dataclass
class RRRState(ResultRepr):
    """The RRR iterate z = (w, x, y) per item and the metric g (mutable working state)."""

    zw: np.ndarray
    zx: np.ndarray
    zy: np.ndarray
    g: np.ndarray

    def copy(self) -> RRRState:
        return RRRState(self.zw.copy(), self.zx.copy(), self.zy.copy(), self.g.copy())


def init_state(network: Network, inputs: np.ndarray, targets: np.ndarray,
               rng: np.random.Generator) -> RRRState:
    """Reference initialisation: w, x, hidden y uniform in [−1, 1]; inputs and outputs set
    to the data; metric g = 1."""
    inputs = check_pm1(inputs, name="inputs", n_cols=network.n_in)
    targets = check_pm1(targets, name="targets", n_cols=network.n_out)
    if targets.shape[0] != inputs.shape[0]:
        raise ValueError(f"targets must have {inputs.shape[0]} rows (one per input), "
                         f"got {targets.shape[0]}")
    n_items = inputs.shape[0]
    zw = rng.uniform(-1.0, 1.0, (n_items, network.n_edges))
    zx = rng.uniform(-1.0, 1.0, (n_items, network.n_edges))
    zy = rng.uniform(-1.0, 1.0, (n_items, network.n_nodes))
    zy[:, 0] = -1.0
    zy[:, 1:network.n_in + 1] = inputs
    zy[:, network.first_output:] = targets
    return RRRState(zw, zx, zy, np.ones((n_items, network.n_nodes)))


@dataclass(frozen=True, slots=True, kw_only=True)
class RRRResult(SolverResult):
    """Outcome of :func:`solve_rrr`.

    Attributes
    ----------
    x : ndarray (n_edges,)
        Concur weights at the stop (or at the smallest gap if not solved); ``weights`` is a
        read-only alias.
    solved : bool
        The gap fell below ``gap_stop``.
    train_accuracy : float
        Fraction of output bits the sign network gets right on the training items.
    min_gap : float
    sigma : float
    network : Network
    """

    solved: bool
    train_accuracy: float
    min_gap: float
    sigma: float
    network: Network

    @property
    def weights(self) -> np.ndarray:
        """The concur weights: the same array as ``x``."""
        return self.x

    def ternary(self, threshold: float = 0.1) -> np.ndarray:
        """Weights as −1/0/+1: the sign where ``|w| > threshold``, else 0."""
        return np.where(np.abs(self.weights) > threshold, np.sign(self.weights), 0.0)

    @property
    def pm1_weights(self) -> np.ndarray:
        """The ternary (±1 / 0) weights of the non-bias edges."""
        t = self.ternary()
        return t[self.network.sender != 0]

    @property
    def biases(self) -> np.ndarray:
        """Ternary weight of each neuron's bias edge (the bias node carries −1)."""
        return self.ternary()[self.network.sender == 0]

    def gate_supports(self, threshold: float = 0.1) -> np.ndarray:
        """Number of non-zero (|w| > threshold) weights of every neuron."""
        t = self.ternary(threshold)
        net = self.network
        return np.array([int(np.count_nonzero(t[net.in_start[n]:net.in_start[n + 1]]))
                         for n in range(net.first_neuron, net.n_nodes)])

    def to_logic(self, threshold: float = 0.1) -> list[str]:
        """Read every neuron as a gate on its non-zero inputs (margin theorem with σ = 3:
        COPY/NOT or a 3-input majority, i.e. AND/OR when the bias is one of the three).

        Examples
        --------
        ``["h1 = AND(x1, x3)", "h2 = NOT(x2)", "out1 = MAJ(h1, ¬h2, x4)"]``
        """
        net = self.network
        t = self.ternary(threshold)
        lines = []
        for n in range(net.first_neuron, net.n_nodes):
            lits, const = [], []
            for e in range(net.in_start[n], net.in_start[n + 1]):
                if t[e] == 0:
                    continue
                s = int(net.sender[e])
                if s == 0:  # bias node = −1: weight +1 feeds False, −1 feeds True
                    const.append("0" if t[e] > 0 else "1")
                else:
                    nm = net.node_name(s)
                    lits.append(nm if t[e] > 0 else f"¬{nm}")
            k = len(lits) + len(const)
            if k == 1 and lits:
                gate = f"COPY({lits[0]})" if not lits[0].startswith("¬") else f"NOT({lits[0][1:]})"
            elif k == 1:
                gate = "TRUE" if const[0] == "1" else "FALSE"
            elif k == 3 and len(const) == 1:
                gate = ("AND" if const[0] == "0" else "OR") + f"({', '.join(lits)})"
            elif k % 2 == 1:
                gate = f"MAJ({', '.join(lits + const)})"
            else:
                gate = f"THRESHOLD({', '.join(lits + const)})"
            lines.append(f"{net.node_name(n)} = {gate}")
        return lines

    def extract_logic(self, inputs, *, threshold: float = 0.1) -> tuple[np.ndarray, list[str]]:
        """A ±1/0 network that computes what the trained one computes on ``inputs``.

        Each neuron keeps its ternary reading when that is a COPY/NOT or 3-input majority
        reproducing the neuron's outputs on the items (its care set); otherwise the smallest
        odd-support majority gate with ±1
        weights that agrees with it on every item is searched for (supports 1, 3, 5, …).
        Neurons are processed in order, each fed the extracted values of the earlier ones.
        Weights are scaled to √(deg/σ) so that the margin is met. Returns the weights and
        the gate list (``to_logic`` reading of the extracted network); neurons for which no
        gate exists keep the ternary reading (then the extraction is not exact).
        """
        from itertools import combinations, product

        net = self.network
        X = check_pm1(inputs, name="inputs", n_cols=net.n_in)
        true_vals = net.forward(self.weights, X)
        t = self.ternary(threshold)
        vals = np.empty_like(true_vals)
        vals[:, :net.n_in + 1] = true_vals[:, :net.n_in + 1]
        w_out = np.zeros(net.n_edges)
        for n in range(net.first_neuron, net.n_nodes):
            a, b = net.in_start[n], net.in_start[n + 1]
            src = vals[:, net.sender[a:b]]
            want = true_vals[:, n]
            amp = np.sqrt((b - a) / self.sigma)
            cand = t[a:b]
            ok = np.array_equal(np.where(src @ cand >= 0, 1.0, -1.0), want)
            if not ok or np.count_nonzero(cand) > 3 or np.count_nonzero(cand) % 2 == 0:
                cand = None
                for k in range(1, b - a + 1, 2):
                    for supp in combinations(range(b - a), k):
                        for signs in product((-1.0, 1.0), repeat=k):
                            c = np.zeros(b - a)
                            c[list(supp)] = signs
                            if np.all((src @ c) * want > 0):
                                cand = c
                                break
                        if cand is not None:
                            break
                    if cand is not None:
                        break
                if cand is None:
                    cand = t[a:b]
            w_out[a:b] = amp * cand
            s = src @ w_out[a:b]
            vals[:, n] = np.where(s >= 0, 1.0, -1.0)
        gates = RRRResult(x=w_out, solved=self.solved, train_accuracy=np.nan,
                          min_gap=self.min_gap, sigma=self.sigma, network=net).to_logic(
                              threshold=0.5 * np.sqrt(1.0 / self.sigma))
        return w_out, gates

    def logic_forward(self, inputs: np.ndarray, threshold: float = 0.1) -> np.ndarray:
        """Outputs of the network read as logic (ternary weights), shape (n_items, n_out)."""
        return self.network.predict(self.ternary(threshold), inputs)


def solve_rrr(network: Network, inputs, targets, *, beta: float = 0.2, sigma: float = 3.0,
              gamma: float = 1e-3, max_iter: int = 10_000, gap_stop: float = 0.01,
              rng=None, state: RRRState | None = None) -> RRRResult:
    """Train a BTF network on ±1 data by reflect-reflect-relax.

    Parameters
    ----------
    network : Network
        Wiring, e.g. ``layered_network([4, 4, 4, 4])``.
    inputs : array (n_items, n_in) of ±1
    targets : array (n_items, n_out) of ±1
    beta : float, default 0.2
        RRR step, in (0, 2) (β = 1 is Douglas–Rachford).
    sigma : float, default 3
        BTF norm σ > 0: margin Δ = √(deg/σ). σ = 3 makes every neuron COPY/NOT or MAJ3.
    gamma : float, default 1e-3
        Metric relaxation rate, in [0, 1] (rule of thumb γ·max_iter ≈ 1–10).
    max_iter : int
    gap_stop : float
        Stop when the gap falls below this.
    rng : Generator, int or None
        Initialisation (w, x, hidden y uniform in [−1, 1]).
    state : RRRState, optional
        Start from this iterate instead (it is not modified).

    Returns
    -------
    RRRResult

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached before the gap falls below ``gap_stop``.

    Raises
    ------
    ValueError
        Non-±1 data, widths that do not match the network, σ ≤ 0, β outside (0, 2).
    FloatingPointError
        When the gap becomes NaN/inf, naming the iteration.

    Examples
    --------
    >>> from theorylab.boolean import layered_network
    >>> import numpy as np
    >>> X = np.array([[-1.], [1.]]); Y = -X          # learn NOT
    >>> res = solve_rrr(layered_network([1, 1]), X, Y, rng=0)
    >>> res.solved, res.to_logic()
    (True, ['out1 = NOT(x1)'])
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a theorylab.boolean.Network, got "
                        f"{type(network).__name__}")
    X = check_pm1(inputs, name="inputs", n_cols=network.n_in)
    Y = check_pm1(targets, name="targets", n_cols=network.n_out)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"targets must have {X.shape[0]} rows (one per input item), "
                         f"got {Y.shape[0]}")
    beta = check_scalar(beta, name="beta", lower=0.0, upper=2.0, lower_inclusive=False,
                        upper_inclusive=False)
    sigma = check_positive(sigma, name="sigma")
    gamma = check_scalar(gamma, name="gamma", lower=0.0, upper=1.0)
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    gap_stop = check_positive(gap_stop, name="gap_stop")
    rng = check_rng(rng)
    st = init_state(network, X, Y, rng) if state is None else state.copy()
    delta = np.sqrt(network.degrees / sigma)
    gaps = np.full(max_iter, np.nan)
    best_w = np.zeros(network.n_edges)
    n_iter, stopped = _kernels.rrr_run(
        st.zw, st.zx, st.zy, st.g, network.sender, network.in_start, delta, network.n_in, X, Y,
        beta, gamma, max_iter, gap_stop, gaps, best_w)
    gaps = gaps[:n_iter]
    if not np.isfinite(gaps[-1]):
        raise FloatingPointError(f"the RRR gap became {gaps[-1]} at iteration {n_iter}")
    acc = float(np.mean(network.predict(best_w, X) == Y))
    min_gap = float(gaps.min())
    if stopped:
        msg = f"gap {gaps[-1]:.3g} < gap_stop {gap_stop:g} after {n_iter} iterations"
    else:
        msg = (f"max_iter={max_iter} reached: min gap {min_gap:.3g} > gap_stop {gap_stop:g} "
               f"(train bit accuracy {acc:.3f})")
        warnings.warn(f"solve_rrr: {msg}", ConvergenceWarning, stacklevel=2)
    return RRRResult(x=best_w, n_iter=int(n_iter), converged=bool(stopped),
                     solved=bool(stopped), message=msg,
                     history={"gap": gaps, "min_gap": np.minimum.accumulate(gaps)},
                     train_accuracy=acc, min_gap=min_gap, sigma=sigma, network=network)
