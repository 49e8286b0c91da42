"""Mod-3 claim: 2 ranges x 3 seeds trained one by one (the former path) vs as one batched
DeltaNet ensemble, CPU time in one run (one thread).

Times ``steps`` training steps of the full-scale configuration (d_model 16, 2 layers, 4 heads,
batch 32, lengths 3-20) for the six models separately (``train_state_tracking``, chunk 64)
and as one ``DeltaNetEnsemble``, and one test pass at T = 256 on 512 sequences per model
(``sequence_accuracy`` per model, chunk 64, vs ``ensemble_sequence_accuracy``, chunk 16).
Projects the full claim's seconds (1500 steps; tests at T = 20, 40, 128, 256).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_grazzi2024_mod3_ensemble.py [--steps 60]
"""

import argparse
import os
import time

import torch

from theorylab.seq.ensemble import (
    DeltaNetEnsemble,
    ensemble_sequence_accuracy,
    train_state_tracking_ensemble,
)
from theorylab.seq.linear_rnn import LinearRNNConfig, LinearRNNModel
from theorylab.seq.tasks import mod_add_task, sequence_accuracy, train_state_tracking

MEMBERS = [(r, s) for r in ("[-1,1]", "[0,1]") for s in (0, 1, 2)]
TRAIN = dict(lr=1e-2, batch=32, min_length=3, max_length=20, modulus=3)


def _model(r, s):
    cfg = LinearRNNConfig(vocab_size=3, n_classes=3, d_model=16, n_layers=2, n_heads=4,
                          kind="delta", eig_range=r, mlp=True)
    g = torch.Generator().manual_seed(s)
    return LinearRNNModel(cfg, generator=g), g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.process_time()
    separate = []
    for r, s in MEMBERS:
        m, g = _model(r, s)
        train_state_tracking(m, "mod_add", steps=a.steps, generator=g, **TRAIN)
        separate.append(m)
    t_sep = time.process_time() - t0
    pairs = [_model(r, s) for r, s in MEMBERS]
    t0 = time.process_time()
    ens = DeltaNetEnsemble([m for m, _ in pairs], chunk_size=16)
    train_state_tracking_ensemble(ens, "mod_add", steps=a.steps,
                                  generators=[g for _, g in pairs], **TRAIN)
    t_ens = time.process_time() - t0
    batches = [mod_add_task(512, 256, generator=torch.Generator().manual_seed(s))
               for s in range(len(MEMBERS))]
    t0 = time.process_time()
    for m, b in zip(separate, batches, strict=True):
        sequence_accuracy(m, b)
    e_sep = time.process_time() - t0
    t0 = time.process_time()
    ensemble_sequence_accuracy(ens, batches)
    e_ens = time.process_time() - t0
    load = os.getloadavg()[0]
    print(f"load {load:.1f}; {a.steps} steps x 6 models: separate {t_sep:.2f} s, "
          f"ensemble {t_ens:.2f} s, ratio {t_sep / t_ens:.1f}x")
    print(f"test pass T = 256, 6 x 512 sequences: separate {e_sep:.2f} s, ensemble "
          f"{e_ens:.2f} s, ratio {e_sep / e_ens:.1f}x")
    f = 1500 / a.steps
    # test lengths 20 + 40 + 128 + 256 = 444 ≈ 1.7 x the T = 256 pass
    print(f"projected full claim (training + tests): separate {f * t_sep + 1.7 * e_sep:.0f} s, "
          f"ensemble {f * t_ens + 1.7 * e_ens:.0f} s")


if __name__ == "__main__":
    main()
