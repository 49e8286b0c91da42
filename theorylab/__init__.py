"""theorylab: fast, correct solvers and executable claims for ML-theory papers.

Subpackages are imported on demand (``import theorylab.dynamics``); importing
``theorylab`` itself pulls in neither numba nor torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
