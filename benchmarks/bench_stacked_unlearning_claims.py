"""Stacked fast paths of two unlearning claims against their single-model peers, in one run,
at the claims' full sizes (fewer epochs): CPU seconds (process time, one thread) and the
ratio old / new.

- ``fan2024_worst_case_forget_harder``: the oracles of 7 forget sets × 3 seeds (old: one
  stacked 3-member ensemble per set, ``retrain_oracles``; new: one 21-member ensemble with
  per-member retain rows) and each baseline on the 7 sets (old: ``apply_method`` per set; new:
  ``unlearn_stacked``), Fashion-MNIST 10 000, MLP 784-256-256-10.
- ``jia2023_sparsity_unlearning_prune_first``: OMP with rewinding at s = 0 and 0.9 (old: two
  ``prune_and_rewind`` calls; new: ``prune_and_rewind_all``, one dense run; full 12 epochs)
  and the masked oracles of both sparsities (old: 6 serial ``train_masked``; new: one 6-member
  stacked ensemble), Fashion-MNIST 5 000, MLP 784-256-256-10.

Run: ``python benchmarks/bench_stacked_unlearning_claims.py [--epochs 1] [--only fan|jia]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _cpu(fn) -> float:
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def _gen(k: int) -> torch.Generator:
    return torch.Generator().manual_seed(k)


def bench_fan(epochs: int) -> dict[str, tuple[float, float]]:
    from theorylab.unlearning.data import load_fashion_mnist_split
    from theorylab.unlearning.methods import Subset, apply_method, get_method
    from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model
    from theorylab.unlearning.oracle import ensemble_seeds, retrain_oracles
    from theorylab.unlearning.scenarios import random_forget
    from theorylab.unlearning.stacked import train_stacked_mlps
    from theorylab.unlearning.stacked_baselines import STACKED_METHODS, unlearn_stacked

    d = load_fashion_mnist_split(n_train=10_000, n_test=2_000, rng=0)
    X, y = as_tensors(d.X_train, d.y_train)
    rec = Recipe(hidden=(256, 256), epochs=epochs, lr=1e-3)
    sets = [random_forget(X.shape[0], fraction=0.1, rng=50 + j) for j in range(7)]
    seeds = [ensemble_seeds(3, base=10_000 + 100 * i) for i in range(7)]
    out = {}

    def old_oracles():
        for s, sd in zip(sets, seeds, strict=True):
            retrain_oracles(rec, X, y, s.retain, n_out=10, seeds=sd)

    def new_oracles():
        members = [build_model(rec, 784, 10, generator=s.generator("init"))
                   for sd in seeds for s in sd]
        train_stacked_mlps(rec, X, y, members,
                           order_generators=[s.generator("order") for sd in seeds for s in sd],
                           rows=np.stack([s.retain for s in sets for _ in range(3)]))

    out["fan oracles (7 sets x 3)"] = (_cpu(old_oracles), _cpu(new_oracles))
    theta = train_model(build_model(rec, 784, 10, generator=_gen(0)), X, y, recipe=rec,
                        generator=_gen(1))
    ix = torch.as_tensor
    F = [Subset(X[ix(s.forget)], y[ix(s.forget)]) for s in sets]
    R = [Subset(X[ix(s.retain)], y[ix(s.retain)]) for s in sets]
    for meth in STACKED_METHODS:
        spec = get_method(meth)
        cfg = spec.default_config() if meth == "ga" else spec.default_config(epochs=epochs)
        old = lambda spec=spec, cfg=cfg: [
            apply_method(spec, theta, f, r, config=cfg, generator=_gen(99))
            for f, r in zip(F, R, strict=True)]
        new = lambda meth=meth, cfg=cfg: unlearn_stacked(meth, theta, F, R, config=cfg,
                                                         generator=_gen(99))
        out[f"fan {meth} (7 sets)"] = (_cpu(old), _cpu(new))
    return out


def bench_jia(epochs: int) -> dict[str, tuple[float, float]]:
    from theorylab.unlearning.data import load_fashion_mnist_split
    from theorylab.unlearning.models import Recipe, as_tensors, build_model
    from theorylab.unlearning.scenarios import random_forget
    from theorylab.unlearning.sparse import prune_and_rewind, train_masked
    from theorylab.unlearning.stacked import prune_and_rewind_all, train_stacked_mlps

    d = load_fashion_mnist_split(n_train=5_000, n_test=2_000, rng=0)
    X, y = as_tensors(d.X_train, d.y_train)
    rec = Recipe(hidden=(256, 256), epochs=12, lr=1e-3)
    sps = (0.0, 0.9)
    out = {}
    res = {}

    def old_prune():
        res["old"] = [prune_and_rewind(rec, X, y, n_out=10, sparsity=s, rewind_epoch=2,
                                       init_generator=_gen(1), order_generator=_gen(2))
                      for s in sps]

    def new_prune():
        res["new"] = prune_and_rewind_all(rec, X, y, n_out=10, sparsities=sps, rewind_epoch=2,
                                          init_generator=_gen(1), order_generator=_gen(2))

    out["jia OMP + rewind, s = 0 and 0.9 (12 epochs)"] = (_cpu(old_prune), _cpu(new_prune))
    retain = random_forget(X.shape[0], fraction=0.1, rng=0).retain
    Xr, yr = X[torch.as_tensor(retain)], y[torch.as_tensor(retain)]
    orec = Recipe(hidden=(256, 256), epochs=epochs, lr=1e-3)

    def old_oracles():
        for _, masks in res["new"]:
            for k in range(3):
                m = build_model(orec, 784, 10, generator=_gen(10 + k))
                train_masked(m, Xr, yr, recipe=orec, masks=masks, generator=_gen(20 + k))

    def new_oracles():
        members = [build_model(orec, 784, 10, generator=_gen(10 + k))
                   for _ in sps for k in range(3)]
        masks = {n: torch.stack([mk[n] for _, mk in res["new"] for _ in range(3)])
                 for n in res["new"][0][1]}
        train_stacked_mlps(orec, X, y, members, masks=masks,
                           order_generators=[_gen(20 + k) for _ in sps for k in range(3)],
                           rows=np.tile(retain, (6, 1)))

    out["jia masked oracles (2 sparsities x 3)"] = (_cpu(old_oracles), _cpu(new_oracles))
    return out


def main(argv=None) -> dict[str, tuple[float, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--only", choices=("fan", "jia"), default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = {}
    if args.only in (None, "jia"):
        out.update(bench_jia(args.epochs))
    if args.only in (None, "fan"):
        out.update(bench_fan(args.epochs))
    for name, (old, new) in out.items():
        print(f"{name:45s} CPU old {old:7.2f} s  new {new:7.2f} s  ratio {old / new:5.2f}")
    return out


if __name__ == "__main__":
    main()
