"""Polynomial-method tensor attention vs exact tensor attention: wall time ratio and the
measured error side by side, in one run (CPU, one thread, float64).

For n = 64 … 512 (``--n``), d = 8 (``--d``), entries uniform in [−B, B] (``--B``, default
0.5), time :func:`tensor_attention_exact` (blocked over queries, O(n³ d)) against
:func:`tensor_attention_poly` at degree g = 2 (r = C(d + 2, 2) feature columns, O(n r d))
and print the relative Frobenius error of the approximation next to the speed-up, plus the
same at g = 4. Target: the polynomial method faster from n ≥ 256 at g = 2, with its error
printed beside it.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_alman2023_tensor_attention.py
[--n 64 128 256 512] [--d 8] [--B 0.5]
"""

import argparse
import math
import os
import time

import torch

from theorylab.seq.tensor_attention import tensor_attention_exact, tensor_attention_poly


def best_of(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--B", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    d, B = args.d, args.B
    print(f"d = {d}, entries U[-{B}, {B}] (logit bound d·B³ = {d * B ** 3:g}), float64, "
          f"torch threads 1, load {os.getloadavg()[0]:.1f}")
    print(f"{'n':>6} {'exact':>10} {'poly g=2':>10} {'speed-up':>9} {'rel err g=2':>12} "
          f"{'poly g=4':>10} {'speed-up':>9} {'rel err g=4':>12}")
    for n in args.n:
        g = torch.Generator().manual_seed(n)
        X = [B * (2 * torch.rand(n, d, generator=g, dtype=torch.float64) - 1) for _ in range(5)]
        rep = args.repeat if n <= 256 else 1
        t_ex = best_of(lambda X=X: tensor_attention_exact(*X), rep)
        exact = tensor_attention_exact(*X)
        row = f"{n:>6} {t_ex * 1e3:>8.1f}ms"
        for deg in (2, 4):
            t_po = best_of(lambda X=X, deg=deg: tensor_attention_poly(*X, degree=deg),
                           args.repeat)
            err = float((tensor_attention_poly(*X, degree=deg) - exact).norm() / exact.norm())
            row += f" {t_po * 1e3:>8.2f}ms {t_ex / t_po:>8.1f}x {err:>12.1e}"
        print(row)
    print(f"feature columns: g=2 r = {math.comb(d + 2, 2)}, g=4 r = {math.comb(d + 4, 4)}")


if __name__ == "__main__":
    main()
