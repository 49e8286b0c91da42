"""Fast paths of the LoRA/SVD/GaLore claims' scripts against the library calls they replace."""


import torch


def _load(name):
    """The verify script of claim ``name``, loaded as the harness loads it."""
    from theorylab.claims import load_claim

    return load_claim(name)


def test_zhao_next_char_batch_equals_char_batches():
    from theorylab.nn.data import char_batches, char_corpus

    zhao = _load("zhao2024_sst_spectral")
    codes, _ = char_corpus(20_000)
    ctx = 16
    for seed in range(3):
        x, y = char_batches(codes, batch_size=64, block=ctx + 1,
                            generator=torch.Generator().manual_seed(seed))
        xf, yf = zhao._next_char_batch(torch.as_tensor(codes), ctx=ctx, batch_size=64,
                                       generator=torch.Generator().manual_seed(seed))
        assert torch.equal(xf, x[:, :ctx])
        assert torch.equal(yf, y[:, ctx - 1])


def test_modoranu_batched_seeds_equal_separate_runs():
    mod = _load("modoranu2025_dct_lowrank_training")
    seeds = [3, 4]
    for arm in ("full", "svd", "dct", "dct_gap1", "random"):
        ref = [mod._train(arm, 4, 32, 12, 5, "cpu", s) for s in seeds]
        new = mod._train_seeds(arm, 4, 32, 12, 5, "cpu", seeds)
        for a, b in zip(ref, new, strict=True):
            assert abs(a["train_loss"] - b["train_loss"]) < 1e-5, arm
            assert abs(a["test_acc"] - b["test_acc"]) < 1e-6, arm
            assert a["n_params"] == b["n_params"]


def test_batched_lowrank_adam_equals_lowrank_adam_per_member():
    from theorylab.nn.galore import LowRankAdam
    from theorylab.nn.lowrank_batched import BatchedLowRankAdam

    g = torch.Generator().manual_seed(0)
    M, shapes = 3, [(12, 7), (5, 9)]  # a tall and a wide (transposed) weight
    # float64: six nonlinear Adam steps through SVD/DCT/random projectors amplify float32
    # rounding (which differs between CPUs and between batched and single LAPACK calls) to
    # ~5e-5; in float64 the two paths agree to far below the tolerance
    targets = [torch.randn(M, *s, generator=g, dtype=torch.float64) for s in shapes]
    init = [torch.randn(M, *s, generator=g, dtype=torch.float64) for s in shapes]
    for kind, gap, rotate in (("svd", 2, False), ("dct", 1, True), ("random", 2, True)):
        stacked = [torch.nn.Parameter(w.clone()) for w in init]
        opt = BatchedLowRankAdam(stacked, lr=0.05, rank=3, projector=kind, update_gap=gap,
                                 rotate_states=rotate,
                                 generators=[torch.Generator().manual_seed(9 + i)
                                             for i in range(M)])
        for _ in range(6):
            opt.zero_grad()
            sum(((w - t) ** 3).abs().sum() for w, t in zip(stacked, targets,
                                                           strict=True)).backward()
            opt.step()
        for i in range(M):
            ws = [torch.nn.Parameter(w[i].clone()) for w in init]
            ref = LowRankAdam(ws, lr=0.05, rank=3, projector=kind, update_gap=gap,
                              rotate_states=rotate, generator=torch.Generator().manual_seed(9 + i))
            for _ in range(6):
                ref.zero_grad()
                sum(((w - t[i]) ** 3).abs().sum() for w, t in zip(ws, targets,
                                                                  strict=True)).backward()
                ref.step()
            for w, s in zip(ws, stacked, strict=True):
                torch.testing.assert_close(s[i].detach(), w.detach(), atol=1e-9, rtol=1e-9)
