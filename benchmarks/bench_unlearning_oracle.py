"""Batched oracle training: 64 digits MLPs trained at once versus a Python loop over the same
64 models (same init and data-order generators, same results up to summation order).

Three paths in one run: the Python loop of ``train_model`` (the peer), the generic
``vmap(functional_call)`` ensemble (any architecture), and the explicit batched-product MLP
ensemble that :func:`train_ensemble` uses for MLPs. Target: the ensemble at least 5× faster
than the loop. Prints models/second (wall) and CPU seconds (process time: with one thread it
is the work done, less disturbed by other processes on a shared machine than wall time).
``--threads`` sets torch's intra-op threads for all three paths alike (default 1, as in the
claims' workers): the loop's small products cannot use a second thread (its wall time stays,
its CPU time doubles), the ensemble's batched products and fused Adam can.
Run: ``python benchmarks/bench_unlearning_oracle.py [--models 64] [--epochs 2] [--device cpu]
[--repeats 2] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from theorylab.unlearning.data import load_digits_split
from theorylab.unlearning.models import Recipe, as_tensors
from theorylab.unlearning.oracle import ensemble_seeds, train_ensemble


def _time(fn) -> tuple[float, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads, the same for every path (default 1)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train, d.y_train, device=args.device)
    recipe = Recipe(hidden=(128, 64), epochs=args.epochs, batch_size=64)
    seeds = ensemble_seeds(args.models)
    gens = lambda which: [s.generator(which) for s in seeds]

    def ensemble():
        return train_ensemble(recipe, X, y, n_out=10, init_generators=gens("init"),
                              order_generators=gens("order"))

    def generic_vmap():
        return train_ensemble(recipe, X, y, n_out=10, init_generators=gens("init"),
                              order_generators=gens("order"), vectorize="vmap")

    def loop():
        return train_ensemble(recipe, X, y, n_out=10, init_generators=gens("init"),
                              order_generators=gens("order"), vectorize=False)

    # warm-up: the first optimiser / vmap call pays one-off set-up costs
    small = Recipe(hidden=(8,), epochs=1)
    for v in (True, "vmap", False):
        train_ensemble(small, X[:64], y[:64], n_out=10, vectorize=v,
                       init_generators=[torch.Generator(), torch.Generator()],
                       order_generators=[torch.Generator(), torch.Generator()])
    res: dict[str, list[tuple[float, float]]] = {"ensemble": [], "vmap": [], "loop": []}
    for _ in range(args.repeats):  # interleaved, so that load changes hit all three
        for name, fn in (("ensemble", ensemble), ("vmap", generic_vmap), ("loop", loop)):
            res[name].append(_time(fn))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in res.items()}
    out = {"models": args.models, "epochs": args.epochs}
    for k, (w, c) in best.items():
        out[f"t_{k}_s"], out[f"cpu_{k}_s"], out[f"{k}_models_per_s"] = w, c, args.models / w
    out["speedup"] = best["loop"][0] / best["ensemble"][0]
    out["speedup_cpu"] = best["loop"][1] / best["ensemble"][1]
    out["speedup_vmap"] = best["loop"][0] / best["vmap"][0]
    print(f"{args.models} digits MLPs 64-128-64-10, {args.epochs} epochs, batch 64, device "
          f"{args.device}, best of {args.repeats}, torch threads {torch.get_num_threads()}")
    for k, label in (("ensemble", "batched-product ensemble"), ("vmap", "vmap(functional_call)"),
                     ("loop", "python loop")):
        w, c = best[k]
        print(f"  {label:25s}: {w:7.2f} s wall ({args.models / w:6.2f} models/s), "
              f"{c:6.2f} s CPU")
    print(f"  speed-up vs loop: ensemble {out['speedup']:.1f}x wall / {out['speedup_cpu']:.1f}x "
          f"CPU; vmap {out['speedup_vmap']:.1f}x wall  (target >= 5x)")
    return out


if __name__ == "__main__":
    main()
