"""Every claim passes at smoke scale on seeds 0..19 (slow; run with ``-m slow``).

A smoke check's tolerance is derived from the spread measured over 20 seeds (each script's
docstring says so); this test re-runs that measurement.
"""

import matplotlib.pyplot as plt
import pytest

from theorylab.claims import discover_claims, run_claim

CLAIMS = [c.id for c in discover_claims()]
SEEDS = range(20)


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS)
def test_claim_smoke_passes_on_20_seeds(claim):
    failed = []
    for seed in SEEDS:
        res = run_claim(claim, scale="smoke", seed=seed)
        plt.close("all")
        if not res.check():
            failed.append(f"seed {seed}: " + "; ".join(
                c.describe() for c in res.checks if not c.passed))
    assert not failed, f"{claim} failed on {len(failed)}/20 seeds:\n" + "\n".join(failed)
