"""Reference twins of the gradient-flow closed forms, public for tests and benchmarks.

- :func:`gen_error_quad`, :func:`train_error_quad` — test/training error by adaptive
  quadrature of the Marchenko–Pastur integrals (``scipy.integrate.quad``);
- :func:`gradient_descent_errors` — plain discrete gradient descent on a sampled instance;
- :func:`mp_density` — the Marchenko–Pastur density.
"""

from ._reference import gen_error_quad, gradient_descent_errors, mp_density, train_error_quad

__all__ = ["gen_error_quad", "gradient_descent_errors", "mp_density", "train_error_quad"]
