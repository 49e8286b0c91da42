"""Offline data for the torch claims: scikit-learn digits, Fashion-MNIST from the Debian
package ``dataset-fashion-mnist``, and a character corpus from the Python standard
library's own sources. Nothing is downloaded.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import numpy as np
import torch

from theorylab._fashion import (
    FASHION_MNIST_DIR,
    FashionMNISTMissing,
    fashion_mnist_dir,
    fashion_mnist_file,
    read_idx,
)
from theorylab._validation import check_int, check_rng
from theorylab.nn._checks import check_device

__all__ = ["load_digits_tensors", "load_fashion_mnist", "FashionMNISTMissing", "char_corpus",
           "char_batches", "FASHION_MNIST_DIR"]

def load_digits_tensors(*, test_fraction: float = 0.25, rng=None, dtype=torch.float32
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 8×8 digits (1797 images) scaled to [0, 1], split train/test.

    Returns ``X_train (n, 64), y_train (n,), X_test, y_test``; the split is drawn from ``rng``.
    """
    from sklearn.datasets import load_digits

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = check_rng(rng)
    d = load_digits()
    X = d.data.astype(np.float64) / 16.0
    y = d.target.astype(np.int64)
    perm = rng.permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    t = lambda a, dt: torch.as_tensor(a, dtype=dt)
    return t(X[tr], dtype), t(y[tr], torch.long), t(X[te], dtype), t(y[te], torch.long)


def load_fashion_mnist(root: str | os.PathLike | None = None, *, split: str = "train",
                       limit: int | None = None, dtype=torch.float32
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images ``(n, 784)`` in [0, 1] and labels ``(n,)`` from local files.

    Looks in ``root``, else ``$THEORYLAB_FASHION_MNIST``, else the Debian package's folder
    ``/usr/share/datasets/fashion-mnist``.

    Raises
    ------
    FashionMNISTMissing
        With the install command, when the files are absent.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    base = fashion_mnist_dir(root)
    prefix = "train" if split == "train" else "t10k"
    X = read_idx(fashion_mnist_file(base, f"{prefix}-images-idx3-ubyte")).reshape(-1, 28 * 28)
    y = read_idx(fashion_mnist_file(base, f"{prefix}-labels-idx1-ubyte"))
    if limit is not None:
        limit = check_int(limit, name="limit", minimum=1)
        X, y = X[:limit], y[:limit]
    return (torch.as_tensor(X.astype(np.float32) / 255.0, dtype=dtype),
            torch.as_tensor(y.astype(np.int64)))


_DEFAULT_MODULES = ("argparse.py", "inspect.py", "typing.py", "dataclasses.py", "pathlib.py",
                    "subprocess.py", "functools.py", "collections/__init__.py", "enum.py",
                    "threading.py", "textwrap.py", "ast.py")


def char_corpus(n_chars: int = 200_000, *, modules: tuple[str, ...] = _DEFAULT_MODULES
                ) -> tuple[np.ndarray, list[str]]:
    """A character-level corpus from the standard library's sources (always present).

    Returns ``(codes, vocab)``: int64 codes of the first ``n_chars`` characters of the
    concatenated files, and the sorted list of characters. Deterministic. The files are
    ``modules`` first, then, when those hold fewer than ``n_chars`` characters, the
    standard library's other top-level modules in name order (about 4.7 million characters
    in all on CPython 3.11).
    """
    n_chars = check_int(n_chars, name="n_chars", minimum=1000)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    # more characters than ``modules`` hold (the paper-scale language models ask for 2
    # million): the other top-level modules follow, in name order
    rest = sorted(p.name for p in stdlib.glob("*.py") if p.name not in set(modules))
    parts: list[str] = []
    total = 0
    for m in (*modules, *rest):
        p = stdlib / m
        if not p.is_file():
            continue
        s = p.read_text(encoding="utf-8", errors="replace")
        parts.append(s)
        total += len(s)
        if total >= n_chars:
            break
    text = "".join(parts)[:n_chars]
    if len(text) < n_chars:
        raise ValueError(f"n_chars must be <= {len(text)} (the corpus size here), got {n_chars}")
    vocab = sorted(set(text))
    idx = {c: i for i, c in enumerate(vocab)}
    return np.fromiter((idx[c] for c in text), dtype=np.int64, count=len(text)), vocab


def char_batches(codes: np.ndarray, *, batch_size: int, block: int,
                 generator: torch.Generator | None = None, device: str | torch.device = "cpu"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of ``(x, y)`` windows of length ``block`` (y is x shifted by one)."""
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    block = check_int(block, name="block", minimum=1, maximum=len(codes) - 2)
    device = check_device(device) or torch.device("cpu")
    data = torch.as_tensor(codes)
    ix = torch.randint(0, len(codes) - block - 1, (batch_size,), generator=generator)
    x = torch.stack([data[i: i + block] for i in ix])  # (B, T)
    y = torch.stack([data[i + 1: i + 1 + block] for i in ix])  # (B, T)
    return x.to(device), y.to(device)
