"""Selective Synaptic Dampening: invariants and a hand-computed importance."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import Subset, apply_method, get_method  # noqa: E402
from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model  # noqa: E402
from theorylab.unlearning.ssd import SSDConfig, importance, ssd_dampen  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:500], d.y_train[:500], dtype=torch.float64)
    r = Recipe(hidden=(32,), epochs=15, lr=1e-2)
    m = build_model(r, 64, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    f = (y == 3).nonzero().ravel()
    k = (y != 3).nonzero().ravel()
    return m, Subset(X, y), Subset(X[f], y[f]), Subset(X[k], y[k])


def _run(trained, **cfg):
    m, full, forget, retain = trained
    out, _ = apply_method("ssd", m, forget, retain, config=SSDConfig(**cfg),
                          generator=torch.Generator(), train_set=full)
    return out


def test_importance_is_the_mean_squared_batch_gradient_by_hand():
    # two parameters: logits z = (w0 x, w1 x), cross-entropy, two batches of two points
    lin = torch.nn.Linear(1, 2, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5], [-1.0]]))
    X = torch.tensor([[1.0], [2.0], [-1.0], [0.5]], dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0])
    imp = importance(lin, Subset(X, y), batch_size=2)["weight"].ravel().numpy()
    w = np.array([0.5, -1.0])
    grads = []
    for b in (slice(0, 2), slice(2, 4)):
        g = np.zeros(2)
        for x, t in zip(X[b, 0].numpy(), y[b].numpy(), strict=True):
            z = w * x
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            g += (p - np.eye(2)[t]) * x  # d CE / d w_k = (p_k - 1[k = y]) x
        grads.append(g / 2)
    np.testing.assert_allclose(imp, np.mean(np.square(grads), axis=0), rtol=1e-12)


def test_no_parameter_magnitude_increases(trained):
    m = trained[0]
    out = _run(trained)
    changed = 0
    for p0, p1 in zip(m.parameters(), out.parameters(), strict=True):
        assert torch.all(p1.abs() <= p0.abs())
        changed += int((p1 != p0).sum())
    assert changed > 0


def test_lambda_zero_zeroes_exactly_the_selected_set(trained):
    m, full, forget, _ = trained
    imp_d, imp_f = importance(m, full), importance(m, forget)
    work = copy.deepcopy(m)
    masks = ssd_dampen(work, imp_d, imp_f, alpha=10.0, lam=0.0)
    out = _run(trained, lam=0.0)
    for (n, p0), p1 in zip(m.named_parameters(), out.parameters(), strict=True):
        sel = masks[n] & (p0 != 0)
        assert torch.all(p1[sel] == 0)
        assert torch.equal(p1[~masks[n]], p0[~masks[n]])
    assert sum(int(v.sum()) for v in masks.values()) > 0


def test_huge_alpha_selects_nothing_bit_for_bit(trained):
    m = trained[0]
    out = _run(trained, alpha=1e300)
    for p0, p1 in zip(m.parameters(), out.parameters(), strict=True):
        assert torch.equal(p0, p1)


def test_ssd_declares_no_retain_and_forgets_the_class(trained):
    spec = get_method("ssd")
    assert spec.needs_train_set and not spec.needs_retain
    m, _, forget, retain = trained
    out = _run(trained)  # apply_method hands over a withheld retain set: SSD never reads it
    acc = lambda mdl, s: float((mdl(s.X).argmax(1) == s.y).double().mean())
    assert acc(m, forget) > 0.9
    assert acc(out, forget) < acc(m, forget) - 0.3
    assert acc(out, retain) > acc(m, retain) - 0.15
    with pytest.raises(ValueError, match="training_set must be given"):
        apply_method("ssd", m, forget, generator=torch.Generator())
