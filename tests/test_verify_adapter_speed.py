"""Fast paths of the Monarch and RandLoRA claim scripts (and the stacked MLP pretraining)
against the slow twins they replace (the old code paths, kept in the scripts)."""


import pytest

torch = pytest.importorskip("torch")

def _load(name):
    """The verify script of claim ``name``, loaded as the harness loads it."""
    from theorylab.claims import load_claim

    return load_claim(name)


def test_monarch_dense_by_multiply_equals_reference():
    from theorylab.nn.monarch import monarch_dense

    mod = _load("dao2022_monarch_projection")
    g = torch.Generator().manual_seed(0)
    for m in (4, 8):
        b1 = torch.randn(m, m, m, generator=g, dtype=torch.float64)
        b2 = torch.randn(m, m, m, generator=g, dtype=torch.float64)
        ref = monarch_dense(b1, b2, m * m, m * m)
        assert float((mod._dense(b1, b2, m * m) - ref).abs().max()) < 1e-13 * float(
            ref.abs().max())


@pytest.mark.parametrize("n", [64, 256])
def test_monarch_projection_errors_equal_reference(n):
    mod = _load("dao2022_monarch_projection")
    for seed in (0, 1):
        new = mod._projection_errors(n, "cpu", seed)
        ref = mod._reference_projection_errors(n, "cpu", seed)
        assert new.keys() == ref.keys()
        for key, v in ref.items():
            if key.endswith("/monarch") and key != "gaussian/monarch" or key == "idempotence":
                # rounding-level (~1e-16) quantities: both must stay at rounding level
                assert new[key] < 1e-13 and v < 1e-13, key
            else:
                assert abs(new[key] - v) < 1e-12, key


def test_monarch_kronecker_targets_equal_dense_targets():
    mod = _load("dao2022_monarch_projection")
    for kind in ("monarch", "lowrank"):
        a = mod._fit_kronecker(kind, 64, 30, 3, batch=32, kron_targets=False)
        b = mod._fit_kronecker(kind, 64, 30, 3, batch=32)
        assert a["n_params"] == b["n_params"]
        assert a["svd_floor"] == b["svd_floor"]
        assert abs(a["err"] - b["err"]) < 1e-5 * a["err"], kind


@pytest.mark.parametrize("kind,rank", [("randlora", 4), ("lora", 3)])
def test_randlora_batched_fits_equal_separate_fits(kind, rank):
    mod = _load("albert2025_randlora_full_rank")
    targets, n_seeds, d, steps = ["orthogonal", "powerlaw"], 2, 16, 60
    new = mod._fit_group(kind, rank, d, steps, targets, n_seeds, "cpu", 1)
    ref = [mod._reference_fit(kind, rank, d, steps, t, "cpu", 1000 + k)
           for t in targets for k in range(n_seeds)]
    assert len(new) == len(ref) == 4
    for a, b in zip(new, ref, strict=True):
        assert a["params"] == b["params"] and a["rank"] == b["rank"]
        assert a["rank_1e-3"] == b["rank_1e-3"]
        assert abs(a["err"] - b["err"]) < 1e-5
        assert abs(a["sv_ratio"] - b["sv_ratio"]) < 1e-4
        if kind == "lora":
            assert a["optimum"] == b["optimum"]


@pytest.mark.parametrize("kind,rank", [("randlora", 8), ("lora", 2), ("full", 0)])
def test_randlora_batched_digits_equal_separate_runs(kind, rank):
    from torch import nn

    from theorylab.nn.data import load_digits_tensors

    mod = _load("albert2025_randlora_full_rank")
    for sd in (2000, 2001):  # untrained stand-ins for the 1500-step pretraining (speed)
        g = torch.Generator().manual_seed(sd)
        net = nn.Sequential(nn.Linear(64, 80), nn.ReLU(), nn.Linear(80, 80), nn.ReLU(),
                            nn.Linear(80, 10))
        with torch.no_grad():
            for p in net.parameters():
                p.uniform_(-0.3, 0.3, generator=g)
        mod._PRETRAINED[sd] = (net, load_digits_tensors(rng=sd))
    new = mod._digits_group(kind, rank, 40, 2, "cpu", 2)
    ref = [mod._digits(kind, rank, 40, "cpu", sd) for sd in (2000, 2001)]
    for a, b in zip(new, ref, strict=True):
        assert a == b


def _mlp(sizes, seed):
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    mods = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        mods += [nn.Linear(a, b), nn.ReLU()]
    net = nn.Sequential(*mods[:-1])
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.2, 0.2, generator=g)
    return net, g


@pytest.mark.parametrize("sizes", [(64, 256, 256, 10), (12, 20, 3)])
def test_pretrain_stacked_equals_separate_loops_bitwise(sizes):
    import copy

    from torch import nn

    from theorylab.nn.stacked_mlp import pretrain_stacked

    seeds = (0, 1, 2)
    data = []
    for s in seeds:
        g = torch.Generator().manual_seed(100 + s)
        n = 150 + 10 * s  # members with different data sizes
        data.append((torch.rand(n, sizes[0], generator=g),
                     torch.randint(0, sizes[-1], (n,), generator=g)))
    ref = []
    for s, (X, y) in zip(seeds, data, strict=True):
        net, g = _mlp(sizes, s)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        for _ in range(25):
            i = torch.randint(0, len(X), (64,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(net(X[i]), y[i]).backward()
            opt.step()
        ref.append(net)
    built = [_mlp(sizes, s) for s in seeds]
    nets = [copy.deepcopy(n) for n, _ in built]
    pretrain_stacked(nets, data, [g for _, g in built], steps=25, lr=3e-3, batch=64)
    for a, b in zip(nets, ref, strict=True):
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q)


def test_pretrain_stacked_rejects_bad_input():
    from torch import nn

    from theorylab.nn.stacked_mlp import pretrain_stacked

    net, g = _mlp((4, 5, 3), 0)
    X, y = torch.rand(10, 4), torch.randint(0, 3, (10,))
    with pytest.raises(ValueError, match="same non-zero length"):
        pretrain_stacked([net], [(X, y)] * 2, [g], steps=1, lr=1e-3, batch=4)
    with pytest.raises(ValueError, match="steps must be"):
        pretrain_stacked([net], [(X, y)], [g], steps=0, lr=1e-3, batch=4)
    with pytest.raises(TypeError, match="Sequential"):
        pretrain_stacked([nn.Linear(4, 3)], [(X, y)], [g], steps=1, lr=1e-3, batch=4)
    other, _ = _mlp((4, 6, 3), 1)
    with pytest.raises(ValueError, match="same layer shapes"):
        pretrain_stacked([net, other], [(X, y)] * 2, [g, g], steps=1, lr=1e-3, batch=4)


def test_randlora_stacked_digits_pretraining_equals_train_steps_loop(monkeypatch):
    mod = _load("albert2025_randlora_full_rank")
    monkeypatch.setattr(mod, "DIGITS_PRETRAIN", 30)
    seeds = [7, 8]
    ref = [mod._pretrained_digits(s)[0] for s in seeds]
    mod._PRETRAINED.clear()
    mod._pretrain_digits_seeds(seeds)
    for s, r in zip(seeds, ref, strict=True):
        net = mod._PRETRAINED[s][0]
        for p, q in zip(net.parameters(), r.parameters(), strict=True):
            assert torch.equal(p, q)
