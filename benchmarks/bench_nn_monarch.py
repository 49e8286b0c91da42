"""Benchmarks for theorylab.nn structured and adapter layers, as ratios against dense
``nn.Linear`` measured in the same run (CPU, one thread unless told otherwise).

1. MonarchLinear vs dense ``nn.Linear`` at d = 4096: forward+backward time, parameter +
   gradient memory and saved-activation memory, for nblocks = 4 (50 % of dense parameters)
   and nblocks = 64 (= √d, the paper's 2 d^{3/2}). Target (paper, GPU end-to-end): ≈ 2×
   faster; the FLOP ratio of one layer is nblocks / 2.
2. Adapters vs full fine-tuning of a frozen d × d layer: one Adam step (forward, backward,
   update) and the training-state memory (trainable parameters + their gradients + Adam's
   two moments + saved activations): LoRA r = 32, RandLoRA r_b = 64 (≈ the same count),
   SLTrain (r = 128, δ = 0.03) as a pretraining layer.

Memory is counted exactly from tensor sizes (parameters/gradients/optimizer states) and
from ``torch.autograd.graph.saved_tensors_hooks`` (activations kept for backward), so it
is device-agnostic and does not depend on the allocator.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_nn_monarch.py [--d 4096] [--batch 256]
[--device cpu|cuda]
"""

import argparse
import time

import torch

from theorylab.nn.lora import LoRALinear
from theorylab.nn.monarch import MonarchLinear
from theorylab.nn.randlora import RandLoRALinear
from theorylab.nn.sltrain import SparsePlusLowRankLinear

MB = 2.0 ** 20


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_of(fn, device, repeat=3):
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        ts.append(time.perf_counter() - t0)
    return min(ts)


def saved_activation_bytes(module, x):
    """Bytes of the tensors autograd keeps for backward (parameters excluded)."""
    params = {p.data_ptr() for p in module.parameters()} | {
        b.data_ptr() for b in module.buffers()}
    seen, total = set(), [0]

    def pack(t):
        key = (t.data_ptr(), t.numel())
        if t.data_ptr() not in params and key not in seen:
            seen.add(key)
            total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x).sum()
    return total[0]


def trainable_bytes(module):
    return sum(p.numel() * p.element_size() for p in module.parameters() if p.requires_grad)


def fwd_bwd(module, x):
    def step():
        module(x).sum().backward()
        module.zero_grad(set_to_none=True)

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dev = torch.device(args.device)
    d, N = args.d, args.batch
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, d, generator=g).to(dev)
    print(f"device {dev}, torch threads {torch.get_num_threads()}, d = {d}, batch = {N}")

    # ---------------------------------------------------------------- 1. Monarch vs dense
    dense = torch.nn.Linear(d, d).to(dev)
    t_dense = best_of(fwd_bwd(dense, x), dev, args.repeat)
    act_dense = saved_activation_bytes(dense, x)
    pg_dense = 2 * trainable_bytes(dense)
    print(f"\n1. forward+backward, {d}x{d}:")
    print(f"   dense nn.Linear         {t_dense * 1e3:8.1f} ms   params+grads "
          f"{pg_dense / MB:7.1f} MB   saved activations {act_dense / MB:6.1f} MB")
    for nb in (4, int(round(d ** 0.5))):
        mon = MonarchLinear(d, d, nblocks=nb, generator=g).to(dev)
        t = best_of(fwd_bwd(mon, x), dev, args.repeat)
        act = saved_activation_bytes(mon, x)
        pg = 2 * trainable_bytes(mon)
        print(f"   Monarch nblocks={nb:<3d}     {t * 1e3:8.1f} ms   params+grads {pg / MB:7.1f} MB"
              f"   saved activations {act / MB:6.1f} MB   -> speed-up {t_dense / t:5.2f}x, "
              f"param memory {pg_dense / pg:5.1f}x smaller (FLOP ratio {nb / 2:g}x)")

    # ------------------------------------------------------- 2. adapters vs full fine-tuning
    print(f"\n2. one Adam step on a {d}x{d} layer (training state = params + grads + 2 Adam "
          "moments + saved activations):")

    def adam_step(module):
        ps = [p for p in module.parameters() if p.requires_grad]
        opt = torch.optim.Adam(ps, lr=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            module(x).square().mean().backward()
            opt.step()

        return step

    def report(name, module, ref=None):
        t = best_of(adam_step(module), dev, args.repeat)
        state = 4 * trainable_bytes(module) + saved_activation_bytes(module, x)
        n_tr = sum(p.numel() for p in module.parameters() if p.requires_grad)
        extra = "" if ref is None else (f"   -> step {ref[0] / t:5.2f}x faster, "
                                        f"state {ref[1] / state:6.1f}x smaller")
        print(f"   {name:<26s} {t * 1e3:8.1f} ms   trainable {n_tr:>10,d}   state "
              f"{state / MB:8.1f} MB{extra}")
        return t, state

    full = torch.nn.Linear(d, d).to(dev)
    ref = report("full fine-tuning", full)

    def frozen():
        return torch.nn.Linear(d, d).to(dev)

    report("LoRA r=32", LoRALinear(frozen(), 32, generator=g), ref)
    report("RandLoRA r_b=64 (n=d/64)", RandLoRALinear(frozen(), rank=64, generator=g), ref)
    report("RandLoRA r_b=64, autograd", RandLoRALinear(frozen(), rank=64, generator=g,
                                                       memory_efficient=False), ref)
    report("Monarch nblocks=64 (all)", MonarchLinear(d, d, nblocks=64, generator=g).to(dev), ref)
    report("SLTrain r=128, δ=0.03", SparsePlusLowRankLinear(d, d, rank=128, density=0.03,
                                                             generator=g).to(dev), ref)


if __name__ == "__main__":
    main()
