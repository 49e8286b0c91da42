"""Discrete Poisson pressure systems on 2-D/3-D grids, with Dirichlet or Neumann walls and
an obstacle mask, and the right-hand sides used to train and test learned solvers.

The matrix is the unscaled 5-point (2-D) / 7-point (3-D) stencil of −Δ on the fluid cells
of an ``N₁ × … × N_d`` grid: for a fluid cell i,

.. math:: (Ap)_i = \\sum_{j \\in \\mathcal{N}_f(i)} (p_i - p_j) + n_D(i)\\, p_i,

where :math:`\\mathcal{N}_f(i)` are its fluid neighbours and :math:`n_D(i)` counts its faces
on a Dirichlet wall (``bc="dirichlet"``: the domain boundary, p = 0 outside). Faces towards
solid cells (the obstacle mask) and, with ``bc="neumann"``, the domain boundary carry the
homogeneous Neumann condition ∂p/∂n = 0 and contribute nothing. A is symmetric positive
semi-definite; its null space is spanned by the indicator of every connected fluid region
that touches no Dirichlet face (the constant pressure of a closed region). The system
records an orthonormal basis of it (``null_basis``) and solvers project right-hand sides and
directions onto its orthogonal complement, where A is positive definite.

References
----------
A. Kaneda, O. Akar, J. Chen, V. Kala, D. Hyde, J. Teran, *A Deep Conjugate Direction Method
for Iteratively Solving Linear Systems*, arXiv:2205.10763 (ICML 2023), Sec. 3 (pressure
Poisson systems, Ritz-vector training data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from theorylab._validation import (
    check_array,
    check_choice,
    check_int,
    check_positive,
    check_rng,
    check_scalar,
)
from theorylab.results import ResultRepr

__all__ = ["PoissonSystem", "poisson_system", "apply_poisson_stencil", "obstacle_mask",
           "bump_rhs", "noise_rhs", "ritz_rhs"]

_DENSE_EIGH_LIMIT = 4096  # ritz_rhs diagonalises A densely; larger systems would need Lanczos


@dataclass(frozen=True, slots=True, kw_only=True)
class PoissonSystem(ResultRepr):
    """A pressure Poisson matrix on the fluid cells of a grid.

    Attributes
    ----------
    A : scipy.sparse.csr_matrix, (n, n)
        The stencil matrix (n = number of fluid cells, C order over the grid).
    shape : tuple of int
        Grid shape.
    fluid : ndarray of bool, ``shape``
        True on fluid cells (the unknowns).
    bc : {"dirichlet", "neumann"}
        Condition on the domain boundary (obstacle faces are always Neumann).
    null_basis : ndarray, (n, k)
        Orthonormal basis of the null space of A (k = 0 when A is definite).
    """

    A: sp.csr_matrix
    shape: tuple
    fluid: np.ndarray
    bc: str
    null_basis: np.ndarray

    @property
    def n(self) -> int:
        """Number of unknowns (fluid cells)."""
        return int(self.A.shape[0])

    def project(self, v: np.ndarray) -> np.ndarray:
        """``v`` minus its component in the null space of A (a copy)."""
        v = np.array(v, dtype=float)
        if self.null_basis.shape[1]:
            v -= self.null_basis @ (self.null_basis.T @ v)
        return v

    def to_grid(self, v: np.ndarray) -> np.ndarray:
        """A vector on the fluid cells as a grid array (0 on solid cells)."""
        g = np.zeros(self.shape)
        g[self.fluid] = v
        return g

    def from_grid(self, g: np.ndarray) -> np.ndarray:
        """The fluid-cell entries of a grid array, as a vector."""
        return np.ascontiguousarray(np.asarray(g, dtype=float)[self.fluid])


def _check_shape(shape) -> tuple:
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    if not isinstance(shape, tuple | list) or len(shape) not in (2, 3):
        raise ValueError(f"shape must be a tuple of 2 or 3 grid sizes, got {shape!r}")
    return tuple(check_int(s, name="shape", minimum=2) for s in shape)


def _check_solid(solid, shape) -> np.ndarray:
    if solid is None:
        return np.zeros(shape, dtype=bool)
    solid = check_array(solid, name="solid", dtype=bool, shape=shape)
    if solid.all():
        raise ValueError("solid must leave at least one fluid cell, got an all-solid mask")
    return solid


def poisson_system(shape, *, bc: Literal["dirichlet", "neumann"] = "dirichlet",
                   solid=None) -> PoissonSystem:
    """The pressure Poisson matrix of a 2-D or 3-D grid.

    Parameters
    ----------
    shape : int or tuple of 2 or 3 ints
        Grid size (an int means a square 2-D grid), each ≥ 2.
    bc : {"dirichlet", "neumann"}
        Condition on the domain boundary. Obstacle faces are always Neumann.
    solid : bool array of ``shape``, optional
        Obstacle mask (True = solid cell, not an unknown).

    Returns
    -------
    PoissonSystem

    Examples
    --------
    >>> s = poisson_system((2, 2))
    >>> s.A.toarray()
    array([[ 4., -1., -1.,  0.],
           [-1.,  4.,  0., -1.],
           [-1.,  0.,  4., -1.],
           [ 0., -1., -1.,  4.]])
    >>> poisson_system((3, 3), bc="neumann").null_basis.shape   # constants
    (9, 1)
    """
    shape = _check_shape(shape)
    bc = check_choice(bc, name="bc", choices=("dirichlet", "neumann"))
    solid = _check_solid(solid, shape)
    fluid = ~solid
    index = np.full(shape, -1, dtype=np.int64)
    n = int(fluid.sum())
    index[fluid] = np.arange(n)
    diag = np.zeros(shape)
    rows, cols = [], []
    dirichlet_faces = np.zeros(shape)
    for axis in range(len(shape)):
        for step in (-1, 1):
            # neighbour of each cell along ``axis`` in direction ``step``
            nb_fluid = np.zeros(shape, dtype=bool)
            nb_index = np.full(shape, -1, dtype=np.int64)
            src = [slice(None)] * len(shape)
            dst = [slice(None)] * len(shape)
            if step == 1:
                src[axis], dst[axis] = slice(1, None), slice(None, -1)
            else:
                src[axis], dst[axis] = slice(None, -1), slice(1, None)
            nb_fluid[tuple(dst)] = fluid[tuple(src)]
            nb_index[tuple(dst)] = index[tuple(src)]
            both = fluid & nb_fluid
            diag += both
            rows.append(index[both])
            cols.append(nb_index[both])
            if bc == "dirichlet":
                wall = np.zeros(shape, dtype=bool)
                edge = [slice(None)] * len(shape)
                edge[axis] = -1 if step == 1 else 0
                wall[tuple(edge)] = True
                dirichlet_faces += wall & fluid
    diag += dirichlet_faces
    r = np.concatenate(rows + [np.arange(n)])
    c = np.concatenate(cols + [np.arange(n)])
    v = np.concatenate([-np.ones(sum(len(x) for x in rows)), diag[fluid]])
    A = sp.csr_matrix((v, (r, c)), shape=(n, n))
    A.sum_duplicates()
    A.sort_indices()
    # null space: one constant per connected fluid region without a Dirichlet face
    n_comp, labels = connected_components(A, directed=False)
    has_dirichlet = np.zeros(n_comp, dtype=bool)
    np.logical_or.at(has_dirichlet, labels, dirichlet_faces[fluid] > 0)
    basis = []
    for k in np.flatnonzero(~has_dirichlet):
        e = (labels == k).astype(float)
        basis.append(e / np.sqrt(e.sum()))
    null_basis = np.stack(basis, axis=1) if basis else np.zeros((n, 0))
    return PoissonSystem(A=A, shape=shape, fluid=fluid, bc=bc, null_basis=null_basis)


def apply_poisson_stencil(p, fluid, *, bc: Literal["dirichlet", "neumann"] = "dirichlet"
                          ) -> np.ndarray:
    """The stencil of :func:`poisson_system` applied matrix-free to a grid array ``p``.

    A plain NumPy twin of ``A @ x`` (tests compare the two); entries on solid cells are 0.

    Examples
    --------
    >>> import numpy as np
    >>> apply_poisson_stencil(np.ones((3, 3)), np.ones((3, 3), bool), bc="neumann")
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """
    p = check_array(p, name="p", ndim=None)
    if p.ndim not in (2, 3):
        raise ValueError(f"p must be 2- or 3-dimensional, got shape {p.shape}")
    if min(p.shape) < 1:
        raise ValueError(f"p must have at least 1 entry along every axis, got shape {p.shape}")
    fluid = check_array(fluid, name="fluid", dtype=bool, shape=p.shape)
    bc = check_choice(bc, name="bc", choices=("dirichlet", "neumann"))
    pf = np.where(fluid, p, 0.0)
    out = np.zeros_like(pf)
    pad_value = 0.0
    for axis in range(p.ndim):
        for step in (-1, 1):
            nb = np.roll(pf, -step, axis=axis)
            nb_fluid = np.roll(fluid, -step, axis=axis)
            edge = [slice(None)] * p.ndim
            edge[axis] = -1 if step == 1 else 0
            nb_fluid[tuple(edge)] = False  # no wrap-around: the wall is outside the grid
            nb[tuple(edge)] = pad_value
            out += np.where(nb_fluid, pf - nb, 0.0)
            if bc == "dirichlet":
                wall = np.zeros(p.shape, dtype=bool)
                wall[tuple(edge)] = True
                out += np.where(wall, pf, 0.0)
    return np.where(fluid, out, 0.0)


def obstacle_mask(shape, *, n_obstacles: int = 3, radius: float = 0.12, rng=None) -> np.ndarray:
    """Random solid discs (2-D) or balls (3-D) of the given radius (in units of the unit
    box) at uniform centres; True = solid. At least one cell stays fluid.

    Examples
    --------
    >>> obstacle_mask((8, 8), n_obstacles=1, radius=0.25, rng=0).sum() > 0
    np.True_
    """
    shape = _check_shape(shape)
    n_obstacles = check_int(n_obstacles, name="n_obstacles", minimum=0)
    radius = check_positive(radius, name="radius")
    rng = check_rng(rng)
    centres = [(np.arange(s) + 0.5) / s for s in shape]
    grids = np.meshgrid(*centres, indexing="ij")
    solid = np.zeros(shape, dtype=bool)
    for _ in range(n_obstacles):
        c = rng.uniform(0.15, 0.85, size=len(shape))
        dist2 = sum((g - ci) ** 2 for g, ci in zip(grids, c, strict=True))
        solid |= dist2 < radius**2
    if solid.all():
        solid.flat[0] = False
    return solid


def _finish_rhs(system: PoissonSystem, b: np.ndarray) -> np.ndarray:
    b = system.project(b)
    norm = np.linalg.norm(b)
    if norm == 0:  # a constant on a pure-Neumann region: resample is the caller's choice
        raise ValueError("the right-hand side vanishes after projection onto range(A)")
    return b / norm


def bump_rhs(system: PoissonSystem, *, n_bumps: int = 5, width: float = 0.05,
             rng=None) -> np.ndarray:
    """A smooth source: ``n_bumps`` Gaussian bumps of the given width (unit box) with
    N(0, 1) amplitudes at uniform centres, on the fluid cells, projected onto range(A) and
    scaled to unit norm.

    Examples
    --------
    >>> import numpy as np
    >>> b = bump_rhs(poisson_system((8, 8)), rng=0)
    >>> b.shape, round(float(np.linalg.norm(b)), 12)
    ((64,), 1.0)
    """
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"system must be a PoissonSystem, got {type(system).__name__}")
    n_bumps = check_int(n_bumps, name="n_bumps", minimum=1)
    width = check_positive(width, name="width")
    rng = check_rng(rng)
    centres = [(np.arange(s) + 0.5) / s for s in system.shape]
    grids = np.meshgrid(*centres, indexing="ij")
    g = np.zeros(system.shape)
    for _ in range(n_bumps):
        c = rng.uniform(0.0, 1.0, size=len(system.shape))
        amp = rng.standard_normal()
        dist2 = sum((x - ci) ** 2 for x, ci in zip(grids, c, strict=True))
        g += amp * np.exp(-dist2 / (2 * width**2))
    return _finish_rhs(system, system.from_grid(g))


def noise_rhs(system: PoissonSystem, *, rng=None) -> np.ndarray:
    """White noise on the fluid cells, projected onto range(A), unit norm.

    Examples
    --------
    >>> noise_rhs(poisson_system((4, 4)), rng=0).shape
    (16,)
    """
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"system must be a PoissonSystem, got {type(system).__name__}")
    rng = check_rng(rng)
    return _finish_rhs(system, rng.standard_normal(system.n))


def ritz_rhs(system: PoissonSystem, n_samples: int, *, low_fraction: float = 0.5,
             extra_fraction: float = 0.05, scale: float = 9.0, rng=None) -> np.ndarray:
    """Training right-hand sides biased toward the low end of A's spectrum.

    b = Σᵢ cᵢ ψᵢ / ‖·‖ over the eigenvectors ψᵢ of A with non-zero eigenvalue (ascending),
    cᵢ ~ N(0, 1), multiplied by ``scale`` for the first ``m·low_fraction + m·extra_fraction``
    of them (m = rank of A): the paper's m/2 + θ rule with θ as a fraction of m. The paper
    uses Lanczos Ritz vectors; here A is diagonalised densely (exact eigenvectors, so n is
    limited to 4096 unknowns).

    Returns
    -------
    ndarray, (n_samples, n)
        Unit-norm rows, orthogonal to the null space of A.

    Examples
    --------
    >>> B = ritz_rhs(poisson_system((4, 4)), 3, rng=0)
    >>> B.shape
    (3, 16)
    """
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"system must be a PoissonSystem, got {type(system).__name__}")
    n_samples = check_int(n_samples, name="n_samples", minimum=1)
    low_fraction = check_scalar(low_fraction, name="low_fraction", lower=0.0, upper=1.0)
    extra_fraction = check_scalar(extra_fraction, name="extra_fraction", lower=0.0, upper=1.0)
    scale = check_positive(scale, name="scale")
    rng = check_rng(rng)
    if system.n > _DENSE_EIGH_LIMIT:
        raise ValueError(f"system must have at most {_DENSE_EIGH_LIMIT} unknowns for the dense "
                         f"eigendecomposition, got {system.n}")
    lam, psi = np.linalg.eigh(system.A.toarray())
    keep = lam > 1e-9 * lam[-1]
    psi = psi[:, keep]
    m = psi.shape[1]
    n_low = min(m, int(round(m * (low_fraction + extra_fraction))))
    c = rng.standard_normal((n_samples, m))
    c[:, :n_low] *= scale
    B = c @ psi.T
    return B / np.linalg.norm(B, axis=1, keepdims=True)
