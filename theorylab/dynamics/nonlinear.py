"""Nonlinear student–teacher experiment of Advani & Saxe (Sec. 5) at small scale, in torch.

A two-layer ReLU teacher with ``n_teacher`` hidden units labels Gaussian inputs with
additive noise; two-layer ReLU students of several widths are trained by full-batch
gradient descent from small initial weights, with no early stopping and no
regularisation. The paper's claim: making the student very large does not harm its
test error (overtraining is worst at intermediate size).

The paper's exact settings (N_i = 15 inputs, N_t = 30 teacher units, P = 300, SNR = 1)
come from a public slide deck and are **unconfirmed**; the normalisation below is ours:
``x ~ N(0, I_{N_i})``, ``teacher(x) = a·relu(W x/√N_i)/√N_t`` with unit-variance entries,
noise variance = Var(teacher output)/SNR. Student ``a·relu(W x/√N_i)/√H`` with entries
``N(0, init_scale²)``, trained on ``½ mean (y − ŷ)²``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from theorylab._result import SolverResult
from theorylab._validation import check_int, check_positive, check_rng

__all__ = ["TwoLayerResult", "train_two_layer_student"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoLayerResult(SolverResult):
    """Test/train error of one student along training (``history`` has the curves)."""

    width: int
    steps: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    noise_var: float


def _task_seed(r) -> int:
    """The torch seed of one task: an int as given, else one draw from the Generator."""
    if isinstance(r, numbers.Integral) and not isinstance(r, bool):
        return check_int(r, name="rng", minimum=0)
    return int(check_rng(r).integers(0, 2**62))


def train_two_layer_student(width: int, *, n_inputs: int = 15, n_teacher: int = 30,
                            n_samples: int = 300, snr: float = 1.0, init_scale: float = 0.05,
                            lr: float = 0.05, n_steps: int = 20000, n_test: int = 4000,
                            n_records: int = 30, rng=None,
                            device: str = "cpu") -> TwoLayerResult:
    """Train two-layer ReLU students of ``width`` hidden units by full-batch GD.

    ``rng`` (an int seed, a ``numpy.random.Generator`` or None for fresh entropy) fixes one
    task: teacher, data and student init. A list of them gives one independent task per
    entry, all trained at once as a batch (same number of torch operations as one task).
    An int seeds the task's torch generators directly; a Generator (or None) gives one
    draw for that seed. For a given seed the teacher and data do not depend on the width,
    so students of different widths see the same task (paired comparisons).

    Returns
    -------
    TwoLayerResult
        ``test_error`` (MSE on fresh noisy labels, so the floor is ``noise_var``) and
        ``train_error`` at ``n_records`` log-spaced steps; shape ``(n_records,)`` for one
        ``rng``, ``(n_tasks, n_records)`` for a list.
    """
    import torch

    width = check_int(width, name="width", minimum=1)
    n_inputs = check_int(n_inputs, name="n_inputs", minimum=1)
    n_teacher = check_int(n_teacher, name="n_teacher", minimum=1)
    n_samples = check_int(n_samples, name="n_samples", minimum=1)
    n_test = check_int(n_test, name="n_test", minimum=1)
    snr = check_positive(snr, name="snr")
    init_scale = check_positive(init_scale, name="init_scale", strict=False)
    lr = check_positive(lr, name="lr")
    steps = check_int(n_steps, name="n_steps", minimum=1)
    single = not isinstance(rng, list | tuple)
    seeds = [_task_seed(r) for r in ([rng] if single else rng)]
    if not seeds:
        raise ValueError("rng must be a seed, a Generator, None or a non-empty list of them, "
                         "got []")
    dt = torch.float64
    Xs, ys, W0, a0, nvs = [], [], [], [], []
    for sd in seeds:
        g = torch.Generator(device="cpu").manual_seed(sd)
        Wt = torch.randn(n_teacher, n_inputs, generator=g, dtype=dt)
        at = torch.randn(n_teacher, generator=g, dtype=dt)
        X = torch.randn(n_samples + n_test, n_inputs, generator=g, dtype=dt)
        f = torch.relu(X @ Wt.T / np.sqrt(n_inputs)) @ at / np.sqrt(n_teacher)
        nv = float(f.var()) / snr
        Xs.append(X)
        ys.append(f + torch.randn(len(f), generator=g, dtype=dt) * np.sqrt(nv))
        nvs.append(nv)
        # width-specific stream for the student, so the task does not shift with width
        gs = torch.Generator(device="cpu").manual_seed(sd * 100_003 + width)
        W0.append(torch.randn(width, n_inputs, generator=gs, dtype=dt) * init_scale)
        a0.append(torch.randn(width, generator=gs, dtype=dt) * init_scale)
    X = torch.stack(Xs).to(device)  # (S, P + n_test, N_i)
    y = torch.stack(ys).to(device)  # (S, P + n_test)
    Xtr, ytr, Xte, yte = X[:, :n_samples], y[:, :n_samples], X[:, n_samples:], y[:, n_samples:]
    W = torch.stack(W0).to(device).requires_grad_(True)  # (S, H, N_i)
    a = torch.stack(a0).to(device).requires_grad_(True)  # (S, H)
    rec = np.unique(np.round(np.logspace(0, np.log10(steps), n_records)).astype(int))
    test, train = [], []
    s_in = 1.0 / np.sqrt(n_inputs)

    def predict(Xb):  # (S, n, N_i) -> (S, n)
        return torch.einsum("snh,sh->sn", torch.relu(torch.bmm(Xb, W.transpose(1, 2)) * s_in), a)

    for step in range(1, steps + 1):
        loss_s = 0.5 * torch.mean((ytr - predict(Xtr)) ** 2, dim=1)  # (S,)
        gW, ga = torch.autograd.grad(loss_s.sum(), (W, a))  # seeds are independent
        with torch.no_grad():
            W -= lr * gW
            a -= lr * ga
        if step in rec:
            with torch.no_grad():
                if not torch.all(torch.isfinite(loss_s)):
                    raise FloatingPointError(f"training loss became non-finite at step {step}")
                test.append(torch.mean((yte - predict(Xte)) ** 2, dim=1).cpu().numpy())
                train.append(2.0 * loss_s.detach().cpu().numpy())
    te, tr = np.array(test).T, np.array(train).T  # (S, n_records)
    return TwoLayerResult(width=width, steps=rec, test_error=te[0] if single else te,
                          train_error=tr[0] if single else tr,
                          noise_var=nvs[0] if single else float(np.mean(nvs)), n_iter=steps,
                          message="full-batch gradient descent")
