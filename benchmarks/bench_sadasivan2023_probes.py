"""CUDA claim: the shortcut-probe test images and the protected training sets built once per
trial seed instead of once per arm, CPU time in one run.

Times building the two probe sets (the Fashion-MNIST test set convolved with its own class's
filter and with a random class's filter) and one protected training set (mix 1) from
scratch, as every arm did, and the cached calls later arms now make; prints the number of
arms of the full claim, how many protected-set builds the cache saves, and the projected CPU
seconds saved per trial seed (one process).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_sadasivan2023_probes.py [--dataset digits]
"""

from __future__ import annotations

import argparse
import os
import time

from theorylab.claims import load_claim


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "digits"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    v = load_claim("sadasivan2023_cuda_erm")
    cfg = v.SIZES["full" if args.dataset == "fashion_mnist" else "smoke"]
    v._load(args.dataset, cfg["n_train"])
    v._probes(args.dataset, cfg["n_train"], 1, cfg["blur"], 0)  # warm the kernels
    fresh, cached = [], []
    for r in range(args.repeats):
        v._probes.cache_clear()
        t = time.process_time()
        v._probes(args.dataset, cfg["n_train"], 7 + r, cfg["blur"], 0)
        fresh.append(time.process_time() - t)
        t = time.process_time()
        v._probes(args.dataset, cfg["n_train"], 7 + r, cfg["blur"], 0)
        cached.append(time.process_time() - t)
    prot = []
    for r in range(args.repeats):
        v._protected.cache_clear()
        t = time.process_time()
        v._protected(args.dataset, cfg["n_train"], 7 + r, cfg["blur"], 1.0, 0, False)
        prot.append(time.process_time() - t)
    pts = v._points(cfg)
    n_arms = len(pts)
    users = [(m, a == "same") for _, a, m in pts
             if a in ("cuda", "clean_only", "cuda_at", "cuda_at_l2", "same")]
    n_saved = len(users) - len(set(users))
    f, c, p = min(fresh), min(cached), min(prot)
    saved = (n_arms - 1) * (f - c) + n_saved * p
    print(f"probes from scratch {f:.3f} s, cached {c * 1e6:.0f} µs CPU; protected set "
          f"{p:.3f} s; {n_arms} arms, {n_saved} protected-set builds saved: {saved:.1f} s "
          f"saved per trial seed; load {os.getloadavg()[0]:.1f}")
    return {"probes_s": f, "cached_s": c, "protected_s": p, "saved_s": saved}


if __name__ == "__main__":
    main()
