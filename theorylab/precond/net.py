"""The DCDM search-direction network (torch): a small convolutional U-Net that maps a residual
on the grid to an approximation of A⁻¹ r up to scale, its scale-invariant training loss, a
training loop and the adapter that turns a network into a ``direction`` for
:func:`theorylab.precond.solve_dcdm`.

Architecture (after the paper's reference code, sized for a CPU): a linear 3×3 convolution
of the two input channels (residual scaled to unit RMS, fluid mask) to ``channels``; at each
of ``levels`` resolutions a residual pair of ReLU convolutions, then 2× average pooling; a
residual pair at the coarsest level; on the way up, nearest-neighbour 2× upsampling, the
skip added, a residual pair; a 1×1 linear output, zeroed on solid cells. Zero padding matches
the homogeneous Dirichlet wall. The network is fully convolutional, so one trained at 32²
runs at any size divisible by 2^levels.

Loss: for a right-hand side b and q = f_θ(b), α = qᵀb / qᵀAq (the best step along q in the
A-norm) and L = ‖b − α A q‖², batch-averaged; L(c q) = L(q) for c ≠ 0, so only the
direction of q is learned.

References
----------
A. Kaneda et al., arXiv:2205.10763 (ICML 2023), Sec. 3.2–3.3, Fig. 2.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_array, check_int, check_positive
from theorylab.precond.poisson import PoissonSystem
from theorylab.results import ResultRepr

__all__ = ["DCDMNet", "DCDMTraining", "dcdm_loss", "train_dcdm_net", "net_direction"]


class _ResidualPair(nn.Module):
    def __init__(self, conv: type, channels: int):
        super().__init__()
        self.c1 = conv(channels, channels, 3, padding=1)
        self.c2 = conv(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + torch.relu(self.c2(torch.relu(self.c1(h))))


class DCDMNet(nn.Module):
    """U-Net search-direction model; ``forward(r, fluid) -> q``, all of shape (B, *grid).

    Parameters
    ----------
    dim : {2, 3}
        Grid dimension.
    channels : int
        Feature channels (paper: 16).
    levels : int
        Number of 2× pooling levels (paper's 64³ net: 1; more levels widen the receptive
        field); grid sizes must be divisible by 2**levels.
    generator : torch.Generator, optional
        Source of the initial weights (PyTorch's default uniform fan-in scheme).
    """

    def __init__(self, dim: int = 2, *, channels: int = 16, levels: int = 2,
                 generator: torch.Generator | None = None):
        super().__init__()
        dim = check_int(dim, name="dim", minimum=2, maximum=3)
        channels = check_int(channels, name="channels", minimum=1)
        levels = check_int(levels, name="levels", minimum=0)
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        self.dim, self.levels = dim, levels
        self.first = conv(2, channels, 3, padding=1)
        self.down = nn.ModuleList(_ResidualPair(conv, channels) for _ in range(levels + 1))
        self.up = nn.ModuleList(_ResidualPair(conv, channels) for _ in range(levels))
        self.last = conv(channels, 1, 1)
        self._pool = nn.functional.avg_pool2d if dim == 2 else nn.functional.avg_pool3d
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d | nn.Conv3d):
                    fan_in = m.weight[0].numel()
                    bound = 1.0 / np.sqrt(fan_in)
                    for t in (m.weight, m.bias):
                        u = torch.rand(t.shape, generator=generator, dtype=t.dtype)
                        t.copy_(u * 2 * bound - bound)

    def forward(self, r: torch.Tensor, fluid: torch.Tensor) -> torch.Tensor:
        # r: (B, *grid); fluid: (B or 1, *grid) in {0, 1}
        grid = r.shape[1:]
        if any(s % (2**self.levels) for s in grid):
            raise ValueError(f"grid sizes must be divisible by 2**levels = {2**self.levels}, "
                             f"got {tuple(grid)}")
        fluid = fluid.to(r.dtype).expand_as(r)
        axes = tuple(range(1, r.ndim))
        count = fluid.sum(dim=axes, keepdim=True).clamp_min(1.0)
        rms = torch.sqrt((r * r).sum(dim=axes, keepdim=True) / count).clamp_min(1e-30)
        h = self.first(torch.stack([r / rms, fluid], dim=1))  # (B, C, *grid)
        skips = []
        for block in self.down[:-1]:
            h = block(h)
            skips.append(h)
            h = self._pool(h, 2)
        h = self.down[-1](h)
        for block, skip in zip(reversed(self.up), reversed(skips), strict=True):
            h = nn.functional.interpolate(h, scale_factor=2, mode="nearest") + skip
            h = block(h)
        return self.last(h)[:, 0] * fluid  # (B, *grid)


def _torch_operator(system: PoissonSystem, dtype, device) -> torch.Tensor:
    A = system.A.tocoo()
    idx = torch.as_tensor(np.vstack([A.row, A.col]), dtype=torch.int64)
    return torch.sparse_coo_tensor(idx, torch.as_tensor(A.data, dtype=dtype), size=A.shape,
                                   device=device, check_invariants=False).coalesce()


def dcdm_loss(q: torch.Tensor, b: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Scale-invariant loss mean‖b − αAq‖² with α = qᵀb / qᵀAq, rows of q and b (B, n);
    ``A`` is an (n, n) torch matrix (dense or sparse).

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[2.0, 0.0], [0.0, 1.0]]); b = torch.tensor([[1.0, 1.0]])
    >>> float(dcdm_loss(torch.tensor([[0.5, 1.0]]), b, A))   # q = A⁻¹b: zero loss
    0.0
    """
    Aq = (A @ q.T).T  # (B, n)
    alpha = (q * b).sum(1, keepdim=True) / (q * Aq).sum(1, keepdim=True)
    return ((b - alpha * Aq) ** 2).sum(1).mean()


@dataclass
class DCDMTraining(ResultRepr):
    """A trained network, its loss per step and the training wall time (s)."""

    net: nn.Module
    losses: np.ndarray
    train_time: float

    @property
    def final_loss(self) -> float:
        """Mean loss over the last 10 % of the steps."""
        k = max(1, len(self.losses) // 10)
        return float(np.mean(self.losses[-k:]))


def train_dcdm_net(net: nn.Module, system: PoissonSystem, rhs, *, steps: int = 1000,
                   batch_size: int = 32, lr: float = 1e-3,
                   generator: torch.Generator | None = None,
                   device: str | torch.device = "cpu") -> DCDMTraining:
    """Adam on :func:`dcdm_loss` over random batches of the rows of ``rhs``.

    Parameters
    ----------
    net : DCDMNet (or any module ``forward(r, fluid)`` on grids)
    system : PoissonSystem
        The training system (its A enters the loss).
    rhs : (n_samples, n) array
        Training right-hand sides on the fluid cells (e.g. :func:`ritz_rhs`).
    steps, batch_size : int
    lr : float
        Adam learning rate.
    generator : torch.Generator, optional
        Source of the batch indices (CPU generator).
    device : str or torch.device

    Returns
    -------
    DCDMTraining
    """
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"system must be a PoissonSystem, got {type(system).__name__}")
    rhs = check_array(rhs, name="rhs", ndim=2, shape=(None, system.n), min_shape=(1, 1))
    steps = check_int(steps, name="steps", minimum=1)
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    lr = check_positive(lr, name="lr")
    device = torch.device(device)
    net = net.to(device)
    dtype = next(net.parameters()).dtype
    A = _torch_operator(system, dtype, device)
    grids = np.zeros((rhs.shape[0], *system.shape))
    grids[:, system.fluid] = rhs
    B_grid = torch.as_tensor(grids, dtype=dtype, device=device)
    fluid = torch.as_tensor(system.fluid, dtype=dtype, device=device)[None]
    fl = torch.as_tensor(system.fluid, device=device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = np.zeros(steps)
    t0 = time.perf_counter()
    for s in range(steps):
        idx = torch.randint(rhs.shape[0], (batch_size,), generator=generator).to(device)
        b_grid = B_grid[idx]
        q = net(b_grid, fluid)[:, fl]  # (B, n)
        loss = dcdm_loss(q, b_grid[:, fl], A)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[s] = loss.item()
        if not np.isfinite(losses[s]):
            raise FloatingPointError(f"train_dcdm_net: non-finite loss at step {s}")
    return DCDMTraining(net=net.eval(), losses=losses, train_time=time.perf_counter() - t0)


def net_direction(net: nn.Module, system: PoissonSystem, *,
                  device: str | torch.device = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """A ``direction`` for :func:`solve_dcdm`: r (n,) → net(r on the grid) on the fluid cells,
    in the network's dtype (float64 result).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from theorylab.precond import poisson_system, solve_dcdm
    >>> class Identity(torch.nn.Module):
    ...     def forward(self, r, fluid):
    ...         return r * fluid
    >>> s = poisson_system((8, 8))
    >>> f = net_direction(Identity(), s)
    >>> np.allclose(f(np.arange(64.0)), np.arange(64.0))
    True
    """
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"system must be a PoissonSystem, got {type(system).__name__}")
    device = torch.device(device)
    params = list(net.parameters())
    dtype = params[0].dtype if params else torch.float64
    fluid = torch.as_tensor(system.fluid, dtype=dtype, device=device)[None]
    mask = system.fluid

    def direction(r: np.ndarray) -> np.ndarray:
        g = np.zeros((1, *system.shape))
        g[0][mask] = r
        with torch.no_grad():
            q = net(torch.as_tensor(g, dtype=dtype, device=device), fluid)
        return q[0].detach().to("cpu", torch.float64).numpy()[mask]

    return direction
