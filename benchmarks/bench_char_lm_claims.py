"""Training-step cost of the two char-LM claims, fast path vs its reference in the same run
(CPU time, one thread; ratios are robust to machine load, absolute times are not).

1. shc2026_spectral_sphere_hc_char_lm at its full size (d = 64, 4 layers, 4 heads,
   context 64, batch 32, n = 4 streams): one Adam step per arm through
   ``HyperTransformerLM.forward_streams`` (streams first, mixing as matrix products,
   stacked per-layer mixing, foreach Adam) vs ``_reference_forward_streams`` (per-layer
   stream-last ``HyperConnection.forward``, per-tensor Adam).
2. han2024_sltrain_char_lm at its full size: the 3 seeds of an arm as one stacked network
   (``_train_lm_seeds``) vs 3 separate trainings (``_train_lm``), ``--han-steps`` steps.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_char_lm_claims.py [--steps 10]
[--han-steps 150]
"""

import argparse
import time

import torch
from torch import nn

from theorylab import claims
from theorylab.seq.hyper import HyperConfig, HyperTransformerLM


def _cpu(fn):
    t = time.process_time()
    fn()
    return time.process_time() - t


def bench_shc(steps):
    V, B, T = 95, 32, 64
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, V, (steps, B, T + 1), generator=g)
    print(f"1. shc char LM, one training step (ms, CPU), {steps} steps per path:")
    for mode in ("residual", "hc", "mhc", "shc"):
        times = {}
        for _rep in range(2):  # alternate, keep the best of two
            for name, fwd, foreach in (("fast", "forward_streams", True),
                                       ("reference", "_reference_forward_streams", False)):
                m = HyperTransformerLM(V, 64, 4, 4, T, HyperConfig(n_streams=4, mode=mode),
                                       generator=torch.Generator().manual_seed(1))
                opt = torch.optim.Adam(m.parameters(), lr=2e-3, foreach=foreach)

                def run(m=m, opt=opt, fwd=fwd):
                    for s in range(steps):
                        opt.zero_grad(set_to_none=True)
                        logits = getattr(m, fwd)(x[s, :, :-1])[0]
                        nn.functional.cross_entropy(logits.reshape(-1, V),
                                                    x[s, :, 1:].reshape(-1)).backward()
                        opt.step()

                t = _cpu(run) / steps
                times[name] = min(times.get(name, float("inf")), t)
        print(f"   {mode:9s} fast {1e3 * times['fast']:7.1f}   reference "
              f"{1e3 * times['reference']:7.1f}   ratio {times['reference'] / times['fast']:.2f}")


def bench_han(steps):
    mod = claims.load_claim("han2024_sltrain_char_lm")
    cfg = dict(mod.SIZES["full"], steps=steps, device="cpu")
    cfg.pop("seeds")
    mod._train_lm("lowrank", **dict(cfg, steps=5), seed=0)  # warm-up
    print(f"2. han char LM, 3 seeds × {steps} steps (s, CPU):")
    for arm in ("sltrain", "lowrank_eq", "dense"):
        sep = _cpu(lambda arm=arm: [mod._train_lm(arm, **cfg, seed=s) for s in (0, 1, 2)])
        bat = _cpu(lambda arm=arm: mod._train_lm_seeds(arm, **cfg, seed=0, n_seeds=3))
        print(f"   {arm:11s} separate {sep:6.2f}   batched {bat:6.2f}   ratio {sep / bat:.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--han-steps", type=int, default=150)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    bench_shc(a.steps)
    bench_han(a.han_steps)


if __name__ == "__main__":
    main()
