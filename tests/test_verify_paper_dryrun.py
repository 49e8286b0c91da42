"""Every claim with a ``paper`` scale builds its paper-size configuration and takes one
optimisation step on the CPU (``theorylab verify --scale paper --dry-run``)."""

import pytest

from theorylab import claims
from theorylab.claims import ClaimResult, discover_claims

PAPER_CLAIMS = [c.id for c in discover_claims() if "paper" in c.scales]
# every claim about the torch modules (scripts importing theorylab.nn) has a paper scale
TORCH_CLAIMS = [c.id for c in discover_claims() if "theorylab.nn" in c.path.read_text()]


def test_torch_claims_have_a_paper_scale():
    assert len(TORCH_CLAIMS) >= 9
    missing = sorted(set(TORCH_CLAIMS) - set(PAPER_CLAIMS))
    assert not missing, f"torch claims without SIZES['paper']: {missing}"


@pytest.mark.parametrize("claim", PAPER_CLAIMS)
def test_paper_dry_run(claim):
    with claims.claim_context(device="cpu", dry_run=True):
        res = claims.run_claim(claim, scale="paper", seed=0)
    assert isinstance(res, ClaimResult)
    assert res.claim == claim and res.scale == "paper"
    names = [c.name for c in res.checks]
    assert any(n.startswith("paper config built") for n in names), names
    assert any(n.startswith("one ") for n in names), names
    assert res.check(), res.summary()


def test_dry_run_is_not_the_default():
    assert not claims.dry_run()
    assert claims.device() in ("cpu", "cuda") or claims.device().startswith("cuda:")
