"""Fast paths of the LoRA/SVD/GaLore claims' scripts against the library calls they replace."""

import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "verify" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
