"""Bad inputs to the unlearning methods' public helpers: each is refused with an error that
names the parameter (the registered methods are checked through their configs and the
harness; these are the building blocks a researcher calls directly)."""

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from theorylab.unlearning import baselines, dmm, iau, influence, laf, modhifi, sparse, ssd  # noqa: E402
from theorylab.unlearning.methods import Subset  # noqa: E402


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _data(n=12):
    g = torch.Generator().manual_seed(1)
    return Subset(torch.rand(n, 4, generator=g), torch.arange(n) % 3)


def _named(exc_info, name):
    msg = str(exc_info.value)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", msg), msg


def _imp():
    m = _model()
    return m, ssd.importance(m, _data())


CASES = {
    # ssd
    "importance data not a Subset": (lambda: ssd.importance(_model(), torch.rand(3, 4)),
                                     TypeError, "data"),
    "importance empty data": (lambda: ssd.importance(_model(), _data(0)), ValueError, "data"),
    "ssd_dampen alpha <= 0": (lambda: ssd.ssd_dampen(*_imp(), _imp()[1], alpha=-1.0, lam=1.0),
                              ValueError, "alpha"),
    "ssd_dampen alpha NaN": (lambda: ssd.ssd_dampen(*_imp(), _imp()[1], alpha=float("nan"),
                                                    lam=1.0), ValueError, "alpha"),
    "ssd_dampen lam < 0": (lambda: ssd.ssd_dampen(*_imp(), _imp()[1], alpha=10.0, lam=-1.0),
                           ValueError, "lam"),
    "ssd_dampen missing entry": (lambda: ssd.ssd_dampen(_model(), {}, _imp()[1], alpha=10.0,
                                                        lam=1.0), ValueError, "imp_train"),
    "ssd_dampen wrong shape": (lambda: ssd.ssd_dampen(
        _model(), _imp()[1], {k: v[..., :1] for k, v in _imp()[1].items()}, alpha=10.0,
        lam=1.0), ValueError, "imp_forget"),
    # iau
    "gr_loss alpha < 0": (lambda: iau.gr_loss(_model(), _data().X, _data().y, alpha=-0.1),
                          ValueError, "alpha"),
    "gr_loss alpha NaN": (lambda: iau.gr_loss(_model(), _data().X, _data().y,
                                              alpha=float("nan")), ValueError, "alpha"),
    # baselines
    "saliency_mask sparsity > 1": (lambda: baselines.saliency_mask(_model(), _data(),
                                                                   sparsity=1.5),
                                   ValueError, "sparsity"),
    "saliency_mask batch_size 0": (lambda: baselines.saliency_mask(_model(), _data(),
                                                                   sparsity=0.5, batch_size=0),
                                   ValueError, "batch_size"),
    "saliency_mask empty forget": (lambda: baselines.saliency_mask(_model(), _data(0),
                                                                   sparsity=0.5),
                                   ValueError, "forget"),
    # dmm
    "matching_set negative multiplier": (lambda: dmm.matching_set(
        4, 10, forget_multiplier=-1.0, retain_multiplier=1.0, generator=torch.Generator()),
        ValueError, "forget_multiplier"),
    "matching_set no forget": (lambda: dmm.matching_set(
        0, 10, forget_multiplier=1.0, retain_multiplier=1.0, generator=torch.Generator()),
        ValueError, "n_forget"),
    # laf
    "train_vae latent 0": (lambda: laf.train_vae(torch.rand(5, 3), hidden=4, latent=0,
                                                 kl_weight=1.0, epochs=1, lr=1e-3,
                                                 batch_size=2, generator=torch.Generator()),
                           ValueError, "latent"),
    "train_vae lr 0": (lambda: laf.train_vae(torch.rand(5, 3), hidden=4, latent=2,
                                             kl_weight=1.0, epochs=1, lr=0.0, batch_size=2,
                                             generator=torch.Generator()), ValueError, "lr"),
    "train_vae empty E": (lambda: laf.train_vae(torch.rand(0, 3), hidden=4, latent=2,
                                                kl_weight=1.0, epochs=1, lr=1e-3,
                                                batch_size=2, generator=torch.Generator()),
                          ValueError, "E"),
    "ra_loss tau 0": (lambda: laf.ra_loss(*(torch.rand(3, 4) for _ in range(4)), tau=0.0),
                      ValueError, "tau"),
    # modhifi
    "invert_classes lr 0": (lambda: modhifi.invert_classes(
        _model(), [0], n_per_class=2, in_dim=4, steps=1, lr=0.0, tv=0.0, l2=0.0,
        generator=torch.Generator()), ValueError, "lr"),
    "invert_classes no classes": (lambda: modhifi.invert_classes(
        _model(), [], n_per_class=2, in_dim=4, steps=1, lr=0.1, tv=0.0, l2=0.0,
        generator=torch.Generator()), ValueError, "classes"),
    "gaussian_classes jitter < 0": (lambda: modhifi.gaussian_classes(
        _data(), [0], n_per_class=2, generator=torch.Generator(), jitter=-1.0),
        ValueError, "jitter"),
    "refit_consumers ridge < 0": (lambda: modhifi.refit_consumers(
        _model(), _model(), [[], []], _data().X, ridge=-1.0), ValueError, "ridge"),
    # influence (NumPy)
    "softmax_objective l2 < 0": (lambda: influence.softmax_objective(
        np.zeros((4, 3)), np.ones((5, 4)), np.zeros(5, int), l2=-1.0), ValueError, "l2"),
    "softmax_hvp l2 NaN": (lambda: influence.softmax_hvp(
        np.zeros((4, 3)), np.ones((5, 4)), np.ones((4, 3)), l2=float("nan")),
        ValueError, "l2"),
    "newton_removal_step forget out of range": (lambda: influence.newton_removal_step(
        np.zeros((4, 3)), np.ones((5, 4)), np.arange(5) % 3, [5], n_classes=3, l2=1e-2),
        ValueError, "forget"),
    "newton_removal_step negative forget": (lambda: influence.newton_removal_step(
        np.zeros((4, 3)), np.ones((5, 4)), np.arange(5) % 3, [-1], n_classes=3, l2=1e-2),
        ValueError, "forget"),
    "newton_removal_step maxiter 0": (lambda: influence.newton_removal_step(
        np.zeros((4, 3)), np.ones((5, 4)), np.arange(5) % 3, [0], n_classes=3, l2=1e-2,
        maxiter=0), ValueError, "maxiter"),
    # sparse
    "influence_unlearn damping < 0": (lambda: sparse.influence_unlearn(
        _model(), _data().X[:2], _data().y[:2], _data().X, _data().y, damping=-1.0),
        ValueError, "damping"),
    "influence_unlearn scale inf": (lambda: sparse.influence_unlearn(
        _model(), _data().X[:2], _data().y[:2], _data().X, _data().y, damping=0.0,
        scale=float("inf")), ValueError, "scale"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_helper_refuses_bad_input_by_name(case):
    call, exc, name = CASES[case]
    with pytest.raises(exc) as info:
        call()
    _named(info, name)


def test_the_same_helpers_accept_valid_input():
    # the rows above differ from these valid calls in the one corrupted argument
    m, imp = _imp()
    before = [p.detach().clone() for p in m.parameters()]
    masks = ssd.ssd_dampen(m, imp, imp, alpha=10.0, lam=1.0)  # I_Df = I_D: nothing selected
    assert not any(bool(v.any()) for v in masks.values())
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters(), strict=True))
    assert torch.isfinite(iau.gr_loss(_model(), _data().X, _data().y, alpha=0.1))
    mask = baselines.saliency_mask(_model(), _data(), sparsity=0.5)
    n = sum(p.numel() for p in _model().parameters())
    assert sum(int(v.sum()) for v in mask.values()) == round(0.5 * n)
    f, r = dmm.matching_set(4, 10, forget_multiplier=1.0, retain_multiplier=1.0,
                            generator=torch.Generator())
    assert len(f) == 4 and len(r) == 4
    assert torch.isfinite(laf.ra_loss(*(torch.rand(3, 4) for _ in range(4)), tau=0.5))
    val, grad = influence.softmax_objective(np.zeros((4, 3)), np.ones((5, 4)),
                                            np.zeros(5, int), l2=0.0)
    assert np.isclose(val, np.log(3)) and grad.shape == (4, 3)
    W = influence.newton_removal_step(np.zeros((4, 3)), np.eye(5, 4), np.arange(5) % 3, [4],
                                      n_classes=3, l2=1e-2)
    assert W.shape == (4, 3) and np.all(np.isfinite(W))
