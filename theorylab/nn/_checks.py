"""Input checks shared by the torch modules: devices and finite weights.

Same message shape as :mod:`theorylab._validation`: ``"<name> must be <rule>, got <value>"``.
"""

from __future__ import annotations

import torch

__all__ = ["check_device", "check_finite_weight", "check_input"]


def check_device(device, *, name: str = "device") -> torch.device | None:
    """``None`` (torch's default device) or a usable ``torch.device``.

    A malformed string, a type that is not a device, or ``"cuda"`` on a machine without CUDA
    raise a ``ValueError``/``TypeError`` naming ``name`` — instead of torch's
    ``AssertionError``/``RuntimeError`` from deep inside the first allocation.
    """
    if device is None:
        return None
    if not isinstance(device, str | torch.device):
        raise TypeError(f"{name} must be a str or torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:k', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} must be an available device, got {device!r} but CUDA is not "
                         "available on this machine")
    return dev


def check_finite_weight(W: torch.Tensor, *, name: str) -> torch.Tensor:
    """``W`` itself if every entry is finite; else a ``ValueError`` counting NaN and inf.

    Called before an SVD, which would otherwise fail with a bare ``LinAlgError`` (or return
    NaN factors) without saying which weight was bad.
    """
    if W.is_floating_point() or W.is_complex():
        finite = torch.isfinite(W)
        if not bool(finite.all()):
            n_nan = int(torch.isnan(W).sum())
            n_inf = int((~finite).sum()) - n_nan
            raise ValueError(f"{name} must be finite, got {n_nan} NaN and {n_inf} inf entries "
                             f"out of {W.numel()}")
    return W


def check_input(x, in_features: int, *, name: str = "x") -> torch.Tensor:
    """``x`` of shape ``(..., in_features)``; a clear error instead of a matmul shape error."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(f"{name} must have last dimension {in_features}, got shape "
                         f"{tuple(x.shape)}")
    return x
