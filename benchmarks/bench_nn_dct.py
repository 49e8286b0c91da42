"""Benchmarks for the low-rank layers and projectors of theorylab.nn, as ratios in one run.

1. Projector refresh on an n×n gradient, rank 8: DCT column selection (one matmul + top-k,
   ``DCTProjector``; also the FFT route ``dct_ii``) vs GaLore's ``torch.linalg.svd`` and vs
   ``torch.svd_lowrank`` (randomised). Paper (arXiv:2505.17967): DCT is "faster" — no number
   is pinned on CPU; our target was ≥ 10×.
2. One training step of a 4-layer MLP (width d) — full fine-tuning (Adam on every weight) vs
   adapters on frozen weights (LoRA r = 8, SVFit σ-only, SST r = 8) and vs LowRankAdam
   (rank-8 moments; DCT re-selected every step with state rotation, or DCT / SVD refreshed
   every 200 steps as in GaLore — the median then hides the refresh) that trains every
   weight: step time, trainable
   parameters, optimizer-state bytes. Memory is counted from the live tensors (CPU has no
   peak-memory counter); activations are the same for every arm and left out.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_nn_dct.py [--quick] [--device cuda]
"""

import argparse
import copy
import time

import numpy as np
import torch
from torch import nn

from theorylab.nn.galore import DCTProjector, LowRankAdam, SVDProjector, dct_ii, dct_matrix
from theorylab.nn.lora import LoRALinear
from theorylab.nn.svd import SSTLinear, SVDLinear
from theorylab.nn.training import count_parameters


def median_time(fn, repeat=5, sync=None):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def bench_projectors(sizes, device, repeat):
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    print("1. projector refresh, rank 8 (median of", repeat, "runs)")
    print(f"{'n':>6} {'SVD ms':>9} {'svd_lowrank ms':>15} {'DCT ms':>8} {'DCT-FFT ms':>11} "
          f"{'SVD/DCT':>8} {'lowrank/DCT':>12}")
    g = torch.Generator(device=device).manual_seed(0)
    for n in sizes:
        G = torch.randn(n, n, generator=g, device=device)
        dct_matrix(n, device=device)  # built once per size, shared by all layers
        svd, dct = SVDProjector(8), DCTProjector(8)
        t_svd = median_time(lambda G=G, p=svd: p.update(G), repeat, sync)
        t_lr = median_time(lambda G=G: torch.svd_lowrank(G, q=8, niter=2), repeat, sync)
        t_dct = median_time(lambda G=G, p=dct: p.update(G), repeat, sync)
        t_fft = median_time(lambda G=G: torch.topk(dct_ii(G).abs().sum(0), 8), repeat, sync)
        print(f"{n:>6} {t_svd * 1e3:>9.2f} {t_lr * 1e3:>15.2f} {t_dct * 1e3:>8.2f} "
              f"{t_fft * 1e3:>11.2f} {t_svd / t_dct:>8.1f} {t_lr / t_dct:>12.1f}")


def _state_bytes(opt):
    if isinstance(opt, LowRankAdam):
        return opt.state_bytes()
    n = 0
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, torch.Tensor):
                n += v.numel() * v.element_size()
    return n


def bench_steps(d, device, steps):
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    torch.manual_seed(0)
    base = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(d, d), nn.ReLU())]).to(device)
    x = torch.randn(64, d, device=device)
    y = torch.randn(64, d, device=device)
    g = torch.Generator(device=device).manual_seed(1)
    print(f"\n2. one training step, 4×({d}×{d}) MLP, batch 64 (median of {steps} steps)")
    print(f"{'arm':>22} {'trainable':>11} {'opt state MB':>13} {'step ms':>9} "
          f"{'vs full time':>13} {'vs full state':>14}")
    rows = {}
    for arm in ("full", "lora_r8", "svfit", "sst_r8", "lowrank_dct_r8_gap1",
                "lowrank_dct_r8_gap200", "lowrank_svd_r8_gap200"):
        m = copy.deepcopy(base)
        lin_idx = [i for i, mod in enumerate(m) if isinstance(mod, nn.Linear)]
        if arm in ("lora_r8", "svfit", "sst_r8"):
            for i in lin_idx:
                if arm == "lora_r8":
                    m[i] = LoRALinear(m[i], rank=8, generator=g)
                elif arm == "svfit":
                    m[i] = SVDLinear(m[i], rank=d)
                else:
                    m[i] = SSTLinear(m[i], rank=8, generator=g)
        params = [p for p in m.parameters() if p.requires_grad]
        if arm.startswith("lowrank"):
            gap = 1 if arm.endswith("gap1") else 200
            opt = LowRankAdam(params, lr=1e-4, rank=8, projector=arm.split("_")[1],
                              update_gap=gap, rotate_states=gap == 1)
        else:
            opt = torch.optim.Adam(params, lr=1e-4)

        def step(m=m, opt=opt):
            opt.zero_grad(set_to_none=True)
            (m(x) - y).square().mean().backward()
            opt.step()

        step()
        t = median_time(step, steps, sync)
        rows[arm] = (count_parameters(m), _state_bytes(opt), t)
    full = rows["full"]
    for arm, (n, b, t) in rows.items():
        print(f"{arm:>22} {n:>11,} {b / 2**20:>13.2f} {t * 1e3:>9.2f} {t / full[2]:>13.2f} "
              f"{b / full[1]:>14.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.set_num_threads(1)
    sizes = (256, 512) if a.quick else (512, 1024, 2048)
    bench_projectors(sizes, dev, 3 if a.quick else 5)
    bench_steps(256 if a.quick else 1024, dev, 5 if a.quick else 10)


if __name__ == "__main__":
    main()
