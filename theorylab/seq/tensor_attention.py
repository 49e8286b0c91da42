"""Tensor (third-order) attention: exact, memory-aware evaluation, the polynomial-method
approximation, its a-priori error bound, and the reduction to softmax attention.

Alman, Song 2023, *How to Capture Higher-order Correlations? Generalizing Matrix Softmax
Attention to Kronecker Computation*, ICLR 2024, arXiv:2310.04064.

Notation (paper symbol ↔ argument):

===========================================  ==============================================
``Q ∈ R^{n×d}``                              ``Q`` (queries; ``n_q`` rows allowed)
``K₁, K₂ ∈ R^{n×d}``, ``V₁, V₂ ∈ R^{n×d}``   ``K1, K2, V1, V2`` (``K1/V1`` and ``K2/V2`` may
                                             have different row counts; ``V`` width ``d_v``)
``K₁ ⊘ K₂ ∈ R^{n²×d}`` (column-wise          row ``(j, k)`` is ``K1[j] ⊙ K2[k]``
Kronecker)
``A = exp(Q (K₁ ⊘ K₂)ᵀ)``, ``D = diag(A 1)``  logits ``S[i, j, k] = Σ_c Q[i,c] K1[j,c] K2[k,c]``
``Att = D⁻¹ A (V₁ ⊘ V₂)``                    :func:`tensor_attention_exact`
``B`` (entry bound), ``g`` (degree)          ``max |entry|``, ``degree``
===========================================  ==============================================

Polynomial method
-----------------
By the multinomial theorem ``Σ_{|α| ≤ g} q^α a^α b^α / α! = Σ_{m ≤ g} ⟨q, a ⊙ b⟩^m / m!``: with
feature maps ``φ_Q(q)_α = q^α / α!`` and ``φ(a)_α = a^α`` over the ``r = C(d+g, g)``
multi-indices ``|α| ≤ g``, the method replaces every ``exp(S[i,j,k])`` by the degree-``g``
Taylor polynomial ``p_g(S[i,j,k])`` *exactly*, while only touching ``n × r`` matrices::

    num_i = Σ_α φ_Q(q_i)_α (Σ_j φ(K1_j)_α V1[j]) ⊙ (Σ_k φ(K2_k)_α V2[k])
    den_i = Σ_α φ_Q(q_i)_α (Σ_j φ(K1_j)_α) (Σ_k φ(K2_k)_α)

in ``O(n r d)`` time. If every logit satisfies ``|S| ≤ R`` (``R = d B³`` when all entries of
``Q, K1, K2`` are bounded by ``B``), each weight is off by a relative ``ε_g(R) = max_{|s|≤R}
|p_g(s) e^{−s} − 1|``, and every output entry by at most ``2 ε / (1 − ε) · max|V1 ⊙ V2|``
(:func:`poly_error_bound`). The bound is small while ``R`` is a few units and useless once
``R ≫ g``: the bounded-entry threshold of the paper (``B = o(∛log n)`` for the
``n^{1+o(1)}`` algorithm, SETH-hardness beyond ``Ω(∛log n)``) in finite form.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.seq._tensors import check_float_tensor, check_same_dtype_device

__all__ = ["tensor_attention_exact", "tensor_attention_poly", "tensor_attention_bruteforce",
           "poly_feature_dim", "poly_features", "poly_error_bound", "softmax_attention",
           "TensorAttention"]

# logits held at once by the exact path: 512 KiB in float64, so a block and its temporaries
# stay in cache (larger blocks measured up to 3x slower and made the time super-cubic in n)
MAX_BLOCK_ELEMENTS = 2 ** 16


def _check_inputs(Q, K1, K2, V1, V2):
    Q = check_float_tensor(Q, name="Q", ndim=2)
    d = Q.shape[1]
    K1 = check_float_tensor(K1, name="K1", shape=(None, d))
    K2 = check_float_tensor(K2, name="K2", shape=(None, d))
    V1 = check_float_tensor(V1, name="V1", shape=(K1.shape[0], None))
    V2 = check_float_tensor(V2, name="V2", shape=(K2.shape[0], V1.shape[1]))
    check_same_dtype_device(Q, "Q", K1=K1, K2=K2, V1=V1, V2=V2)
    for name, t in (("Q", Q), ("K1", K1), ("K2", K2)):
        if t.shape[0] == 0:
            raise ValueError(f"{name} must have at least one row, got shape {tuple(t.shape)}")
    return Q, K1, K2, V1, V2


def tensor_attention_bruteforce(Q, K1, K2, V1, V2) -> torch.Tensor:
    """The definition as a plain triple loop over ``(i, j, k)`` (tiny inputs; tests only).

    ``out[i] = Σ_{j,k} exp(S_ijk) (V1[j] ⊙ V2[k]) / Σ_{j,k} exp(S_ijk)``,
    ``S_ijk = Σ_c Q[i,c] K1[j,c] K2[k,c]``.
    """
    Q, K1, K2, V1, V2 = _check_inputs(Q, K1, K2, V1, V2)
    out = torch.zeros(Q.shape[0], V1.shape[1], dtype=Q.dtype)
    for i in range(Q.shape[0]):
        num = torch.zeros(V1.shape[1], dtype=Q.dtype)
        den = 0.0
        for j in range(K1.shape[0]):
            for k in range(K2.shape[0]):
                w = math.exp(sum(float(Q[i, c] * K1[j, c] * K2[k, c])
                                 for c in range(Q.shape[1])))
                num += w * V1[j] * V2[k]
                den += w
        out[i] = num / den
    return out


def tensor_attention_exact(Q: torch.Tensor, K1: torch.Tensor, K2: torch.Tensor,
                           V1: torch.Tensor, V2: torch.Tensor, *,
                           block_queries: int | None = None) -> torch.Tensor:
    """``D⁻¹ exp(Q (K₁ ⊘ K₂)ᵀ) (V₁ ⊘ V₂)`` exactly, in ``O(n_q n₁ n₂ d)`` time.

    Queries are processed in blocks of ``block_queries`` rows, so at most one
    ``block × n₁ × n₂`` array of logits exists at a time (default: the largest block with
    at most ``2¹⁶`` logits, and at least one query; one query = one ``n₁ × n₂`` block).
    Each row's maximum logit is subtracted before ``exp`` (no overflow); the result is
    differentiable in all five inputs.

    Parameters
    ----------
    Q : Tensor, shape (n_q, d)
    K1, K2 : Tensor, shapes (n1, d), (n2, d)
    V1, V2 : Tensor, shapes (n1, d_v), (n2, d_v)
    block_queries : int, optional

    Returns
    -------
    Tensor, shape (n_q, d_v)

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> Q, K1, K2, V1, V2 = (torch.randn(5, 3, generator=g, dtype=torch.float64)
    ...                      for _ in range(5))
    >>> ref = tensor_attention_bruteforce(Q, K1, K2, V1, V2)
    >>> bool(torch.allclose(tensor_attention_exact(Q, K1, K2, V1, V2, block_queries=2), ref))
    True
    """
    Q, K1, K2, V1, V2 = _check_inputs(Q, K1, K2, V1, V2)
    n1, n2 = K1.shape[0], K2.shape[0]
    if block_queries is None:
        block = max(1, MAX_BLOCK_ELEMENTS // (n1 * n2))
    else:
        block = check_int(block_queries, name="block_queries", minimum=1)
    outs = []
    for s in range(0, Q.shape[0], block):
        q = Q[s:s + block]  # (c, d)
        S = (q[:, None, :] * K1[None]) @ K2.T  # (c, n1, n2): S[i, j, k]
        m = S.amax(dim=(1, 2), keepdim=True)
        A = torch.exp(S - m)
        den = A.sum(dim=(1, 2))  # (c,)
        num = ((A @ V2) * V1[None]).sum(dim=1)  # Σ_j V1[j] ⊙ Σ_k A[i,j,k] V2[k]: (c, d_v)
        outs.append(num / den[:, None])
    return torch.cat(outs, dim=0)


def poly_feature_dim(d: int, degree: int) -> int:
    """``r = C(d + g, g)``: the number of multi-indices ``α ∈ ℕ^d`` with ``|α| ≤ g``.

    Examples
    --------
    >>> poly_feature_dim(3, 2), poly_feature_dim(3, 8), poly_feature_dim(16, 2)
    (10, 165, 153)
    """
    d = check_int(d, name="d", minimum=1)
    g = check_int(degree, name="degree", minimum=0)
    return math.comb(d + g, g)


def _multi_indices(d: int, degree: int):
    """Per total degree m = 0..g: the index tuples (c_1 ≤ … ≤ c_m) and log α! for each."""
    groups = []
    for m in range(degree + 1):
        idx = list(itertools.combinations_with_replacement(range(d), m))
        log_fact = [sum(math.lgamma(t.count(c) + 1) for c in set(t)) for t in idx]
        groups.append((idx, log_fact))
    return groups


def poly_features(X: torch.Tensor, degree: int, *, query: bool = False) -> torch.Tensor:
    """Monomial features ``X[i]^α`` (divided by ``α!`` when ``query=True``) for all
    ``|α| ≤ degree``; shape ``(n, C(d + g, g))``, ordered by total degree.

    Examples
    --------
    >>> import torch
    >>> poly_features(torch.tensor([[2.0, 3.0]]), 2).tolist()  # 1, x, y, x², xy, y²
    [[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]
    >>> poly_features(torch.tensor([[2.0, 3.0]]), 2, query=True).tolist()
    [[1.0, 2.0, 3.0, 2.0, 6.0, 4.5]]
    """
    X = check_float_tensor(X, name="X", ndim=2)
    g = check_int(degree, name="degree", minimum=0)
    n, d = X.shape
    cols = []
    for m, (idx, log_fact) in enumerate(_multi_indices(d, g)):
        if m == 0:
            f = X.new_ones(n, 1)
        else:
            I = torch.tensor(idx, device=X.device)  # (r_m, m)
            f = X[:, I].prod(dim=-1)  # (n, r_m)
        if query:
            f = f / torch.tensor(log_fact, dtype=X.dtype, device=X.device).exp()
        cols.append(f)
    return torch.cat(cols, dim=1)


def tensor_attention_poly(Q: torch.Tensor, K1: torch.Tensor, K2: torch.Tensor,
                          V1: torch.Tensor, V2: torch.Tensor, *, degree: int) -> torch.Tensor:
    """The polynomial-method approximation of :func:`tensor_attention_exact`.

    Equal to ``D̃⁻¹ p_g(S) (V₁ ⊘ V₂)`` with ``p_g`` the degree-``g`` Taylor polynomial of
    ``exp`` applied to every logit (see the module notes), computed through feature maps of
    size ``C(d + g, g)`` in ``O(n r d_v)`` time without forming any ``n × n`` array. Accurate
    only while the logits are bounded by a few units (:func:`poly_error_bound`); for odd
    ``g`` and large negative logits ``p_g`` can turn negative and the result is meaningless.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> Q, K1, K2, V1, V2 = (torch.rand(64, 3, generator=g, dtype=torch.float64) - 0.5
    ...                      for _ in range(5))
    >>> exact = tensor_attention_exact(Q, K1, K2, V1, V2)
    >>> err = (tensor_attention_poly(Q, K1, K2, V1, V2, degree=4) - exact).abs().max()
    >>> bool(err < 1e-6)
    True
    """
    Q, K1, K2, V1, V2 = _check_inputs(Q, K1, K2, V1, V2)
    g = check_int(degree, name="degree", minimum=0)
    fq = poly_features(Q, g, query=True)  # (n_q, r)
    f1, f2 = poly_features(K1, g), poly_features(K2, g)  # (n1, r), (n2, r)
    M = (f1.T @ V1) * (f2.T @ V2)  # (r, d_v)
    s = f1.sum(dim=0) * f2.sum(dim=0)  # (r,)
    return (fq @ M) / (fq @ s)[:, None]


def _taylor_rel_error(R: float, degree: int, n_grid: int = 4001) -> float:
    """``ε_g(R) = max_{|s| ≤ R} |p_g(s) e^{−s} − 1|`` on a fine grid (plus the endpoints)."""
    s = torch.linspace(-R, R, n_grid, dtype=torch.float64)
    p = torch.zeros_like(s)
    term = torch.ones_like(s)
    for m in range(degree + 1):
        p = p + term
        term = term * s / (m + 1)
    return float((p * torch.exp(-s) - 1).abs().max())


def poly_error_bound(R: float, degree: int, v_max: float = 1.0) -> float:
    """A-priori bound on ``max |poly − exact|`` over output entries when every logit
    satisfies ``|S| ≤ R`` and ``max |V1[j] ⊙ V2[k]| ≤ v_max``: ``2 ε / (1 − ε) · v_max``
    with ``ε = ε_g(R)``; ``inf`` once ``ε ≥ 1``.

    Examples
    --------
    >>> f"{poly_error_bound(0.375, 4):.1e}", poly_error_bound(24.0, 4)
    ('1.7e-04', inf)
    """
    R = check_scalar(R, name="R", lower=0.0)
    g = check_int(degree, name="degree", minimum=0)
    v_max = check_scalar(v_max, name="v_max", lower=0.0)
    eps = _taylor_rel_error(float(R), g)
    return math.inf if eps >= 1 else 2 * eps / (1 - eps) * float(v_max)


def softmax_attention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Ordinary (matrix) softmax attention ``softmax(Q Kᵀ) V`` (no scaling, no mask); the
    special case ``K2 = V2 = 1`` of tensor attention."""
    Q = check_float_tensor(Q, name="Q", ndim=2)
    K = check_float_tensor(K, name="K", shape=(None, Q.shape[1]))
    V = check_float_tensor(V, name="V", shape=(K.shape[0], None))
    return torch.softmax(Q @ K.T, dim=-1) @ V


class TensorAttention(nn.Module):
    """A tensor-attention layer: ``Q, K1, K2, V1, V2 = x W_*`` per head, exact or
    polynomial-method evaluation, output projection. Input ``(B, n, dim)``.

    Examples
    --------
    >>> import torch
    >>> layer = TensorAttention(8, heads=2, generator=torch.Generator().manual_seed(0))
    >>> layer(torch.randn(3, 6, 8)).shape
    torch.Size([3, 6, 8])
    """

    def __init__(self, dim: int, *, heads: int = 1, method: Literal["exact", "poly"] = "exact",
                 degree: int = 4, generator: torch.Generator | None = None):
        super().__init__()
        self.dim = check_int(dim, name="dim", minimum=1)
        self.heads = check_int(heads, name="heads", minimum=1)
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads={heads}, got {dim}")
        self.method = check_choice(method, name="method", choices=("exact", "poly"))
        self.degree = check_int(degree, name="degree", minimum=0)
        self.proj = nn.Linear(dim, 5 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        bound = 1.0 / math.sqrt(dim)
        with torch.no_grad():
            for p in (self.proj.weight, self.out.weight, self.out.bias):
                p.copy_((2 * torch.rand(p.shape, generator=generator) - 1) * bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n, dim) -> (B, n, dim)
        x = check_float_tensor(x, name="x", ndim=3)
        if x.shape[-1] != self.dim:
            raise ValueError(f"x must have last dimension {self.dim}, got shape "
                             f"{tuple(x.shape)}")
        B, n, _ = x.shape
        h, dh = self.heads, self.dim // self.heads
        parts = self.proj(x).reshape(B, n, 5, h, dh).permute(2, 0, 3, 1, 4)  # (5, B, h, n, dh)
        f = tensor_attention_exact if self.method == "exact" else (
            lambda *a: tensor_attention_poly(*a, degree=self.degree))
        outs = torch.stack([torch.stack([f(*(p[b, i] for p in parts)) for i in range(h)])
                            for b in range(B)])  # (B, h, n, dh)
        return self.out(outs.transpose(1, 2).reshape(B, n, self.dim))
