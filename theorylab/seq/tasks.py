"""State-tracking tasks for sequence models: parity, modular addition, modular arithmetic
with and without brackets, cycle navigation.

Grazzi et al. 2024 (arXiv:2411.12537), Sec. 5.1, after the Chomsky-hierarchy suite of
Delétang et al. 2023 (arXiv:2207.02098). Every generator returns a
:class:`StateTrackingBatch` whose ``mask`` marks the positions that carry a label: every
position for the running-state tasks (the state after reading tokens ``0..t``), only the
last one for arithmetic with brackets (the value of the whole expression).

Token codes: digits ``0..m−1`` are themselves; operators follow them (``+ − ×`` =
``m, m+1, m+2``; ``( )`` = ``m+3, m+4``). Cycle navigation: ``0`` stay, ``1`` step +1,
``2`` step −1 on a cycle of ``n_states`` positions starting at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.results import ResultRepr

__all__ = ["StateTrackingBatch", "parity_task", "mod_add_task", "mod_arithmetic_task",
           "task_loss", "sequence_accuracy", "train_state_tracking",
           "cycle_navigation_task", "make_task", "TASKS"]

TASKS: tuple[str, ...] = ("parity", "mod_add", "mod_arithmetic", "mod_arithmetic_brackets",
                          "cycle_navigation")


@dataclass(frozen=True)
class StateTrackingBatch(ResultRepr):
    """``tokens`` (B, T) int64, ``labels`` (B, T) int64, ``mask`` (B, T) bool (labelled
    positions), and the sizes a model needs."""

    tokens: torch.Tensor
    labels: torch.Tensor
    mask: torch.Tensor
    vocab_size: int
    n_classes: int

    def to(self, device) -> StateTrackingBatch:
        return StateTrackingBatch(self.tokens.to(device), self.labels.to(device),
                                  self.mask.to(device), self.vocab_size, self.n_classes)


def _sizes(batch, length):
    return (check_int(batch, name="batch", minimum=1),
            check_int(length, name="length", minimum=1))


def parity_task(batch: int, length: int, *,
                generator: torch.Generator | None = None) -> StateTrackingBatch:
    """Random bits; label at step ``t`` = parity of bits ``0..t``.

    Examples
    --------
    >>> import torch
    >>> b = parity_task(2, 6, generator=torch.Generator().manual_seed(0))
    >>> bool(((b.tokens.cumsum(1) % 2) == b.labels).all())
    True
    """
    B, T = _sizes(batch, length)
    x = torch.randint(0, 2, (B, T), generator=generator)
    return StateTrackingBatch(x, x.cumsum(1) % 2, torch.ones(B, T, dtype=torch.bool), 2, 2)


def mod_add_task(batch: int, length: int, *, modulus: int = 3,
                 generator: torch.Generator | None = None) -> StateTrackingBatch:
    """Random digits in ``0..m−1``; label at step ``t`` = their running sum mod ``m``
    (``m = 2`` is parity).

    Examples
    --------
    >>> import torch
    >>> b = mod_add_task(2, 6, modulus=3, generator=torch.Generator().manual_seed(0))
    >>> bool(((b.tokens.cumsum(1) % 3) == b.labels).all())
    True
    """
    B, T = _sizes(batch, length)
    m = check_int(modulus, name="modulus", minimum=2)
    x = torch.randint(0, m, (B, T), generator=generator)
    return StateTrackingBatch(x, x.cumsum(1) % m, torch.ones(B, T, dtype=torch.bool), m, m)


def cycle_navigation_task(batch: int, length: int, *, n_states: int = 5,
                          generator: torch.Generator | None = None) -> StateTrackingBatch:
    """Moves on a cycle of ``n_states`` positions (``0`` stay, ``1`` +1, ``2`` −1) from 0;
    label at step ``t`` = the position after move ``t``.

    Examples
    --------
    >>> import torch
    >>> b = cycle_navigation_task(1, 4, generator=torch.Generator().manual_seed(1))
    >>> step = torch.tensor([0, 1, -1])[b.tokens]
    >>> bool(((step.cumsum(1) % 5) == b.labels).all())
    True
    """
    B, T = _sizes(batch, length)
    n = check_int(n_states, name="n_states", minimum=2)
    x = torch.randint(0, 3, (B, T), generator=generator)
    step = torch.tensor([0, 1, -1])[x]
    return StateTrackingBatch(x, step.cumsum(1) % n, torch.ones(B, T, dtype=torch.bool), 3, n)


def _apply(op: int, a: int, b: int, m: int) -> int:
    return (a + b) % m if op == 0 else (a - b) % m if op == 1 else (a * b) % m


def _expression(L: int, m: int, g: torch.Generator) -> tuple[list[int], int]:
    """Tokens of a random expression of exactly ``L`` tokens (grammar E → d | −E |
    (E op E)) and its value mod ``m``."""
    def rand(n):
        return int(torch.randint(0, n, (1,), generator=g))

    if L == 1:
        d = rand(m)
        return [d], d
    if L < 5 or rand(4) == 0:  # unary minus
        toks, val = _expression(L - 1, m, g)
        return [m + 1] + toks, (-val) % m
    a = 1 + rand(L - 4)  # a + b = L − 3, a, b ≥ 1
    ta, va = _expression(a, m, g)
    tb, vb = _expression(L - 3 - a, m, g)
    op = rand(3)
    return [m + 3] + ta + [m + op] + tb + [m + 4], _apply(op, va, vb, m)


def mod_arithmetic_task(batch: int, length: int, *, modulus: int = 5, brackets: bool = False,
                        generator: torch.Generator | None = None) -> StateTrackingBatch:
    """Modular arithmetic over ``+ − ×`` mod ``m``.

    Without brackets: ``d op d op … d`` (``length`` odd) evaluated left to right; the label
    at every digit position is the value so far (a regular language: ``m`` states). With
    brackets: a random expression of exactly ``length`` tokens from ``E → d | −E |
    (E op E)`` with the usual meaning; only the last position is labelled with the value
    (context-free: needs a stack).

    Examples
    --------
    >>> import torch
    >>> b = mod_arithmetic_task(1, 5, modulus=5, generator=torch.Generator().manual_seed(0))
    >>> b.tokens.shape, int(b.mask.sum())
    (torch.Size([1, 5]), 3)
    >>> b = mod_arithmetic_task(3, 12, brackets=True, generator=torch.Generator().manual_seed(0))
    >>> b.mask[:, -1].all().item(), int(b.mask.sum())
    (True, 3)
    """
    B, T = _sizes(batch, length)
    m = check_int(modulus, name="modulus", minimum=2)
    if not isinstance(brackets, bool):
        raise TypeError(f"brackets must be a bool, got {type(brackets).__name__}")
    labels = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    if brackets:
        tokens = torch.empty(B, T, dtype=torch.long)
        g = generator if generator is not None else torch.Generator().manual_seed(
            int(torch.randint(0, 2**31 - 1, (1,))))
        for i in range(B):
            toks, val = _expression(T, m, g)
            tokens[i] = torch.tensor(toks)
            labels[i, -1] = val
        mask[:, -1] = True
        return StateTrackingBatch(tokens, labels, mask, m + 5, m)
    if T % 2 == 0:
        raise ValueError(f"length must be odd without brackets (d op d … d), got {T}")
    digits = torch.randint(0, m, (B, (T + 1) // 2), generator=generator)
    ops = torch.randint(0, 3, (B, (T - 1) // 2), generator=generator)
    tokens = torch.empty(B, T, dtype=torch.long)
    tokens[:, 0::2] = digits
    tokens[:, 1::2] = m + ops
    val = digits[:, 0] % m
    labels[:, 0] = val
    for j in range(ops.shape[1]):
        o, d = ops[:, j], digits[:, j + 1]
        val = torch.where(o == 0, val + d, torch.where(o == 1, val - d, val * d)) % m
        labels[:, 2 * j + 2] = val
    mask[:, 0::2] = True
    return StateTrackingBatch(tokens, labels, mask, m + 3, m)


def make_task(name: Literal["parity", "mod_add", "mod_arithmetic", "mod_arithmetic_brackets",
                            "cycle_navigation"],
              batch: int, length: int, *, modulus: int = 3,
              generator: torch.Generator | None = None) -> StateTrackingBatch:
    """One batch of the named task (``modulus``: of ``mod_add`` / ``mod_arithmetic*`` and the
    cycle length of ``cycle_navigation``)."""
    check_choice(name, name="name", choices=TASKS)
    if name == "parity":
        return parity_task(batch, length, generator=generator)
    if name == "mod_add":
        return mod_add_task(batch, length, modulus=modulus, generator=generator)
    if name == "cycle_navigation":
        return cycle_navigation_task(batch, length, n_states=modulus, generator=generator)
    return mod_arithmetic_task(batch, length, modulus=modulus,
                               brackets=name == "mod_arithmetic_brackets", generator=generator)


def task_loss(model: torch.nn.Module, batch: StateTrackingBatch) -> torch.Tensor:
    """Mean cross-entropy over the labelled positions of ``batch``."""
    logits = model(batch.tokens)  # (B, T, n_classes)
    return torch.nn.functional.cross_entropy(logits[batch.mask], batch.labels[batch.mask])


@torch.no_grad()
def sequence_accuracy(model: torch.nn.Module, batch: StateTrackingBatch, *,
                      final_only: bool = True) -> float:
    """Fraction of sequences whose last labelled position is predicted right
    (``final_only=True``), or of all labelled positions (``False``)."""
    was = model.training
    model.eval()
    pred = model(batch.tokens).argmax(-1)
    model.train(was)
    if final_only:
        return float((pred[:, -1] == batch.labels[:, -1]).float().mean())
    return float((pred[batch.mask] == batch.labels[batch.mask]).float().mean())


def train_state_tracking(model: torch.nn.Module, name: str, *, steps: int, lr: float,
                         batch: int, min_length: int, max_length: int, modulus: int = 3,
                         generator: torch.Generator | None = None,
                         device: str | torch.device = "cpu") -> list[float]:
    """Adam on fresh batches of task ``name``, each of a length drawn uniformly from
    ``[min_length, max_length]`` (odd lengths only for ``mod_arithmetic``); returns the losses.

    ``generator`` draws the lengths and the data (CPU), so runs are reproducible per seed.
    """
    check_choice(name, name="name", choices=TASKS)
    steps = check_int(steps, name="steps", minimum=1)
    lo = check_int(min_length, name="min_length", minimum=1)
    hi = check_int(max_length, name="max_length", minimum=lo)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    check_int(modulus, name="modulus", minimum=2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step in range(steps):
        T = int(torch.randint(lo, hi + 1, (1,), generator=generator))
        if name == "mod_arithmetic" and T % 2 == 0:
            T += 1
        b = make_task(name, batch, T, modulus=modulus, generator=generator).to(device)
        loss = task_loss(model, b)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses
