"""GAN recipes of ``theorylab.unlearning.fastpaths`` versus the harness's
``theorylab.unlearning.gan`` (the peer), on the full-size pieces of
tiwary2023_adapt_unlearn_digits (one thread, CPU seconds, interleaved repeats).

``train_gan`` of the claim's MLP GAN (z 16, hidden 128, batches of 64, 900 images) for
``--gan-steps`` steps, and the stage-2 run with NL2 repulsion (2 000 positives) for as many
steps; GAN steps are nearly all of the claim's time. Each pair must end with bit-identical
parameters (checked). Prints the CPU seconds of both and the ratio peer / fast (best of
``--repeats``). Run: ``python benchmarks/bench_unlearning_fastpaths.py [--gan-steps 400]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from theorylab.unlearning import fastpaths as fp
from theorylab.unlearning import gan as g


def _cpu(fn):
    c0 = time.process_time()
    v = fn()
    return time.process_time() - c0, v


def _params(*mods):
    return [p.detach().clone() for m in mods for p in m.parameters()]


def _equal(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def bench_gan(steps: int, repeats: int) -> dict[str, float]:
    cfg = g.GANConfig(z_dim=16, hidden=128, steps=steps)
    X = torch.rand(900, 64, generator=torch.Generator().manual_seed(0))
    pos = torch.rand(2000, 64, generator=torch.Generator().manual_seed(1))
    res = {"peer": [], "fast": []}
    stage2 = {"peer": [], "fast": []}
    ucfg = g.UnlearnConfig(steps=steps, gamma=10.0, repulsion="nl2")
    impl = {"peer": (g.build_gan, g.train_gan, g.adapt_then_unlearn),
            "fast": (fp.build_gan, fp.train_gan, fp.adapt_then_unlearn)}
    for _ in range(repeats):
        for key, (build, train, unlearn) in impl.items():
            G, D = build(64, cfg, generator=torch.Generator().manual_seed(3))
            t, _ = _cpu(lambda G=G, D=D, train=train: train(
                G, D, X, steps=cfg.steps, lr=cfg.lr, beta1=cfg.beta1,
                batch_size=cfg.batch_size, generator=torch.Generator().manual_seed(4)))
            res[key].append((t, _params(G, D)))
            N = copy.deepcopy(G)
            with torch.no_grad():
                for p in N.parameters():
                    p.add_(0.01)
            t, U = _cpu(lambda G=G, D=D, N=N, unlearn=unlearn: unlearn(
                G, D, pos, [N], config=ucfg, generator=torch.Generator().manual_seed(5)))
            stage2[key].append((t, _params(U)))
    if not _equal(res["peer"][0][1], res["fast"][0][1]):
        raise AssertionError("fast train_gan differs from the harness's")
    if not _equal(stage2["peer"][0][1], stage2["fast"][0][1]):
        raise AssertionError("fast adapt_then_unlearn differs from the harness's")
    out = {"gan_steps": steps,
           "gan_peer_cpu_s": min(t for t, _ in res["peer"]),
           "gan_fast_cpu_s": min(t for t, _ in res["fast"]),
           "atu_peer_cpu_s": min(t for t, _ in stage2["peer"]),
           "atu_fast_cpu_s": min(t for t, _ in stage2["fast"])}
    out["gan_ratio"] = out["gan_peer_cpu_s"] / out["gan_fast_cpu_s"]
    out["atu_ratio"] = out["atu_peer_cpu_s"] / out["atu_fast_cpu_s"]
    print(f"MLP GAN, {steps} steps: harness {out['gan_peer_cpu_s']:.2f} s, fast path "
          f"{out['gan_fast_cpu_s']:.2f} s (ratio {out['gan_ratio']:.2f}); stage 2 (NL2): "
          f"{out['atu_peer_cpu_s']:.2f} s vs {out['atu_fast_cpu_s']:.2f} s (ratio "
          f"{out['atu_ratio']:.2f}); bit-identical")
    return out


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gan-steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    bench_gan(20, 1)  # warm-up: first optimiser, first kernels
    return bench_gan(args.gan_steps, args.repeats)


if __name__ == "__main__":
    main()
