"""Every claim in verify/ runs at smoke scale and its check passes."""

import json

import pytest

from theorylab import figspec
from theorylab.claims import ClaimResult, discover_claims, run_claim

CLAIMS = [c.id for c in discover_claims()]


def test_there_are_claims():
    assert CLAIMS, "verify/ holds no claim scripts"


@pytest.mark.parametrize("claim", CLAIMS)
def test_claim_smoke(claim):
    res = run_claim(claim, scale="smoke", seed=0)
    assert isinstance(res, ClaimResult)
    assert res.claim == claim
    assert res.scale == "smoke" and res.seed == 0
    assert res.checks, "a claim must record at least one check"
    assert res.figure is not None, "a claim must draw its figure"
    assert res.check(), res.summary()
    # the report redraws this figure from its record: the spec must hold all of it
    spec = json.loads(json.dumps(figspec.capture(res.figure)))
    assert spec["complete"], spec["unsupported"]
    assert figspec.capture(figspec.render(spec)) == spec
