"""Shared pieces of the chandrasekaran2025_random_support claims (not a claim)."""

PROXY_NOTE = ("The paper's Phase-1 preconditioner and Phase-2 estimator were not available: "
              "'ours' is theorylab's stand-in (column-normalisation preconditioner + Lasso-path "
              "supports + least-squares refit + swap search), not the paper's algorithm.")


def methods(X, y, k, noise):
    """PE-ready estimates of every method on one instance: dict name -> w."""
    import warnings

    import numpy as np
    from sklearn.linear_model import LassoCV, OrthogonalMatchingPursuit

    from theorylab._result import ConvergenceWarning
    from theorylab.sparse import solve_lasso, solve_random_support_regression

    n, d = X.shape
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["ours (proxy)"] = solve_random_support_regression(X, y, k=k).w
        out["lasso (λ=σ√(2 log d/N))"] = solve_lasso(X, y, lam=noise * np.sqrt(2 * np.log(d) / n),
                                                     max_iter=20_000).w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own convergence chatter
        out["sklearn LassoCV"] = LassoCV(cv=3, fit_intercept=False, alphas=30).fit(X, y).coef_
        out["sklearn OMP"] = OrthogonalMatchingPursuit(n_nonzero_coefs=k,
                                                       fit_intercept=False).fit(X, y).coef_
    return out
