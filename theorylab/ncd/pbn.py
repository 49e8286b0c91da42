"""Projection-Based NCD network (PBN) of Troisemaine et al. 2023 (arXiv:2311.05440).

An encoder MLP maps x to a latent z; a linear head classifies the *known* classes from z; a
decoder MLP reconstructs x from z. One loss per batch of mixed known and unlabeled rows:

    L = w * CE(head(z_known), y_known) + (1 - w) * mean_rows ||decoder(z) - x||^2

(cross-entropy on the known rows only, squared reconstruction error summed over features and
averaged over all rows of the batch), minimised with AdamW. After training the novel classes are
clustered in the latent of the unlabeled rows (k-means or :func:`ncd_kmeans` with the known-class
latent means as fixed prototypes). w = 0 is a plain autoencoder.

Randomness: every draw (initial weights, batch order, dropout masks) comes from the
``generator`` argument; nothing reads torch's global seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_int, check_labels, check_matrix, check_scalar
from ..results import ResultRepr

__all__ = ["PBN", "PBNResult", "train_pbn"]


class PBN(nn.Module):
    """Encoder, known-class head and decoder; dropout masks drawn from a given generator."""

    def __init__(self, n_features: int, n_known: int, *, latent_dim: int,
                 hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        widths = [n_features, *hidden, latent_dim]
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        back = widths[::-1]
        pairs = zip(back[:-1], back[1:], strict=True)
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.head = nn.Linear(latent_dim, n_known)
        self.dropout = dropout

    def _mlp(self, layers, x, generator):
        for i, lin in enumerate(layers):
            x = lin(x)
            if i < len(layers) - 1:
                x = torch.relu(x)
                if self.training and self.dropout > 0:
                    keep = torch.rand(x.shape, generator=generator) >= self.dropout
                    x = x * keep / (1.0 - self.dropout)
        return x

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self._mlp(self.encoder, x, generator)  # (B, latent)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        z = self.encode(x, generator)
        return z, self.head(z), self._mlp(self.decoder, z, generator)


def _init_(model: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from ``generator``."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                bound = 1.0 / np.sqrt(mod.in_features)
                for p in (mod.weight, mod.bias):
                    p.copy_((torch.rand(p.shape, generator=generator, dtype=p.dtype) * 2 - 1)
                            * bound)


@dataclass(frozen=True, slots=True, kw_only=True)
class PBNResult(ResultRepr):
    """Result of :func:`train_pbn`.

    Attributes
    ----------
    model : PBN
        The trained network (eval mode).
    classes : ndarray
        Known classes, in the order of the head's outputs.
    history : dict
        ``loss``, ``ce`` and ``recon`` per epoch (means over batches).
    config : dict
        The hyperparameters used.
    """

    model: Any
    classes: np.ndarray = field(default_factory=lambda: np.empty(0))
    history: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def transform(self, X) -> np.ndarray:
        """Latent representation of the rows of ``X``: (n, latent_dim) float64."""
        X = check_matrix(X, name="X")
        self.model.eval()
        with torch.no_grad():
            z = self.model.encode(torch.as_tensor(X, dtype=torch.float32))
        return z.double().numpy()


def train_pbn(X_known, y_known, X_unlabeled, *, w: float, latent_dim: int = 32,
              hidden: Sequence[int] = (128,), epochs: int = 30, lr: float = 1e-3,
              weight_decay: float = 1e-2, dropout: float = 0.0, batch_size: int = 128,
              generator: torch.Generator | None = None) -> PBNResult:
    """Train a PBN on known rows (with labels) and unlabeled rows (without).

    Parameters
    ----------
    X_known : array, shape (n_k, p)
    y_known : array, shape (n_k,)
        Labels of the known rows (any hashable dtype; >= 1 class).
    X_unlabeled : array, shape (n_u, p)
    w : float
        Weight of the classification term, 0 <= w <= 1 (0: autoencoder).
    latent_dim, hidden, epochs, lr, weight_decay, dropout, batch_size :
        Architecture and AdamW settings.
    generator : torch.Generator, optional
        Source of every random draw (a fresh unseeded one when None).

    Returns
    -------
    PBNResult
    """
    Xk = check_matrix(X_known, name="X_known")
    y = check_labels(y_known, name="y_known", n=Xk.shape[0])
    Xu = check_matrix(X_unlabeled, name="X_unlabeled", shape=(None, Xk.shape[1]))
    w = check_scalar(w, name="w", lower=0.0, upper=1.0)
    latent_dim = check_int(latent_dim, name="latent_dim", minimum=1)
    hidden = [check_int(h, name="hidden", minimum=1) for h in hidden]
    epochs = check_int(epochs, name="epochs", minimum=1)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    weight_decay = check_scalar(weight_decay, name="weight_decay", lower=0.0)
    dropout = check_scalar(dropout, name="dropout", lower=0.0, upper=1.0,
                           upper_inclusive=False)
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    g = generator if generator is not None else torch.Generator()
    classes, yk = np.unique(y, return_inverse=True)
    model = PBN(Xk.shape[1], len(classes), latent_dim=latent_dim, hidden=hidden,
                dropout=dropout)
    _init_(model, g)
    X_all = torch.as_tensor(np.vstack([Xk, Xu]), dtype=torch.float32)
    y_all = torch.as_tensor(np.concatenate([yk, -np.ones(len(Xu), dtype=np.int64)]))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    hist = {"loss": [], "ce": [], "recon": []}
    n = X_all.shape[0]
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        tot = np.zeros(3)
        nb = 0
        for s in range(0, n, batch_size):
            idx = perm[s:s + batch_size]
            xb, yb = X_all[idx], y_all[idx]
            _, logits, rec = model(xb, g)
            recon = ((rec - xb) ** 2).sum(dim=1).mean()
            known = yb >= 0
            ce = (nn.functional.cross_entropy(logits[known], yb[known]) if known.any()
                  else torch.zeros((), dtype=recon.dtype))
            loss = w * ce + (1.0 - w) * recon
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += [loss.item(), ce.item(), recon.item()]
            nb += 1
        for key, v in zip(("loss", "ce", "recon"), tot / nb, strict=True):
            hist[key].append(float(v))
    model.eval()
    cfg = dict(w=w, latent_dim=latent_dim, hidden=tuple(hidden), epochs=epochs, lr=lr,
               weight_decay=weight_decay, dropout=dropout, batch_size=batch_size)
    return PBNResult(model=model, classes=classes,
                     history={k: np.asarray(v) for k, v in hist.items()}, config=cfg)
