"""One figure style for every claim: theory dashed, measured as points with error bars.

Functions take and return matplotlib objects built on ``matplotlib.figure.Figure``
directly (no pyplot global state), so verify scripts stay pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["new_figure", "plot_theory", "plot_measured", "plot_seeds", "finish"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf"]


def color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def new_figure(ncols: int = 1, nrows: int = 1, *, title: str | None = None,
               size: tuple[float, float] | None = None) -> tuple[Any, np.ndarray]:
    """A Figure and a flat array of its axes, in the house style."""
    from matplotlib.figure import Figure

    w, h = size or (4.6 * ncols, 3.6 * nrows)
    fig = Figure(figsize=(w, h), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes:
        ax.grid(True, alpha=0.25, lw=0.6)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, axes


def plot_theory(ax: Any, x: Sequence[float], y: Sequence[float], *, label: str | None = "theory",
                color: str | None = None, **kw: Any) -> Any:
    """Theory curve: dashed line."""
    kw.setdefault("lw", 1.6)
    return ax.plot(x, y, ls="--", color=color, label=label, **kw)[0]


def plot_measured(ax: Any, x: Sequence[float], mean: Sequence[float],
                  err: Sequence[float] | None = None, *, label: str | None = "measured",
                  color: str | None = None, **kw: Any) -> Any:
    """Measured values: markers with error bars (no connecting line)."""
    kw.setdefault("ms", 4.5)
    kw.setdefault("capsize", 2.5)
    return ax.errorbar(x, mean, yerr=err, fmt="o", color=color, label=label, **kw)


def plot_seeds(ax: Any, x: Sequence[float], samples: np.ndarray, *, label: str | None = None,
               color: str | None = None, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """Plot mean ± standard error across seeds; ``samples`` has shape (n_x, n_seeds).

    Returns the means and standard errors that were drawn.
    """
    s = np.asarray(samples, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    m = s.mean(axis=1)
    se = s.std(axis=1, ddof=1) / np.sqrt(s.shape[1]) if s.shape[1] > 1 else np.zeros_like(m)
    n = s.shape[1]
    plot_measured(ax, x, m, se, label=label or f"measured (mean ± s.e., {n} seeds)",
                  color=color, **kw)
    return m, se


def finish(ax: Any, *, xlabel: str | None = None, ylabel: str | None = None,
           title: str | None = None, logx: bool = False, logy: bool = False,
           legend: bool = True) -> None:
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False)
