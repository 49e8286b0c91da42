"""Restoration through a TopK SAE: planted sparse code, exact SAE construction (RR = 0 and
RR = 1 by construction), expert selection, rotation pretraining, bad inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.models import MLP, Recipe  # noqa: E402
from theorylab.unlearning.restoration import (  # noqa: E402
    TopKSAE,
    expert_latents,
    layer_activations,
    restoration_curve,
    restoration_rate,
    restore_logits,
    rotation_pretrain,
    train_sae,
    with_new_head,
)


def _planted(n=3000, d=32, L=32, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(d, L, generator=g)
    D = D / D.norm(dim=0, keepdim=True)
    Z = torch.zeros(n, L)
    idx = torch.stack([torch.randperm(L, generator=g)[:k] for _ in range(n)])
    Z.scatter_(1, idx, 0.5 + torch.rand(n, k, generator=g))
    return Z @ D.T + 0.3, D


def test_topk_code_has_k_nonnegative_entries():
    sae = TopKSAE(6, 10, 3, generator=torch.Generator().manual_seed(0))
    z = sae.encode(torch.randn(20, 6, generator=torch.Generator().manual_seed(1)))
    assert torch.all(z >= 0)
    assert torch.all((z > 0).sum(1) <= 3)
    # the k kept entries are the k largest pre-activations
    a = sae.pre_activations(torch.zeros(1, 6) + 1.0)
    kept = sae.encode(torch.zeros(1, 6) + 1.0)
    assert torch.equal(torch.sort(kept[0]).values[-3:], torch.sort(a[0]).values[-3:])


def test_sae_reconstructs_a_planted_sparse_code():
    H, D = _planted()
    g = torch.Generator().manual_seed(2)
    sae = train_sae(H, n_latents=32, k=2, epochs=30, lr=3e-3, batch_size=64, generator=g)
    with torch.no_grad():
        fvu = float(((sae(H) - H) ** 2).sum() / ((H - H.mean(0)) ** 2).sum())
        cos = (sae.W_dec.T @ D).abs().max(0).values  # best learned atom per planted atom
    # measured (seed 2): FVU 0.04, median best cosine 0.9995
    assert fvu < 0.1
    assert float(cos.median()) > 0.95
    assert torch.allclose(sae.W_dec.norm(dim=0), torch.ones(32), atol=1e-5)
    # an untrained SAE of the same shape does not reconstruct: the test can fail
    raw = TopKSAE(32, 32, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        raw.b_pre.copy_(H.mean(0))
        assert float(((raw(H) - H) ** 2).sum() / ((H - H.mean(0)) ** 2).sum()) > 0.3


def test_train_sae_deterministic():
    H, _ = _planted(n=400)
    a = train_sae(H, n_latents=32, k=2, epochs=3, generator=torch.Generator().manual_seed(4))
    b = train_sae(H, n_latents=32, k=2, epochs=3, generator=torch.Generator().manual_seed(4))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def _exact_sae(d):
    """Lossless SAE: z = [ReLU(h); ReLU(−h)], Dec(z) = z₊ − z₋ = h (k = 2d keeps all)."""
    sae = TopKSAE(d, 2 * d, 2 * d)
    eye = torch.eye(d)
    with torch.no_grad():
        sae.W_enc.copy_(torch.cat([eye, -eye]))
        sae.W_dec.copy_(torch.cat([eye, -eye], dim=1))
        sae.b_enc.zero_()
        sae.b_pre.zero_()
    return sae


def _pair():
    g = torch.Generator().manual_seed(0)
    orig = MLP(5, 3, (8, 6))
    unl = MLP(5, 3, (8, 6))
    with torch.no_grad():
        for p, q in zip(orig.parameters(), unl.parameters(), strict=True):
            p.copy_(torch.randn(p.shape, generator=g))
            q.copy_(torch.randn(q.shape, generator=g))
    return orig, unl, torch.randn(200, 5, generator=g)


def sae_for(model):
    return _exact_sae(model.net[0].out_features)


def test_exact_sae_alpha0_is_the_unlearned_model_and_full_injection_the_original():
    orig, unl, X = _pair()
    sae = sae_for(orig)
    with torch.no_grad():
        h = layer_activations(unl, X, layer="net.1")
        assert torch.allclose(sae(h), h, atol=1e-6)  # lossless by construction
        out0 = restore_logits(unl, orig, sae, X, layer="net.1", latents=range(16), alpha=0.0)
        assert torch.allclose(out0, unl(X), atol=1e-5)
        # θ_u = θ_o except the first layer: injecting all latents at α = 1 restores θ_o
        for i in (2, 4):
            unl.net[i].load_state_dict(orig.net[i].state_dict())
        assert not torch.allclose(unl(X), orig(X), atol=1e-2)
        out1 = restore_logits(unl, orig, sae, X, layer="net.1", latents=range(16), alpha=1.0)
        assert torch.allclose(out1, orig(X), atol=1e-5)
        # α = 0.5 on every latent: exactly halfway in the layer's activations
        half = restore_logits(unl, orig, sae, X, layer="net.1", latents=range(16), alpha=0.5)
        h_mid = 0.5 * (layer_activations(unl, X, layer="net.1")
                       + layer_activations(orig, X, layer="net.1"))
        assert torch.allclose(half, orig.net[2:](h_mid), atol=1e-5)


def test_restoration_rate_zero_and_one_by_construction():
    orig, unl, X = _pair()
    y = orig(X).argmax(1).numpy()  # θ_o is right on every point by definition
    sae = sae_for(orig)
    c = restoration_curve(unl, orig, sae, X, y, layer="net.1", latents=np.arange(16),
                          alphas=(0.0, 1.0))
    assert float(c["acc_original"]) == 1.0 and float(c["acc_unlearned"]) < 0.9
    assert c["rr"][0] == pytest.approx(0.0, abs=1e-12)  # reconstruction only: nothing back
    # α = 1 on all latents replaces layer net.1 by θ_o's; the rest of θ_u still differs, so
    # RR = 1 needs θ_u's later layers to be θ_o's too
    unl.net[2].load_state_dict(orig.net[2].state_dict())
    unl.net[4].load_state_dict(orig.net[4].state_dict())
    c = restoration_curve(unl, orig, sae, X, y, layer="net.1", latents=np.arange(16),
                          alphas=(0.0, 1.0))
    assert c["rr"][0] == pytest.approx(0.0, abs=1e-12)
    assert c["rr"][1] == pytest.approx(1.0, abs=1e-12)
    # no latents: nothing can come back at any α
    c = restoration_curve(unl, orig, sae, X, y, layer="net.1", latents=[], alphas=(5.0,))
    assert c["rr"][0] == pytest.approx(0.0, abs=1e-12)


def test_restoration_rate_closed_form_and_errors():
    assert restoration_rate(0.6, 0.2, 1.0) == pytest.approx(0.5)
    assert restoration_rate(0.2, 0.2, 0.9) == 0.0
    assert restoration_rate(0.9, 0.2, 0.9) == 1.0
    with pytest.raises(ValueError, match="acc_original must differ from acc_unlearned"):
        restoration_rate(0.5, 0.3, 0.3)
    with pytest.raises(ValueError, match="acc_restored must be <= 1"):
        restoration_rate(1.5, 0.0, 1.0)


def test_expert_latents_find_the_class_specific_latent():
    sae = _exact_sae(4)
    g = torch.Generator().manual_seed(0)
    H = torch.rand(300, 4, generator=g) * 0.1
    y = np.repeat(np.arange(3), 100)
    H[y == 1, 2] += 2.0  # class 1 lights up unit 2, i.e. latent 2 of [h₊; h₋]
    assert expert_latents(sae, H, y, cls=1, n_experts=1).tolist() == [2]
    with pytest.raises(ValueError, match="cls must be a class present"):
        expert_latents(sae, H, y, cls=7)
    with pytest.raises(ValueError, match=r"y must have shape \(300,\)"):
        expert_latents(sae, H, y[:10], cls=1)
    with pytest.raises(ValueError, match="n_experts must be <= 8"):
        expert_latents(sae, H, y, cls=1, n_experts=9)


def test_rotation_pretrain_and_new_head():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X = torch.as_tensor(d.X_train[:400])
    rec = Recipe(hidden=(32, 32), epochs=8, lr=3e-3)
    g = lambda k: torch.Generator().manual_seed(k)
    pre = rotation_pretrain(X, image_shape=(1, 8, 8), recipe=rec, init_generator=g(0),
                            order_generator=g(1))
    Xr = torch.cat([torch.rot90(X.reshape(-1, 1, 8, 8), r, dims=(2, 3)).reshape(400, -1)
                    for r in range(4)])
    yr = torch.arange(4).repeat_interleave(400)
    with torch.no_grad():
        assert float((pre(Xr).argmax(1) == yr).float().mean()) > 0.8  # chance is 0.25
    m = with_new_head(pre, 10, generator=g(2))
    assert m.net[-1].out_features == 10
    for a, b in zip(list(pre.parameters())[:-2], list(m.parameters())[:-2], strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="recipe.arch must be 'mlp'"):
        rotation_pretrain(X, image_shape=(1, 8, 8), recipe=Recipe(arch="cnn"),
                          init_generator=g(0), order_generator=g(1))
    with pytest.raises(ValueError, match="image_shape must be square"):
        rotation_pretrain(X[:, :48], image_shape=(1, 6, 8), recipe=rec, init_generator=g(0),
                          order_generator=g(1))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: TopKSAE(4, 8, 9), ValueError, "k must be <= 8"),
    (lambda: train_sae(torch.zeros(5), n_latents=4, k=2, generator=torch.Generator()),
     ValueError, "H must be a 2-dimensional tensor"),
    (lambda: train_sae(torch.zeros(5, 3), n_latents=4, k=2, generator=0), TypeError,
     "generator must be a torch.Generator"),
    (lambda: restore_logits(MLP(5, 3, (8, 6)), MLP(5, 3, (8, 6)), _exact_sae(8),
                            torch.zeros(2, 5), layer="net.9", latents=[0], alpha=1.0),
     ValueError, "layer must name a submodule"),
    (lambda: restore_logits(MLP(5, 3, (8, 6)), MLP(5, 3, (8, 6)), _exact_sae(8),
                            torch.zeros(2, 5), layer="net.1", latents=[99], alpha=1.0),
     ValueError, r"latents must be indices in \[0, 15\]"),
    (lambda: restore_logits(MLP(5, 3, (8, 6)), MLP(5, 3, (8, 6)), _exact_sae(8),
                            torch.zeros(2, 5), layer="net.3", latents=[0], alpha=1.0),
     ValueError, "must have 8 units"),
    (lambda: restore_logits(MLP(5, 3, (8, 6)), MLP(5, 3, (8, 6)), _exact_sae(8),
                            torch.zeros(2, 5), layer="net.1", latents=[0], alpha=-1.0),
     ValueError, "alpha must be >= 0"),
    (lambda: with_new_head(torch.nn.Linear(3, 3), 2, generator=torch.Generator()), TypeError,
     "backbone must be an MLP"),
])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
