"""Label-agnostic forgetting (LAF): unlearning that never reads a label.

Shen, Zhang, Zhao, Bialkowski, Chen & Xu 2024, "Label-Agnostic Forgetting: A Supervision-Free
Unlearning in Deep Models" (ICLR 2024, arXiv:2404.00506). Paper symbol ↔ argument:

- e(x): the representation — here the input of the model's last ``nn.Linear`` (the output of
  the first fully connected layer after the trunk in the paper's CNN); e⁰(x) the same for the
  frozen original model. The *extractor* is every parameter except the last layer's; LAF
  trains only the extractor, the classifier head stays as it is.
- VAE_s, VAE_u: two small variational autoencoders trained on {e⁰(x): x ∈ D_r} and
  {e⁰(x): x ∈ D_f} with loss MSE + ``kl_weight``·KL (0.025), latent size ``latent`` (8);
- step 1, extractor unlearning (Adam, ``lr_ue``), per paired minibatch (B_f, B_r):
  r_s(x) = ‖VAE_s(e(x)) − e(x)‖² on B_r, r_u(x) = ‖VAE_u(e(x)) − e(x)‖² on B_f,
  L_UE = Σ_{B_r} exp(r_s/(r_s + 1)) − Σ_{B_f} exp(r_u/(r_u + 1));
- step 2, representation alignment (a second Adam, ``lr_ra``), embeddings recomputed:
  c(x) = 1 − cos(e(x), e⁰(x)),
  L_RA = Σ_{x∈B_r} log[exp(c(x)) / Σ_{x'∈B_f} exp(c(x')/τ)];
- an epoch pairs shuffled forget batches with shuffled retain batches and stops at the
  shorter of the two (as the reference code's ``zip`` of loaders).

The VAEs reconstruct from the posterior mean during unlearning (deterministic; the sampling
used in the reference code at that point is unconfirmed). No step reads ``forget.y`` or
``retain.y``: the method is registered with ``needs_labels=False`` and the harness hands it
placeholders that raise on any use.

``laf_r`` (LAF+R) then fine-tunes the classifier head alone on a labelled random fraction of
D_r (cross-entropy, Adam); it declares ``needs_labels=True``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_probability
from theorylab.unlearning.methods import Subset, register_method
from theorylab.unlearning.models import epoch_batches

__all__ = ["LAFConfig", "LAFRConfig", "VAE", "train_vae", "embed", "last_linear",
           "ue_loss", "ra_loss", "laf", "laf_r"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LAFConfig:
    """Reference-code defaults for the CNN on MNIST/Fashion-MNIST: 20 epochs, lr_UE 5e-5,
    lr_RA 1e-4, τ = 5 (random removal; 20 for class removal), latent 8, KL weight 0.025.
    VAE schedule (``vae_epochs``, ``vae_lr``, ``vae_hidden``, ``vae_batch_size``) and the
    batch sizes are project choices (unconfirmed in the paper)."""

    epochs: int = 20
    lr_ue: float = 5e-5
    lr_ra: float = 1e-4
    tau: float = 5.0
    latent: int = 8
    kl_weight: float = 0.025
    vae_hidden: int = 64
    vae_epochs: int = 50
    vae_lr: float = 1e-3
    vae_batch_size: int = 128
    batch_size_forget: int = 32
    batch_size_retain: int = 32

    def __post_init__(self) -> None:
        check_int(self.epochs, name="epochs", minimum=0)
        check_positive(self.lr_ue, name="lr_ue", strict=False)
        check_positive(self.lr_ra, name="lr_ra", strict=False)
        check_positive(self.tau, name="tau")
        check_int(self.latent, name="latent", minimum=1)
        check_positive(self.kl_weight, name="kl_weight", strict=False)
        check_int(self.vae_hidden, name="vae_hidden", minimum=1)
        check_int(self.vae_epochs, name="vae_epochs", minimum=1)
        check_positive(self.vae_lr, name="vae_lr")
        check_int(self.vae_batch_size, name="vae_batch_size", minimum=1)
        check_int(self.batch_size_forget, name="batch_size_forget", minimum=1)
        check_int(self.batch_size_retain, name="batch_size_retain", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LAFRConfig(LAFConfig):
    """LAF, then the head fine-tuned on a ``label_fraction`` of D_r for ``head_epochs``."""

    label_fraction: float = 0.1
    head_epochs: int = 10
    head_lr: float = 1e-3

    def __post_init__(self) -> None:
        LAFConfig.__post_init__(self)
        check_probability(self.label_fraction, name="label_fraction")
        if self.label_fraction == 0:
            raise ValueError("label_fraction must be > 0, got 0.0")
        check_int(self.head_epochs, name="head_epochs", minimum=1)
        check_positive(self.head_lr, name="head_lr")


class VAE(nn.Module):
    """MLP VAE on vectors ``(B, d)``: d → hidden → (μ, log σ²) ∈ R^latent → hidden → d."""

    def __init__(self, d: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def encode(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(e).chunk(2, dim=1)  # (B, latent) each
        return mu, logvar

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction from the posterior mean, ``(B, d)``."""
        return self.dec(self.encode(e)[0])

    def loss(self, e: torch.Tensor, noise: torch.Tensor, kl_weight: float) -> torch.Tensor:
        """Mean squared reconstruction (reparametrised sample) + kl_weight · mean KL."""
        mu, logvar = self.encode(e)
        z = mu + torch.exp(0.5 * logvar) * noise
        rec = ((self.dec(z) - e) ** 2).sum(1).mean()
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
        return rec + kl_weight * kl


def train_vae(E: torch.Tensor, *, hidden: int, latent: int, kl_weight: float, epochs: int,
              lr: float, batch_size: int, generator: torch.Generator) -> VAE:
    """A VAE fitted to the rows of ``E`` (weights and noise drawn from ``generator``)."""
    if E.ndim != 2 or E.shape[0] == 0:
        raise ValueError(f"E must be a non-empty 2-D tensor, got shape {tuple(E.shape)}")
    hidden = check_int(hidden, name="hidden", minimum=1)
    latent = check_int(latent, name="latent", minimum=1)
    check_positive(kl_weight, name="kl_weight", strict=False)
    epochs = check_int(epochs, name="epochs", minimum=0)
    check_positive(lr, name="lr")
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    vae = VAE(E.shape[1], hidden, latent)
    with torch.no_grad():
        for p in vae.parameters():
            bound = 1.0 / max(p.shape[-1], 1) ** 0.5 if p.ndim > 1 else 0.05
            p.copy_((torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2 - 1)
                    * bound)
    vae = vae.to(device=E.device, dtype=E.dtype)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in epoch_batches(E.shape[0], batch_size, generator):
            eb = E[idx.to(E.device)]
            noise = torch.randn(eb.shape[0], latent, generator=generator,
                                dtype=torch.float64).to(eb)
            opt.zero_grad(set_to_none=True)
            vae.loss(eb, noise, kl_weight).backward()
            opt.step()
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's last ``nn.Linear`` (its classifier head)."""
    last = None
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            last = mod
    if last is None:
        raise TypeError("model must contain an nn.Linear classifier head, got none")
    return last


def embed(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """e(x): the input of the model's last ``nn.Linear`` on ``X``, ``(n, h)``, with gradients
    to the extractor's parameters when grad mode is on."""
    grab: list[torch.Tensor] = []
    h = last_linear(model).register_forward_pre_hook(lambda _m, inp: grab.append(inp[0]))
    try:
        model(X)
    finally:
        h.remove()
    return grab[-1]


def ue_loss(e_r: torch.Tensor, e_f: torch.Tensor, vae_s: VAE, vae_u: VAE) -> torch.Tensor:
    """L_UE = Σ_r exp(r_s/(r_s + 1)) − Σ_f exp(r_u/(r_u + 1)) (squared errors per row)."""
    r_s = ((vae_s(e_r) - e_r) ** 2).sum(1)
    r_u = ((vae_u(e_f) - e_f) ** 2).sum(1)
    return torch.exp(r_s / (r_s + 1)).sum() - torch.exp(r_u / (r_u + 1)).sum()


def ra_loss(e_r: torch.Tensor, e0_r: torch.Tensor, e_f: torch.Tensor, e0_f: torch.Tensor,
            tau: float) -> torch.Tensor:
    """L_RA = Σ_r log[exp(c_r) / Σ_f exp(c_f/τ)], c = 1 − cos(e, e⁰)."""
    check_positive(tau, name="tau")
    c_r = 1 - nn.functional.cosine_similarity(e_r, e0_r, dim=1)
    c_f = 1 - nn.functional.cosine_similarity(e_f, e0_f, dim=1)
    return (c_r - torch.logsumexp(c_f / tau, dim=0)).sum()


def _laf(model: nn.Module, X_f: torch.Tensor, X_r: torch.Tensor, config: LAFConfig,
         generator: torch.Generator) -> nn.Module:
    original = copy.deepcopy(model).eval()
    for p in original.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        e0_r, e0_f = embed(original, X_r), embed(original, X_f)
    vae_kw = dict(hidden=config.vae_hidden, latent=config.latent, kl_weight=config.kl_weight,
                  epochs=config.vae_epochs, lr=config.vae_lr,
                  batch_size=config.vae_batch_size, generator=generator)
    vae_s = train_vae(e0_r, **vae_kw)
    vae_u = train_vae(e0_f, **vae_kw)
    head = {id(p) for p in last_linear(model).parameters()}
    extractor = [p for p in model.parameters() if id(p) not in head]
    opt_ue = torch.optim.Adam(extractor, lr=config.lr_ue)
    opt_ra = torch.optim.Adam(extractor, lr=config.lr_ra)
    model.train()
    for _ in range(config.epochs):
        f_batches = epoch_batches(X_f.shape[0], config.batch_size_forget, generator)
        r_batches = epoch_batches(X_r.shape[0], config.batch_size_retain, generator)
        for jf, jr in zip(f_batches, r_batches, strict=False):
            jf, jr = jf.to(X_f.device), jr.to(X_r.device)
            opt_ue.zero_grad(set_to_none=True)
            ue_loss(embed(model, X_r[jr]), embed(model, X_f[jf]), vae_s, vae_u).backward()
            opt_ue.step()
            opt_ra.zero_grad(set_to_none=True)
            ra_loss(embed(model, X_r[jr]), e0_r[jr], embed(model, X_f[jf]), e0_f[jf],
                    config.tau).backward()
            opt_ra.step()
    model.eval()
    return model


@register_method("laf", config=LAFConfig, needs_retain=True, needs_labels=False)
def laf(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """LAF: VAEs on the original representations, extractor unlearning and representation
    alignment on paired forget/retain batches; reads ``forget.X`` and ``retain.X`` only."""
    return _laf(model, forget.X, retain.X, config, generator)


@register_method("laf_r", config=LAFRConfig, needs_retain=True, needs_labels=True)
def laf_r(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """LAF+R: LAF, then the classifier head alone fine-tuned with cross-entropy on a random
    ``label_fraction`` of D_r (the only labels read)."""
    _laf(model, forget.X, retain.X, config, generator)
    n = max(1, int(round(config.label_fraction * len(retain))))
    keep = torch.randperm(len(retain), generator=generator)[:n].to(retain.X.device)
    lab = Subset(retain.X[keep], retain.y[keep])
    head = last_linear(model)
    with torch.no_grad():
        E = embed(model, lab.X).detach()
    opt = torch.optim.Adam(head.parameters(), lr=config.head_lr)
    for _ in range(config.head_epochs):
        for idx in epoch_batches(n, config.batch_size_retain, generator):
            idx = idx.to(E.device)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(head(E[idx]), lab.y[idx]).backward()
            opt.step()
    model.eval()
    return model
