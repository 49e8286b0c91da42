"""The sequence-model claims (scripts that use ``theorylab.seq``): each has a ``paper`` scale
whose ``--dry-run`` builds the paper configuration and takes one step on the CPU, unless it
states why the device cannot matter (``CPU_ONLY``)."""

import ast

import pytest

from theorylab import claims
from theorylab.claims import discover_claims

pytest.importorskip("torch")

SEQ_CLAIMS = {c.id: c for c in discover_claims() if "theorylab.seq" in c.path.read_text()}
SEQ_PAPER = sorted(k for k, c in SEQ_CLAIMS.items() if "paper" in c.scales)


def _cpu_only_reason(path) -> str | None:
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and any(isinstance(t, ast.Name) and t.id == "CPU_ONLY" for t in node.targets)):
            return node.value.value
    return None


def test_the_seq_claims_are_found():
    # parity, mod 3, tensor attention x2, hyper-connections x2, NEE x2
    assert len(SEQ_CLAIMS) >= 8, sorted(SEQ_CLAIMS)
    assert {"grazzi2024_negative_eigenvalues_parity",
            "grazzi2024_negative_eigenvalues_mod3"} <= set(SEQ_PAPER)


@pytest.mark.parametrize("claim", sorted(SEQ_CLAIMS))
def test_seq_claim_has_a_paper_scale_or_says_why_not(claim):
    info = SEQ_CLAIMS[claim]
    reason = _cpu_only_reason(info.path)
    assert "paper" in info.scales or (isinstance(reason, str) and len(reason) > 20), \
        f"{claim}: no SIZES['paper'] and no CPU_ONLY reason"


@pytest.mark.parametrize("claim", SEQ_PAPER)
def test_seq_paper_dry_run_on_cpu(claim):
    """``--scale paper --dry-run``: every arm's paper configuration is built and takes one
    finite step on a tiny slice, on the CPU."""
    with claims.claim_context(device="cpu", dry_run=True):
        res = claims.run_claim(claim, scale="paper", seed=0)
    built = [c for c in res.checks if c.name.startswith("paper config built")]
    steps = [c for c in res.checks if c.name.startswith("one ")]
    assert built and steps, [c.name for c in res.checks]
    assert res.scale == "paper" and res.check(), res.summary()
