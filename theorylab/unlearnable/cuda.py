"""CUDA: convolution-based unlearnable datasets (NumPy).

Sadasivan, Soltanolkotabi & Feizi, "CUDA: Convolution-based Unlearnable Datasets", CVPR 2023,
arXiv:2303.04278. Each class ``y`` gets a small random filter ``F_y`` drawn from a private key;
every protected training image is convolved with the filter of its class, divided by its own
maximum and stored in 8 bits. A network trained on such data learns the filter-to-label
shortcut; clean test images carry no filter, so its clean test accuracy collapses.

Notation (paper / reference code -> arguments):

- blur parameter ``b`` -> ``blur``: filter entries i.i.d. ``U(0, b)``;
- center parameter (1.0) -> one entry per filter, at a uniformly random position, set to 1;
- kernel size 3 -> ``size`` (odd; zero padding ``size // 2`` keeps the image size);
- ``mix`` -> each image is protected independently with probability ``mix``;
- ``same`` -> the control with one filter (class 0's) for every class: no class-wise shortcut;
- private key -> ``key``, the seed of the filter generator.

The filter is applied to each colour channel alike (a depthwise convolution with identical
weights, zero bias), as a cross-correlation like ``torch.nn.functional.conv2d``::

    x'[c, i, j] = sum_{a, b} F[a, b] * x_pad[c, i + a, j + b],
    x'' = x' / max_{c, i, j} x',    stored as floor(255 * x'') / 255.

Nothing here imports torch; images are arrays ``(n, C, H, W)``, ``(n, H, W)`` (one channel),
or flat ``(n, C*H*W)`` with ``image_shape`` given.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_array, check_int, check_probability, check_rng

from ..results import ResultRepr

__all__ = ["ProtectedImages", "cuda_filters", "random_filters", "convolve_images",
           "apply_cuda", "apply_random_filters"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectedImages(ResultRepr):
    """Images after protection.

    Attributes
    ----------
    X : ndarray
        The images, in the input's shape and float dtype; protected ones convolved,
        normalised to max 1 and (by default) quantised to multiples of 1/255.
    poisoned : ndarray of bool, shape (n,)
        Which images were protected (the others are returned unchanged).
    """

    X: np.ndarray
    poisoned: np.ndarray

    @property
    def mix(self) -> float:
        """The share of protected images actually drawn."""
        return float(self.poisoned.mean()) if self.poisoned.size else 0.0


def _check_key(key, name: str = "key") -> np.random.Generator:
    if key is None:
        raise TypeError(f"{name} must be an int seed, a numpy.random.Generator or a "
                        "SeedSequence (the private key), got None")
    return check_rng(key, name=name)


def _check_blur(blur) -> float:
    if isinstance(blur, bool) or not isinstance(blur, numbers.Real):
        raise TypeError(f"blur must be a real number, got {type(blur).__name__}")
    blur = float(blur)
    if not np.isfinite(blur) or blur <= 0:
        raise ValueError(f"blur must be > 0, got {blur!r}")
    return blur


def _check_size(size) -> int:
    size = check_int(size, name="size", minimum=1)
    if size % 2 == 0:
        raise ValueError(f"size must be odd (zero padding size // 2 keeps the image size), "
                         f"got {size}")
    return size


def _draw_filters(rng: np.random.Generator, n: int, blur: float, size: int) -> np.ndarray:
    F = rng.uniform(0.0, blur, size=(n, size, size))
    rows = rng.integers(size, size=n)
    cols = rng.integers(size, size=n)
    F[np.arange(n), rows, cols] = 1.0
    return F


def cuda_filters(n_classes: int, key, *, blur: float = 0.3, size: int = 3,
                 same: bool = False) -> np.ndarray:
    """One random filter per class, drawn from the private ``key``.

    Parameters
    ----------
    n_classes : int
        Number of classes (>= 1).
    key : int, numpy.random.Generator or SeedSequence
        The private key: the same key always gives the same filters.
    blur : float
        Entries are i.i.d. ``U(0, blur)`` (the paper's blur parameter, default 0.3).
    size : int
        Odd filter side (default 3).
    same : bool
        The control: every class gets class 0's filter.

    Returns
    -------
    ndarray, shape (n_classes, size, size), float64
        Entries in ``[0, blur)`` except one entry per filter, set to exactly 1.

    Raises
    ------
    TypeError
        ``key`` is None (a key must be kept to be private and reusable).
    ValueError
        ``blur <= 0``, an even ``size``, ``n_classes < 1``.

    Examples
    --------
    >>> F = cuda_filters(10, 1234)
    >>> F.shape, bool(((F == 1).sum(axis=(1, 2)) == 1).all())
    ((10, 3, 3), True)
    """
    n_classes = check_int(n_classes, name="n_classes", minimum=1)
    blur = _check_blur(blur)
    size = _check_size(size)
    if not isinstance(same, bool | np.bool_):
        raise TypeError(f"same must be a bool, got {type(same).__name__}")
    F = _draw_filters(_check_key(key), n_classes, blur, size)
    if same:
        F = np.repeat(F[:1], n_classes, axis=0)
    return F


def random_filters(n_images: int, *, blur: float = 0.3, size: int = 3,
                   generator=None) -> np.ndarray:
    """A fresh CUDA-style filter per image (the control without a class-wise shortcut);
    the same distribution as :func:`cuda_filters`, drawn from ``generator``."""
    n_images = check_int(n_images, name="n_images", minimum=1)
    return _draw_filters(check_rng(generator, name="generator"), n_images, _check_blur(blur),
                         _check_size(size))


def _as_images(X, image_shape) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate ``X`` (values in [0, 1]) and view it as ``(n, C, H, W)`` float64."""
    Xa = check_array(X, name="X", dtype=None, min_shape=(1,))
    if Xa.dtype.kind not in "fiu":
        raise TypeError(f"X must be a real numeric array, got dtype {Xa.dtype}")
    shape = Xa.shape
    if image_shape is not None:
        if Xa.ndim != 2:
            raise ValueError(f"X must be 2-dimensional (flat images) when image_shape is "
                             f"given, got shape {shape}")
        ims = tuple(check_int(v, name="image_shape", minimum=1) for v in image_shape)
        if len(ims) != 3 or int(np.prod(ims)) != shape[1]:
            raise ValueError(f"image_shape must be (C, H, W) with C*H*W = {shape[1]}, "
                             f"got {tuple(image_shape)}")
        X4 = Xa.reshape(shape[0], *ims)
    elif Xa.ndim == 3:
        X4 = Xa[:, None]
    elif Xa.ndim == 4:
        X4 = Xa
    else:
        raise ValueError(f"X must have shape (n, H, W) or (n, C, H, W), or be flat "
                         f"(n, C*H*W) with image_shape given, got shape {shape}")
    if X4.shape[-1] == 0 or X4.shape[-2] == 0 or X4.shape[1] == 0:
        raise ValueError(f"X must have non-empty images, got shape {shape}")
    lo, hi = float(X4.min()), float(X4.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"X must hold values in [0, 1], got range [{lo:g}, {hi:g}]")
    return X4.astype(np.float64, copy=False), shape


def _check_filters(filters, n_rows: int | None = None) -> np.ndarray:
    F = check_array(filters, name="filters", ndim=3, min_shape=(1,))
    k = F.shape[1]
    if F.shape[2] != k or k % 2 == 0:
        raise ValueError(f"filters must have shape (n, k, k) with k odd, got {F.shape}")
    if n_rows is not None and F.shape[0] != n_rows:
        raise ValueError(f"filters must have {n_rows} rows (one per image), got {F.shape[0]}")
    if F.min() < 0:
        raise ValueError(f"filters must be >= 0 (the output is normalised by its maximum), "
                         f"got min {F.min()!r}")
    if np.any(F.reshape(F.shape[0], -1).max(axis=1) <= 0):
        raise ValueError("filters must each have a positive entry, got an all-zero filter")
    return F


def _convolve(X4: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Image ``i`` (all channels) cross-correlated with ``F[i]``, zero padding ``k // 2``."""
    n, _, H, W = X4.shape
    k = F.shape[1]
    p = k // 2
    Xp = np.pad(X4, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros_like(X4)
    for a in range(k):
        for b in range(k):
            out += F[:, a, b, None, None, None] * Xp[:, :, a:a + H, b:b + W]
    return out


def _normalise(Y: np.ndarray, quantize: bool) -> np.ndarray:
    m = Y.reshape(Y.shape[0], -1).max(axis=1)
    m = np.where(m > 0, m, 1.0)  # an all-black image stays black
    Y = Y / m[:, None, None, None]
    if quantize:  # as the reference stores it: x * 255 clipped to [0, 255], cast to uint8
        Y = np.floor(np.clip(Y * 255.0, 0.0, 255.0)) / 255.0
    return Y


def _convolve_normalise(X4: np.ndarray, F: np.ndarray, quantize: bool) -> np.ndarray:
    """``_normalise(_convolve(X4, F), quantize)`` by the fused numba kernel (bitwise equal)."""
    from ._kernels import convolve_normalise

    out = np.empty(X4.shape, dtype=np.float64)
    convolve_normalise(np.ascontiguousarray(X4, dtype=np.float64),
                       np.ascontiguousarray(F, dtype=np.float64), bool(quantize), out)
    return out


def _out_dtype(X: np.ndarray) -> np.dtype:
    return X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)


def convolve_images(X, filters, *, quantize: bool = True, image_shape=None) -> np.ndarray:
    """Image ``i`` convolved with ``filters[i]``, divided by its maximum, 8-bit quantised.

    ``X``: ``(n, C, H, W)``, ``(n, H, W)`` or flat with ``image_shape``, values in [0, 1];
    ``filters``: ``(n, k, k)``, non-negative, ``k`` odd. Returns an array of ``X``'s shape
    (float dtype of ``X``, float64 for integer input), every image with maximum exactly 1
    (unless it is all zero).
    """
    X4, shape = _as_images(X, image_shape)
    F = _check_filters(filters, n_rows=X4.shape[0])
    out = _convolve_normalise(X4, F, bool(quantize))
    return out.reshape(shape).astype(_out_dtype(np.asarray(X)), copy=False)


def _protect(X4, shape, dtype, per_image_filters, mask, quantize) -> ProtectedImages:
    out = X4.copy()
    if mask.any():
        out[mask] = _convolve_normalise(X4[mask], per_image_filters, quantize)
    mask = mask.copy()
    mask.setflags(write=False)
    return ProtectedImages(X=out.reshape(shape).astype(dtype, copy=False), poisoned=mask)


def apply_cuda(X, y, filters, *, mix: float = 1.0, generator, quantize: bool = True,
               image_shape=None) -> ProtectedImages:
    """Protect each image with probability ``mix`` by its class's CUDA filter.

    Parameters
    ----------
    X : array
        Images in [0, 1]: ``(n, C, H, W)``, ``(n, H, W)``, or flat ``(n, C*H*W)`` with
        ``image_shape=(C, H, W)``.
    y : array of int, shape (n,)
        Labels in ``[0, len(filters))``.
    filters : array, shape (n_classes, k, k)
        From :func:`cuda_filters`.
    mix : float in [0, 1]
        Probability that an image is protected (independently per image).
    generator : numpy.random.Generator or int
        Draws which images are protected (not the key: the filters are fixed by it).
    quantize : bool
        Store as 8 bits: ``floor(255 x) / 255``.

    Returns
    -------
    ProtectedImages
        ``X`` in the input's shape and ``poisoned``, the mask of protected images.

    Raises
    ------
    ValueError
        ``mix`` outside [0, 1], labels outside ``[0, n_classes)``, ``X`` outside [0, 1],
        a shape mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((4, 1, 6, 6))
    >>> res = apply_cuda(X, np.array([0, 1, 0, 1]), cuda_filters(2, 7), generator=0)
    >>> res.X.shape, bool(res.poisoned.all()), float(res.X[0].max())
    ((4, 1, 6, 6), True, 1.0)
    """
    mix = check_probability(mix, name="mix")
    X4, shape = _as_images(X, image_shape)
    F = _check_filters(filters)
    n = X4.shape[0]
    yv = check_array(y, name="y", ndim=1, dtype=np.int64, min_shape=(1,))
    if yv.shape[0] != n:
        raise ValueError(f"y must have shape ({n},), got {yv.shape}")
    if yv.min() < 0 or yv.max() >= F.shape[0]:
        bad = int(yv.min()) if yv.min() < 0 else int(yv.max())
        raise ValueError(f"y must hold labels in [0, {F.shape[0]}) (one filter per class), "
                         f"got {bad}")
    # one uniform per image, as the reference (``np.random.random() < mix``)
    mask = check_rng(generator, name="generator").random(n) < mix
    return _protect(X4, shape, _out_dtype(np.asarray(X)), F[yv[mask]], mask, bool(quantize))


def apply_random_filters(X, *, blur: float = 0.3, size: int = 3, mix: float = 1.0,
                         generator, quantize: bool = True,
                         image_shape=None) -> ProtectedImages:
    """The per-image control: each protected image gets its own fresh random filter (same
    distribution as CUDA's, no relation to the label), drawn from ``generator`` after the
    mask."""
    mix = check_probability(mix, name="mix")
    blur, size = _check_blur(blur), _check_size(size)
    X4, shape = _as_images(X, image_shape)
    rng = check_rng(generator, name="generator")
    mask = rng.random(X4.shape[0]) < mix
    F = _draw_filters(rng, int(mask.sum()), blur, size)
    return _protect(X4, shape, _out_dtype(np.asarray(X)), F, mask, bool(quantize))
