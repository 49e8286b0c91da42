"""Reference twins of the gradient-flow closed forms, public for tests and benchmarks.

- :func:`gen_error_quad`, :func:`train_error_quad` — test/training error by adaptive
  quadrature of the Marchenko–Pastur integrals (``scipy.integrate.quad``);
- :func:`gradient_descent_errors` — plain discrete gradient descent on a sampled instance;
- :func:`mp_density` — the Marchenko–Pastur density;
- :func:`train_two_layer_student_torch` — :func:`theorylab.dynamics.nonlinear.
  train_two_layer_student` with the batched torch loop on the CPU (the twin of its numba
  kernel); :func:`warm_up_two_layer_kernel` compiles (or loads) that kernel.
"""

from ._kernels import warm_up as warm_up_two_layer_kernel
from ._reference import gen_error_quad, gradient_descent_errors, mp_density, train_error_quad

__all__ = ["gen_error_quad", "gradient_descent_errors", "mp_density", "train_error_quad",
           "train_two_layer_student_torch", "warm_up_two_layer_kernel"]


def train_two_layer_student_torch(width, **kwargs):
    """``train_two_layer_student(width, **kwargs)`` trained by the batched torch loop.

    The same tasks, validation and result; on the CPU the public function runs the numba
    kernel instead. Not thread-safe (it swaps the CPU training function for the call).
    """
    from . import nonlinear

    fast = nonlinear._train_numba
    nonlinear._train_numba = nonlinear._train_torch
    try:
        return nonlinear.train_two_layer_student(width, **kwargs)
    finally:
        nonlinear._train_numba = fast
