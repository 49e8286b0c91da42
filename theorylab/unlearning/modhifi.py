"""ModHiFi-U: class unlearning by removing high-fidelity components, from synthetic data only.

Kashyap, Murti, Nayak, Narshana & Bhattacharyya 2025, "ModHiFi: Identifying High Fidelity
Predictive Components for Model Modification" (NeurIPS 2025, arXiv:2511.19566). The authors'
code was not available to the project: everything below is a reconstruction from the abstract
(Subset Fidelity, synthetic data, no gradients or labels of real data, removal of components).

Layer view. A *consumer* is an ``nn.Linear`` whose input is a hidden representation; its
pre-activation is Y = Σ_c W_c X_c + b, where X_c is component c's output (a conv channel's
pooled map, flattened to ``group`` consecutive input columns, or one hidden unit) and W_c the
matching columns of the weight. Paper symbol ↔ code:

- singleton fidelity of component c on an input distribution P:
  SF_P({c}) = E_P‖W_c X_c‖² / E_P‖Y − b‖²  ↔ :func:`singleton_fidelity` (with uncorrelated
  components this is the fidelity lost by dropping c, and SF(S) = Σ_{c∈S} SF({c}));
- forget specificity: SF_forget({c}) − mean over retain classes k of SF_k({c})
  ↔ :func:`forget_specificity`;
- removal: the ``k`` most forget-specific components are cut (their weight columns W_c set to
  0), by default only in the last consumer (the penultimate units feeding the logits);
- re-fit (optional): the kept columns and the bias of every consumer are re-solved by ridge
  least squares so that the modified network reproduces the original network's pre-activation
  Y on retain-class synthetic inputs (consumers in forward order, each with the upstream
  modifications already applied). In the output layer only the retain-class rows are
  re-fitted: the forget-class logit is not a retain-class quantity, and re-fitting it on
  retain data restores the class (measured: forget-test accuracy back to the original's).

Synthetic data: model inversion — ``n_per_class`` inputs per class, started from uniform
noise, optimised with Adam on the *inputs* to minimise cross-entropy to their class plus
total-variation and L2 priors, clipped to [0, 1]. The model's weights never receive a gradient
and no real training input is read: the forget set contributes only its class label(s).
``"modhifi_gaussian"`` replaces the inversion by draws from the class-conditional Gaussian
of the training inputs (declares ``needs_train_set``). :func:`prune_consumer` is the
ModHiFi-P entry point for one layer (cut the lowest-fidelity components, re-fit). The indices
cut per consumer are left on the returned model as ``model.modhifi_removed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive
from theorylab.unlearning.methods import register_method

__all__ = ["ModHiFiConfig", "Consumer", "consumers", "invert_classes", "consumer_inputs",
           "singleton_fidelity", "forget_specificity", "remove_components", "refit_consumers",
           "gaussian_classes", "modhifi_u", "modhifi_u_gaussian", "prune_consumer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModHiFiConfig:
    """ModHiFi-U options.

    ``k``: components cut per consumer layer (at most all but one); ``layers``: "last" cuts
    only the components feeding the output layer (the penultimate units), "all" every
    consumer; ``selection``: "fidelity" (ModHiFi: most
    forget-specific by singleton fidelity), "l2" (largest ‖W_c‖_F, a magnitude baseline) or
    "random" (uniform draw from ``generator``); ``refit``: least-squares re-fit of the kept
    columns on retain-class synthetic inputs; ``ridge``: its ridge weight relative to the mean
    diagonal of the Gram matrix. Inversion: ``n_per_class`` inputs per class, ``steps`` Adam
    steps with ``lr``, priors ``tv`` (total variation, images only) and ``l2``.
    """

    k: int = 32
    layers: Literal["last", "all"] = "last"
    selection: Literal["fidelity", "l2", "random"] = "fidelity"
    refit: bool = True
    ridge: float = 1e-3
    n_per_class: int = 16
    steps: int = 10
    lr: float = 0.1
    tv: float = 1e-3
    l2: float = 1e-3

    def __post_init__(self) -> None:
        check_int(self.k, name="k", minimum=0)
        check_choice(self.layers, name="layers", choices=("last", "all"))
        check_choice(self.selection, name="selection", choices=("fidelity", "l2", "random"))
        if not isinstance(self.refit, bool):
            raise TypeError(f"refit must be a bool, got {type(self.refit).__name__}")
        check_positive(self.ridge, name="ridge", strict=False)
        check_int(self.n_per_class, name="n_per_class", minimum=1)
        check_int(self.steps, name="steps", minimum=0)
        check_positive(self.lr, name="lr")
        check_positive(self.tv, name="tv", strict=False)
        check_positive(self.l2, name="l2", strict=False)


@dataclass(frozen=True)
class Consumer:
    """A Linear layer fed by ``n_components`` components of ``group`` input columns each."""

    name: str
    linear: nn.Linear
    group: int

    @property
    def n_components(self) -> int:
        return self.linear.in_features // self.group

    def columns(self, c: int) -> slice:
        return slice(c * self.group, (c + 1) * self.group)


def consumers(model: nn.Module) -> list[Consumer]:
    """Every ``nn.Linear`` whose input is the output of an earlier Conv2d or Linear of the
    model (in registration order); a Conv2d's channel c owns ``in_features / C`` consecutive
    columns (channel-major flattening), a Linear's unit j owns column j."""
    out: list[Consumer] = []
    producer: nn.Module | None = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            if producer is not None:
                width = producer.out_channels if isinstance(producer, nn.Conv2d) \
                    else producer.out_features
                if mod.in_features % width:
                    raise ValueError(f"model must feed Linear {name!r} with a multiple of "
                                     f"{width} features, got {mod.in_features}")
                out.append(Consumer(name, mod, mod.in_features // width))
            producer = mod
        elif isinstance(mod, nn.Conv2d):
            producer = mod
    if not out:
        raise ValueError("model must contain a Linear layer fed by a hidden layer, got none")
    return out


def _total_variation(x: torch.Tensor, image_shape) -> torch.Tensor:
    img = x.reshape(x.shape[0], *image_shape)
    return ((img[..., 1:, :] - img[..., :-1, :]).abs().mean()
            + (img[..., :, 1:] - img[..., :, :-1]).abs().mean())


def invert_classes(model: nn.Module, classes, *, n_per_class: int, in_dim: int, steps: int,
                   lr: float, tv: float, l2: float, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Model inversion: ``(X, y)`` with ``n_per_class`` synthetic inputs per class in
    ``classes``, optimised on the inputs only (the weights get no gradient; their
    ``requires_grad`` flags are restored afterwards)."""
    n_per_class = check_int(n_per_class, name="n_per_class", minimum=1)
    in_dim = check_int(in_dim, name="in_dim", minimum=1)
    steps = check_int(steps, name="steps", minimum=0)
    check_positive(lr, name="lr")
    check_positive(tv, name="tv", strict=False)
    check_positive(l2, name="l2", strict=False)
    if len(list(classes)) == 0:
        raise ValueError("classes must name at least one class, got none")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    y = torch.as_tensor(list(classes), device=device).repeat_interleave(n_per_class)
    x = torch.rand(y.shape[0], in_dim, generator=generator, dtype=torch.float64)
    x = x.to(device=device, dtype=dtype).requires_grad_(True)
    flags = [p.requires_grad for p in model.parameters()]
    image_shape = getattr(model, "image_shape", None)
    was = model.training
    model.eval()
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        opt = torch.optim.Adam([x], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y) + l2 * x.pow(2).mean()
            if tv and image_shape is not None:
                loss = loss + tv * _total_variation(x, image_shape)
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
    finally:
        for p, f in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(f)
        model.train(was)
    return x.detach(), y


@torch.no_grad()
def consumer_inputs(model: nn.Module, cons: list[Consumer], X: torch.Tensor
                    ) -> list[torch.Tensor]:
    """The input ``(N, in_features)`` of every consumer on ``X`` (forward pre-hooks)."""
    got: dict[str, torch.Tensor] = {}
    hooks = [c.linear.register_forward_pre_hook(
        lambda _m, args, name=c.name: got.__setitem__(name, args[0].detach()))
        for c in cons]
    was = model.training
    model.eval()
    try:
        model(X)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    return [got[c.name].reshape(X.shape[0], -1) for c in cons]


def singleton_fidelity(cons: Consumer, Xin: torch.Tensor) -> torch.Tensor:
    """SF({c}) = mean_n ‖W_c x_{n,c}‖² / mean_n ‖W x_n‖² for every component c →
    ``(n_components,)``; ``Xin`` is the consumer's input ``(N, in_features)``."""
    W = cons.linear.weight.detach()  # (d_out, d_in)
    C, g = cons.n_components, cons.group
    parts = torch.einsum("ncg,ocg->nco", Xin.reshape(-1, C, g), W.reshape(-1, C, g))
    energy = parts.pow(2).sum(-1).mean(0)  # (C,)
    total = (Xin @ W.T).pow(2).sum(-1).mean()
    return energy / total.clamp_min(torch.finfo(energy.dtype).tiny)


def forget_specificity(cons: Consumer, Xin: torch.Tensor, y: torch.Tensor, forget_classes,
                       retain_classes) -> torch.Tensor:
    """SF_forget({c}) − mean over retain classes of SF_k({c}), per component."""
    sf = lambda cls: singleton_fidelity(cons, Xin[y == cls])
    f = torch.stack([sf(k) for k in forget_classes]).mean(0)
    r = torch.stack([sf(k) for k in retain_classes]).mean(0)
    return f - r


@torch.no_grad()
def remove_components(cons: Consumer, removed) -> None:
    """Cut components: zero their weight columns in the consumer."""
    for c in removed:
        cons.linear.weight[:, cons.columns(int(c))] = 0.0


@torch.no_grad()
def refit_consumers(model: nn.Module, original: nn.Module, removed: list[list[int]],
                    X: torch.Tensor, *, ridge: float, last_rows=None) -> None:
    """Ridge least squares, consumer by consumer in forward order: the kept columns and the
    bias of ``model``'s consumer reproduce ``original``'s pre-activation on ``X``; consumers
    with nothing removed are left as they are.

    ``last_rows``: output rows of the *last* consumer that are re-fitted (``None``: all); the
    other rows keep their weights on the kept columns (ModHiFi-U passes the retain classes,
    so the forget logit is not re-fitted from retain data)."""
    check_positive(ridge, name="ridge", strict=False)
    cons_m, cons_o = consumers(model), consumers(original)
    for i, (cm, co) in enumerate(zip(cons_m, cons_o, strict=True)):
        if not removed[i]:
            continue  # nothing cut here: the layer keeps its weights
        Xm = consumer_inputs(model, cons_m, X)[i]
        Xo = consumer_inputs(original, cons_o, X)[i]
        Y = Xo @ co.linear.weight.T + co.linear.bias  # (N, d_out)
        keep = torch.ones(cm.linear.in_features, dtype=torch.bool, device=X.device)
        for c in removed[i]:
            keep[cm.columns(int(c))] = False
        A = torch.cat([Xm[:, keep], torch.ones_like(Xm[:, :1])], 1).double()
        G = A.T @ A
        lam = ridge * float(torch.diagonal(G).mean())
        G = G + lam * torch.eye(G.shape[0], dtype=G.dtype, device=G.device)
        sol = torch.linalg.solve(G, A.T @ Y.double())  # (kept + 1, d_out)
        rows = torch.arange(Y.shape[1], device=X.device)
        if last_rows is not None and i == len(cons_m) - 1:
            rows = torch.as_tensor(list(last_rows), dtype=torch.long, device=X.device)
        W = cm.linear.weight.clone()
        W[:, ~keep] = 0.0
        W[rows[:, None], keep.nonzero().ravel()[None, :]] = sol[:-1, rows].T.to(W)
        cm.linear.weight.copy_(W)
        cm.linear.bias[rows] = sol[-1, rows].to(W)


def _modhifi_core(model, forget, config, generator, synth) -> nn.Module:
    import copy

    original = copy.deepcopy(model).eval()
    with torch.no_grad():
        n_out = int(model(forget.X[:1]).shape[1])
    forget_classes = sorted({int(v) for v in torch.as_tensor(forget.y).tolist()})
    retain_classes = [k for k in range(n_out) if k not in forget_classes]
    if not retain_classes:
        raise ValueError(f"forget must leave at least one class, got labels {forget_classes} "
                         f"of a {n_out}-class model")
    Xs, ys = synth(original, n_out, int(forget.X.shape[1]))
    cons = consumers(model)
    inputs = consumer_inputs(model, cons, Xs)
    removed: list[list[int]] = []
    for i, (cn, Xin) in enumerate(zip(cons, inputs, strict=True)):
        if config.layers == "last" and i < len(cons) - 1:
            removed.append([])
            continue
        k = min(config.k, cn.n_components - 1)
        if config.selection == "fidelity":
            score = forget_specificity(cn, Xin, ys, forget_classes, retain_classes)
        elif config.selection == "l2":
            W = cn.linear.weight.detach()
            score = torch.stack([W[:, cn.columns(c)].norm() for c in range(cn.n_components)])
        else:
            score = torch.rand(cn.n_components, generator=generator, dtype=torch.float64)
        top = torch.argsort(score.cpu(), descending=True, stable=True)[:k].tolist()
        removed.append(sorted(top))
        remove_components(cn, top)
    if config.refit:
        keep = torch.isin(ys, torch.as_tensor(retain_classes, device=ys.device))
        last_rows = retain_classes if cons[-1].linear.out_features == n_out else None
        refit_consumers(model, original, removed, Xs[keep], ridge=config.ridge,
                        last_rows=last_rows)
    model.eval()
    model.modhifi_removed = removed  # type: ignore[attr-defined]
    return model


@register_method("modhifi", config=ModHiFiConfig)
def modhifi_u(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """ModHiFi-U: synthetic inputs by inversion, singleton-fidelity scores per class, cut the
    ``k`` most forget-specific components of every consumer, re-fit on retain-class synthetic
    inputs. Reads only the labels of the forget set; no weight gradient."""
    return _modhifi_core(model, forget, config, generator, lambda orig, n_out, in_dim:
                         invert_classes(orig, range(n_out), n_per_class=config.n_per_class,
                                        in_dim=in_dim, steps=config.steps, lr=config.lr,
                                        tv=config.tv, l2=config.l2, generator=generator))


def gaussian_classes(data, classes, *, n_per_class: int, generator: torch.Generator,
                     jitter: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` draws per class from N(μ_k, Σ_k + jitter·I), the class-conditional
    input mean and covariance of ``data`` (a "distributional access" generator), clipped to
    [0, 1]. Raises ``ValueError`` naming a class with fewer than two rows."""
    n_per_class = check_int(n_per_class, name="n_per_class", minimum=1)
    check_positive(jitter, name="jitter", strict=False)
    X, y = data.X, torch.as_tensor(data.y)
    xs, ys = [], []
    for k in classes:
        Xk = X[y == k].double()
        if Xk.shape[0] < 2:
            raise ValueError(f"train_set must hold at least 2 rows of class {k}, got "
                             f"{Xk.shape[0]}")
        mu = Xk.mean(0)
        cov = torch.cov(Xk.T) + jitter * torch.eye(Xk.shape[1], dtype=Xk.dtype,
                                                       device=Xk.device)
        L = torch.linalg.cholesky(cov)
        z = torch.randn(n_per_class, Xk.shape[1], generator=generator, dtype=torch.float64)
        xs.append((mu + z.to(Xk.device) @ L.T).clamp(0.0, 1.0).to(X.dtype))
        ys.append(torch.full((n_per_class,), int(k), dtype=torch.long, device=X.device))
    return torch.cat(xs), torch.cat(ys)


@register_method("modhifi_gaussian", config=ModHiFiConfig, needs_train_set=True)
def modhifi_u_gaussian(model, forget, retain=None, *, config, generator, train_set=None,
                       oracles=None):
    """ModHiFi-U with class-conditional Gaussian synthetic inputs (per-class means and
    covariances of the training set) instead of model inversion; no weight gradient."""
    return _modhifi_core(model, forget, config, generator, lambda orig, n_out, in_dim:
                         gaussian_classes(train_set, range(n_out),
                                          n_per_class=config.n_per_class,
                                          generator=generator))

def prune_consumer(model: nn.Module, X: torch.Tensor, *, consumer: int, n_remove: int,
                   selection: Literal["fidelity", "l2"] = "fidelity", refit: bool = True,
                   ridge: float = 1e-3) -> tuple[nn.Module, list[int]]:
    """ModHiFi-P on one layer: cut the ``n_remove`` components of consumer number
    ``consumer`` with the *lowest* singleton fidelity on the inputs ``X`` (``"l2"``: the lowest
    weight norm ‖W_c‖_F), then (``refit``) re-solve the kept columns and the bias by ridge least
    squares to reproduce the original pre-activation on ``X``. Returns a modified copy and the
    removed component indices; ``model`` is not changed.

    With uncorrelated components (E[X_c X_c'ᵀ] = 0 for c ≠ c') the kept set is the best subset
    of its size for the reconstruction error e(S) = min_W' E‖Y − Σ_{c∈S} W'_c X_c‖²."""
    import copy

    check_choice(selection, name="selection", choices=("fidelity", "l2"))
    out = copy.deepcopy(model).eval()
    cons = consumers(out)
    i = check_int(consumer, name="consumer", minimum=0, maximum=len(cons) - 1)
    cn = cons[i]
    n_remove = check_int(n_remove, name="n_remove", minimum=0, maximum=cn.n_components - 1)
    if selection == "fidelity":
        score = singleton_fidelity(cn, consumer_inputs(out, cons, X)[i])
    else:
        W = cn.linear.weight.detach()
        score = W.reshape(W.shape[0], cn.n_components, cn.group).pow(2).sum((0, 2)).sqrt()
    removed = sorted(torch.argsort(score.cpu(), stable=True)[:n_remove].tolist())
    remove_components(cn, removed)
    if refit:
        plan: list[list[int]] = [[] for _ in cons]
        plan[i] = removed
        refit_consumers(out, model, plan, X, ridge=ridge)
    return out, removed
