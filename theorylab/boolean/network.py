"""Feed-forward networks of Boolean threshold functions (BTFs) and their wiring arrays.

Node numbering follows the authors' reference code: node 0 is a constant bias input with
value −1, nodes ``1..n_in`` are the data inputs, then the hidden nodes layer by layer, and
the last ``n_out`` nodes are the outputs. Every non-input node ("neuron") computes
``y = sgn(w·x)`` over its in-edges, the bias edge included, so its in-degree ``deg``
counts the bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_int
from theorylab.results import ResultRepr

__all__ = ["Network", "layered_network"]


@dataclass(frozen=True, eq=False)
class Network(ResultRepr):
    """Wiring of a BTF network (edges sorted by receiving node).

    Attributes
    ----------
    n_nodes, n_in, n_out : int
        Total nodes (bias included), data inputs, outputs.
    sender, receiver : ndarray of int64, shape (n_edges,)
        Edge endpoints; edges of one receiver are contiguous.
    in_start : ndarray, shape (n_nodes + 1,)
        In-edges of node ``n`` are ``in_start[n]:in_start[n+1]`` (empty for bias/inputs).
    out_start, out_edges : ndarray
        Out-edges of node ``o`` are ``out_edges[out_start[o]:out_start[o+1]]``.
    widths : tuple of int
        Layer widths, input first (for display).
    """

    n_nodes: int
    n_in: int
    n_out: int
    sender: np.ndarray
    receiver: np.ndarray
    in_start: np.ndarray
    out_start: np.ndarray
    out_edges: np.ndarray
    widths: tuple[int, ...]

    @property
    def n_edges(self) -> int:
        return int(self.sender.size)

    @property
    def first_neuron(self) -> int:
        return self.n_in + 1

    @property
    def first_output(self) -> int:
        return self.n_nodes - self.n_out

    @property
    def degrees(self) -> np.ndarray:
        """In-degree of every node (0 for bias and inputs)."""
        return np.diff(self.in_start)

    def node_name(self, node: int) -> str:
        if node == 0:
            return "1"  # the bias input carries −1; its name is only used inside gates
        if node <= self.n_in:
            return f"x{node}"
        if node >= self.first_output:
            return f"out{node - self.first_output + 1}"
        return f"h{node - self.n_in}"

    def forward(self, weights: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Sign-activation forward pass; returns all node values, shape (n_items, n_nodes).

        ``sgn(0)`` is taken as +1 (a margin-respecting solution never has w·x = 0).
        """
        inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
        vals = np.empty((inputs.shape[0], self.n_nodes))
        vals[:, 0] = -1.0
        vals[:, 1:self.n_in + 1] = inputs
        for n in range(self.first_neuron, self.n_nodes):
            e = slice(self.in_start[n], self.in_start[n + 1])
            s = vals[:, self.sender[e]] @ weights[e]
            vals[:, n] = np.where(s >= 0, 1.0, -1.0)
        return vals

    def predict(self, weights: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Output bits (±1), shape (n_items, n_out)."""
        return self.forward(weights, inputs)[:, self.first_output:]


def layered_network(widths: Sequence[int], *, skip: bool = False) -> Network:
    """A fully connected layered network ``widths = (n_in, h_1, …, n_out)``.

    Every neuron also receives the bias node. With ``skip=True`` each neuron is wired to
    every node of every earlier layer (inputs included), as the reference code's skip option.

    Examples
    --------
    >>> net = layered_network([4, 4, 4, 4])   # the 2-bit multiplier net of the reference code
    >>> net.n_edges, int(net.degrees[-1])
    (60, 5)
    """
    if isinstance(widths, str | bytes) or len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output layer, got {widths!r}")
    widths = tuple(check_int(w, name="widths", minimum=1) for w in widths)
    starts = 1 + np.cumsum((0,) + widths[:-1])  # first node of each layer (bias is node 0)
    layers = [list(range(starts[k], starts[k] + widths[k])) for k in range(len(widths))]
    snd, rcv = [], []
    for k in range(1, len(widths)):
        sources = [0] + (sum(layers[:k], []) if skip else layers[k - 1])
        for n in layers[k]:
            for s in sources:
                snd.append(s)
                rcv.append(n)
    sender = np.asarray(snd, dtype=np.int64)
    receiver = np.asarray(rcv, dtype=np.int64)
    n_nodes = 1 + sum(widths)
    in_start = np.zeros(n_nodes + 1, dtype=np.int64)
    np.add.at(in_start, receiver + 1, 1)
    in_start = np.cumsum(in_start)
    order = np.argsort(sender, kind="stable")
    out_start = np.zeros(n_nodes + 1, dtype=np.int64)
    np.add.at(out_start, sender + 1, 1)
    out_start = np.cumsum(out_start)
    return Network(n_nodes=n_nodes, n_in=widths[0], n_out=widths[-1], sender=sender,
                   receiver=receiver, in_start=in_start, out_start=out_start,
                   out_edges=order.astype(np.int64), widths=widths)
