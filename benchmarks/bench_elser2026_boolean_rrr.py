"""RRR on the 2-bit multiplier (4-4-4-4, 16 items, σ = 3, β = 0.2, γ = 1e-3) against the
authors' C code (``train`` of veitelser/boolearn), side by side in the same run.

Two numbers per implementation:

* iteration rate: fixed-length runs that cannot stop (gap_stop = 1e-9), the best of
  ``--repeats`` CPU timings, so load from other processes on a shared machine inflates
  neither side much;
* time per solution: ``--restarts`` restarts of ≤ 1e4 iterations at gap_stop = 0.01, total
  CPU time divided by the number solved (success rates with 95 % Wilson intervals; the C
  code seeds itself from the clock, so its restarts are not ours).

The C program is not part of theorylab: pass the path of a ``train`` binary you built from
the authors' repository with ``--c-binary PATH`` or the environment variable
``BOOLEARN_TRAIN``. The benchmark writes the network and data files it reads into a
temporary directory. Without a binary it prints the C numbers recorded in the paper note
(``C_RECORDED``) as the reference.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_elser2026_boolean_rrr.py [--c-binary PATH]
"""

import argparse
import os
import re
import resource
import subprocess
import tempfile
import time
import warnings

import numpy as np

from theorylab.boolean import layered_network, multiplier_task, solve_rrr
from theorylab.claims import wilson_interval
from theorylab.results import ConvergenceWarning

# The authors' C code (veitelser/boolearn 35ad55c, gcc -O3 -fcommon) on the 2-core machine of
# the paper note's performance table, 2026-12-03 (load average 13): best-of-5 CPU time of
# 2 × 20,000 iterations (three runs: 45,816, 43,380, 45,879 it/s), and 100 restarts ≤ 1e4
# iterations.
C_RECORDED = {"rate": 4.5e4, "solved": (44, 100), "cpu_s": 18.2}

SIGMA, BETA, GAMMA = 3.0, 0.2, 1e-3


def _child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def write_c_inputs(folder, net, X, Y):
    """The network (receiving node, sending node, weight per edge) and data files of the
    authors' trainer, for ``net`` and the ±1 data (X, Y)."""
    with open(os.path.join(folder, "net.net"), "w") as fh:
        fh.write(f"{net.n_nodes} {net.n_in + 1} {net.n_out} {net.n_edges}\n")
        for s, r in zip(net.sender, net.receiver, strict=True):
            fh.write(f"{r} {s} 0.0\n")
    with open(os.path.join(folder, "data.dat"), "w") as fh:
        fh.write(f"{X.shape[0]}\n2 {X.shape[1]}\n2 {Y.shape[1]}\n")
        for xi, yi in zip(X, Y, strict=True):
            fh.write(" ".join(str(int(v > 0)) for v in xi) + "\n")
            fh.write(" ".join(str(int(v > 0)) for v in yi) + "\n\n")


def run_c(binary, folder, n_items, *, max_iter, gap_stop, trials):
    """One call of the C trainer; returns (CPU seconds, wall seconds, per-trial iterations
    with 0 for an unsolved trial)."""
    cmd = [binary, "net.net", "data.dat", str(n_items), str(SIGMA), str(BETA), str(GAMMA),
           "1", f"{max_iter:g}", f"{gap_stop:g}", str(trials), "bench"]
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, cwd=folder, check=False, capture_output=True)
    cpu, wall = _child_cpu() - c0, time.perf_counter() - t0
    with open(os.path.join(folder, "bench.run")) as fh:
        rows = [ln.split() for ln in fh if re.match(r"\s*\d+\s+\d+\s", ln)]
    return cpu, wall, [int(r[1]) for r in rows]


def rate_ours(net, X, Y, n_iter, repeats):
    best = np.inf
    for k in range(repeats):
        c0 = time.process_time()
        r = solve_rrr(net, X, Y, beta=BETA, sigma=SIGMA, gamma=GAMMA, rng=k, max_iter=n_iter,
                      gap_stop=1e-9)
        best = min(best, time.process_time() - c0)
        assert r.n_iter == n_iter
    return n_iter / best


def restarts_ours(net, X, Y, n):
    c0 = time.process_time()
    res = [solve_rrr(net, X, Y, beta=BETA, sigma=SIGMA, gamma=GAMMA, rng=s, max_iter=10_000,
                     gap_stop=0.01) for s in range(n)]
    return time.process_time() - c0, sum(r.solved for r in res), sum(r.n_iter for r in res)


def _line(name, rate, k, n, cpu):
    lo, hi = wilson_interval(k, n)
    per = f"{cpu / k:.2f} s" if k else "—"
    return (f"{name:<12} {rate:>10,.0f} it/s   {k:>2}/{n} solved [{lo:.2f}, {hi:.2f}]   "
            f"{cpu:6.2f} s CPU   {per} per solution")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--c-binary", default=os.environ.get("BOOLEARN_TRAIN"),
                    help="path of the authors' compiled `train` (or $BOOLEARN_TRAIN)")
    ap.add_argument("--iters", type=int, default=20_000, help="iterations per rate run")
    ap.add_argument("--repeats", type=int, default=5, help="rate runs (best one counts)")
    ap.add_argument("--restarts", type=int, default=30, help="restarts for time per solution")
    args = ap.parse_args()
    X, Y = multiplier_task(2)
    net = layered_network([4, 4, 4, 4])
    warnings.simplefilter("ignore", ConvergenceWarning)
    solve_rrr(net, X, Y, rng=0, max_iter=10)  # compile / load the cache
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; CPU times, "
          f"best of {args.repeats} for the rates")
    rate = rate_ours(net, X, Y, args.iters, args.repeats)
    cpu, k, its = restarts_ours(net, X, Y, args.restarts)
    print(_line("theorylab", rate, k, args.restarts, cpu))
    if args.c_binary:
        binary = os.path.abspath(args.c_binary)
        with tempfile.TemporaryDirectory() as folder:
            write_c_inputs(folder, net, X, Y)
            c_best = min(run_c(binary, folder, X.shape[0], max_iter=args.iters, gap_stop=1e-9,
                               trials=2)[0] for _ in range(args.repeats))
            c_rate = 2 * args.iters / c_best
            c_cpu, _, c_its = run_c(binary, folder, X.shape[0], max_iter=10_000,
                                    gap_stop=0.01, trials=args.restarts)
        c_k, c_n = sum(i > 0 for i in c_its), len(c_its)
        print(_line("authors' C", c_rate, c_k, c_n, c_cpu))
    else:
        c_rate = C_RECORDED["rate"]
        (c_k, c_n), c_cpu = C_RECORDED["solved"], C_RECORDED["cpu_s"]
        print(_line("C (recorded)", c_rate, c_k, c_n, c_cpu) + "   [no --c-binary given]")
    print(f"ratio theorylab / C: iteration rate {rate / c_rate:.2f} (target >= 1); time per "
          f"solution C / theorylab "
          f"{(c_cpu / max(c_k, 1)) / (cpu / max(k, 1)):.2f} (>= 1 is as fast or faster)")


if __name__ == "__main__":
    main()
