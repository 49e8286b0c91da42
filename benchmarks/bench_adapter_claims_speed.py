"""CPU time of the Monarch / RandLoRA claim scripts' fast paths against their slow twins (the
old code), back to back in one process at the full-scale sizes, one thread; for the TSCNC
claim (unchanged) the split of one fine-tuning cell with and without the penalty.

    python benchmarks/bench_adapter_claims_speed.py [monarch] [randlora] [tscnc]

Prints old s, new s and old/new per piece; the ratios go into the papers' notes.
"""

import os
import sys
import time

import torch


def _load(name):
    """The verify script of claim ``name``, loaded as the harness loads it."""
    from theorylab.claims import load_claim

    return load_claim(name)


def _cpu(fn, repeats=2):
    """Smallest CPU time of ``repeats`` calls (the machine is shared and loaded)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _row(name, old, new):
    print(f"{name:48s} old {old:8.2f} s  new {new:8.2f} s  old/new {old / new:6.2f}",
          flush=True)


def bench_monarch():
    mod = _load("dao2022_monarch_projection")
    n = mod.SIZES["full"]["n"]
    mod._projection_errors(64, "cpu", 0)  # warm-up (imports)
    _row(f"monarch: projection errors, one seed, n={n}",
         _cpu(lambda: mod._reference_projection_errors(n, "cpu", 0)),
         _cpu(lambda: mod._projection_errors(n, "cpu", 0)))
    steps = 60
    for kind in ("monarch", "lowrank"):
        _row(f"monarch: trained fit {kind}, {steps} steps, n={n}",
             _cpu(lambda k=kind: mod._fit_kronecker(k, n, steps, 0, kron_targets=False)),
             _cpu(lambda k=kind: mod._fit_kronecker(k, n, steps, 0)))


def bench_randlora():
    mod = _load("albert2025_randlora_full_rank")
    cfg = mod.SIZES["full"]
    d, n_seeds, steps = cfg["d"], cfg["seeds"], 150
    mod._fit_group("lora", 2, 16, 2, ["gaussian"], 1, "cpu", 0)  # warm-up (imports)
    targets = [t for t, ranks in cfg["targets"].items() if 16 in ranks]  # all three
    p_rand = mod.math.ceil(d / 16) * (16 + d)
    for kind, rank in (("randlora", 16), ("lora", mod.lora_rank_for(p_rand, d))):
        _row(f"randlora: {kind} r={rank}, {len(targets)}x{n_seeds} fits, {steps} steps",
             _cpu(lambda k=kind, r=rank: [mod._reference_fit(k, r, d, steps, t, "cpu", s)
                                          for t in targets for s in range(n_seeds)]),
             _cpu(lambda k=kind, r=rank: mod._fit_group(k, r, d, steps, targets, n_seeds,
                                                        "cpu", 0)))


def bench_randlora_digits():
    mod = _load("albert2025_randlora_full_rank")
    dcfg = mod.SIZES["full"]["digits"]
    n_seeds, steps = dcfg["seeds"], 150
    full_pretrain, mod.DIGITS_PRETRAIN = mod.DIGITS_PRETRAIN, 300

    def old_pre():
        mod._PRETRAINED.clear()
        for k in range(n_seeds):
            mod._pretrained_digits(k)

    def new_pre():
        mod._PRETRAINED.clear()
        mod._pretrain_digits_seeds(list(range(n_seeds)))

    _row(f"randlora digits: pretraining, {n_seeds} seeds, 300 steps", _cpu(old_pre),
         _cpu(new_pre))
    mod.DIGITS_PRETRAIN = full_pretrain
    mod._PRETRAINED.clear()
    for kind, rank in (("randlora", 8), ("lora", 2), ("full", 0)):
        _row(f"randlora digits: {kind} r={rank}, {n_seeds} seeds, {steps} steps",
             _cpu(lambda k=kind, r=rank: [mod._digits(k, r, steps, "cpu", s)
                                          for s in range(n_seeds)]),
             _cpu(lambda k=kind, r=rank: mod._digits_group(k, r, steps, n_seeds, "cpu", 0)))


def bench_tscnc():
    """Not changed: where the time of one fine-tuning cell goes (the penalty's SVDs)."""
    mod = _load("tscnc2025_lipschitz_condition_pruning")
    cfg = mod.SIZES["full"]
    mod._pretrained(cfg["hidden"], 50, 0)
    for lam in (0.0, mod.LAMBDA):
        t = _cpu(lambda lm=lam: mod._cell(cfg["hidden"], 50, cfg["finetune"], 0.5, lm, True,
                                          "cpu", 0))
        print(f"tscnc: one cell, rate 0.5, lambda {lam:g}, {cfg['finetune']} steps: {t:.2f} s",
              flush=True)

BENCHES = {"monarch": bench_monarch, "randlora": bench_randlora,
           "randlora_digits": bench_randlora_digits, "tscnc": bench_tscnc}


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()}")
    for name in sys.argv[1:] or list(BENCHES):
        BENCHES[name]()
