"""Benchmark: two-layer ReLU student training, numba kernel vs the batched torch loop.

The full-scale nonlinear-width claim trains 12 seeds × widths (5 … 1000) for 20 000
full-batch GD steps (N_i = 15, P = 300, 4000 test points, float32). Both paths run the same
tasks back to back in one process, ``n_steps`` steps per width, one thread, CPU time; the
projection scales to 20 000 steps (test evaluations, 30 per run, are not included).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_advani2017_nonlinear.py [n_steps]
"""

import os
import sys
import time

import numpy as np

from theorylab.dynamics.nonlinear import train_two_layer_student
from theorylab.dynamics.reference import train_two_layer_student_torch, warm_up_two_layer_kernel

WIDTHS = (5, 10, 20, 40, 100, 400, 1000)


def main(n_steps=150):
    import torch

    torch.set_num_threads(1)
    warm_up_two_layer_kernel()
    kw = dict(n_inputs=15, n_teacher=30, n_samples=300, snr=1.0, init_scale=0.05, lr=0.05,
              n_steps=n_steps, n_records=2, rng=list(range(12)), dtype="float32")
    print(f"load average {os.getloadavg()[0]:.1f}; {n_steps} steps, 12 seeds, float32")
    tot_old = tot_new = 0.0
    for w in WIDTHS:
        times = {}
        for name, fn in (("torch", train_two_layer_student_torch),
                         ("numba", train_two_layer_student)):
            t0 = time.process_time()
            r = fn(w, **kw)
            times[name] = time.process_time() - t0
            times[name + "_err"] = r.train_error[:, -1]
        diff = np.max(np.abs(times["numba_err"] / times["torch_err"] - 1))
        scale = 20000 / n_steps
        tot_old += times["torch"] * scale
        tot_new += times["numba"] * scale
        print(f"width {w:5d}: torch {1e3 * times['torch'] / n_steps:7.2f} ms/step, numba "
              f"{1e3 * times['numba'] / n_steps:7.2f} ms/step, ratio "
              f"{times['torch'] / times['numba']:.2f}x (max rel. diff {diff:.1e})")
    print(f"projected full claim (20 000 steps, all widths): torch {tot_old:.0f} s, numba "
          f"{tot_new:.0f} s, ratio {tot_old / tot_new:.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
