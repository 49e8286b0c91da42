"""theorylab: fast, correct solvers and executable claims for ML-theory papers.

Subpackages are imported on demand (``import theorylab.dynamics``); importing
``theorylab`` itself pulls in neither numba nor torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "SolverResult", "ConvergenceWarning"]


def __getattr__(name: str):
    # The result types live in theorylab.results (NumPy only); resolved on first use so
    # that ``import theorylab`` stays instant.
    if name in ("SolverResult", "ConvergenceWarning"):
        from theorylab import results

        return getattr(results, name)
    raise AttributeError(f"module 'theorylab' has no attribute {name!r}")
