"""GAN unlearning: Adapt-then-Unlearn and its two baselines, on small MLP GANs.

Tiwary, Guha, Panda & Prathosh 2023, "Adapt then Unlearn: Exploring Parameter Space Semantics
for Unlearning in Generative Adversarial Networks" (TMLR 2025, arXiv:2309.14054). A pre-trained
generator G (parameters θ_G) should stop producing an unwanted feature (here: a class) without
access to its training data; the user flags some of G's own samples as *negative* (a judge
classifier labels them) and the rest are *positive*. Paper symbol ↔ argument:

- Stage 1, negative adaptation (:func:`adapt_negative`): θ_N = fine-tune (G, D) as a GAN on the
  negative samples with the EWC penalty λ_EWC Σ_i F_i (θ_i − θ_G,i)² (``lam_ewc``), F the
  diagonal Fisher of the original generator (:func:`generator_fisher`:
  F_i = E_z[(∂ log D(G(z)) / ∂θ_i)²], per-sample gradients, as in few-shot EWC adaptation);
- Stage 2, unlearning (:func:`adapt_then_unlearn`): from θ_G, train (G, D) as a GAN on the
  positive samples with generator loss L_adv (non-saturating) + a repulsion term on
  d(θ) = Σ_N Σ_tensors mean((θ_t − θ_N,t)²) (:func:`param_distance`; summed over the
  adapted models when several are given), scale γ (``gamma``):
  IL2 ``"il2"``: γ/d; EL2 ``"el2"``: 100·exp(−γ d); NL2 ``"nl2"``: −γ d (the reference
  code's ``reci``, ``exp`` and ``l2`` losses);
- baselines: positives-only fine-tuning (stage 2 with ``repulsion="none"``, same steps) and
  extrapolation θ_G − γ·mean_N(θ_N − θ_G) with no training (:func:`extrapolate`; the
  reference code adds γ'(θ_N − θ_G) for γ' ∈ [−1.9, 1], i.e. γ = −γ').

The GANs are MLPs (generator z ∈ R^16 → 128 → 128 → d with tanh mapped to [0, 1] so samples
share the harness's image scale; discriminator d → 128 → 1 with LeakyReLU 0.2 and a
minibatch-std input per layer), trained with Adam (β₁ = 0.5; lr 5e-4 pre-training, 2e-4
in the stages) — a CPU stand-in for the paper's StyleGAN2. Randomness: every function
takes a CPU ``torch.Generator`` for weights, latents and minibatch draws; tensors are moved
to the model's device afterwards, so one seed gives the same draws everywhere.

Scoring (:func:`evaluate_generator`) works for any generator and any judge classifier: the
judge's rate of the unwanted class among samples, and the Fréchet distance and k-NN
precision/recall of :mod:`theorylab.unlearning.gan_metrics` in the judge's penultimate
features (the input of its last ``nn.Linear``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from theorylab._validation import check_choice, check_int, check_positive, check_probability
from theorylab.unlearning import gan_metrics as gm
from theorylab.unlearning.laf import embed

__all__ = ["GANConfig", "AdaptConfig", "UnlearnConfig", "MLPGenerator", "MLPDiscriminator",
           "build_gan", "train_gan", "sample", "generator_fisher", "ewc_penalty",
           "param_distance", "repulsion_loss", "adapt_negative", "adapt_then_unlearn",
           "positives_finetune", "extrapolate", "collect_feedback", "judge_features",
           "judge_labels", "evaluate_generator"]

Repulsion = Literal["nl2", "el2", "il2", "none"]


def _check_generator(generator) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


@dataclass(frozen=True, slots=True, kw_only=True)
class GANConfig:
    """Architecture and pre-training schedule of the MLP GAN (project choices for digits)."""

    z_dim: int = 16
    hidden: int = 128
    steps: int = 3000
    lr: float = 5e-4
    beta1: float = 0.5
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_int(self.z_dim, name="z_dim", minimum=1)
        check_int(self.hidden, name="hidden", minimum=1)
        check_int(self.steps, name="steps", minimum=0)
        check_positive(self.lr, name="lr")
        check_probability(self.beta1, name="beta1")
        check_int(self.batch_size, name="batch_size", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdaptConfig:
    """Stage 1: GAN fine-tuning on the negatives with an EWC penalty of weight ``lam_ewc``
    (Fisher from ``n_fisher`` generator samples). Sizes are the project's CPU choices; the
    paper's λ_EWC is unconfirmed."""

    steps: int = 500
    lam_ewc: float = 100.0
    n_fisher: int = 1000
    lr: float = 2e-4
    beta1: float = 0.5
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_int(self.steps, name="steps", minimum=0)
        check_positive(self.lam_ewc, name="lam_ewc", strict=False)
        check_int(self.n_fisher, name="n_fisher", minimum=1)
        check_positive(self.lr, name="lr")
        check_probability(self.beta1, name="beta1")
        check_int(self.batch_size, name="batch_size", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlearnConfig:
    """Stage 2: GAN training on the positives from θ_G plus the repulsion ``repulsion`` with
    scale ``gamma`` (``"none"``: positives-only fine-tuning)."""

    steps: int = 1000
    gamma: float = 1.0
    repulsion: Repulsion = "nl2"
    lr: float = 2e-4
    beta1: float = 0.5
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_int(self.steps, name="steps", minimum=0)
        check_positive(self.gamma, name="gamma", strict=False)
        check_choice(self.repulsion, name="repulsion", choices=("nl2", "el2", "il2", "none"))
        check_positive(self.lr, name="lr")
        check_probability(self.beta1, name="beta1")
        check_int(self.batch_size, name="batch_size", minimum=1)


class MLPGenerator(nn.Module):
    """z ``(B, z_dim)`` → hidden → hidden → ``(B, out_dim)`` in [0, 1] ((tanh + 1)/2)."""

    def __init__(self, z_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.z_dim = int(z_dim)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, out_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, z_dim) -> (B, out_dim)
        return 0.5 * (torch.tanh(self.net(z)) + 1.0)


class MLPDiscriminator(nn.Module):
    """x ``(B, in_dim)`` → hidden (LeakyReLU 0.2) → one logit per row ``(B,)``, with the
    minibatch standard deviation (mean over features of the per-feature batch std, Karras et
    al. 2018, arXiv:1710.10196) appended as one extra input to each layer. Without it the MLP
    GAN collapsed to one or two digits on the 900-image digits split; with it every class
    appears. A row's logit therefore depends on the rest of its batch."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Linear(in_dim + 1, hidden)
        self.head = nn.Linear(hidden + 1, 1)

    @staticmethod
    def _with_std(h: torch.Tensor) -> torch.Tensor:  # (B, k) -> (B, k + 1)
        s = h.std(0, unbiased=False).mean().expand(h.shape[0], 1)
        return torch.cat([h, s], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_dim) -> (B,)
        h = F.leaky_relu(self.body(self._with_std(x)), 0.2)
        return self.head(self._with_std(h))[:, 0]


def build_gan(out_dim: int, config: GANConfig | None = None, *, generator: torch.Generator,
              device: str | torch.device | None = None
              ) -> tuple[MLPGenerator, MLPDiscriminator]:
    """A fresh (G, D) pair; weights and biases ~ U(−1/√fan_in, 1/√fan_in) from ``generator``."""
    from theorylab.unlearning.models import resolve_device

    config = GANConfig() if config is None else config
    out_dim = check_int(out_dim, name="out_dim", minimum=1)
    _check_generator(generator)
    G = MLPGenerator(config.z_dim, config.hidden, out_dim)
    D = MLPDiscriminator(out_dim, config.hidden)
    with torch.no_grad():
        for mod in (*G.modules(), *D.modules()):
            if isinstance(mod, nn.Linear):
                bound = 1.0 / math.sqrt(mod.in_features)
                for p in (mod.weight, mod.bias):
                    u = torch.rand(p.shape, generator=generator, dtype=torch.float64)
                    p.copy_(u * 2 * bound - bound)
    dev = resolve_device(device)
    return G.to(dev), D.to(dev)


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _latents(n: int, z_dim: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(n, z_dim, generator=generator).to(device)


@torch.no_grad()
def sample(G: MLPGenerator, n: int, *, generator: torch.Generator,
           batch_size: int = 4096) -> torch.Tensor:
    """``n`` samples ``(n, out_dim)`` of ``G`` in eval mode, latents from ``generator``."""
    n = check_int(n, name="n", minimum=1)
    _check_generator(generator)
    dev = _device(G)
    was = G.training
    G.eval()
    Z = _latents(n, G.z_dim, generator, dev)  # one draw: batching cannot change the latents
    out = torch.cat([G(Z[s:s + batch_size]) for s in range(0, n, batch_size)])
    G.train(was)
    return out


def _adam(params, lr: float, beta1: float) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999))


def train_gan(G: MLPGenerator, D: MLPDiscriminator, X: torch.Tensor, *, steps: int, lr: float,
              beta1: float, batch_size: int, generator: torch.Generator,
              penalty: Callable[[MLPGenerator], torch.Tensor] | None = None,
              callback: Callable[[int, MLPGenerator], None] | None = None
              ) -> tuple[MLPGenerator, MLPDiscriminator]:
    """Non-saturating GAN training of (G, D) in place on the rows of ``X``.

    Per step: a minibatch of ``X`` drawn with replacement and fresh latents (both from
    ``generator``); one Adam step of D on softplus(−D(x)) + softplus(D(G(z))), then one of G on
    softplus(−D(G(z))) + ``penalty(G)`` (the EWC or repulsion term, when given).
    ``callback(t, G)`` runs after step t = 1, …, ``steps`` (e.g. to score checkpoints; it
    must not draw from ``generator``).

    Raises
    ------
    FloatingPointError
        When a loss turns NaN/inf, naming the step.
    """
    return _train_gan(G, D, X, steps=steps, lr=lr, beta1=beta1, batch_size=batch_size,
                      generator=generator, penalty=penalty, callback=callback,
                      make_optimizer=_adam)


def _train_gan(G: MLPGenerator, D: MLPDiscriminator, X: torch.Tensor, *, steps: int, lr: float,
               beta1: float, batch_size: int, generator: torch.Generator,
               penalty: Callable[[MLPGenerator], torch.Tensor] | None,
               callback: Callable[[int, MLPGenerator], None] | None,
               make_optimizer: Callable[..., Any]) -> tuple[MLPGenerator, MLPDiscriminator]:
    """:func:`train_gan` with the optimiser factory ``make_optimizer(params, lr, beta1)`` as
    a parameter (the fast path passes a flat-buffer Adam with the same arithmetic)."""
    _check_generator(generator)
    steps = check_int(steps, name="steps", minimum=0)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor, got shape {tuple(X.shape)}")
    dev = _device(G)
    X = X.to(dev)
    opt_g = make_optimizer(G.parameters(), lr, beta1)
    opt_d = make_optimizer(D.parameters(), lr, beta1)
    G.train()
    D.train()
    for step in range(steps):
        real = X[torch.randint(X.shape[0], (batch_size,), generator=generator).to(dev)]
        fake = G(_latents(batch_size, G.z_dim, generator, dev))
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-D(fake)).mean()
        if penalty is not None:
            loss_g = loss_g + penalty(G)
        if not (torch.isfinite(loss_g) and torch.isfinite(loss_d)):
            lg, ld = float(loss_g.detach()), float(loss_d.detach())
            raise FloatingPointError(f"GAN loss is not finite at step {step}: generator "
                                     f"{lg!r}, discriminator {ld!r}")
        loss_g.backward()
        opt_g.step()
        if callback is not None:
            callback(step + 1, G)
    G.eval()
    D.eval()
    return G, D


def generator_fisher(G: MLPGenerator, D: MLPDiscriminator, *, n: int,
                     generator: torch.Generator, context: int = 63
                     ) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of the generator: F_i = mean_z (∂ log σ(D(G(z))) / ∂θ_i)².

    Per-sample gradients (``torch.func.vmap`` over ``grad``) of the log-probability the
    discriminator gives a sample of being real, squared and averaged over ``n`` latents.
    Because D reads minibatch statistics, each sample is scored inside a fixed batch of
    ``context`` other (detached) generator samples, as during training. Returns one tensor
    per named generator parameter.
    """
    from torch.func import functional_call, grad, vmap

    n = check_int(n, name="n", minimum=1)
    context = check_int(context, name="context", minimum=1)
    _check_generator(generator)
    params = {k: v.detach() for k, v in G.named_parameters()}
    ctx = sample(G, context, generator=generator)  # (context, d)

    def logp(p, z):  # z: (z_dim,)
        x = torch.cat([functional_call(G, p, (z[None],)), ctx])
        return F.logsigmoid(D(x)[0])

    per_sample = vmap(grad(logp), in_dims=(None, 0))
    acc = {k: torch.zeros_like(v) for k, v in params.items()}
    dev = _device(G)
    for s in range(0, n, 250):
        g = per_sample(params, _latents(min(250, n - s), G.z_dim, generator, dev))
        for k in acc:
            acc[k] += (g[k].detach() ** 2).sum(0)
    return {k: v / n for k, v in acc.items()}


def ewc_penalty(G: nn.Module, theta0: dict[str, torch.Tensor], fisher: dict[str, torch.Tensor],
                lam: float) -> torch.Tensor:
    """λ Σ_i F_i (θ_i − θ0_i)² over the named parameters of ``G``."""
    return lam * sum(((p - theta0[k]) ** 2 * fisher[k]).sum() for k, p in G.named_parameters())


def param_distance(G: nn.Module, adapted: Sequence[nn.Module]) -> torch.Tensor:
    """d(θ) = Σ_N Σ_tensors mean((θ_t − θ_N,t)²), differentiable in ``G``'s parameters."""
    if len(adapted) == 0:
        raise ValueError("adapted must hold at least one adapted generator, got 0")
    total = 0.0
    for A in adapted:
        pa = dict(A.named_parameters())
        if pa.keys() != dict(G.named_parameters()).keys():
            raise ValueError("adapted generators must have the same parameters as G, got "
                             f"{sorted(pa)} vs {sorted(dict(G.named_parameters()))}")
        total = total + sum(((p - pa[k].detach()) ** 2).mean() for k, p in G.named_parameters())
    return total


def repulsion_loss(d: torch.Tensor, gamma: float, kind: Repulsion) -> torch.Tensor:
    """The repulsion term of stage 2 on a distance ``d``: NL2 −γ d, EL2 100·exp(−γ d),
    IL2 γ/d, ``"none"`` 0."""
    check_choice(kind, name="repulsion", choices=("nl2", "el2", "il2", "none"))
    if kind == "nl2":
        return -gamma * d
    if kind == "el2":
        return 100.0 * torch.exp(-gamma * d)
    if kind == "il2":
        return gamma / d
    return d * 0.0


def adapt_negative(G: MLPGenerator, D: MLPDiscriminator, negatives: torch.Tensor, *,
                   config: AdaptConfig | None = None, generator: torch.Generator
                   ) -> tuple[MLPGenerator, MLPDiscriminator]:
    """Stage 1: copies of (G, D) fine-tuned as a GAN on ``negatives`` with the EWC penalty.

    The Fisher is computed on the original (G, D) before any step; ``G`` and ``D`` are not
    modified.
    """
    return _adapt_negative(G, D, negatives, config=config, generator=generator, train=train_gan)


def _adapt_negative(G, D, negatives, *, config, generator, train):
    """:func:`adapt_negative` on the GAN trainer ``train`` (:func:`train_gan`'s signature)."""
    config = AdaptConfig() if config is None else config
    _check_generator(generator)
    fisher = generator_fisher(G, D, n=config.n_fisher, generator=generator)
    theta0 = {k: v.detach().clone() for k, v in G.named_parameters()}
    Gn, Dn = copy.deepcopy(G), copy.deepcopy(D)
    lam = config.lam_ewc
    return train(Gn, Dn, negatives, steps=config.steps, lr=config.lr, beta1=config.beta1,
                 batch_size=config.batch_size, generator=generator,
                 penalty=lambda g: ewc_penalty(g, theta0, fisher, lam))


def adapt_then_unlearn(G: MLPGenerator, D: MLPDiscriminator, positives: torch.Tensor,
                       adapted: Sequence[nn.Module], *, config: UnlearnConfig | None = None,
                       generator: torch.Generator,
                       callback: Callable[[int, MLPGenerator], None] | None = None
                       ) -> MLPGenerator:
    """Stage 2: a copy of ``G`` trained (with a copy of ``D``) as a GAN on ``positives`` with
    L_adv + repulsion(d(θ)) away from the ``adapted`` generators. ``G``, ``D`` unchanged."""
    return _adapt_then_unlearn(G, D, positives, adapted, config=config, generator=generator,
                               callback=callback, train=train_gan)


def _adapt_then_unlearn(G, D, positives, adapted, *, config, generator, callback, train):
    """:func:`adapt_then_unlearn` on the GAN trainer ``train`` (:func:`train_gan`'s
    signature)."""
    config = UnlearnConfig() if config is None else config
    _check_generator(generator)
    adapted = list(adapted)
    if config.repulsion != "none":
        param_distance(G, adapted)  # validates the adapted models before training
    Gu, Du = copy.deepcopy(G), copy.deepcopy(D)
    pen = None
    if config.repulsion != "none":
        gamma, kind = config.gamma, config.repulsion
        pen = lambda g: repulsion_loss(param_distance(g, adapted), gamma, kind)  # noqa: E731
    train(Gu, Du, positives, steps=config.steps, lr=config.lr, beta1=config.beta1,
          batch_size=config.batch_size, generator=generator, penalty=pen, callback=callback)
    return Gu


def positives_finetune(G: MLPGenerator, D: MLPDiscriminator, positives: torch.Tensor, *,
                       config: UnlearnConfig | None = None, generator: torch.Generator,
                       callback: Callable[[int, MLPGenerator], None] | None = None
                       ) -> MLPGenerator:
    """Baseline: stage 2 without repulsion (the same GAN steps on the positives only)."""
    config = UnlearnConfig() if config is None else config
    cfg = UnlearnConfig(steps=config.steps, gamma=0.0, repulsion="none", lr=config.lr,
                        beta1=config.beta1, batch_size=config.batch_size)
    return adapt_then_unlearn(G, D, positives, [], config=cfg, generator=generator,
                              callback=callback)


@torch.no_grad()
def extrapolate(G: nn.Module, adapted: Sequence[nn.Module], gamma: float) -> nn.Module:
    """Baseline: a copy of ``G`` with θ = θ_G − γ · mean_N(θ_N − θ_G) (no training)."""
    gamma = float(gamma)
    if not math.isfinite(gamma):
        raise ValueError(f"gamma must be finite, got {gamma!r}")
    adapted = list(adapted)
    param_distance(G, adapted)  # same parameter names, at least one model
    out = copy.deepcopy(G)
    for k, p in out.named_parameters():
        delta = sum(dict(A.named_parameters())[k] for A in adapted) / len(adapted) - p
        p.sub_(gamma * delta)
    return out


@torch.no_grad()
def judge_features(judge: nn.Module, X: torch.Tensor, *, batch_size: int = 4096) -> np.ndarray:
    """The judge's penultimate features (input of its last ``nn.Linear``), ``(n, h)``."""
    was = judge.training
    judge.eval()
    dev = _device(judge)
    out = [embed(judge, X[s:s + batch_size].to(dev)).double().cpu()
           for s in range(0, X.shape[0], batch_size)]
    judge.train(was)
    return torch.cat(out).numpy()


@torch.no_grad()
def judge_labels(judge: nn.Module, X: torch.Tensor, *, batch_size: int = 4096
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Judged class (argmax) and the softmax probabilities ``(n, C)`` of the rows of ``X``."""
    from theorylab.unlearning.models import predict_logits

    p = torch.softmax(predict_logits(judge, X.to(_device(judge)), batch_size=batch_size)
                      .double(), dim=1).cpu().numpy()
    return p.argmax(1), p


def collect_feedback(G: MLPGenerator, judge: nn.Module, cls: int, *, n_neg: int, n_pos: int,
                     threshold: float = 0.9, generator: torch.Generator,
                     batch_size: int = 1000, max_draws: int = 200_000
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The user's feedback: ``n_neg`` samples the judge assigns to ``cls`` with probability
    > ``threshold`` (negatives) and ``n_pos`` samples it labels as another class (positives).

    Raises
    ------
    RuntimeError
        When ``max_draws`` samples do not yield enough of either kind.
    """
    cls = check_int(cls, name="cls", minimum=0)
    n_neg = check_int(n_neg, name="n_neg", minimum=1)
    n_pos = check_int(n_pos, name="n_pos", minimum=1)
    threshold = check_probability(threshold, name="threshold")
    neg: list[torch.Tensor] = []
    pos: list[torch.Tensor] = []
    drawn = got_neg = got_pos = 0
    while (got_neg < n_neg or got_pos < n_pos) and drawn < max_draws:
        x = sample(G, batch_size, generator=generator)
        lab, p = judge_labels(judge, x)
        is_neg = torch.as_tensor((lab == cls) & (p[:, cls] > threshold), device=x.device)
        is_pos = torch.as_tensor(lab != cls, device=x.device)
        neg.append(x[is_neg])
        pos.append(x[is_pos])
        got_neg += int(is_neg.sum())
        got_pos += int(is_pos.sum())
        drawn += batch_size
    if got_neg < n_neg or got_pos < n_pos:
        raise RuntimeError(f"collect_feedback found {got_neg} negatives (need {n_neg}) and "
                           f"{got_pos} positives (need {n_pos}) in {drawn} samples")
    return torch.cat(neg)[:n_neg], torch.cat(pos)[:n_pos]


def evaluate_generator(G: nn.Module, judge: nn.Module, real_features: np.ndarray, *, cls: int,
                       n: int, generator: torch.Generator, k: int = 3,
                       n_pr: int | None = None) -> dict[str, float]:
    """Score any generator with a judge: unwanted-class rate, Fréchet distance, precision,
    recall.

    ``n`` samples are drawn (latents from ``generator``); ``rate`` = fraction the judge labels
    ``cls``; ``fd`` = Fréchet distance between the judge features of the samples and
    ``real_features``; precision/recall (k-NN, ``k``) use the first ``n_pr`` samples
    (default: as many as ``real_features`` has rows, so both sets have the same size).
    """
    real_features = np.asarray(real_features, dtype=np.float64)
    n = check_int(n, name="n", minimum=2)
    n_pr = min(n, real_features.shape[0]) if n_pr is None else check_int(
        n_pr, name="n_pr", minimum=2, maximum=n)
    x = sample(G, n, generator=generator)  # type: ignore[arg-type]
    lab, _ = judge_labels(judge, x)
    f = judge_features(judge, x)
    pr = gm.knn_precision_recall(real_features, f[:n_pr], k=k)
    return {"rate": gm.feature_rate(lab, cls), "fd": gm.frechet_distance(f, real_features),
            "precision": pr["precision"], "recall": pr["recall"]}
