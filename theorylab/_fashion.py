"""Fashion-MNIST on this machine: which folder holds its IDX files and how to read them.

One place for both loaders (:func:`theorylab.nn.data.load_fashion_mnist`, tensors for the
torch claims, and :func:`theorylab.unlearning.data.load_fashion_mnist_split`, NumPy splits
for the unlearning harness), so that both look in the same folder:

1. the ``root`` a caller passes;
2. else ``$THEORYLAB_FASHION_MNIST`` (a copy of the files anywhere, e.g. on a machine
   without the Debian package);
3. else ``/usr/share/datasets/fashion-mnist``, where the Debian package
   ``dataset-fashion-mnist`` installs them.

Nothing is downloaded, and torch is not imported here.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["FASHION_MNIST_DIR", "FashionMNISTMissing", "fashion_mnist_dir", "fashion_mnist_file",
           "read_idx"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


class FashionMNISTMissing(FileNotFoundError):
    """Fashion-MNIST files are not on this machine."""


def fashion_mnist_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder to read: ``root``, else ``$THEORYLAB_FASHION_MNIST``, else the Debian
    package's folder.

    Raises
    ------
    TypeError
        When ``root`` is neither ``None`` nor a path (``str`` or ``os.PathLike``).
    ValueError
        When ``root`` is an empty string (it would silently mean the working folder).
    """
    if root is not None:
        if isinstance(root, bytes) or not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a folder path (str or os.PathLike) or None, got "
                            f"{type(root).__name__} {root!r}")
        if isinstance(root, str) and not root.strip():
            raise ValueError(f"root must be a non-empty folder path or None, got {root!r}")
        return Path(root)
    return Path(os.environ.get("THEORYLAB_FASHION_MNIST") or FASHION_MNIST_DIR)


def fashion_mnist_file(base: str | os.PathLike, stem: str) -> Path:
    """``base/stem.gz`` or, failing that, ``base/stem`` (uncompressed).

    Raises
    ------
    FashionMNISTMissing
        Naming the folder, the file and how to install or point to the data.
    """
    base = Path(base)
    for name in (stem + ".gz", stem):
        if (base / name).is_file():
            return base / name
    raise FashionMNISTMissing(
        f"Fashion-MNIST file {stem}.gz not found in {base}; install the Debian package "
        "`dataset-fashion-mnist` (apt-get install dataset-fashion-mnist), or set "
        "THEORYLAB_FASHION_MNIST (or pass root=) to a folder holding the IDX files")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into an array.

    The format: two zero bytes, a type byte (0x08 = uint8), the number of dimensions, then
    one big-endian uint32 per dimension, then the data in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"path must be an IDX file (magic 0x0000), got {str(path)!r}")
    if raw[2] != 0x08:
        raise ValueError(f"path must hold uint8 data (type 0x08), got type {raw[2]:#04x} "
                         f"in {str(path)!r}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise ValueError(f"path must hold {int(np.prod(dims))} data bytes for shape {dims}, "
                         f"got {len(raw) - offset} in {str(path)!r}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)
