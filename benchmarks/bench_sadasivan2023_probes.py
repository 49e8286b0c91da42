"""CUDA claim: the shortcut-probe test images built once per trial seed instead of once per
arm, CPU time in one run.

Times building the two probe sets (the Fashion-MNIST test set convolved with its own class's
filter and with a random class's filter) from scratch, as every arm did, and the cached call
every further arm now makes; prints the number of arms of the full claim and the projected
CPU seconds saved per trial seed (one process).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_sadasivan2023_probes.py [--dataset digits]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "verify" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "digits"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    v = _load("sadasivan2023_cuda_erm")
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
    n_arms = len(v._points(cfg))
    f, c = min(fresh), min(cached)
    print(f"probes from scratch {f:.3f} s, cached {c * 1e6:.0f} µs CPU; {n_arms} arms: "
          f"{(n_arms - 1) * (f - c):.1f} s saved per trial seed; load "
          f"{os.getloadavg()[0]:.1f}")
    return {"fresh_s": f, "cached_s": c, "saved_s": (n_arms - 1) * (f - c)}


if __name__ == "__main__":
    main()
