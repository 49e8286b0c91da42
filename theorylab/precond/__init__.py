"""Learned and classical preconditioning for pressure Poisson systems (Kaneda et al. 2022,
DCDM, arXiv:2205.10763).

Public names:

- systems: :func:`poisson_system`, :class:`PoissonSystem`, :func:`apply_poisson_stencil`,
  :func:`obstacle_mask`, right-hand sides :func:`bump_rhs`, :func:`noise_rhs`,
  :func:`ritz_rhs`;
- solvers: :func:`solve_pcg` (CG, symmetric Gauss–Seidel, IC(0), pyamg smoothed-aggregation
  and Ruge–Stüben AMG), :func:`solve_dcdm`, :func:`make_preconditioner`, :func:`ic0`,
  :class:`KrylovResult`, :class:`Preconditioner`;
- torch (imported lazily): :class:`DCDMNet`, :func:`dcdm_loss`, :func:`train_dcdm_net`,
  :func:`net_direction`, :class:`DCDMTraining`.
"""

from .poisson import (
    PoissonSystem,
    apply_poisson_stencil,
    bump_rhs,
    noise_rhs,
    obstacle_mask,
    poisson_system,
    ritz_rhs,
)
from .solvers import (
    PRECONDITIONERS,
    KrylovResult,
    Preconditioner,
    ic0,
    make_preconditioner,
    solve_dcdm,
    solve_pcg,
)

_TORCH_NAMES = ("DCDMNet", "DCDMTraining", "dcdm_loss", "train_dcdm_net", "net_direction")

__all__ = [
    "PoissonSystem", "poisson_system", "apply_poisson_stencil", "obstacle_mask",
    "bump_rhs", "noise_rhs", "ritz_rhs",
    "KrylovResult", "Preconditioner", "PRECONDITIONERS", "make_preconditioner", "ic0",
    "solve_pcg", "solve_dcdm", *_TORCH_NAMES,
]


def __getattr__(name):  # torch is imported only when its names are used
    if name in _TORCH_NAMES:
        from . import net

        return getattr(net, name)
    raise AttributeError(f"module 'theorylab.precond' has no attribute {name!r}")
