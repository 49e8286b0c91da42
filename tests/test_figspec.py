"""Figures as data: every kind of artist the claims draw survives capture → JSON → render."""

import json

import numpy as np
import pytest

from theorylab import figspec
from theorylab.plotting import finish, new_figure, plot_measured, plot_seeds, plot_theory


def _rich_figure():
    fig, axes = new_figure(2, 2, title="suptitle here")
    x = np.linspace(0.1, 3, 25)
    plot_theory(axes[0], x, x**2, label="theory")
    plot_seeds(axes[0], x[::5], np.vstack([x[::5] ** 2 + d for d in (-0.1, 0.0, 0.2)]).T)
    plot_measured(axes[0], [1.0, 2.0], [1.5, 3.0], None, label="no bars", color="#d62728")
    axes[0].axhline(2.0, color="k", ls=":", lw=0.8, label="bound")
    axes[0].axvline(1.5, color="g", ls="-.")
    axes[0].text(0.05, 0.9, "axes text", transform=axes[0].transAxes, fontsize=7)
    axes[0].text(1.0, 4.0, "data text", fontsize=6, ha="center")
    finish(axes[0], xlabel="x", ylabel="y", title="lines", logy=True)
    axes[1].hist(np.random.default_rng(0).normal(size=200), bins=12, alpha=0.5, label="hist")
    axes[1].bar([0, 1, 2], [3, 1, 2], color="#2ca02c", label="bars")
    axes[1].step([0, 1, 2, 3], [1, 2, 1, 3], where="post", label="step")
    axes[1].set_xticks([0, 1, 2], ["a", "b", "c"])
    finish(axes[1], title="bars")
    axes[2].scatter([1, 2, 3], [3, 1, 2], s=[10, 20, 30], color="#9467bd", label="pts")
    axes[2].fill_between([0, 1, 2], [0, 1, 0], [1, 2, 1], alpha=0.2, label="band")
    axes[2].set_xscale("log")
    finish(axes[2])
    axes[3].imshow(np.arange(12.0).reshape(3, 4), cmap="viridis")
    axes[3].errorbar([1, 2], [2, 3], xerr=[0.1, 0.2], yerr=[[0.1, 0.2], [0.3, 0.4]], fmt="s",
                     capsize=3, label="both err")
    axes[3].legend(fontsize=6)
    return fig


def test_round_trip_of_every_artist_kind():
    spec = figspec.capture(_rich_figure())
    assert spec["complete"], spec["unsupported"]
    text = json.dumps(spec)  # JSON-ready
    again = figspec.capture(figspec.render(json.loads(text)))
    assert again == json.loads(text)
    a0 = spec["axes"][0]
    assert {ln["kind"] for ln in a0["lines"]} == {"data", "hline", "vline"}
    assert len(a0["errorbars"]) == 2 and a0["errorbars"][1]["yerr"] is None
    assert a0["yscale"] == "log" and a0["title"] == "lines"
    assert spec["axes"][1]["xticks"]["labels"] == ["a", "b", "c"]
    assert spec["suptitle"]["text"] == "suptitle here"
    assert [e["text"] for e in spec["axes"][3]["legend"]["entries"]] == ["both err"]


def test_values_survive_at_seven_digits():
    fig, ax = new_figure(1)
    ys = np.array([np.pi, 1e-300, -2.5e12, np.nan, np.inf])
    ax[0].plot([0, 1, 2, 3, 4], ys)
    spec = json.loads(json.dumps(figspec.capture(fig)))
    got = figspec._unarr(spec["axes"][0]["lines"][0]["y"])
    np.testing.assert_allclose(got[:3], ys[:3], rtol=1e-6)
    assert np.isnan(got[3]) and got[4] == np.inf


def test_unsupported_artists_make_the_spec_incomplete():
    fig, ax = new_figure(1)
    ax[0].pie([1, 2, 3])
    ax[0].annotate("arrow", (0.5, 0.5), (0.1, 0.1), arrowprops={"arrowstyle": "->"})
    spec = figspec.capture(fig)
    assert not spec["complete"]
    assert "annotation" in spec["unsupported"] and "patch Wedge" in spec["unsupported"]


def test_render_refuses_an_unknown_version():
    with pytest.raises(ValueError, match="spec version must be 1, got 99"):
        figspec.render({"version": 99})
