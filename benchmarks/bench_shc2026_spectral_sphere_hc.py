"""Cost of hyper-connection mixing, as ratios against the plain residual in the same run.

1. One layer ``X ↦ H^res X + (H^post)ᵀ F(H^pre X)`` around an MLP block (C → 4C → C) on
   B·T tokens with n = 4 streams: forward + backward time of residual / HC / mHC (Sinkhorn
   20 iterations, linear and log domain) / sHC (exact SVD, 3 power iterations), each
   divided by the residual layer's time.
2. The projection alone (n × n, forward + backward): Sinkhorn vs spectral normalisation.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_shc2026_spectral_sphere_hc.py [--tokens 2048]
[--dim 128] [--device cpu|cuda]
"""

import argparse
import time

import torch

from theorylab.seq.hyper import (
    HyperConfig,
    HyperConnection,
    expand_streams,
    sinkhorn,
    spectral_normalize,
)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_of(fn, device, repeat=5):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    dev = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    C, n = a.dim, a.streams
    block = torch.nn.Sequential(torch.nn.Linear(C, 4 * C), torch.nn.GELU(),
                                torch.nn.Linear(4 * C, C)).to(dev)
    X = expand_streams(torch.randn(a.tokens, C, generator=g), n).to(dev)
    X = (X + 0.1 * torch.randn(X.shape, generator=g).to(dev)).requires_grad_(True)
    arms = {
        "residual": HyperConfig(n_streams=n, mode="residual"),
        "hc": HyperConfig(n_streams=n, mode="hc"),
        "mhc (20 it)": HyperConfig(n_streams=n, mode="mhc"),
        "mhc log-domain": HyperConfig(n_streams=n, mode="mhc", log_domain=True),
        "shc svd": HyperConfig(n_streams=n, mode="shc"),
        "shc power (3 it)": HyperConfig(n_streams=n, mode="shc", spectral_method="power"),
    }
    times = {}
    for name, cfg in arms.items():
        hc = HyperConnection(block, C, cfg).to(dev)

        def step(hc=hc):
            hc.zero_grad(set_to_none=True)
            X.grad = None
            hc(X).square().mean().backward()

        times[name] = best_of(step, dev)
    print(f"1. one layer, {a.tokens} tokens × {n} streams × C = {C}, MLP block, fwd+bwd "
          f"({dev}):")
    for name, t in times.items():
        print(f"   {name:18s} {1e3 * t:8.2f} ms   ratio vs residual {t / times['residual']:.2f}")

    L = torch.randn(n, n, generator=g).to(dev).requires_grad_(True)
    proj = {
        "sinkhorn 20 it": lambda: sinkhorn(L, n_iter=20),
        "sinkhorn 20 it log": lambda: sinkhorn(L, n_iter=20, log_domain=True),
        "spectral svd": lambda: spectral_normalize(L),
        "spectral power 3 it": lambda: spectral_normalize(L, method="power"),
    }
    pt = {k: best_of(lambda f=f: f().sum().backward(), dev, repeat=20) for k, f in proj.items()}
    print(f"2. projection of one {n}×{n} matrix, fwd+bwd:")
    for k, t in pt.items():
        print(f"   {k:20s} {1e6 * t:8.1f} µs   ratio vs svd {t / pt['spectral svd']:.2f}")


if __name__ == "__main__":
    main()
