"""LiRA / U-LiRA per-example membership scores: worked examples and an ensemble check."""

import numpy as np
import pytest
from scipy.stats import norm

from theorylab.unlearning.metrics import lira_roc, lira_scores, margins


def test_lira_score_worked_examples():
    # in-shadows {1, 3}: mu 2, sigma 1; out-shadows {-2, 0}: mu -1, sigma 1
    # Lambda(2) = -0.5 (2 - 2)^2 + 0.5 (2 + 1)^2 = 4.5
    assert lira_scores([2.0], [[1.0], [3.0]], [[-2.0], [0.0]])[0] == pytest.approx(4.5)
    # out-shadows {-3, 1}: mu -1, sigma 2 -> Lambda(2) = log 2 + (3 / 2)^2 / 2
    assert lira_scores([2.0], [[1.0], [3.0]], [[-3.0], [1.0]])[0] == pytest.approx(
        np.log(2) + 1.125, rel=1e-12)
    # several targets, several examples, against scipy directly
    rng = np.random.default_rng(0)
    s_in, s_out, t = rng.normal(1, 1, (6, 4)), rng.normal(-1, 2, (5, 4)), rng.normal(0, 1, (3, 4))
    ref = (norm.logpdf(t, s_in.mean(0), s_in.std(0))
           - norm.logpdf(t, s_out.mean(0), s_out.std(0)))
    np.testing.assert_allclose(lira_scores(t, s_in, s_out), ref, rtol=1e-12)
    med = lira_scores(t, s_in, s_out, location="median")
    np.testing.assert_allclose(med, norm.logpdf(t, np.median(s_in, 0), s_in.std(0))
                               - norm.logpdf(t, np.median(s_out, 0), s_out.std(0)), rtol=1e-12)


def test_lira_fixed_variance_by_hand():
    # residuals after removing the means: in {-1, 1}, out {-1, 1} -> pooled sigma 1
    lam = lira_scores([0.0], [[1.0], [3.0]], [[-3.0], [-1.0]], fix_variance=True)[0]
    assert lam == pytest.approx(-0.5 * 4 + 0.5 * 4)  # equidistant from mu_in 2, mu_out -2
    lam = lira_scores([1.0], [[1.0], [3.0]], [[-3.0], [-1.0]], fix_variance=True)[0]
    assert lam == pytest.approx(-0.5 * 1 + 0.5 * 9)


def test_lira_roc_worked_example():
    r = lira_roc([3, 2, 1, 0.5, 1.5, -1], [1, 1, 1, 0, 0, 0])
    # 8 of the 9 member/non-member pairs are ordered correctly (1 < 1.5 is the miss);
    # with no false positive allowed the best threshold keeps members 3 and 2
    assert r == {"AUC": pytest.approx(8 / 9), "TPR@1%": pytest.approx(2 / 3),
                 "TPR@0.1%": pytest.approx(2 / 3)}
    assert lira_roc([0, 1], [1, 0])["TPR@1%"] == 0.0


def test_lira_bad_inputs():
    with pytest.raises(ValueError, match="shadow_in must have shape \\(N, P\\) with N >= 2"):
        lira_scores([0.0], [[1.0]], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="must share P = 2 examples"):
        lira_scores([0.0], [[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="location must be"):
        lira_scores([0.0], [[1.0], [2.0]], [[0.0], [1.0]], location="mode")
    with pytest.raises(ValueError, match="must be finite"):
        lira_scores([np.nan], [[1.0], [2.0]], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="both members and non-members"):
        lira_roc([1.0, 2.0], [1, 1])


def test_lira_on_oracle_ensembles_detects_members_and_not_retrained_models():
    torch = pytest.importorskip("torch")
    from theorylab.unlearning.data import load_digits_split
    from theorylab.unlearning.models import Recipe, as_tensors
    from theorylab.unlearning.oracle import ensemble_seeds, retrain_oracles

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:300], d.y_train[:300])
    forget = np.random.default_rng(0).choice(300, 40, replace=False)
    retain = np.setdiff1d(np.arange(300), forget)
    r = Recipe(hidden=(32,), epochs=40, lr=3e-3)
    # 9 models with the forget points (8 in-shadows + 1 target), 10 without (8 + 2 targets)
    ens_in = retrain_oracles(r, X, y, np.arange(300), n_out=10, seeds=ensemble_seeds(9))
    ens_out = retrain_oracles(r, X, y, retain, n_out=10,
                              seeds=ensemble_seeds(10, base=1000))
    Xf, yf = X[torch.as_tensor(forget)], y.numpy()[forget]
    phi_in = margins(ens_in.logits(Xf).double().numpy(), yf)  # (9, 40)
    phi_out = margins(ens_out.logits(Xf).double().numpy(), yf)  # (10, 40)
    lam = lira_scores(np.stack([phi_in[8], phi_out[8], phi_out[9]]), phi_in[:8], phi_out[:8])
    lab = np.r_[np.ones(40), np.zeros(40)]
    member = lira_roc(np.r_[lam[0], lam[1]], lab)  # trained-with vs retrained-without
    null = lira_roc(np.r_[lam[2], lam[1]], lab)  # two retrained models: nothing to find
    assert member["AUC"] > 0.85
    assert abs(null["AUC"] - 0.5) < 0.2
