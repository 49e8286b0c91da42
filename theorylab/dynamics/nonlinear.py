"""Nonlinear student–teacher experiment of Advani & Saxe (Sec. 5) at small scale, in torch.

A two-layer ReLU teacher with ``n_teacher`` hidden units labels Gaussian inputs with
additive noise; two-layer ReLU students of several widths are trained by full-batch
gradient descent from small initial weights, with no early stopping and no
regularisation. The paper's claim: making the student very large does not harm its
test error (overtraining is worst at intermediate size).

The paper's exact settings (N_i = 15 inputs, N_t = 30 teacher units, P = 300, SNR = 1)
come from a public slide deck and are **unconfirmed**; the normalisation below is ours:
``x ~ N(0, I_{N_i})``, ``teacher(x) = a·relu(W x/√N_i)/√N_t`` with unit-variance entries,
noise variance = Var(teacher output)/SNR. Student ``a·relu(W x/√N_i)`` (no 1/√H) with entries
``N(0, init_scale²)``, trained on ``½ mean (y − ŷ)²``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from theorylab._result import SolverResult
from theorylab._validation import check_int, check_positive, check_rng

__all__ = ["TwoLayerResult", "train_two_layer_student"]

_PAD = 64  # numba path: sample axes zero-padded to a multiple of this (no scalar tails)
_BLOCK_BYTES = 1 << 20  # hidden activations per block of seeds (fits a 1 MiB L2 cache)


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
                            n_records: int = 30, rng=None, device: str = "cpu",
                            dtype: Literal["float64", "float32"] = "float64") -> TwoLayerResult:
    """Train two-layer ReLU students of ``width`` hidden units by full-batch GD.

    ``rng`` (an int seed, a ``numpy.random.Generator`` or None for fresh entropy) fixes one
    task: teacher, data and student init. A list of them gives one independent task per
    entry, all trained at once as a batch (same number of torch operations as one task).
    An int seeds the task's torch generators directly; a Generator (or None) gives one
    draw for that seed. The gradients are in closed form (no autograd).
    ``dtype="float32"`` runs the training in single precision (about twice as fast on CPU);
    the task and the initial weights are drawn in float64 either way, so both precisions
    start from the same numbers. For a given seed the teacher and data do not depend on the
    width, so students of different widths see the same task (paired comparisons).

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
    dt = {"float64": torch.float64, "float32": torch.float32}.get(dtype)
    if dt is None:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    Xs, ys, W0, a0, nvs = [], [], [], [], []
    for sd in seeds:  # the task and the init are always drawn in float64
        g = torch.Generator(device="cpu").manual_seed(sd)
        f64 = torch.float64
        W_teach = torch.randn(n_teacher, n_inputs, generator=g, dtype=f64)
        a_teach = torch.randn(n_teacher, generator=g, dtype=f64)
        X = torch.randn(n_samples + n_test, n_inputs, generator=g, dtype=f64)
        f = torch.relu(X @ W_teach.T / np.sqrt(n_inputs)) @ a_teach / np.sqrt(n_teacher)
        nv = float(f.var()) / snr
        Xs.append(X)
        ys.append(f + torch.randn(len(f), generator=g, dtype=f64) * np.sqrt(nv))
        nvs.append(nv)
        # width-specific stream for the student, so the task does not shift with width
        gs = torch.Generator(device="cpu").manual_seed(sd * 100_003 + width)
        W0.append(torch.randn(width, n_inputs, generator=gs, dtype=f64) * init_scale)
        a0.append(torch.randn(width, generator=gs, dtype=f64) * init_scale)
    # inputs pre-scaled by 1/sqrt(N_i): z = W x / sqrt(N_i) = W (x / sqrt(N_i))
    X = torch.stack(Xs) / np.sqrt(n_inputs)  # (S, P + n_test, N_i), float64
    y = torch.stack(ys)  # (S, P + n_test)
    Wt = torch.stack(W0).transpose(1, 2).contiguous()  # (S, N_i, H)
    a = torch.stack(a0)  # (S, H)
    rec = np.unique(np.round(np.logspace(0, np.log10(steps), n_records)).astype(int))
    train_fn = _train_numba if torch.device(device).type == "cpu" else _train_torch
    te, tr = train_fn(X, y, Wt, a, n_samples=n_samples, lr=lr, n_steps=steps, rec=rec,
                      dtype=dtype, device=device)
    return TwoLayerResult(width=width, steps=rec, test_error=te[0] if single else te,
                          train_error=tr[0] if single else tr,
                          noise_var=nvs[0] if single else float(np.mean(nvs)), n_iter=steps,
                          message="full-batch gradient descent")


def _train_torch(X, y, Wt, a, *, n_samples, lr, n_steps, rec, dtype, device):
    """The batched torch loop (any device); returns (test, train) errors, each (S, n_records).

    ``X`` (S, P + n_test, N_i) scaled by 1/√N_i, ``y`` (S, P + n_test), ``Wt`` (S, N_i, H),
    ``a`` (S, H), all float64 on the CPU; the training runs in ``dtype`` on ``device``.
    """
    import torch

    dt = {"float64": torch.float64, "float32": torch.float32}[dtype]
    X, y = X.to(device=device, dtype=dt), y.to(device=device, dtype=dt)
    n_inputs = X.shape[2]
    width = a.shape[1]
    Xtr, ytr, Xte, yte = X[:, :n_samples], y[:, :n_samples], X[:, n_samples:], y[:, n_samples:]
    XtrT = Xtr.transpose(1, 2).contiguous()  # (S, N_i, P)
    Wt = Wt.to(device=device, dtype=dt, copy=True)  # (S, N_i, H)
    a = a.to(device=device, dtype=dt, copy=True)  # (S, H)
    test, train = [], []
    S = X.shape[0]
    # Students are trained in blocks of seeds small enough that the hidden activations of a
    # block stay in the CPU cache (about 2x faster than one batch of all seeds); the blocks
    # are independent, so the result does not depend on the blocking.
    per_seed = n_samples * width * X.element_size()
    bs = max(1, min(S, _BLOCK_BYTES // per_seed))
    blocks = [(s0, min(s0 + bs, S)) for s0 in range(0, S, bs)]
    A = torch.empty(bs, n_samples, width, dtype=dt, device=device)  # hidden activations
    pred = torch.empty(bs, n_samples, 1, dtype=dt, device=device)
    gW = torch.empty(bs, n_inputs, width, dtype=dt, device=device)
    ga = torch.empty(bs, 1, width, dtype=dt, device=device)
    loss = torch.empty(S, dtype=dt, device=device)

    def predict(Xb):  # (S, n, N_i) -> (S, n)
        return torch.bmm(torch.bmm(Xb, Wt).relu_(), a.unsqueeze(2)).squeeze(2)

    # Full-batch GD on L_s = ½ mean_n (y_n − ŷ_n)² with ŷ_n = Σ_h a_h relu(z_nh), z = X W^T,
    # with the gradients in closed form (one forward, two matrix products backward):
    #   ∂L/∂a_h = Σ_n r_n relu(z_nh),  ∂L/∂W_hk = a_h Σ_n r_n 1[z_nh > 0] x_nk,
    # r_n = (ŷ_n − y_n)/P (the 1/P is applied with the learning rate).
    eta = lr / n_samples
    rec_set = {int(k) for k in rec}
    for step in range(1, n_steps + 1):
        record = step in rec_set
        for s0, s1 in blocks:
            b = s1 - s0
            Ab, pb, gWb, gab = A[:b], pred[:b], gW[:b], ga[:b]
            Wb, ab = Wt[s0:s1], a[s0:s1]
            torch.bmm(Xtr[s0:s1], Wb, out=Ab).relu_()
            torch.bmm(Ab, ab.unsqueeze(2), out=pb)
            r = (pb.squeeze(2) - ytr[s0:s1]).unsqueeze(1)  # (b, 1, P)
            torch.bmm(r, Ab, out=gab)
            Ab.sign_()  # 1[z > 0] (relu output is >= 0)
            torch.bmm(XtrT[s0:s1] * r, Ab, out=gWb)
            if record:
                loss[s0:s1] = torch.mean(r.squeeze(1) ** 2, dim=1)  # 2 L_s before the update
            gWb.mul_(ab.unsqueeze(1))
            Wb.sub_(gWb, alpha=eta)
            ab.sub_(gab.squeeze(1), alpha=eta)
        if record:
            if not torch.all(torch.isfinite(loss)):
                raise FloatingPointError(f"training loss became non-finite at step {step}")
            train.append(loss.cpu().numpy().astype(np.float64))  # a copy: loss is reused
            test.append(torch.mean((yte - predict(Xte)) ** 2, dim=1)
                        .cpu().numpy().astype(np.float64))
    return np.array(test).T, np.array(train).T


def _train_numba(X, y, Wt, a, *, n_samples, lr, n_steps, rec, dtype, device="cpu"):
    """The same training as :func:`_train_torch` in one numba kernel call (CPU only)."""
    from ._kernels import train_two_layer

    dt = np.dtype(dtype)
    XT = X.numpy().astype(dt).transpose(0, 2, 1)  # (S, N_i, P + n_test)
    yn = y.numpy().astype(dt)
    n_test = XT.shape[2] - n_samples

    def padded(arr, n):  # zero samples up to a multiple of the kernel's SIMD unroll
        out = np.zeros(arr.shape[:-1] + (-(-n // _PAD) * _PAD,), dtype=dt)
        out[..., :n] = arr
        return out

    XtrT, XteT = padded(XT[:, :, :n_samples], n_samples), padded(XT[:, :, n_samples:], n_test)
    ytr, yte = padded(yn[:, :n_samples], n_samples), padded(yn[:, n_samples:], n_test)
    W = np.ascontiguousarray(Wt.numpy().transpose(0, 2, 1).astype(dt))  # (S, H, N_i)
    an = np.ascontiguousarray(a.numpy().astype(dt))
    record = np.full(n_steps + 1, -1, dtype=np.int64)
    record[rec] = np.arange(len(rec))
    S = XT.shape[0]
    test = np.full((S, len(rec)), np.nan)
    train = np.full((S, len(rec)), np.nan)
    train_two_layer(XtrT, ytr, XteT, yte, W, an, dt.type(lr / n_samples), n_steps, record,
                    n_samples, n_test, train, test)
    bad = ~np.all(np.isfinite(train), axis=0)
    if np.any(bad):
        step = int(rec[np.argmax(bad)])
        raise FloatingPointError(f"training loss became non-finite at step {step}")
    return test, train
