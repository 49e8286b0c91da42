"""The SGD/Adam unlearning baselines run on several forget sets at once, as one stacked MLP.

Not imported by :mod:`theorylab.unlearning` (import it directly; used by the claim
``fan2024_worst_case_forget_harder``).

:func:`unlearn_stacked` runs one baseline of :mod:`theorylab.unlearning.baselines` (``ft``,
``ga``, ``rl``, ``l1_sparse``, ``salun``, ``scrub``) from the same original MLP θ_o on ``M``
forget/retain splits whose forget sets all have one size and whose retain sets all have one
size. Each split's run is what :func:`~theorylab.unlearning.methods.apply_method` gives with
a *fresh copy of the same generator* — the harness's protocol (every method call gets a
fresh generator from one factory). With equal set sizes those calls draw the same numbers
(data orders, random labels) in the same order, so one generator drives all members here.

Member ``m``'s parameters are stacked ``(M, ...)`` (weights kept transposed, ``(M, in,
out)``), the forward pass is one ``baddbmm`` per layer on the batch of each member's own set
``(M, b, d)``, and the loss is the sum over members of each member's loss (members share no
parameter, so each gets its own gradient). SGD (momentum, weight decay) and Adam are
elementwise, so one optimiser over the stacked tensors performs every member's update. The
results equal a loop of ``apply_method`` over the splits up to the summation order inside the
matrix products (``tests/test_unlearning_stacked.py`` compares the two).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from theorylab.unlearning.baselines import SGDConfig
from theorylab.unlearning.methods import Subset
from theorylab.unlearning.models import MLP, epoch_batches

__all__ = ["STACKED_METHODS", "unlearn_stacked"]

STACKED_METHODS: tuple[str, ...] = ("ft", "ga", "rl", "l1_sparse", "salun", "scrub")


class _Stack:
    """``M`` copies of one MLP as stacked, trainable tensors ``WT[l] (M, in, out)``,
    ``b[l] (M, 1, out)``."""

    def __init__(self, model: MLP, M: int) -> None:
        lin = [m for m in model.net if isinstance(m, nn.Linear)]
        self.names = [f"net.{i}" for i, m in enumerate(model.net) if isinstance(m, nn.Linear)]
        self.WT = [m.weight.detach().T.unsqueeze(0).repeat(M, 1, 1).contiguous()
                   .requires_grad_(True) for m in lin]
        self.b = [m.bias.detach().reshape(1, 1, -1).repeat(M, 1, 1).requires_grad_(True)
                  for m in lin]
        self.M = M

    def params(self) -> list[torch.Tensor]:
        """In ``named_parameters`` order: W0, b0, W1, b1, ..."""
        return [t for pair in zip(self.WT, self.b, strict=True) for t in pair]

    def __call__(self, h: torch.Tensor) -> torch.Tensor:  # (M, b, d) -> (M, b, K)
        last = len(self.WT) - 1
        for k in range(last + 1):
            h = torch.baddbmm(self.b[k], h, self.WT[k])
            if k < last:
                h = torch.relu(h)
        return h

    def member(self, template: MLP, m: int) -> MLP:
        out = copy.deepcopy(template)
        with torch.no_grad():
            for name, W, b in zip(self.names, self.WT, self.b, strict=True):
                mod = out.get_submodule(name)
                mod.weight.copy_(W[m].T)
                mod.bias.copy_(b[m, 0])
        return out.eval()


def _teacher(model: MLP):
    """θ_o's forward on stacked batches ``(M, b, d)`` (one set of weights for all)."""
    lin = [(m.weight.detach().T.contiguous(), m.bias.detach())
           for m in model.net if isinstance(m, nn.Linear)]

    @torch.no_grad()
    def f(h: torch.Tensor) -> torch.Tensor:
        for k, (WT, b) in enumerate(lin):
            h = torch.matmul(h, WT) + b
            if k < len(lin) - 1:
                h = torch.relu(h)
        return h

    return f


def _ce_sum(out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Sum over members of each member's mean cross-entropy: out (M, b, K), yb (M, b)."""
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1),
                                       reduction="sum") / out.shape[1]


def _kl_t_sum(student: torch.Tensor, teacher: torch.Tensor, T: float) -> torch.Tensor:
    """Sum over members of KL(softmax(teacher/T) ‖ softmax(student/T)) · T², batch mean."""
    ls = nn.functional.log_softmax(student / T, dim=-1)
    lt = nn.functional.log_softmax(teacher / T, dim=-1)
    kl = nn.functional.kl_div(ls.reshape(-1, ls.shape[-1]), lt.reshape(-1, lt.shape[-1]),
                              reduction="sum", log_target=True)
    return kl / student.shape[1] * T * T


def _stack_sets(sets: Sequence[Subset], what: str) -> tuple[torch.Tensor, torch.Tensor]:
    sizes = {len(s) for s in sets}
    if len(sizes) != 1:
        raise ValueError(f"{what} sets must all have one size, got sizes {sorted(sizes)}")
    return torch.stack([s.X for s in sets]), torch.stack([s.y for s in sets])


def _sgd(st: _Stack, cfg: SGDConfig) -> torch.optim.SGD:
    return torch.optim.SGD(st.params(), lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def _fit(st: _Stack, X: torch.Tensor, y: torch.Tensor, cfg: SGDConfig, generator, *,
         sign: float = 1.0, l1: float = 0.0, opt=None, epochs: int | None = None) -> None:
    """``baselines._fit`` on stacked data ``X (M, n, d)``, ``y (M, n)``."""
    opt = _sgd(st, cfg) if opt is None else opt
    n_epochs = cfg.epochs if epochs is None else epochs
    for epoch in range(n_epochs):
        gamma_t = l1 * (1 - epoch / n_epochs)
        for idx in epoch_batches(X.shape[1], cfg.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            loss = sign * _ce_sum(st(X[:, idx]), y[:, idx])
            if gamma_t:
                loss = loss + gamma_t * sum(p.abs().sum() for p in st.params())
            loss.backward()
            opt.step()


def _saliency_masks(st: _Stack, Xf: torch.Tensor, yf: torch.Tensor, *, sparsity: float,
                    batch_size: int = 256) -> list[torch.Tensor]:
    """``baselines.saliency_mask`` per member, as masks of the stacked tensors: each member's
    gradients are flattened in ``named_parameters`` order ((out, in) weights) and ranked."""
    for p in st.params():
        p.grad = None
    for i in range(0, Xf.shape[1], batch_size):
        (-_ce_sum(st(Xf[:, i:i + batch_size]), yf[:, i:i + batch_size])).backward()
    M = st.M
    # each member's gradients in named_parameters order, the weights as (out, in)
    params = st.params()
    is_w = [j % 2 == 0 for j in range(len(params))]  # W0, b0, W1, b1, ...
    flat = torch.cat([(p.grad.transpose(1, 2) if w else p.grad).reshape(M, -1).abs()
                      for p, w in zip(params, is_w, strict=True)], dim=1)  # (M, P)
    k = int(round(sparsity * flat.shape[1]))
    keep = torch.zeros_like(flat, dtype=torch.bool)
    for m in range(M):
        if k:
            keep[m, torch.topk(flat[m], k, sorted=False).indices] = True
    masks, start = [], 0
    for p, w in zip(params, is_w, strict=True):
        if w:  # a weight (M, in, out), ranked as (M, out, in)
            n = p.shape[1] * p.shape[2]
            masks.append(keep[:, start:start + n].reshape(M, p.shape[2], p.shape[1])
                         .transpose(1, 2).contiguous())
        else:
            n = p.shape[2]
            masks.append(keep[:, start:start + n].reshape(p.shape))
        start += n
    for p in st.params():
        p.grad = None
    return masks


def unlearn_stacked(method: str, model: MLP, forgets: Sequence[Subset],
                    retains: Sequence[Subset], *, config, generator: torch.Generator
                    ) -> list[MLP]:
    """Run ``method`` from ``model`` (θ_o, not modified) on every split ``(forgets[m],
    retains[m])``; returns the unlearned models (eval mode), one per split.

    Raises
    ------
    ValueError
        When ``method`` has no stacked version, the lists differ in length, or the forget
        (retain) sets differ in size.
    TypeError
        When ``model`` is not an :class:`~theorylab.unlearning.models.MLP` or ``generator`` not
        a ``torch.Generator``.
    """
    if method not in STACKED_METHODS:
        raise ValueError(f"method must be one of {STACKED_METHODS}, got {method!r}")
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if len(forgets) != len(retains) or not forgets:
        raise ValueError(f"forgets and retains must be non-empty and of one length, got "
                         f"{len(forgets)} and {len(retains)}")
    from theorylab.unlearning.methods import get_method

    cls = get_method(method).config_cls
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__} for method {method!r}, got "
                        f"{type(config).__name__}")
    Xf, yf = _stack_sets(forgets, "forget")
    Xr, yr = _stack_sets(retains, "retain")
    M = len(forgets)
    st = _Stack(model, M)
    with torch.no_grad():
        K = int(model(Xf[0, :1]).shape[1])
    if method == "ft":
        _fit(st, Xr, yr, config, generator)
    elif method == "ga":
        _fit(st, Xf, yf, config, generator, sign=-1.0)
    elif method == "l1_sparse":
        _fit(st, Xr, yr, config, generator, l1=config.gamma)
    elif method == "rl":
        opt = _sgd(st, config)
        for _ in range(config.epochs):
            fake = torch.randint(K, (Xf.shape[1],), generator=generator).to(Xf.device)
            _fit(st, Xf, fake.expand(M, -1), config, generator, opt=opt, epochs=1)
            _fit(st, Xr, yr, config, generator, opt=opt, epochs=1)
    elif method == "salun":
        masks = _saliency_masks(st, Xf, yf, sparsity=config.sparsity)
        theta_o = [p.detach().clone() for p in st.params()]
        opt = _sgd(st, config)
        for _ in range(config.epochs):
            fake = torch.randint(K, (Xf.shape[1],), generator=generator).to(Xf.device)
            for X, y in ((Xf, fake.expand(M, -1)), (Xr, yr)):
                for idx in epoch_batches(X.shape[1], config.batch_size, generator):
                    idx = idx.to(X.device)
                    opt.zero_grad(set_to_none=True)
                    _ce_sum(st(X[:, idx]), y[:, idx]).backward()
                    for p, m in zip(st.params(), masks, strict=True):
                        p.grad.mul_(m)
                    opt.step()
                    with torch.no_grad():
                        for p, m, p0 in zip(st.params(), masks, theta_o, strict=True):
                            p.copy_(torch.where(m, p, p0))
    else:  # scrub
        teacher = _teacher(model)
        opt = torch.optim.Adam(st.params(), lr=config.lr, weight_decay=config.weight_decay)
        for epoch in range(config.epochs):
            if epoch < config.max_epochs:
                for idx in epoch_batches(Xf.shape[1], config.batch_size_forget, generator):
                    xb = Xf[:, idx.to(Xf.device)]
                    opt.zero_grad(set_to_none=True)
                    (-_kl_t_sum(st(xb), teacher(xb), config.T)).backward()
                    opt.step()
            for idx in epoch_batches(Xr.shape[1], config.batch_size_retain, generator):
                idx = idx.to(Xr.device)
                xb, yb = Xr[:, idx], yr[:, idx]
                opt.zero_grad(set_to_none=True)
                out = st(xb)
                loss = config.gamma * _ce_sum(out, yb)
                loss = loss + config.alpha * _kl_t_sum(out, teacher(xb), config.T)
                loss.backward()
                opt.step()
    return [st.member(model, m) for m in range(M)]
