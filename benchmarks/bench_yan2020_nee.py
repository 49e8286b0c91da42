"""Cost of a neural-execution-engine sort rollout, as ratios in one run.

A rollout of length L makes L executor calls on L + 1 tokens, so its cost grows like L³
(attention) / L² (MLP) — against O(L log L) for ``torch.sort``. Printed: wall time of
``MaskedPointerExecutor.run`` for NEE (masked attention) and the vanilla executor (mask as a
feature) at several lengths, the NEE / vanilla ratio (masking adds only a ``masked_fill``)
and the growth exponent between consecutive lengths.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_yan2020_nee.py [--lists 32] [--device cpu]
"""

import argparse
import math
import time

import torch

from theorylab.seq.nee import MaskedPointerExecutor, NEEConfig


def best_of(fn, repeat=3):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--lists", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    dev = torch.device(a.device)
    models = {m: MaskedPointerExecutor(NEEConfig(masking=m),
                                       generator=torch.Generator().manual_seed(0)).to(dev)
              for m in ("attention", "feature")}
    prev = None
    print(f"rollout of {a.lists} lists, d = 64, 2 layers ({dev}):")
    for L in (16, 32, 64, 100):
        x = torch.randint(0, 256, (a.lists, L), generator=torch.Generator().manual_seed(L))
        x = x.to(dev)
        t = {m: best_of(lambda m=m, x=x: models[m].run(x)) for m in models}
        ts = best_of(lambda x=x: torch.sort(x, dim=1))
        growth = "" if prev is None else \
            f"   growth exponent {math.log(t['attention'] / prev[1]) / math.log(L / prev[0]):.2f}"
        print(f"  L = {L:3d}: NEE {1e3 * t['attention']:8.1f} ms, vanilla "
              f"{1e3 * t['feature']:8.1f} ms, ratio {t['attention'] / t['feature']:.2f}; "
              f"torch.sort {1e6 * ts:.0f} µs{growth}")
        prev = (L, t["attention"])


if __name__ == "__main__":
    main()
