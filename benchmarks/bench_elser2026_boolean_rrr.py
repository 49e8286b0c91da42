"""RRR iteration rate on the 2-bit multiplier (4-4-4-4, 16 items) against the authors' C
code, and success rate × time to solution.

The C reference's rate was measured once, independently, with the authors' C code
(github.com/veitelser/boolearn) on this kind of 2-core CPU (≈3.3e4 iterations/s: 10 restarts,
89,259 iterations in 2.7 s); target: at least half of it.
Run: OMP_NUM_THREADS=1 python benchmarks/bench_elser2026_boolean_rrr.py
(also prints the machine load, since the 2 cores are often shared)
"""

import os
import time
import warnings

from theorylab._result import ConvergenceWarning
from theorylab.boolean import layered_network, multiplier_task, solve_rrr

C_RATE = 89_259 / 2.7  # iterations per second, authors' C code, measured once (not rebuilt here)


def main():
    X, Y = multiplier_task(2)
    net = layered_network([4, 4, 4, 4])
    warnings.simplefilter("ignore", ConvergenceWarning)
    solve_rrr(net, X, Y, rng=0, max_iter=10)  # compile / load the cache
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve_rrr(net, X, Y, rng=123, max_iter=20_000, gap_stop=1e-9)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(CPU time is the fair measure on a shared machine; the C figure is wall time "
          "on an idle one)")
    for name, secs in (("wall", dt), ("CPU", dc)):
        rate = r.n_iter / secs
        print(f"2x2 multiplier ({name} time): {rate:,.0f} iterations/s; C reference "
              f"{C_RATE:,.0f}/s; ratio {rate / C_RATE:.2f} (target >= 0.5)")
    t0 = time.process_time()
    res = [solve_rrr(net, X, Y, rng=s, max_iter=10_000) for s in range(10)]
    dt = time.process_time() - t0
    k = sum(x.solved for x in res)
    its = sum(x.n_iter for x in res)
    print(f"10 restarts <= 1e4 iterations: {k}/10 solved, {its} iterations in {dt:.2f} s CPU "
          f"(C reference: 3/10 solved, 89,259 iterations in 2.7 s); time per solution "
          f"{dt / max(k, 1):.2f} s vs C {2.7 / 3:.2f} s")


if __name__ == "__main__":
    main()
