"""Slow reference twins and internal fast paths of the unlearnable-data code, under public
names for the tests and benchmarks that compare them.

- ``convolve_normalise_numpy``: the NumPy convolution + max-normalisation (+ 8-bit floor) of
  :func:`~theorylab.unlearnable.cuda.convolve_images`, the twin of the numba kernel;
- ``convolve_normalise_fast``: that numba kernel;
- ``predict_logits_batched``: the small-batch ``inference_mode`` evaluation used by
  :mod:`theorylab.unlearnable.training`.
"""

from __future__ import annotations

import numpy as np

from .cuda import _convolve, _convolve_normalise, _normalise
from .training import _predict_logits as predict_logits_batched

__all__ = ["convolve_normalise_numpy", "convolve_normalise_fast", "predict_logits_batched"]


def convolve_normalise_numpy(X4: np.ndarray, F: np.ndarray, quantize: bool) -> np.ndarray:
    """The NumPy path: per-tap convolution, then max-normalisation (and 8-bit floor)."""
    return _normalise(_convolve(X4, F), quantize)


def convolve_normalise_fast(X4: np.ndarray, F: np.ndarray, quantize: bool) -> np.ndarray:
    """The numba kernel (bitwise equal to :func:`convolve_normalise_numpy`)."""
    return _convolve_normalise(X4, F, quantize)
