"""Unlearning method protocol (declared inputs only) and hand-checkable baseline steps."""

import copy
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.baselines import (  # noqa: E402
    GAConfig,
    GAGDConfig,
    L1SparseConfig,
    NoConfig,
    RLConfig,
    SGDConfig,
)
from theorylab.unlearning.data import load_digits_split  # noqa: E402
from theorylab.unlearning.methods import (  # noqa: E402
    Subset,
    UndeclaredInputError,
    Withheld,
    apply_method,
    check_model,
    get_method,
    list_methods,
    register_method,
)
from theorylab.unlearning.models import Recipe, as_tensors, build_model  # noqa: E402


@dataclass(frozen=True)
class _Cfg:
    pass


SEEN: dict = {}


@register_method("test_peek_retain", config=_Cfg)
def _peek_retain(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    SEEN.update(retain=retain, train_set=train_set, oracles=oracles, y=forget.y)
    return model if retain is None else (retain.X, model)[1]


@register_method("test_label_free", config=_Cfg, needs_labels=False, needs_retain=True)
def _label_free(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    forget.X.sum()
    retain.X.sum()
    return model if config is None else forget.y[0]


@register_method("test_needs_train", config=_Cfg, needs_train_set=True)
def _needs_train(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    return model


@pytest.fixture(scope="module")
def setup():
    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:400], d.y_train[:400], dtype=torch.float64)
    r = Recipe(hidden=(16,))
    model = build_model(r, 64, 10, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    f = (y == 3).nonzero().ravel()
    k = (y != 3).nonzero().ravel()
    return model, Subset(X[f], y[f]), Subset(X[k], y[k])


def _grad(model, X, y):
    m = copy.deepcopy(model)
    torch.nn.functional.cross_entropy(m(X), y).backward()
    return [p.grad for p in m.parameters()]


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _close(a, b):
    for x, z in zip(a, b, strict=True):
        torch.testing.assert_close(x, z, rtol=1e-9, atol=1e-11)


def _gen():
    return torch.Generator().manual_seed(11)


def test_undeclared_inputs_are_withheld_and_raise(setup):
    model, forget, retain = setup
    with pytest.raises(UndeclaredInputError, match="needs_retain=True"):
        apply_method("test_peek_retain", model, forget, retain, config=_Cfg(), generator=_gen())
    assert isinstance(SEEN["retain"], Withheld) and isinstance(SEEN["oracles"], Withheld)
    assert isinstance(SEEN["train_set"], Withheld)
    assert torch.equal(SEEN["y"], forget.y)  # labels were declared (default)
    with pytest.raises(UndeclaredInputError, match="labels of the forget set.*needs_labels"):
        apply_method("test_label_free", model, forget, retain, config=_Cfg(), generator=_gen())
    w = Withheld("retain set", "m", "needs_retain")
    for use in (lambda: len(w), lambda: bool(w), lambda: w[0], lambda: list(w), lambda: w.X):
        with pytest.raises(UndeclaredInputError):
            use()


def test_declared_but_missing_input_is_a_value_error(setup):
    model, forget, _ = setup
    with pytest.raises(ValueError, match="training_set must be given.*needs_train_set"):
        apply_method("test_needs_train", model, forget, config=_Cfg(), generator=_gen())
    with pytest.raises(ValueError, match="retain_set must be given"):
        apply_method("ft", model, forget, None, generator=_gen())


def test_bad_config_and_unknown_method(setup):
    model, forget, retain = setup
    with pytest.raises(TypeError, match="config must be a GAConfig"):
        apply_method("ga", model, forget, retain, config=SGDConfig(), generator=_gen())
    with pytest.raises(ValueError, match="method must be one of"):
        get_method("retrain_everything")
    with pytest.raises(ValueError, match="lr must be > 0"):
        SGDConfig(lr=-1.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        apply_method("none", model, forget, generator=0)


def test_registry_lists_the_baselines():
    assert {"none", "ft", "ga", "ga_gd", "rl", "l1_sparse"} <= set(list_methods())
    assert get_method("ft").needs_retain and not get_method("ga").needs_retain
    assert not get_method("none").needs_labels


def test_do_nothing_copies_and_keeps_the_original(setup):
    model, forget, retain = setup
    before = _params(model)
    out, sec = apply_method("none", model, forget, retain, config=NoConfig(), generator=_gen())
    assert out is not model and sec >= 0
    _close(_params(out), before)
    out2, _ = apply_method("ga", model, forget, retain, generator=_gen())
    _close(_params(model), before)  # the original is never modified
    assert not torch.equal(_params(out2)[0], before[0])


@register_method("test_forward_only", config=_Cfg)
def _forward_only(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Records the mode it was handed and one forward pass; trains nothing; hands the model
    back in training mode."""
    SEEN.update(mode=model.training, out=model(forget.X).detach())
    return model.train()


def test_a_model_in_the_wrong_mode_is_refused_by_name(setup):
    model, forget, retain = setup
    go = lambda m, method="none": apply_method(method, m, forget, retain, generator=_gen())
    frozen = copy.deepcopy(model).requires_grad_(False)
    with pytest.raises(ValueError, match=r"model must have every parameter trainable "
                       r"\(requires_grad=True\).*got 4 frozen \('net.0.weight', 'net.0.bias', "
                       r"'net.2.weight', \.\.\.\)\. Call model.requires_grad_\(True\)"):
        go(frozen)
    partly = copy.deepcopy(model)
    partly.net[0].weight.requires_grad_(False)  # fine-tuning would silently skip this layer
    with pytest.raises(ValueError, match=r"got 1 frozen \('net.0.weight'\)"):
        go(partly, "ft")
    with pytest.raises(TypeError, match=r"model must have the dtype of forget.X "
                       r"\(torch.float64\), got parameter 'net.0.weight' of dtype torch.float32"):
        go(copy.deepcopy(model).float(), "ga")
    with pytest.raises(ValueError, match=r"model must be on the device of forget.X \(cpu\), "
                       r"got parameter 'net.0.weight' on meta"):
        go(copy.deepcopy(model).to("meta"))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        go("model")
    with pytest.raises(ValueError, match="model must have parameters to unlearn, got none"):
        go(torch.nn.Identity())
    # scoring only reads the model: a frozen one is fine there, another dtype is not
    assert check_model(frozen, forget.X, trainable=False) is frozen
    with pytest.raises(TypeError, match=r"model must have the dtype of X"):
        check_model(frozen.float(), forget.X, data_name="X", trainable=False)


def test_methods_see_and_return_eval_mode_whatever_the_callers_mode(setup):
    _, forget, retain = setup
    torch.manual_seed(0)
    drop = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Dropout(0.5),
                               torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        want = drop.eval()(forget.X)
    for caller_mode in (True, False):
        drop.train(caller_mode)
        out, _ = apply_method("test_forward_only", drop, forget, config=_Cfg(),
                              generator=_gen())
        assert SEEN["mode"] is False  # the method's copy starts in eval mode
        torch.testing.assert_close(SEEN["out"], want, rtol=0, atol=0)  # dropout off
        assert out.training is False  # handed back in eval mode, though the method left train
        assert drop.training is caller_mode  # the caller's model keeps its mode
    out, _ = apply_method("none", drop.train(), forget, retain, generator=_gen())
    assert out.training is False and drop.training


def test_ga_one_full_batch_step_is_ascent(setup):
    model, forget, retain = setup
    cfg = GAConfig(epochs=1, lr=0.5, momentum=0.0, weight_decay=0.0, batch_size=10_000)
    out, _ = apply_method("ga", model, forget, retain, config=cfg, generator=_gen())
    g = _grad(model, forget.X, forget.y)
    _close(_params(out), [p + 0.5 * gi for p, gi in zip(_params(model), g, strict=True)])


def test_ft_one_full_batch_step_is_descent_on_retain_only(setup):
    model, forget, retain = setup
    cfg = SGDConfig(epochs=1, lr=0.5, momentum=0.0, weight_decay=0.0, batch_size=10_000)
    out, _ = apply_method("ft", model, forget, retain, config=cfg, generator=_gen())
    g = _grad(model, retain.X, retain.y)
    _close(_params(out), [p - 0.5 * gi for p, gi in zip(_params(model), g, strict=True)])
    other = Subset(forget.X.flip(0) * 0.5, forget.y.flip(0))
    out2, _ = apply_method("ft", model, other, retain, config=cfg, generator=_gen())
    _close(_params(out2), _params(out))


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_ga_gd_full_batch_step(setup, beta):
    model, forget, retain = setup
    cfg = GAGDConfig(epochs=1, lr=0.5, momentum=0.0, weight_decay=0.0, batch_size=10_000,
                     beta=beta)
    out, _ = apply_method("ga_gd", model, forget, retain, config=cfg, generator=_gen())
    gr, gf = _grad(model, retain.X, retain.y), _grad(model, forget.X, forget.y)
    _close(_params(out), [p - 0.5 * (beta * a - (1 - beta) * b)
                          for p, a, b in zip(_params(model), gr, gf, strict=True)])


def test_l1_sparse_full_batch_step_and_gamma_zero_is_ft(setup):
    model, forget, retain = setup
    kw = dict(epochs=1, lr=0.5, momentum=0.0, weight_decay=0.0, batch_size=10_000)
    out, _ = apply_method("l1_sparse", model, forget, retain,
                          config=L1SparseConfig(gamma=0.01, **kw), generator=_gen())
    g = _grad(model, retain.X, retain.y)
    _close(_params(out), [p - 0.5 * (gi + 0.01 * torch.sign(p))
                          for p, gi in zip(_params(model), g, strict=True)])
    ft, _ = apply_method("ft", model, forget, retain, config=SGDConfig(**kw), generator=_gen())
    l0, _ = apply_method("l1_sparse", model, forget, retain,
                         config=L1SparseConfig(gamma=0.0, **kw), generator=_gen())
    _close(_params(l0), _params(ft))


def test_random_labels_one_epoch_by_hand(setup):
    model, forget, retain = setup
    cfg = RLConfig(epochs=1, lr=0.5, momentum=0.0, weight_decay=0.0, batch_size=10_000)
    out, _ = apply_method("rl", model, forget, retain, config=cfg, generator=_gen())
    fake = torch.randint(10, (len(forget),), generator=_gen())
    m = copy.deepcopy(model)
    for X, y in ((forget.X, fake), (retain.X, retain.y)):
        g = _grad(m, X, y)
        with torch.no_grad():
            for p, gi in zip(m.parameters(), g, strict=True):
                p -= 0.5 * gi
    _close(_params(out), _params(m))
    assert np.mean((fake == forget.y).numpy()) < 0.3  # labels are random, not the true ones


def test_salun_changes_only_salient_weights(setup):
    from theorylab.unlearning.baselines import SalUnConfig, saliency_mask

    model, forget, retain = setup
    cfg = SalUnConfig(epochs=1, sparsity=0.3, batch_size=128)
    out, _ = apply_method("salun", model, forget, retain, config=cfg, generator=_gen())
    mask = saliency_mask(copy.deepcopy(model), forget, sparsity=0.3)
    n_keep = sum(int(m.sum()) for m in mask.values())
    assert n_keep == round(0.3 * sum(p.numel() for p in model.parameters()))
    changed = 0
    for (n, p0), p1 in zip(model.named_parameters(), out.parameters(), strict=True):
        assert torch.equal(p1[~mask[n]], p0[~mask[n]])  # masked-out weights stay at theta_o
        changed += int((p1 != p0).sum())
    assert 0 < changed <= n_keep


def test_scrub_min_steps_by_hand_and_max_steps_leave_the_teacher(setup):
    from theorylab.unlearning.baselines import SCRUBConfig, _kl_t
    from theorylab.unlearning.models import epoch_batches

    model, forget, retain = setup
    # alpha = 0 and no max steps: SCRUB is Adam (L2 decay) on CE(D_r) in the generator's order
    cfg = SCRUBConfig(epochs=2, max_epochs=0, alpha=0.0, gamma=1.0, lr=1e-3)
    out, _ = apply_method("scrub", model, forget, retain, config=cfg, generator=_gen())
    m = copy.deepcopy(model)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, weight_decay=cfg.weight_decay)
    g = _gen()
    for _ in range(2):
        for idx in epoch_batches(len(retain), cfg.batch_size_retain, g):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(retain.X[idx]), retain.y[idx]).backward()
            opt.step()
    _close(_params(out), _params(m))
    # max steps push the student's forget outputs away from the teacher's
    cfg = SCRUBConfig(epochs=8, max_epochs=8, gamma=0.0, alpha=0.0, weight_decay=0.0, lr=1e-2)
    moved, _ = apply_method("scrub", model, forget, retain, config=cfg, generator=_gen())
    with torch.no_grad():
        assert _kl_t(moved(forget.X), model(forget.X), 2.0) > 0.01


def test_bad_teacher_uses_no_labels_and_moves_forget_outputs_to_the_random_teacher(setup):
    from theorylab.unlearning.baselines import BadTeacherConfig, _kl_t, reinitialise

    model, forget, retain = setup
    assert not get_method("bad_teacher").needs_labels
    cfg = BadTeacherConfig(epochs=20, lr=1e-2, batch_size=64)
    out, _ = apply_method("bad_teacher", model, forget, retain, config=cfg, generator=_gen())
    bad = reinitialise(model, torch.Generator().manual_seed(11))
    with torch.no_grad():
        before = _kl_t(model(forget.X), bad(forget.X), 1.0).item()
        after = _kl_t(out(forget.X), bad(forget.X), 1.0).item()
        keep = _kl_t(out(retain.X), model(retain.X), 1.0).item()
    assert after < 0.5 * before and keep < before
