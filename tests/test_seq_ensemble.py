"""Batched DeltaNet ensemble (theorylab.seq.ensemble) against separate LinearRNNModel runs:
forward pass, a few training steps (losses and weights), accuracy, and bad inputs."""

import numpy as np
import pytest
import torch

from theorylab.seq.ensemble import (
    DeltaNetEnsemble,
    ensemble_sequence_accuracy,
    train_state_tracking_ensemble,
)
from theorylab.seq.linear_rnn import LinearRNNConfig, LinearRNNModel
from theorylab.seq.tasks import mod_add_task, sequence_accuracy, train_state_tracking

MEMBERS = [("[-1,1]", 0), ("[0,1]", 0), ("[-1,1]", 1), ("[0,1]", 2)]


def _model(eig_range, seed, **kw):
    cfg = LinearRNNConfig(vocab_size=3, n_classes=3, d_model=8, n_layers=2, n_heads=2,
                          kind="delta", eig_range=eig_range, **kw)
    g = torch.Generator().manual_seed(seed)
    return LinearRNNModel(cfg, generator=g), g


def test_forward_equals_members_across_chunks():
    models = [_model(r, s)[0] for r, s in MEMBERS]
    tokens = torch.randint(0, 3, (len(MEMBERS), 5, 11), generator=torch.Generator().manual_seed(7))
    # the members' chunk (one chunk of 11) and chunk 4 < T = 11 (three chunks, padded tail)
    for ens in (DeltaNetEnsemble(models), DeltaNetEnsemble(models, chunk_size=4)):
        out = ens(tokens)
        for i, m in enumerate(models):
            torch.testing.assert_close(out[i], m(tokens[i]), atol=1e-5, rtol=1e-5)
    for i, m in enumerate(models):  # member() rebuilds the same model
        for a, b in zip(m.state_dict().values(), ens.member(i).state_dict().values(),
                        strict=True):
            torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_training_equals_separate_runs():
    steps = 4
    kw = dict(steps=steps, lr=1e-2, batch=8, min_length=3, max_length=12, modulus=3)
    ref_losses, ref_models = [], []
    for r, s in MEMBERS:
        m, g = _model(r, s)
        ref_losses.append(train_state_tracking(m, "mod_add", generator=g, **kw))
        ref_models.append(m)
    pairs = [_model(r, s) for r, s in MEMBERS]
    ens = DeltaNetEnsemble([m for m, _ in pairs])
    losses = train_state_tracking_ensemble(ens, "mod_add", generators=[g for _, g in pairs],
                                           **kw)
    assert losses.shape == (len(MEMBERS), steps)
    np.testing.assert_allclose(losses, np.array(ref_losses), atol=1e-5, rtol=1e-5)
    for i, m in enumerate(ref_models):
        for a, b in zip(m.state_dict().values(), ens.member(i).state_dict().values(),
                        strict=True):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # the members differ (not one model copied): the two ranges of seed 0 diverge
    assert not np.allclose(losses[0], losses[1])


def test_accuracy_equals_sequence_accuracy():
    models = [_model(r, s)[0] for r, s in MEMBERS]
    ens = DeltaNetEnsemble(models)
    batches = [mod_add_task(37, 9, modulus=3, generator=torch.Generator().manual_seed(s + 3))
               for s in range(len(MEMBERS))]
    acc = ensemble_sequence_accuracy(ens, batches, max_batch=10)
    np.testing.assert_allclose(acc, [sequence_accuracy(m, b) for m, b in
                                     zip(models, batches, strict=True)], atol=1e-7)


def test_bad_inputs():
    m0 = _model("[-1,1]", 0)[0]
    with pytest.raises(ValueError, match="models must hold at least one"):
        DeltaNetEnsemble([])
    with pytest.raises(TypeError, match=r"models\[1\] must be a LinearRNNModel, got int"):
        DeltaNetEnsemble([m0, 3])
    diag = LinearRNNModel(LinearRNNConfig(vocab_size=3, n_classes=3, d_model=8, kind="diag"))
    with pytest.raises(ValueError, match=r"models\[0\] must have kind 'delta', got 'diag'"):
        DeltaNetEnsemble([diag])
    wide = LinearRNNModel(LinearRNNConfig(vocab_size=3, n_classes=3, d_model=16, n_layers=2,
                                          n_heads=2))
    with pytest.raises(ValueError, match=r"models\[1\] must have d_model 8 like models\[0\], "
                                         "got 16"):
        DeltaNetEnsemble([m0, wide])
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        DeltaNetEnsemble([m0], chunk_size=0)
    ens = DeltaNetEnsemble([m0, _model("[0,1]", 1)[0]])
    with pytest.raises(ValueError, match=r"tokens must be a 3-d integer tensor \(2, B, T\)"):
        ens(torch.zeros(3, 4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 3\), got values in \[3, 3\]"):
        ens(torch.full((2, 1, 2), 3))
    with pytest.raises(ValueError, match="generators must hold one generator per member "
                                         r"\(2\), got 1"):
        train_state_tracking_ensemble(ens, "mod_add", steps=1, lr=0.1, batch=2, min_length=2,
                                      max_length=3, generators=[torch.Generator()])
    with pytest.raises(ValueError, match="lr must be > 0"):
        train_state_tracking_ensemble(ens, "mod_add", steps=1, lr=-1.0, batch=2, min_length=2,
                                      max_length=3, generators=[torch.Generator()] * 2)
    b3, b4 = mod_add_task(2, 3), mod_add_task(2, 4)
    with pytest.raises(ValueError, match=r"batches\[1\] must have tokens of shape \(2, 3\), "
                                         r"got \(2, 4\)"):
        ensemble_sequence_accuracy(ens, [b3, b4])
