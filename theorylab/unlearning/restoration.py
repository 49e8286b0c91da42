"""Suppression or deletion: restore an unlearned class through a sparse autoencoder.

Jang, Lee, Kim, Jo & Woo 2026, "Suppression or Deletion: A Restoration-Based
Representation-Level Analysis of Machine Unlearning" (The Web Conference 2026,
arXiv:2602.18505). If steering an unlearned model's intermediate features back toward the
original's along a few class-specific ("expert") directions brings the class back, the
information was suppressed, not deleted. Paper symbol ↔ argument:

- h^o, h^u: the output of layer ℓ (``layer``, a module name of the model such as
  ``"net.1"``) of the original θ_o and of the unlearned θ_u on the same input;
- TopK SAE (:class:`TopKSAE`, trained on θ_o's activations by :func:`train_sae`):
  z = TopK_k(ReLU(W_enc(h − b_pre) + b_enc)), ĥ = W_dec z + b_pre, unit-norm columns of
  W_dec (Gao et al. 2024, arXiv:2406.04093);
- expert latents E_c of class c (:func:`expert_latents`): the ``n_experts`` latents with the
  largest mean activation on class c minus mean activation on the other classes (the
  paper's rule is unconfirmed; this is the project's);
- restoration ("direct injection", reference code ``utils/hook_utils.py``): on inputs of the
  forgotten class, z_e ← z^u_e + α(z^o_e − z^u_e) for e ∈ E, other latents keep z^u, and the
  layer output is *replaced* by Dec(z) + b_pre (:func:`restore_logits`). A ViT also
  interpolates its CLS token; an MLP has none;
- restoration rate RR(α) = (Acc_f^restored − Acc_f^u)/(Acc_f^o − Acc_f^u)
  (:func:`restoration_rate`; the paper's exact formula is unconfirmed): 0 = nothing came back,
  1 = the original's forget accuracy is back.

Controls (:func:`restoration_curve` runs any latent set): α = 0 (the SAE reconstruction
alone), random non-expert latents at the same α, and a model retrained from scratch.
:func:`rotation_pretrain` gives the "pretrained backbone" analogue (self-supervised
rotation prediction on all images) for the retrain-from-pretrained vs from-scratch oracles.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_scalar
from theorylab.unlearning.models import MLP, Recipe, build_model, epoch_batches, train_model

__all__ = ["TopKSAE", "train_sae", "layer_activations", "expert_latents", "restore_logits",
           "restoration_rate", "restoration_curve", "rotation_pretrain", "with_new_head"]


class TopKSAE(nn.Module):
    """TopK sparse autoencoder ``d_in → n_latents → d_in`` keeping ``k`` active latents.

    Encoder: ``z = TopK_k(ReLU(W_enc (h − b_pre) + b_enc))`` (the other latents set to 0);
    decoder: ``ĥ = W_dec z + b_pre`` with unit-norm columns of ``W_dec (d_in, n_latents)``.
    """

    def __init__(self, d_in: int, n_latents: int, k: int, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        d_in = check_int(d_in, name="d_in", minimum=1)
        n_latents = check_int(n_latents, name="n_latents", minimum=1)
        self.k = check_int(k, name="k", minimum=1, maximum=n_latents)
        W = torch.randn(d_in, n_latents, generator=generator, dtype=torch.float64)
        W = (W / W.norm(dim=0, keepdim=True)).float()
        self.W_dec = nn.Parameter(W)  # (d_in, n_latents)
        self.W_enc = nn.Parameter(W.T.clone())  # (n_latents, d_in), tied at init
        self.b_enc = nn.Parameter(torch.zeros(n_latents))
        self.b_pre = nn.Parameter(torch.zeros(d_in))

    def pre_activations(self, h: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, L)
        return nn.functional.relu((h - self.b_pre) @ self.W_enc.T + self.b_enc)

    def encode(self, h: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, L), k nonzeros a row
        a = self.pre_activations(h)
        top = torch.topk(a, self.k, dim=1)
        return torch.zeros_like(a).scatter(1, top.indices, top.values)

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (B, L) -> (B, d)
        return z @ self.W_dec.T + self.b_pre

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(h))

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        self.W_dec.div_(self.W_dec.norm(dim=0, keepdim=True).clamp_min(1e-12))


def train_sae(H: torch.Tensor, *, n_latents: int, k: int, epochs: int = 50, lr: float = 1e-3,
              batch_size: int = 256, generator: torch.Generator) -> TopKSAE:
    """Fit a :class:`TopKSAE` to activations ``H (n, d)`` by the mean squared error (Adam,
    decoder columns renormalised after every step, ``b_pre`` started at the mean of ``H``).
    ``generator`` draws the initial dictionary and the minibatch order."""
    if not isinstance(H, torch.Tensor) or H.ndim != 2 or H.shape[0] < 1:
        raise ValueError(f"H must be a 2-dimensional tensor of activations (n, d), got "
                         f"{type(H).__name__} {tuple(getattr(H, 'shape', ()))}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    epochs = check_int(epochs, name="epochs", minimum=0)
    lr = check_positive(lr, name="lr")
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    H = H.detach().float()
    sae = TopKSAE(H.shape[1], n_latents, k, generator=generator).to(H.device)
    with torch.no_grad():
        sae.b_pre.copy_(H.mean(0))
    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in epoch_batches(H.shape[0], batch_size, generator):
            hb = H[idx.to(H.device)]
            opt.zero_grad(set_to_none=True)
            ((sae(hb) - hb) ** 2).sum(1).mean().backward()
            opt.step()
            sae.normalise_decoder()
    return sae.eval()


def _module(model: nn.Module, layer: str) -> nn.Module:
    mods = dict(model.named_modules())
    if layer not in mods or layer == "":
        raise ValueError(f"layer must name a submodule of the model (one of "
                         f"{[n for n in mods if n][:12]}...), got {layer!r}")
    return mods[layer]


@torch.no_grad()
def layer_activations(model: nn.Module, X: torch.Tensor, *, layer: str) -> torch.Tensor:
    """The output of submodule ``layer`` of ``model`` on ``X`` (eval mode), flattened to
    ``(n, d)``."""
    grab: list[torch.Tensor] = []
    h = _module(model, layer).register_forward_hook(lambda _m, _i, out: grab.append(out))
    was = model.training
    model.eval()
    try:
        model(X)
    finally:
        h.remove()
        model.train(was)
    return grab[-1].reshape(X.shape[0], -1)


@torch.no_grad()
def expert_latents(sae: TopKSAE, H: torch.Tensor, y, *, cls: int, n_experts: int = 8
                   ) -> np.ndarray:
    """The ``n_experts`` latents with the largest (mean code on class ``cls``) − (mean code on
    the other classes), from activations ``H (n, d)`` with labels ``y``; sorted int64."""
    y = np.asarray(y)
    if y.shape != (H.shape[0],):
        raise ValueError(f"y must have shape ({H.shape[0]},), got {y.shape}")
    sel = y == cls
    if not sel.any() or sel.all():
        raise ValueError(f"cls must be a class present in y alongside others, got {cls!r}")
    n_experts = check_int(n_experts, name="n_experts", minimum=1,
                          maximum=sae.W_dec.shape[1])
    z = sae.encode(H.float()).double().cpu().numpy()
    score = z[sel].mean(0) - z[~sel].mean(0)
    return np.sort(np.argsort(-score, kind="stable")[:n_experts]).astype(np.int64)


@contextlib.contextmanager
def _replace_output(model: nn.Module, layer: str, new: torch.Tensor):
    """Within the block, submodule ``layer`` of ``model`` returns ``new`` (same shape)."""
    def hook(_m, _i, out):
        return new.reshape(out.shape).to(out)

    h = _module(model, layer).register_forward_hook(hook)
    try:
        yield
    finally:
        h.remove()


@torch.no_grad()
def restore_logits(unlearned: nn.Module, original: nn.Module, sae: TopKSAE, X: torch.Tensor, *,
                   layer: str, latents, alpha: float) -> torch.Tensor:
    """Outputs of θ_u on ``X`` with layer ``layer`` replaced by Dec(z) + b_pre, where
    z = z^u except z_e = z^u_e + α(z^o_e − z^u_e) for e in ``latents`` (z^o: θ_o's code of
    the same input). ``alpha = 0`` keeps z^u (the reconstruction alone)."""
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    idx = torch.as_tensor(np.asarray(latents, dtype=np.int64).reshape(-1))
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= sae.W_dec.shape[1]):
        raise ValueError(f"latents must be indices in [0, {sae.W_dec.shape[1] - 1}], got "
                         f"range [{int(idx.min())}, {int(idx.max())}]")
    h_u = layer_activations(unlearned, X, layer=layer)
    h_o = layer_activations(original, X, layer=layer)
    if h_u.shape[1] != sae.W_dec.shape[0]:
        raise ValueError(f"layer {layer!r} must have {sae.W_dec.shape[0]} units (the SAE's "
                         f"input size), got {h_u.shape[1]}")
    z_u, z_o = sae.encode(h_u.float()), sae.encode(h_o.float())
    z = z_u.clone()
    idx = idx.to(z.device)
    z[:, idx] = z_u[:, idx] + alpha * (z_o[:, idx] - z_u[:, idx])
    was = unlearned.training
    unlearned.eval()
    try:
        with _replace_output(unlearned, layer, sae.decode(z)):
            out = unlearned(X)
    finally:
        unlearned.train(was)
    return out


def restoration_rate(acc_restored: float, acc_unlearned: float, acc_original: float) -> float:
    """RR = (Acc_f^restored − Acc_f^u)/(Acc_f^o − Acc_f^u): 0 when restoration leaves the
    forget accuracy where unlearning put it, 1 when it brings back the original's.

    Raises ``ValueError`` when the accuracies are not in [0, 1] or when
    Acc_f^o = Acc_f^u (nothing was forgotten, so there is nothing to restore).

    Examples
    --------
    >>> restoration_rate(0.5, 0.0, 1.0)
    0.5
    """
    a = [check_scalar(v, name=n, lower=0.0, upper=1.0) for v, n in
         ((acc_restored, "acc_restored"), (acc_unlearned, "acc_unlearned"),
          (acc_original, "acc_original"))]
    if a[2] == a[1]:
        raise ValueError(f"acc_original must differ from acc_unlearned (something must have "
                         f"been forgotten), got both {a[1]!r}")
    return (a[0] - a[1]) / (a[2] - a[1])


def restoration_curve(unlearned: nn.Module, original: nn.Module, sae: TopKSAE,
                      X_forget: torch.Tensor, y_forget, *, layer: str, latents,
                      alphas: Sequence[float] = (0.0, 1.0, 2.0, 5.0, 10.0),
                      X_retain: torch.Tensor | None = None, y_retain=None
                      ) -> dict[str, np.ndarray]:
    """Forget-class accuracy of θ_u restored along ``latents`` for each α, with RR(α).

    Returns ``{"alpha", "forget_acc", "rr"}`` arrays, plus ``"acc_unlearned"`` and
    ``"acc_original"`` (unmodified models on ``X_forget``) and, with ``X_retain``,
    ``"retain_acc"``: accuracy when the same intervention is applied to retain inputs (the
    reference applies it to the target class only; this shows what it costs elsewhere).
    RR is NaN where θ_o and θ_u have the same forget accuracy.
    """
    from theorylab.unlearning.metrics import accuracy
    from theorylab.unlearning.models import predict_logits

    yf = np.asarray(y_forget)
    acc = lambda out, y: accuracy(out.double().cpu().numpy(), y)
    a_u = acc(predict_logits(unlearned, X_forget), yf)
    a_o = acc(predict_logits(original, X_forget), yf)
    res: dict[str, list] = {"alpha": [], "forget_acc": [], "rr": [], "retain_acc": []}
    for al in alphas:
        a_r = acc(restore_logits(unlearned, original, sae, X_forget, layer=layer,
                                 latents=latents, alpha=al), yf)
        res["alpha"].append(float(al))
        res["forget_acc"].append(a_r)
        res["rr"].append(restoration_rate(a_r, a_u, a_o) if a_o != a_u else float("nan"))
        if X_retain is not None:
            res["retain_acc"].append(acc(restore_logits(
                unlearned, original, sae, X_retain, layer=layer, latents=latents, alpha=al),
                np.asarray(y_retain)))
    out = {k: np.asarray(v, dtype=float) for k, v in res.items() if v}
    out["acc_unlearned"], out["acc_original"] = np.float64(a_u), np.float64(a_o)
    return out


def _rotate(X: torch.Tensor, image_shape: tuple[int, int, int], r: int) -> torch.Tensor:
    c, h, w = image_shape
    return torch.rot90(X.reshape(-1, c, h, w), r, dims=(2, 3)).reshape(X.shape[0], -1)


def rotation_pretrain(X: torch.Tensor, *, image_shape: tuple[int, int, int], recipe: Recipe,
                      init_generator: torch.Generator, order_generator: torch.Generator
                      ) -> nn.Module:
    """Self-supervised "pretraining": an MLP of ``recipe.hidden`` trained to predict which of
    the four rotations (0°, 90°, 180°, 270°) was applied to each image of ``X`` (all four
    copies, no class labels). Returns the 4-way model; :func:`with_new_head` turns it into
    a classifier."""
    if recipe.arch != "mlp":
        raise ValueError(f"recipe.arch must be 'mlp' (the backbone gets a new head), got "
                         f"{recipe.arch!r}")
    if int(np.prod(image_shape)) != X.shape[1]:
        raise ValueError(f"image_shape must multiply to {X.shape[1]}, got {image_shape}")
    if image_shape[1] != image_shape[2]:
        raise ValueError(f"image_shape must be square for rotations, got {image_shape}")
    Xr = torch.cat([_rotate(X, image_shape, r) for r in range(4)])
    yr = torch.arange(4, device=X.device).repeat_interleave(X.shape[0])
    model = build_model(recipe, X.shape[1], 4, generator=init_generator, device=X.device)
    return train_model(model, Xr, yr, recipe=recipe, generator=order_generator)


def with_new_head(backbone: nn.Module, n_out: int, *, generator: torch.Generator) -> MLP:
    """A copy of MLP ``backbone`` whose last layer is replaced by a fresh ``n_out``-way one
    (weights ``~ U(±1/√fan_in)`` from ``generator``)."""
    if not isinstance(backbone, MLP):
        raise TypeError(f"backbone must be an MLP, got {type(backbone).__name__}")
    n_out = check_int(n_out, name="n_out", minimum=1)
    model = copy.deepcopy(backbone)
    old = model.net[-1]
    new = nn.Linear(old.in_features, n_out).to(old.weight)
    bound = 1.0 / np.sqrt(old.in_features)
    with torch.no_grad():
        for p in (new.weight, new.bias):
            u = torch.rand(p.shape, generator=generator, dtype=torch.float64)
            p.copy_((u * 2 * bound - bound).to(p))
    model.net[-1] = new
    return model
