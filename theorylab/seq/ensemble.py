"""Several independent DeltaNet models trained as one batched model (stacked weights).

Small state-tracking models (d_model 16, sequences of ≤ 20 tokens) spend nearly all their
CPU time in per-operation overhead, not arithmetic. :class:`DeltaNetEnsemble` holds the
weights of ``M`` :class:`~theorylab.seq.linear_rnn.LinearRNNModel` members (``kind="delta"``,
same sizes; the eigenvalue range may differ per member) stacked along a leading member axis
and runs them with batched matrix products, so one forward/backward serves all members.

The members stay mathematically independent: no parameter is shared, each member's loss is
the mean over its own labelled positions and the total loss is their sum (so each member's
gradient is that of its own loss), and Adam is elementwise (stacked Adam == one Adam per
member). :func:`train_state_tracking_ensemble` draws each member's sequence length and data
from the member's own generator in the same order as
:func:`~theorylab.seq.tasks.train_state_tracking`; shorter sequences are padded at the end
to the longest one of the step and the padded positions carry no label. The models are
causal (the delta-rule scan, per-position norms and MLPs), so the padding does not change
the outputs at the real positions.

Grazzi et al. 2024, arXiv:2411.12537 (the models); the tests check ensemble == separate
models for the forward pass and for a few training steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.seq.linear_rnn import LinearRNNModel, delta_rule_chunked
from theorylab.seq.tasks import TASKS, StateTrackingBatch, make_task

__all__ = ["DeltaNetEnsemble", "train_state_tracking_ensemble", "ensemble_sequence_accuracy"]


def _stack(tensors) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach().clone() for t in tensors]))


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """Member-wise ``x @ wᵀ + b``: x (M, ..., in), w (M, out, in), b (M, out)."""
    M, shape = x.shape[0], x.shape[1:-1]
    x2 = x.reshape(M, -1, x.shape[-1])
    if b is None:
        y = torch.bmm(x2, w.transpose(1, 2))
    else:
        y = torch.baddbmm(b[:, None, :], x2, w.transpose(1, 2))
    return y.reshape(M, *shape, w.shape[1])


def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    """Member-wise LayerNorm: x (M, B, T, D), w, b (M, D)."""
    y = F.layer_norm(x, x.shape[-1:], eps=eps)
    return y * w[:, None, None, :] + b[:, None, None, :]


class DeltaNetEnsemble(nn.Module):
    """``M`` DeltaNet :class:`LinearRNNModel` members as one module with stacked weights.

    Parameters
    ----------
    models : sequence of LinearRNNModel
        The members (``kind="delta"``, equal ``vocab_size``, ``n_classes``, ``d_model``,
        ``n_layers``, ``n_heads``, ``mlp``); their current weights are copied.
    chunk_size : int, optional
        Chunk length of the delta-rule scan (default: the members' ``chunk_size``). The scan
        gives the same numbers for any chunk length up to float rounding; with small heads
        (d_k = 4) a chunk of 16 is several times cheaper than 64 on long sequences.

    Examples
    --------
    >>> import torch
    >>> from theorylab.seq.linear_rnn import LinearRNNConfig, LinearRNNModel
    >>> cfgs = [LinearRNNConfig(vocab_size=3, n_classes=3, d_model=8, n_heads=2, eig_range=r)
    ...         for r in ("[-1,1]", "[0,1]")]
    >>> models = [LinearRNNModel(c, generator=torch.Generator().manual_seed(0)) for c in cfgs]
    >>> ens = DeltaNetEnsemble(models)
    >>> tokens = torch.randint(0, 3, (2, 4, 9), generator=torch.Generator().manual_seed(1))
    >>> out = ens(tokens)
    >>> out.shape
    torch.Size([2, 4, 9, 3])
    >>> bool(torch.allclose(out[1], models[1](tokens[1]), atol=1e-5))
    True
    """

    def __init__(self, models: Sequence[LinearRNNModel], *, chunk_size: int | None = None):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("models must hold at least one LinearRNNModel, got 0")
        for i, m in enumerate(models):
            if not isinstance(m, LinearRNNModel):
                raise TypeError(f"models[{i}] must be a LinearRNNModel, got {type(m).__name__}")
            if m.config.kind != "delta":
                raise ValueError(f"models[{i}] must have kind 'delta', got {m.config.kind!r}")
        c0 = models[0].config
        keys = ("vocab_size", "n_classes", "d_model", "n_layers", "n_heads", "mlp")
        for i, m in enumerate(models[1:], start=1):
            for key in keys:
                if getattr(m.config, key) != getattr(c0, key):
                    raise ValueError(f"models[{i}] must have {key} {getattr(c0, key)!r} like "
                                     f"models[0], got {getattr(m.config, key)!r}")
        self.configs = tuple(m.config for m in models)
        self.n_members = len(models)
        self.d_model, self.n_heads, self.n_layers = c0.d_model, c0.n_heads, c0.n_layers
        self.n_classes, self.vocab_size, self.mlp = c0.n_classes, c0.vocab_size, c0.mlp
        self.chunk_size = (c0.chunk_size if chunk_size is None
                           else check_int(chunk_size, name="chunk_size", minimum=1))
        # β = σ(z) for [0, 1], 2σ(z) for [−1, 1] (eigenvalue_transform, kind "delta")
        self.register_buffer("beta_scale", torch.tensor(
            [2.0 if m.config.eig_range == "[-1,1]" else 1.0 for m in models]))
        self.embed = _stack(m.embed.weight for m in models)  # (M, V, D)
        self.layers = nn.ModuleList()
        for li in range(c0.n_layers):
            p = nn.ParameterDict()
            mix = [m.mixers[li] for m in models]
            p["norm_w"] = _stack(m.norms[li].weight for m in models)
            p["norm_b"] = _stack(m.norms[li].bias for m in models)
            p["qkv_w"] = _stack(x.qkv.weight for x in mix)
            p["beta_w"] = _stack(x.to_beta.weight for x in mix)
            p["beta_b"] = _stack(x.to_beta.bias for x in mix)
            p["out_w"] = _stack(x.out.weight for x in mix)
            p["out_b"] = _stack(x.out.bias for x in mix)
            if c0.mlp:
                seq = [m.mlps[li] for m in models]
                p["mlp_ln_w"] = _stack(s[0].weight for s in seq)
                p["mlp_ln_b"] = _stack(s[0].bias for s in seq)
                p["fc1_w"] = _stack(s[1].weight for s in seq)
                p["fc1_b"] = _stack(s[1].bias for s in seq)
                p["fc2_w"] = _stack(s[3].weight for s in seq)
                p["fc2_b"] = _stack(s[3].bias for s in seq)
            self.layers.append(p)
        self.final_w = _stack(m.final_norm.weight for m in models)
        self.final_b = _stack(m.final_norm.bias for m in models)
        self.head_w = _stack(m.head.weight for m in models)
        self.head_b = _stack(m.head.bias for m in models)
        self.eps = models[0].final_norm.eps

    def _mixer(self, x: torch.Tensor, p: nn.ParameterDict) -> torch.Tensor:
        M, B, T, D = x.shape
        H = self.n_heads
        q, k, v = _linear(x, p["qkv_w"], None).chunk(3, dim=-1)  # (M, B, T, D) each

        def heads(t):  # (M, B, T, D) -> (M·B, H, T, D/H)
            return t.reshape(M, B, T, H, D // H).permute(0, 1, 3, 2, 4).reshape(M * B, H, T, -1)

        q, k, v = heads(q), heads(k), heads(v)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        z = _linear(x, p["beta_w"], p["beta_b"])  # (M, B, T, H)
        beta = self.beta_scale[:, None, None, None] * torch.sigmoid(z)
        beta = beta.permute(0, 1, 3, 2).reshape(M * B, H, T)
        # one chunk for short sequences (no padding to chunk_size: the padded steps are
        # identity transitions and change nothing but the cost)
        o, _ = delta_rule_chunked(q, k, v, beta, chunk_size=min(self.chunk_size, T))
        o = o.reshape(M, B, H, T, D // H).permute(0, 1, 3, 2, 4).reshape(M, B, T, D)
        return _linear(o, p["out_w"], p["out_b"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (M, B, T) -> (M, B, T, C)
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
        if (tokens.dtype not in (torch.int64, torch.int32) or tokens.ndim != 3
                or tokens.shape[0] != self.n_members):
            raise ValueError(f"tokens must be a 3-d integer tensor ({self.n_members}, B, T), "
                             f"got dtype {tokens.dtype} and shape {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.vocab_size}), got values in "
                             f"[{int(tokens.min())}, {int(tokens.max())}]")
        M = self.n_members
        idx = torch.arange(M, device=tokens.device)[:, None, None]
        x = self.embed[idx, tokens]  # (M, B, T, D)
        for p in self.layers:
            x = x + self._mixer(_layer_norm(x, p["norm_w"], p["norm_b"], self.eps), p)
            if self.mlp:
                h = _layer_norm(x, p["mlp_ln_w"], p["mlp_ln_b"], self.eps)
                h = torch.relu(_linear(h, p["fc1_w"], p["fc1_b"]))
                x = x + _linear(h, p["fc2_w"], p["fc2_b"])
        return _linear(_layer_norm(x, self.final_w, self.final_b, self.eps),
                       self.head_w, self.head_b)

    def member(self, i: int) -> LinearRNNModel:
        """A new :class:`LinearRNNModel` holding member ``i``'s current weights."""
        i = check_int(i, name="i", minimum=0, maximum=self.n_members - 1)
        model = LinearRNNModel(self.configs[i]).to(self.embed.device)
        with torch.no_grad():
            model.embed.weight.copy_(self.embed[i])
            for li, p in enumerate(self.layers):
                mix = model.mixers[li]
                model.norms[li].weight.copy_(p["norm_w"][i])
                model.norms[li].bias.copy_(p["norm_b"][i])
                mix.qkv.weight.copy_(p["qkv_w"][i])
                mix.to_beta.weight.copy_(p["beta_w"][i])
                mix.to_beta.bias.copy_(p["beta_b"][i])
                mix.out.weight.copy_(p["out_w"][i])
                mix.out.bias.copy_(p["out_b"][i])
                if self.mlp:
                    s = model.mlps[li]
                    s[0].weight.copy_(p["mlp_ln_w"][i])
                    s[0].bias.copy_(p["mlp_ln_b"][i])
                    s[1].weight.copy_(p["fc1_w"][i])
                    s[1].bias.copy_(p["fc1_b"][i])
                    s[3].weight.copy_(p["fc2_w"][i])
                    s[3].bias.copy_(p["fc2_b"][i])
            model.final_norm.weight.copy_(self.final_w[i])
            model.final_norm.bias.copy_(self.final_b[i])
            model.head.weight.copy_(self.head_w[i])
            model.head.bias.copy_(self.head_b[i])
        return model.eval()


def _stack_batches(batches: Sequence[StateTrackingBatch]):
    """Pad member batches at the end to the longest length; padded positions are unlabelled."""
    T = max(b.tokens.shape[1] for b in batches)

    def pad(t, value):
        return F.pad(t, (0, T - t.shape[1]), value=value)

    tokens = torch.stack([pad(b.tokens, 0) for b in batches])
    labels = torch.stack([pad(b.labels, 0) for b in batches])
    mask = torch.stack([pad(b.mask, False) for b in batches])
    return tokens, labels, mask


def train_state_tracking_ensemble(ensemble: DeltaNetEnsemble, name: str, *, steps: int,
                                  lr: float, batch: int, min_length: int, max_length: int,
                                  modulus: int = 3,
                                  generators: Sequence[torch.Generator],
                                  device: str | torch.device = "cpu") -> np.ndarray:
    """:func:`~theorylab.seq.tasks.train_state_tracking` for every member at once.

    Member ``i`` draws its lengths and data from ``generators[i]`` exactly as the
    single-model loop would (one length, then one batch, per step); each member has its own
    loss (mean cross-entropy over its labelled positions) and Adam (one optimiser over the
    stacked weights is elementwise, hence per member). Returns the losses, shape
    (M, steps).
    """
    if not isinstance(ensemble, DeltaNetEnsemble):
        raise TypeError(f"ensemble must be a DeltaNetEnsemble, got {type(ensemble).__name__}")
    check_choice(name, name="name", choices=TASKS)
    steps = check_int(steps, name="steps", minimum=1)
    lo = check_int(min_length, name="min_length", minimum=1)
    hi = check_int(max_length, name="max_length", minimum=lo)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    check_int(modulus, name="modulus", minimum=2)
    generators = list(generators)
    if len(generators) != ensemble.n_members:
        raise ValueError(f"generators must hold one generator per member "
                         f"({ensemble.n_members}), got {len(generators)}")
    opt = torch.optim.Adam(ensemble.parameters(), lr=lr, foreach=True)
    losses = torch.empty(steps, ensemble.n_members)
    ensemble.train()
    for step in range(steps):
        batches = []
        for g in generators:
            T = int(torch.randint(lo, hi + 1, (1,), generator=g))
            if name == "mod_arithmetic" and T % 2 == 0:
                T += 1
            batches.append(make_task(name, batch, T, modulus=modulus, generator=g))
        tokens, labels, mask = (t.to(device) for t in _stack_batches(batches))
        logits = ensemble(tokens)  # (M, B, T, C)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                             reduction="none").reshape(mask.shape)
        member_loss = (ce * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2))  # (M,)
        total = member_loss.sum()
        if not torch.isfinite(total):
            raise FloatingPointError(f"loss became {member_loss.tolist()} at step {step}")
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        losses[step] = member_loss.detach().cpu()
    ensemble.eval()
    return losses.T.numpy()


def ensemble_sequence_accuracy(ensemble: DeltaNetEnsemble,
                               batches: Sequence[StateTrackingBatch], *,
                               max_batch: int = 64) -> np.ndarray:
    """Per member, the fraction of sequences of ``batches[i]`` (all of one shape) whose last
    position is predicted right (as :func:`~theorylab.seq.tasks.sequence_accuracy`), in
    sub-batches of ``max_batch`` sequences under inference mode."""
    if not isinstance(ensemble, DeltaNetEnsemble):
        raise TypeError(f"ensemble must be a DeltaNetEnsemble, got {type(ensemble).__name__}")
    batches = list(batches)
    if len(batches) != ensemble.n_members:
        raise ValueError(f"batches must hold one batch per member ({ensemble.n_members}), "
                         f"got {len(batches)}")
    max_batch = check_int(max_batch, name="max_batch", minimum=1)
    shape = tuple(batches[0].tokens.shape)
    for i, b in enumerate(batches):
        if tuple(b.tokens.shape) != shape:
            raise ValueError(f"batches[{i}] must have tokens of shape {shape}, "
                             f"got {tuple(b.tokens.shape)}")
    dev = ensemble.embed.device
    tokens = torch.stack([b.tokens for b in batches]).to(dev)
    labels = torch.stack([b.labels[:, -1] for b in batches]).to(dev)
    was = ensemble.training
    ensemble.eval()
    hits = []
    with torch.inference_mode():
        for s in range(0, shape[0], max_batch):
            pred = ensemble(tokens[:, s:s + max_batch])[:, :, -1].argmax(-1)
            hits.append(pred == labels[:, s:s + max_batch])
    ensemble.train(was)
    return torch.cat(hits, dim=1).float().mean(dim=1).cpu().numpy()
