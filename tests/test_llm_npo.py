"""NPO and the other LM unlearning losses: closed forms, the small-β limit, the adaptive weight,
gradcheck, bad inputs."""

import math

import pytest
import torch

from theorylab.unlearning.llm.losses import (
    dpo_loss,
    ga_loss,
    grad_diff_loss,
    idk_loss,
    kl_retain_loss,
    npo_loss,
    npo_weight,
)


def _logps(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    logp = -5.0 * torch.rand(n, generator=g, dtype=torch.float64) - 0.1
    logp_ref = -5.0 * torch.rand(n, generator=g, dtype=torch.float64) - 0.1
    return logp, logp_ref


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 5.0])
def test_npo_two_closed_forms_agree(beta):
    logp, logp_ref = _logps()
    r = torch.exp(logp - logp_ref)  # π_θ / π_ref
    form_ratio = (2 / beta) * torch.log1p(r ** beta).mean()
    form_sigmoid = -(2 / beta) * torch.log(torch.sigmoid(-beta * torch.log(r))).mean()
    got = npo_loss(logp, logp_ref, beta)
    torch.testing.assert_close(got, form_ratio, rtol=1e-12, atol=0)
    torch.testing.assert_close(got, form_sigmoid, rtol=1e-12, atol=0)


def test_npo_hand_value():
    # one sample with π_θ = π_ref: (2/β) log 2
    z = torch.zeros(1, dtype=torch.float64)
    assert float(npo_loss(z, z, 0.5)) == pytest.approx(4 * math.log(2), rel=1e-14)


def test_npo_small_beta_gradient_is_ga_gradient():
    logp, logp_ref = _logps(n=5, seed=1)
    x = logp.clone().requires_grad_(True)
    (g_ga,) = torch.autograd.grad(ga_loss(x), x)
    errs = []
    for beta in (1e-1, 1e-2, 1e-3, 1e-4):
        (g_npo,) = torch.autograd.grad(npo_loss(x, logp_ref, beta), x)
        errs.append(float((g_npo - g_ga).abs().max()))
    # w = 2σ(β Δ) = 1 + βΔ/2 + O(β³): the gap shrinks linearly in β
    assert errs[-1] < 1e-3 * float(g_ga.abs().max())
    for a, b in zip(errs, errs[1:], strict=False):
        assert b < a / 5
    # and the loss itself tends to 2 log 2 / β + mean log(π/π_ref)
    beta = 1e-5
    lim = 2 * math.log(2) / beta + float((logp - logp_ref).mean())
    assert float(npo_loss(logp, logp_ref, beta)) == pytest.approx(lim, abs=1e-4)


def test_npo_gradient_is_weight_times_ga_gradient():
    logp, logp_ref = _logps(n=6, seed=2)
    x = logp.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(npo_loss(x, logp_ref, 0.7), x)
    w = npo_weight(logp, logp_ref, 0.7)
    torch.testing.assert_close(g, w / logp.numel(), rtol=1e-12, atol=0)
    # the explicit ratio form of the weight
    pb, prb = torch.exp(0.7 * logp), torch.exp(0.7 * logp_ref)
    torch.testing.assert_close(w, 2 * pb / (pb + prb), rtol=1e-12, atol=0)


def test_npo_weight_range_and_vanishing():
    logp_ref = torch.full((5,), -2.0, dtype=torch.float64)
    logp = torch.tensor([-500.0, -50.0, -2.0, 0.0, 20.0], dtype=torch.float64)
    w = npo_weight(logp, logp_ref, 1.0)
    assert torch.all(w > 0) and torch.all(w < 2)
    assert float(w[2]) == pytest.approx(1.0)
    assert float(w[0]) < 1e-200  # → 0 as log π_θ → −∞
    assert torch.all(torch.diff(w) > 0)  # increasing in log π_θ
    w_small = npo_weight(torch.tensor([-40.0, -20.0, -10.0], dtype=torch.float64),
                         torch.zeros(3, dtype=torch.float64), 0.5)
    assert torch.all(torch.diff(w_small) > 0) and float(w_small[0]) < 1e-8


def test_npo_gradcheck_float64():
    logp, logp_ref = _logps(n=4, seed=3)
    x = logp.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: npo_loss(t, logp_ref, 0.3), (x,))
    assert torch.autograd.gradgradcheck(lambda t: npo_loss(t, logp_ref, 0.3), (x,))


def test_dpo_is_npo_without_preferred_term_and_hand_value():
    logp, logp_ref = _logps(n=5, seed=4)
    same = torch.zeros(5, dtype=torch.float64)
    # preferred term held at its reference value: DPO reduces to NPO
    torch.testing.assert_close(dpo_loss(same, logp, same, logp_ref, 0.2),
                               npo_loss(logp, logp_ref, 0.2), rtol=1e-12, atol=0)
    z = torch.zeros(1, dtype=torch.float64)
    assert float(dpo_loss(z, z, z, z, 0.1)) == pytest.approx(20 * math.log(2), rel=1e-12)


def test_ga_grad_diff_idk_values():
    f = torch.tensor([-1.0, -3.0], dtype=torch.float64)
    r = torch.tensor([-2.0, -4.0, -6.0], dtype=torch.float64)
    assert float(ga_loss(f)) == -2.0
    assert float(grad_diff_loss(f, r, retain_weight=0.5)) == -2.0 + 0.5 * 4.0
    assert float(idk_loss(f)) == 2.0
    assert float(idk_loss(f, r, retain_weight=2.0)) == 2.0 + 8.0


def test_kl_retain_loss_hand_value_and_zero_at_reference():
    logits = torch.tensor([[[0.0, 0.0], [1.0, -1.0]]], dtype=torch.float64)
    ref = torch.tensor([[[math.log(3.0), 0.0], [1.0, -1.0]]], dtype=torch.float64)
    # position 0: KL((3/4, 1/4) ‖ (1/2, 1/2)); position 1: 0
    kl0 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert float(kl_retain_loss(logits, ref)) == pytest.approx(kl0 / 2, rel=1e-12)
    mask = torch.tensor([[True, False]])
    assert float(kl_retain_loss(logits, ref, mask)) == pytest.approx(kl0, rel=1e-12)
    assert float(kl_retain_loss(ref, ref)) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_beta(beta):
    logp, logp_ref = _logps(n=3)
    with pytest.raises(ValueError, match=r"beta must be a finite number > 0, got"):
        npo_loss(logp, logp_ref, beta)
    with pytest.raises(ValueError, match=r"beta must be"):
        npo_weight(logp, logp_ref, beta)
    with pytest.raises(ValueError, match=r"beta must be"):
        dpo_loss(logp, logp, logp_ref, logp_ref, beta)


def test_bad_inputs():
    logp, logp_ref = _logps(n=3)
    with pytest.raises(TypeError, match="beta must be a real number"):
        npo_loss(logp, logp_ref, "0.1")
    with pytest.raises(ValueError, match=r"logp_ref must have shape \(3,\)"):
        npo_loss(logp, logp_ref[:2], 0.1)
    with pytest.raises(ValueError, match=r"logp must have shape \(n,\) with n >= 1, got \(0,\)"):
        ga_loss(torch.zeros(0))
    with pytest.raises(TypeError, match="logp must be a torch.Tensor"):
        ga_loss([0.0, 1.0])
    with pytest.raises(ValueError, match="retain_weight must be a finite number >= 0"):
        grad_diff_loss(logp, logp, retain_weight=-1.0)
    with pytest.raises(ValueError, match="mask must select at least one position"):
        kl_retain_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3),
                       torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="ref_logits must have the shape of logits"):
        kl_retain_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))


# --------------------------------------------------------------------------- synthetic problem

def _small_problem(alpha=1.0, seed=0, steps=3000, pretrain="gd", K=2):
    from theorylab.unlearning.llm.synthetic_rf import make_rf_problem

    return make_rf_problem(alpha=alpha, K=K, d=6, N=24, n_r=150, n_f=40, n_eval=200,
                           pretrain_steps=steps, pretrain=pretrain, rng=seed)


def test_rf_npo_and_dpo_gradients_match_closed_forms():
    import numpy as np

    from theorylab.unlearning.llm.synthetic_rf import _log_probs, rf_loss

    p = _small_problem(steps=50)
    Z_f = torch.as_tensor(p.features(p.X_f))
    a0 = torch.as_tensor(p.a_original)
    a = (a0 + 0.3 * torch.randn(a0.shape, generator=torch.Generator().manual_seed(0),
                                dtype=torch.float64)).requires_grad_(True)
    data = {"Z_f": Z_f, "y_f": torch.as_tensor(p.y_f), "y_idk": torch.as_tensor(p.y_idk),
            "ref_lp_f": _log_probs(Z_f, a0)}
    beta = 0.7
    (g,) = torch.autograd.grad(rf_loss("npo", a, data, beta=beta), a)
    # hand gradient: mean_i w_i z_i (e_{y_i} − p_i)[:K−1], w_i = 2σ(β(log p − log p_ref))
    Z, K = Z_f.numpy(), p.K
    L = np.concatenate([Z @ a.detach().numpy(), np.zeros((Z.shape[0], 1))], 1)
    P = np.exp(L - L.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    L0 = np.concatenate([Z @ p.a_original, np.zeros((Z.shape[0], 1))], 1)
    P0 = np.exp(L0 - L0.max(1, keepdims=True))
    P0 /= P0.sum(1, keepdims=True)
    rows = np.arange(Z.shape[0])
    delta = np.log(P[rows, p.y_f]) - np.log(P0[rows, p.y_f])
    w = 2 / (1 + np.exp(-beta * delta))
    E = np.eye(K)[p.y_f] - P
    g_hand = (Z * w[:, None]).T @ E[:, :K - 1] / Z.shape[0]
    np.testing.assert_allclose(g.numpy(), g_hand, rtol=1e-10, atol=1e-13)
    # DPO: −2 mean σ(−u) (∇ log p_idk − ∇ log p_f), u = β(Δ_idk − Δ_f)
    (gd,) = torch.autograd.grad(rf_loss("dpo", a, data, beta=beta), a)
    d_idk = np.log(P[rows, p.y_idk]) - np.log(P0[rows, p.y_idk])
    s = 1 / (1 + np.exp(beta * (d_idk - delta)))
    E_idk = np.eye(K)[p.y_idk] - P
    gd_hand = -2 * (Z * s[:, None]).T @ (E_idk - E)[:, :K - 1] / Z.shape[0]
    np.testing.assert_allclose(gd.numpy(), gd_hand, rtol=1e-10, atol=1e-13)


def test_rf_problem_labels_pretraining_and_determinism():
    import numpy as np

    p = _small_problem(seed=3)
    q = _small_problem(seed=3)
    np.testing.assert_array_equal(p.a_original, q.a_original)
    np.testing.assert_array_equal(p.X_eval_f, q.X_eval_f)
    # retain labels mostly class 0, forget labels mostly class K−1 (P ≈ E σ(1 + N(0, 1)) ≈ 0.7)
    assert 0.55 < np.mean(p.y_r == 0) < 0.85 and 0.55 < np.mean(p.y_f == p.K - 1) < 0.85
    # GD pretraining heads for the minimiser that Newton's method finds (convex loss)
    n = _small_problem(seed=3, pretrain="newton")
    np.testing.assert_array_equal(p.X_r, n.X_r)
    assert n.pretrain_grad_norm["retain"] < 1e-9 and n.pretrain_grad_norm["original"] < 1e-9
    from theorylab.unlearning.llm.synthetic_rf import _softmax_pinned

    Z, y = p.features(np.vstack([p.X_r, p.X_f])), np.concatenate([p.y_r, p.y_f])
    ce = lambda a: -np.mean(np.log(_softmax_pinned(Z, a)[np.arange(y.size), y]))  # noqa: E731
    gap_300 = ce(_small_problem(seed=3, steps=300).a_original) - ce(n.a_original)
    gap_3000 = ce(p.a_original) - ce(n.a_original)
    assert -1e-12 < gap_3000 < 0.5 * gap_300
    # Newton's minimiser for K = 3 as well: gradient zero to 1e-9
    p3 = _small_problem(seed=4, pretrain="newton", K=3)
    assert p3.a_original.shape == (24, 2) and p3.pretrain_grad_norm["original"] < 1e-9


def test_rf_ga_diverges_and_npo_weight_slows_it():
    import numpy as np

    from theorylab.unlearning.llm.synthetic_rf import rf_unlearn

    p = _small_problem(seed=1, pretrain="newton")
    ga = rf_unlearn(p, "ga", lr=0.05, steps=1000, eval_every=50)
    npo = rf_unlearn(p, "npo", lr=0.05, beta=1.0, steps=1000, eval_every=50)
    assert ga.steps[0] == 0 and ga.steps[-1] == 1000 and len(ga.steps) == 21
    # GA passes its best forget quality and collapses; NPO ends far below GA
    assert ga.forget_quality.argmin() < len(ga.steps) - 1
    assert ga.forget_quality[-1] > 2 * ga.forget_quality.min()
    assert npo.forget_quality[-1] < 0.5 * ga.forget_quality[-1]
    # GA's output layer runs away (constant push); NPO's weight w → 0 stops it
    assert np.linalg.norm(ga.a - p.a_original) > 5 * np.linalg.norm(npo.a - p.a_original)


def test_rf_bad_inputs():
    from theorylab.unlearning.llm.synthetic_rf import make_rf_problem, rf_unlearn

    p = _small_problem(steps=10)
    with pytest.raises(ValueError, match=r"method must be one of \[.*\], got 'sga'"):
        rf_unlearn(p, "sga", lr=1e-3)
    with pytest.raises(ValueError, match="beta must be given for method 'npo', got None"):
        rf_unlearn(p, "npo", lr=1e-3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got 0"):
        rf_unlearn(p, "ga", lr=0)
    with pytest.raises(ValueError, match="beta must be a finite number > 0, got -1"):
        rf_unlearn(p, "npo", lr=1e-3, beta=-1, steps=1)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0, got -1"):
        make_rf_problem(alpha=-1)
    with pytest.raises(ValueError, match="K must be an integer >= 2, got 1"):
        make_rf_problem(K=1)
    with pytest.raises(ValueError, match="pretrain must be 'gd' or 'newton', got 'adam'"):
        make_rf_problem(pretrain="adam")
