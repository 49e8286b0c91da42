"""The NPO synthetic claim's batched unlearning (draws stacked, one backward pass) against
``rf_unlearn`` run once per draw: every method's curves, the claim's trial function against
its one-draw twin, and bad inputs."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("torch")

from theorylab.claims import load_claim  # noqa: E402
from theorylab.unlearning.llm.synthetic_rf import (  # noqa: E402
    RF_METHODS,
    make_rf_problem,
    rf_unlearn,
)

SMALL = dict(K=2, d=8, N=32, n_r=120, n_f=30, n_eval=100, pretrain_lr=0.05,
             pretrain_steps=300, pretrain="gd")



@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("method", RF_METHODS)
def test_batched_unlearning_equals_rf_unlearn_per_draw(method, K):
    v = load_claim("zhang2024_npo_synthetic_collapse")
    ps = [make_rf_problem(alpha=a, rng=np.random.default_rng(s), **dict(SMALL, K=K))
          for s, a in ((1, 1.0), (2, 0.0), (3, 1.0))]
    beta = 0.5 if method.startswith(("npo", "dpo")) else None
    got = v._rf_unlearn_seeds(ps, method, lr=0.05, beta=beta, steps=60, eval_every=25,
                              retain_weight=0.7)
    for p, g in zip(ps, got, strict=True):
        ref = rf_unlearn(p, method, lr=0.05, beta=beta, steps=60, eval_every=25,
                         retain_weight=0.7)
        np.testing.assert_array_equal(g["steps"], ref.steps)  # 0, 25, 50, 60
        np.testing.assert_allclose(g["forget_quality"], ref.forget_quality, rtol=1e-10,
                                   atol=1e-15)
        np.testing.assert_allclose(g["retain_quality"], ref.retain_quality, rtol=1e-10,
                                   atol=1e-15)
        assert g["forget_quality"][-1] != g["forget_quality"][0]  # it did move


def test_claim_trials_equal_the_one_draw_twin():
    v = load_claim("zhang2024_npo_synthetic_collapse")
    kw = dict(alpha=1.0, rates=("active", "config"), methods=("ga", "npo", "dpo_rt"),
              steps=40, eval_every=25, problem=SMALL, device="cpu")
    got = v._trials(**kw, seed=2, n_seeds=2)
    for k, g in enumerate(got):
        ref = v._reference_trial(**kw, seed=3000 + k)
        assert g.keys() == ref.keys()
        for key in g:
            np.testing.assert_allclose(g[key], ref[key], rtol=1e-10, atol=1e-15, err_msg=key)


def test_bad_inputs():
    v = load_claim("zhang2024_npo_synthetic_collapse")
    ps = [make_rf_problem(alpha=1.0, rng=np.random.default_rng(0), **SMALL)]
    with pytest.raises(ValueError, match="method must be one of"):
        v._rf_unlearn_seeds(ps, "sgd", lr=0.1, beta=None, steps=2, eval_every=1)
    with pytest.raises(ValueError, match="beta must be given for method 'npo', got None"):
        v._rf_unlearn_seeds(ps, "npo", lr=0.1, beta=None, steps=2, eval_every=1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got inf"):
        v._rf_unlearn_seeds(ps, "ga", lr=float("inf"), beta=None, steps=2, eval_every=1)
    bad = [dataclasses.replace(ps[0], a_original=np.full_like(ps[0].a_original, np.inf))]
    with pytest.raises(FloatingPointError, match="'ga': a non-finite loss by step 1"):
        v._rf_unlearn_seeds(bad, "ga", lr=0.1, beta=None, steps=3, eval_every=1)
