"""Sketched least squares with ℓ∞ guarantees (Song, Ye, Yin & Zhang 2023, arXiv:2302.00248).

Sketch operators sharing one interface (:func:`draw_sketch`: SRHT, SRDCT, Gaussian,
CountSketch, OSNAP, the follow-up's Gaussian-pooled transform, the Gaussian-diagonal SRHT
control), a numba FWHT (:func:`fwht`), sketch-and-solve (:func:`solve_sketched_lstsq`), the
achieved ε (:func:`linf_error_ratio`), sketch-and-precondition LSQR
(:func:`solve_lstsq_preconditioned`) and planted hard instances.

The paper's ℓ∞ theorem has a disputed proof (2026 note by two of its authors): everything
theorylab reports about SRHT's ℓ∞ behaviour is empirical.
"""

from theorylab.sketch.data import (
    PlantedLstsq,
    coherent_spiky_instance,
    gaussian_instance,
    two_coordinate_instance,
)
from theorylab.sketch.lstsq import (
    SketchedLstsqResult,
    linf_error_ratio,
    paper_sketch_size,
    solve_lstsq_preconditioned,
    solve_sketched_lstsq,
)
from theorylab.sketch.operators import SKETCHES, SketchOperator, draw_sketch, fwht, next_pow2

__all__ = [
    "SKETCHES",
    "PlantedLstsq",
    "SketchOperator",
    "SketchedLstsqResult",
    "coherent_spiky_instance",
    "draw_sketch",
    "fwht",
    "gaussian_instance",
    "linf_error_ratio",
    "next_pow2",
    "paper_sketch_size",
    "solve_lstsq_preconditioned",
    "solve_sketched_lstsq",
    "two_coordinate_instance",
]
