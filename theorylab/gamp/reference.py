"""Reference twins of GAMP-RIE, public for tests, verify scripts and benchmarks.

- :func:`gamp_rie_tensor` — GAMP-RIE written with the explicit d⁴ sensing tensor (slow);
  iterate-by-iterate equal to :func:`theorylab.gamp.solve_gamp_rie` for the same ``rng``.
- :func:`sensing_tensor`, :func:`quadratic_forms_reference` — the plain-NumPy quadratic forms.
- :func:`rie_empirical_mse` — brute-force denoising error of the RIE on a sampled matrix.
- :func:`denoising_mmse_integral` — the denoiser MMSE F(σ²) by direct quadrature (theory
  units), without the spline table behind :func:`theorylab.gamp.denoising_mmse`.
- :func:`quadratic_forms_kernel`, :func:`warm_up` — the compiled kernel these twins are
  compared with, and its compile/cache-load step (for timing outside the measurement).
"""

from ._kernels import quadratic_forms as quadratic_forms_kernel
from ._kernels import warm_up
from ._reference import (
    gamp_rie_tensor,
    quadratic_forms_reference,
    rie_empirical_mse,
    sensing_tensor,
)
from .theory import _denoising_mmse_th as denoising_mmse_integral

__all__ = [
    "denoising_mmse_integral",
    "gamp_rie_tensor",
    "quadratic_forms_kernel",
    "quadratic_forms_reference",
    "rie_empirical_mse",
    "sensing_tensor",
    "warm_up",
]
