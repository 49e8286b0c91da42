"""Input checks for the sequence-model functions (torch tensors).

Message shape as in :mod:`theorylab._validation`: ``"<name> must be <rule>, got <value>"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["check_float_tensor", "check_int_tensor", "check_same_dtype_device"]


def check_float_tensor(x, *, name: str, ndim: int | None = None,
                       shape: Sequence[int | None] | None = None,
                       finite: bool = True) -> torch.Tensor:
    """``x`` itself when it is a floating torch tensor of the given rank/shape with finite
    entries; otherwise a ``TypeError`` (wrong type) or ``ValueError`` (rank, shape, NaN/inf)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be real-valued with a floating dtype, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(x.shape)}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if shape is not None:
        want = tuple(shape)
        if x.ndim != len(want) or any(w is not None and w != s for w, s in zip(want, x.shape,
                                                                              strict=True)):
            shown = ", ".join("*" if w is None else str(w) for w in want)
            shown = f"({shown},)" if len(want) == 1 else f"({shown})"
            raise ValueError(f"{name} must have shape {shown}, got {tuple(x.shape)}")
    if finite:
        ok = torch.isfinite(x)
        if not bool(ok.all()):
            n_nan = int(torch.isnan(x).sum())
            n_inf = int((~ok).sum()) - n_nan
            raise ValueError(f"{name} must be finite, got {n_nan} NaN and {n_inf} inf entries "
                             f"out of {x.numel()}")
    return x


def check_int_tensor(x, *, name: str, ndim: int | None = None) -> torch.Tensor:
    """``x`` itself when it is a non-empty integer torch tensor (of rank ``ndim``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(x.shape)}")
    return x


def check_same_dtype_device(ref: torch.Tensor, ref_name: str, **others: torch.Tensor) -> None:
    """Every tensor in ``others`` has ``ref``'s dtype and device."""
    for name, t in others.items():
        if t.dtype != ref.dtype:
            raise TypeError(f"{name} must have the dtype of {ref_name} ({ref.dtype}), "
                            f"got {t.dtype}")
        if t.device != ref.device:
            raise ValueError(f"{name} must be on the device of {ref_name} ({ref.device}), "
                             f"got {t.device}")
