"""Reference pieces of the sparse solvers, public for tests and benchmarks.

- :func:`duality_gap` — the Lasso duality gap (with the rescaled-residual dual point) that
  :func:`theorylab.sparse.solve_lasso` certifies, in plain NumPy.
"""

from ._reference import duality_gap

__all__ = ["duality_gap"]
