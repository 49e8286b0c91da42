"""Reference pieces of the convex ReLU program, public for tests and benchmarks.

- :func:`convex_objective` — the convex program's objective at (V, W) for patterns D;
- :func:`convex_parts` — its fitted values and cone-constraint violation;
- :func:`dense_operators`, :func:`admm_reference` — ADMM with explicitly formed operators.
"""

from ._common import convex_objective, convex_parts
from ._reference import admm_reference, dense_operators

__all__ = ["admm_reference", "convex_objective", "convex_parts", "dense_operators"]
