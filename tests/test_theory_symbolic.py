"""Closed forms of the theory modules re-derived with sympy and compared with the numeric code.

Each test derives a formula symbolically (a limit, a root, a derivative, an exact expectation
over a finite probability space) and then evaluates the library's *numeric* function at a
few points against it, so breaking either the algebra or the code fails the test.

- advani2017 (``theorylab.dynamics.theory``): Marchenko–Pastur moments and Stieltjes
  transform, the t → ∞, α → 0, α → ∞ limits of E_g, the frozen-subspace term (1 − α)σ₀²,
  the train-error floor, Bayes = ridge at γ* = σ_ε²/σ_w².
- maillard2024 (``theorylab.gamp``): the RIE cubic from the R-transform, the choice of its
  root (the branch g ~ 1/z and its moment series), α_PR = κ − κ²/2 and its limits, the
  pre-activation-noise conversion, Var(xᵀAx − Tr A) = 2‖A‖²_F behind the test error.
- saberi2024 (``theorylab.dro.surrogate``): the surrogate's closed forms from the inner
  maximisation, its derivative by ``sympy.diff``, the logistic envelope identity.
- song2023 (``theorylab.sketch``): E and Var of ‖Sx‖² for CountSketch and SRHT, by exact
  enumeration of every draw of a tiny sketch, against sympy-derived closed forms; the
  Gaussian-diagonal failure constant; the CountSketch failure probability.
- elser2026 (``theorylab.boolean``): the hyperbola projection's stationarity equation, the
  BTF margin √(deg/k) of a k-input majority, and RRR fixed points on a tiny instance.
"""

import inspect
import itertools
import math

import numpy as np
import pytest
import sympy as sp  # a core dependency: no skip


def _f(expr, subs=None) -> float:
    return float(sp.N(expr.subs(subs or {}), 30))


def _gauss_mean(poly, syms, var=1):
    """E of a polynomial in independent N(0, var) variables ``syms``:
    E s^k = (k − 1)!! var^{k/2} for even k, 0 for odd k."""
    out = 0
    for monom, coeff in sp.Poly(sp.expand(poly), *syms).terms():
        out += coeff * sp.Mul(*[0 if k % 2 else sp.factorial2(k - 1) * sp.sympify(var) ** (k // 2)
                                for k in monom])
    return sp.expand(out)


# ============================================================================ advani2017
from theorylab.dynamics import theory as adv  # noqa: E402

_al, _g, _e = sp.symbols("alpha gamma epsilon", positive=True)
_th = sp.symbols("theta", real=True)


def _mp_stieltjes_sym(gamma, alpha):
    a = gamma + alpha - 1
    return (-a + sp.sqrt(a**2 + 4 * gamma)) / (2 * gamma)


def test_mp_angle_substitution_and_moments_match_the_quadrature():
    """ρ(λ)dλ = (h² sin²θ / 2πλ) dθ for λ = m − h cos θ, h = 2√α, m = 1 + α; moments
    ∫λρ = α, ∫λ²ρ = α(1 + α) follow by exact trigonometric integration."""
    h, m = 2 * sp.sqrt(_al), 1 + _al
    lo, hi = (1 - sp.sqrt(_al)) ** 2, (1 + sp.sqrt(_al)) ** 2
    lam = m - h * sp.cos(_th)
    assert sp.simplify(lam.subs(_th, 0) - lo) == 0 and sp.simplify(lam.subs(_th, sp.pi) - hi) == 0
    # √((λ₊ − λ)(λ − λ₋)) = h sin θ on [0, π] and dλ/dθ = h sin θ
    assert sp.simplify(sp.expand((hi - lam) * (lam - lo)) - h**2 * sp.sin(_th) ** 2) == 0
    assert sp.simplify(sp.diff(lam, _th) - h * sp.sin(_th)) == 0
    dens_theta = h**2 * sp.sin(_th) ** 2 / (2 * sp.pi)  # = ρ(λ) λ dλ/dθ
    m1 = sp.simplify(sp.integrate(sp.expand(dens_theta), (_th, 0, sp.pi)))
    m2 = sp.simplify(sp.integrate(sp.expand(dens_theta * lam), (_th, 0, sp.pi)))
    assert sp.simplify(m1 - _al) == 0 and sp.simplify(m2 - _al * (1 + _al)) == 0
    for a in (0.3, 1.0, 2.5):
        assert adv.mp_edges(a) == pytest.approx((_f(lo, {_al: a}), _f(hi, {_al: a})), rel=1e-14)
        lam_k, w_k = adv.mp_nodes(a, 200)
        assert w_k @ lam_k == pytest.approx(_f(m1, {_al: a}), rel=1e-12)
        assert w_k @ lam_k**2 == pytest.approx(_f(m2, {_al: a}), rel=1e-12)
        assert w_k.sum() == pytest.approx(min(1.0, a), rel=1e-8)


def test_mp_stieltjes_solves_its_quadratic_and_matches_the_quadrature():
    s = _mp_stieltjes_sym(_g, _al)
    a = _g + _al - 1
    assert sp.simplify(sp.expand(_g * s**2 + a * s - 1)) == 0
    # s(γ) ~ 1/γ (total mass 1) and the atom at 0 is lim γ s(γ) = (1 − α)₊
    assert sp.limit(_g * s, _g, sp.oo) == 1
    assert sp.limit(_g * s.subs(_al, 1 - _e), _g, 0) == _e  # α = 1 − ε < 1
    assert sp.limit(_g * s.subs(_al, 1 + _e), _g, 0) == 0
    for a_, g_ in [(0.4, 0.3), (2.0, 0.05), (1.0, 1.7)]:
        ref = _f(s, {_g: g_, _al: a_})
        assert adv.mp_stieltjes(g_, a_) == pytest.approx(ref, rel=1e-13)
        lam, w = adv.mp_nodes(a_, 600)
        quad = w @ (1 / (lam + g_)) + max(1 - a_, 0) / g_
        assert quad == pytest.approx(ref, rel=1e-9)


def test_gen_error_long_time_limit_and_frozen_subspace():
    """E_g(∞) = σ_ε²(1 + ∫ρ_c/λ) + (1 − α)₊ v₀: ∫ρ_c/λ is lim_{γ→0}(s(γ) − atom/γ), which
    gives α/(1 − α) below α = 1 and 1/(α − 1) above; v₀ = σ_w² + σ₀²."""
    sw, s0, se = sp.symbols("sigma_w2 sigma_02 sigma_e2", positive=True)
    s = _mp_stieltjes_sym(_g, _al)
    below = sp.limit(s.subs(_al, 1 - _e) - _e / _g, _g, 0)  # α = 1 − ε
    above = sp.limit(s.subs(_al, 1 + _e), _g, 0)  # α = 1 + ε
    assert sp.simplify(below - (1 - _e) / _e) == 0 and sp.simplify(above - 1 / _e) == 0
    eg_below = (se * (1 + below) + _e * (sw + s0)).subs(_e, 1 - _al)
    eg_above = (se * (1 + above)).subs(_e, _al - 1)
    # the library's closed forms, as written in its docstring
    assert sp.simplify(eg_above - se * _al / (_al - 1)) == 0
    assert sp.simplify(eg_below - ((1 - _al) * (sw + s0) + se / (1 - _al))) == 0
    # frozen subspace: ∂E_g(∞)/∂σ₀² = 1 − α for α < 1, 0 for α > 1
    assert sp.simplify(sp.diff(eg_below, s0) - (1 - _al)) == 0 and sp.diff(eg_above, s0) == 0
    # limits in α: α → 0 nothing is learnt, α → ∞ only label noise remains
    assert sp.simplify(sp.limit(eg_below, _al, 0) - (sw + s0 + se)) == 0
    assert sp.limit(eg_above, _al, sp.oo) == se
    for a, expr in ((0.25, eg_below), (0.5, eg_below), (2.0, eg_above), (4.0, eg_above)):
        vals = {sw: 1.0, s0: 0.3, se: 0.2, _al: a}
        want = _f(expr, vals)
        kw = dict(teacher_var=1.0, noise_var=0.2, sigma0_sq=0.3)
        assert adv.gen_error_asymptote(a, **kw) == pytest.approx(want, rel=1e-13)
        lam_min = adv.mp_edges(a)[0]
        t_inf = 40.0 / lam_min  # e^{-λ₋ t} ≈ e^{-40}
        assert adv.gen_error_theory(a, [t_inf], n_nodes=800, **kw)[0] == pytest.approx(
            want, rel=1e-9)
        # σ₀² enters linearly: the slope at t → ∞ is the frozen share (1 − α)₊
        kw1 = dict(kw, sigma0_sq=1.3)
        slope = (adv.gen_error_theory(a, [t_inf], n_nodes=800, **kw1)
                 - adv.gen_error_theory(a, [t_inf], n_nodes=800, **kw))[0]
        assert slope == pytest.approx(_f(sp.diff(expr, s0), vals), abs=1e-9)


def test_gen_error_at_time_zero_and_small_alpha():
    """E_g(0) = v₀ (mass min(1, α) + (1 − α)₊ = 1) + σ_ε² for every α; as α → 0 the whole
    curve collapses onto it (the continuous part has mass α)."""
    kw = dict(teacher_var=1.0, noise_var=0.2, sigma0_sq=0.3)
    for a in (0.1, 1.0, 3.0):
        assert adv.gen_error_theory(a, [0.0], **kw)[0] == pytest.approx(1.5, rel=1e-8)
    curve = adv.gen_error_theory(1e-8, [0.0, 1.0, 1e3], **kw)
    np.testing.assert_allclose(curve, 1.5, rtol=1e-7)
    big = adv.gen_error_asymptote(1e8, **kw)
    assert big == pytest.approx(0.2, rel=1e-7)


def test_train_error_floor_and_bayes_equals_ridge_at_the_optimal_penalty():
    """E_tr(∞) = σ_ε²(1 − 1/α)₊; at γ* = σ_ε²/σ_w² the ridge integrand
    (σ_w²γ² + σ_ε²λ)/(λ + γ)² equals σ_ε²/(λ + γ), so ridge error = σ_ε²(1 + s(γ*))."""
    lam, sw, se, gam = sp.symbols("lambda sigma_w2 sigma_e2 gamma", positive=True)
    integrand = (sw * gam**2 + se * lam) / (lam + gam) ** 2
    assert sp.simplify(integrand.subs(gam, se / sw) - se / (lam + se / sw)) == 0
    # the atom's share (1 − α)σ_w² is σ_ε² × atom/γ* at γ*: together they make s(γ*)
    assert sp.simplify(sw - se * 1 / (se / sw)) == 0
    for a in (0.5, 2.0):
        kw = dict(teacher_var=1.0, noise_var=0.25)
        assert adv.ridge_error_theory(a, 0.25, **kw) == pytest.approx(
            adv.bayes_error_theory(a, **kw), rel=1e-9)
        ref = 0.25 * (1 + _f(_mp_stieltjes_sym(_g, _al), {_g: 0.25, _al: a}))
        assert adv.bayes_error_theory(a, **kw) == pytest.approx(ref, rel=1e-13)
        t_inf = 40.0 / adv.mp_edges(a)[0]
        tr = adv.train_error_theory(a, [t_inf], teacher_var=1.0, noise_var=0.25,
                                    sigma0_sq=0.0)[0]
        assert tr == pytest.approx(0.25 * max(1 - 1 / a, 0.0), abs=1e-10)
        assert adv.train_error_asymptote(a, noise_var=0.25) == pytest.approx(tr, abs=1e-10)


# ============================================================================ maillard2024
from theorylab.gamp import theory as gt  # noqa: E402
from theorylab.gamp.rie import rie_shrink_eigenvalues  # noqa: E402

_z, _gg, _k, _s2 = sp.symbols("z g kappa s2")


def _rie_cubic():
    """σ²g³ − (z + κσ²)g² + (1 − κ + κz)g − κ from z = 1/g + κ/(κ − g) + σ²g."""
    num = sp.numer(sp.together(_z - (1 / _gg + _k / (_k - _gg) + _s2 * _gg)))
    return sp.Poly(sp.expand(num), _gg)


def test_rie_cubic_is_the_inverse_of_the_r_transform():
    P = _rie_cubic()
    lead = P.LC()
    ours = sp.Poly(_s2 * _gg**3 - (_z + _k * _s2) * _gg**2 + (1 - _k + _k * _z) * _gg - _k,
                   _gg)
    assert sp.simplify(P.as_expr() / lead * _s2 - ours.as_expr()) == 0
    # the library's coefficients at a point
    a = gt._cubic_coeffs_th(np.array([0.7 + 0j]), 0.3, 0.5)
    want = [complex(c.subs({_z: 0.7, _k: 0.5, _s2: 0.3})) for c in ours.all_coeffs()]
    np.testing.assert_allclose([c[0] for c in a], want, rtol=1e-14)


def test_rie_root_choice_is_the_branch_with_the_right_moments():
    """The physical root behaves as g = 1/z + m₁/z² + m₂/z³ + …, with the moments of
    MP(ratio 1/κ, mean 1) ⊞ semicircle(σ²): m₁ = 1, m₂ = 1 + 1/κ + σ². Far from the bulk
    the library's root must follow this series; inside it, Im g = πρ > 0."""
    w = sp.symbols("w")  # w = 1/z
    c = sp.symbols("c1:6")
    g_series = sum(ci * w ** (i + 1) for i, ci in enumerate(c))
    cubic = _rie_cubic().as_expr().subs(_z, 1 / w)
    eq = sp.expand(sp.series(sp.expand(cubic.subs(_gg, g_series) * w), w, 0, 6).removeO())
    sol = {}
    for order in range(1, 6):
        coeff = eq.coeff(w, order).subs(sol)
        unknown = [ci for ci in c if coeff.has(ci) and ci not in sol]
        if unknown:
            sol[unknown[0]] = sp.solve(coeff, unknown[0])[0]
    m1, m2 = sp.simplify(sol[c[1]]), sp.simplify(sol[c[2]])
    assert sol[c[0]] == 1 and sp.simplify(m1 - 1) == 0
    assert sp.simplify(m2 - (1 + 1 / _k + _s2)) == 0
    for kappa, s2 in ((0.5, 0.3), (2.0, 1.0)):
        sub = {_k: kappa, _s2: s2}
        for x in (400.0, -400.0):  # truncation ~ (edge/x)^6 relative
            approx = sum(_f(sol[ci], sub) / x ** (i + 1) for i, ci in enumerate(c))
            g = gt.stieltjes_th(np.array([x]), s2, kappa)[0]
            assert abs(g.imag) == 0 and g.real == pytest.approx(approx, rel=1e-8)
        # inside the bulk: the root with positive imaginary part, and it solves the cubic
        x = 1.0
        g = gt.stieltjes_th(np.array([x]), s2, kappa)[0]
        assert g.imag > 0
        val = complex(_rie_cubic().as_expr().subs({**sub, _z: x, _gg: g}))
        assert abs(val) < 1e-10
    # the RIE map λ − 2Δ Re g uses this root: at a far eigenvalue the shrinkage is
    # λ − 2Δ/λ·(1 + O(1/λ)) (algorithm units, λ_th = λ/√κ, σ² = Δ/κ)
    lam, delta, kappa = 400.0, 0.4, 0.5
    mu = rie_shrink_eigenvalues(np.array([lam]), delta, kappa=kappa)[0]
    sub = {_k: kappa, _s2: delta / kappa}
    lt = lam / math.sqrt(kappa)
    g = sum(_f(sol[ci], sub) / lt ** (i + 1) for i, ci in enumerate(c))
    assert mu == pytest.approx(math.sqrt(kappa) * (lt - 2 * delta / kappa * g), rel=1e-10)


def test_perfect_recovery_threshold_is_the_psd_dimension_count():
    """α_PR = lim (d m − m(m − 1)/2)/d² with m = κd: κ − κ²/2 (κ ≤ 1), and d(d + 1)/2 / d²
    → 1/2 for κ ≥ 1; continuous with zero slope at κ = 1; α_PR/κ → 1 as κ → 0."""
    d, k = sp.symbols("d kappa", positive=True)
    m = k * d
    alpha_pr = sp.limit((d * m - m * (m - 1) / 2) / d**2, d, sp.oo)
    assert sp.simplify(alpha_pr - (k - k**2 / 2)) == 0
    assert sp.limit((d * (d + 1) / 2) / d**2, d, sp.oo) == sp.Rational(1, 2)
    assert alpha_pr.subs(k, 1) == sp.Rational(1, 2) and sp.diff(alpha_pr, k).subs(k, 1) == 0
    assert sp.limit(alpha_pr / k, k, 0) == 1
    for kap in (0.05, 0.5, 0.9):
        assert gt.perfect_recovery_threshold(kap) == pytest.approx(_f(alpha_pr, {k: kap}),
                                                                   rel=1e-14)
    assert gt.perfect_recovery_threshold(3.0) == 0.5
    # small κ: α̃ = α/κ → 1 is where the small-κ MMSE reaches 0; it is continuous at 1/2 and 1
    at = sp.symbols("at", positive=True)
    mid = 4 * at * (1 - at)
    assert mid.subs(at, sp.Rational(1, 2)) == 1 and mid.subs(at, 1) == 0
    for a in (0.3, 0.5, 0.75, 1.0, 1.4):
        want = 1.0 if a < 0.5 else (_f(mid, {at: a}) if a <= 1 else 0.0)
        assert gt.small_kappa_mmse(a) == pytest.approx(want, abs=1e-15)


def test_preact_noise_conversion_is_the_exact_variance():
    """Label noise of (a + σξ)² − a² − σ² with a, ξ ~ N(0, 1) independent: variance
    4σ² + 2σ⁴ = 2σ²(2 + σ²); its inverse σ² = √(1 + δ/2) − 1."""
    from sympy.stats import E, Normal

    sig, dl = sp.symbols("sigma delta", positive=True)
    a, xi = Normal("a", 0, 1), Normal("xi", 0, 1)
    noise = 2 * a * sig * xi + sig**2 * (xi**2 - 1)
    assert sp.simplify(E(noise)) == 0
    var = sp.simplify(E(sp.expand(noise**2)))
    assert sp.simplify(var - 2 * sig**2 * (2 + sig**2)) == 0
    inv = sp.solve(sp.Eq(2 * sig**2 * (2 + sig**2), dl), sig)
    assert len(inv) == 1 and sp.simplify(inv[0] ** 2 - (sp.sqrt(1 + dl / 2) - 1)) == 0
    for s_ in (0.1, 0.25, 1.0):
        assert gt.preact_to_label_noise(s_) == pytest.approx(_f(var, {sig: s_}), rel=1e-14)
        d_ = _f(var, {sig: s_})
        assert gt.label_to_preact_noise(d_) == pytest.approx(s_, rel=1e-12)


def test_expected_test_error_is_twice_the_mse_plus_noise():
    """Var(xᵀAx − Tr A) = 2‖A‖²_F for symmetric A and x ~ N(0, I) (exact Gaussian moments on
    a symbolic 3 × 3 A), so E(y − f̂)² = 2·MSE + δ in the library's normalisation."""
    x = sp.symbols("x0:3", real=True)
    a = sp.symbols("a0:6", real=True)
    A = sp.Matrix([[a[0], a[1], a[2]], [a[1], a[3], a[4]], [a[2], a[4], a[5]]])
    xv = sp.Matrix(x)
    q = (xv.T * A * xv)[0] - A.trace()
    assert _gauss_mean(q, x) == 0
    assert sp.expand(_gauss_mean(q**2, x) - 2 * sum(e**2 for e in A)) == 0
    for mse, delta in ((0.1, 0.0), (0.37, 0.26)):
        assert gt.expected_test_error(mse, delta=delta) == pytest.approx(2 * mse + delta,
                                                                         rel=1e-15)


# ============================================================================ saberi2024
from theorylab.dro import robust_surrogate  # noqa: E402

_v, _s = sp.symbols("v s", real=True)
_gp = sp.symbols("g", positive=True)


def _ramp_psi_sym():
    """ψ_g(v) = max_{s ≥ 0} L(v − s) − g s² for the ramp, derived piece by piece.

    On the linear piece L = 1 − (v − s) the stationary point is s* = 1/(2g); it is feasible
    while v − s* ≥ 0, i.e. v ≥ 1/(2g). Below that the best move stops at the corner s = v
    (L = 1 there), and for v ≤ 0 no move is needed. The result is clipped at 0 (L ≥ 0).
    """
    lin = 1 - (_v - _s) - _gp * _s**2
    s_star = sp.solve(sp.diff(lin, _s), _s)[0]
    assert s_star == 1 / (2 * _gp)
    top = sp.simplify(lin.subs(_s, s_star))
    corner = sp.simplify((1 - _gp * _s**2).subs(_s, _v))
    # the two pieces meet with equal value and slope at v = 1/(2g): ψ is C¹
    vb = 1 / (2 * _gp)
    assert sp.simplify(top.subs(_v, vb) - corner.subs(_v, vb)) == 0
    assert sp.simplify(sp.diff(top, _v).subs(_v, vb) - sp.diff(corner, _v).subs(_v, vb)) == 0
    q = sp.Piecewise((1, _v <= 0), (corner, _v <= vb), (top, True))
    shift = sp.Piecewise((0, _v <= 0), (_v, _v <= vb), (s_star, True))
    return q, shift


@pytest.mark.parametrize("loss", ["ramp", "hinge"])
def test_dro_surrogate_closed_form_and_its_derivative(loss):
    """φ(u) = ψ_{γ/r²}(r u); the library's value, dφ/du and shift t* = s*/r against the
    sympy closed form and ``sympy.diff`` of it."""
    if loss == "ramp":
        q, shift = _ramp_psi_sym()
    else:  # L = 1 − v on its live piece: the stationary move s* = 1/(2g) always
        lin = 1 - (_v - _s) - _gp * _s**2
        s_star = sp.solve(sp.diff(lin, _s), _s)[0]
        q, shift = sp.simplify(lin.subs(_s, s_star)), s_star
    u = sp.symbols("u", real=True)
    gam, r = sp.symbols("gamma r", positive=True)
    phi_live = q.subs({_v: r * u, _gp: gam / r**2})  # where φ > 0
    dphi = sp.diff(phi_live, u)
    for gamma_, r_ in ((1.0, 1.0), (0.7, 1.5), (4.0, 0.5)):
        us = np.array([-1.3, -0.2, 0.05, 0.3, 0.45, 0.9, 1.6, 3.0])
        sv = robust_surrogate(us, gamma=gamma_, loss=loss, ramp_slope=r_)
        for i, u_ in enumerate(us):
            sub = {u: u_, gam: gamma_, r: r_}
            val = _f(phi_live, sub)
            if val <= 1e-9:  # clipped at zero: no loss, no gradient, no move
                assert sv.value[i] == 0 and sv.grad[i] == 0
                continue
            assert sv.value[i] == pytest.approx(val, rel=1e-12, abs=1e-14)
            assert sv.grad[i] == pytest.approx(_f(dphi, sub), rel=1e-12, abs=1e-14)
            s_ = _f(sp.sympify(shift).subs({_v: r * u, _gp: gam / r**2}), sub)
            assert sv.shift[i] == pytest.approx(s_ / r_, rel=1e-12, abs=1e-14)


def test_dro_logistic_envelope_identity():
    """Logistic: s* solves 2 g s = σ(s − v); implicit differentiation of
    ψ(v) = L(v − s*(v)) − g s*² gives dψ/dv = −2 g s* (the envelope theorem)."""
    sfun = sp.Function("s")(_v)
    L = sp.log(1 + sp.exp(-(_v - _s)))
    psi = (L - _gp * _s**2).subs(_s, sfun)
    stat = sp.diff(L - _gp * _s**2, _s).subs(_s, sfun)  # ∂/∂s at fixed v
    ds = sp.diff(sfun, _v)
    dpsi = sp.diff(psi, _v)
    # dψ/dv = ∂ψ/∂v + (∂ψ/∂s) s'(v), and ∂ψ/∂s = 0 at s*: what is left is L'(v − s*)
    partial = dpsi.subs(ds, 0)
    assert sp.simplify(dpsi - partial - stat * ds) == 0
    sig = 1 / (1 + sp.exp(-(sfun - _v)))
    assert sp.simplify(stat - (sig - 2 * _gp * sfun)) == 0  # the stationarity equation
    assert sp.simplify(partial + sig) == 0  # L'(v − s*) = −σ(s* − v) = −2 g s*
    for gamma_, r_ in ((0.5, 1.0), (2.0, 1.5)):
        us = np.array([-1.0, 0.0, 0.7, 2.5])
        sv = robust_surrogate(us, gamma=gamma_, loss="logistic", ramp_slope=r_)
        g_ = gamma_ / r_**2
        for i, u_ in enumerate(us):
            v_ = r_ * u_
            s_ = sp.nsolve(2 * g_ * _s - 1 / (1 + sp.exp(-(_s - v_))), _s, 0.1, prec=30)
            val = sp.log(1 + sp.exp(-(v_ - s_))) - g_ * s_**2
            assert sv.value[i] == pytest.approx(float(val), rel=1e-11)
            assert sv.shift[i] == pytest.approx(float(s_) / r_, rel=1e-9)
            assert sv.grad[i] == pytest.approx(-2 * g_ * float(s_) * r_, rel=1e-9)


# ============================================================================ song2023
from theorylab.sketch import SketchOperator, draw_sketch  # noqa: E402
from theorylab.sketch import theory as skt  # noqa: E402


def _x_syms(n):
    return sp.symbols(f"x0:{n}", real=True)


def _exact_moments(draws, norm2):
    """Mean and variance of ‖Sx‖² over equally likely draws (exact in sympy)."""
    vals = [norm2(d) for d in draws]
    mean = sp.Add(*vals) / len(vals)
    var = sp.expand(sp.Add(*[v**2 for v in vals]) / len(vals) - mean**2)
    return sp.expand(mean), var


def test_countsketch_mean_and_variance_by_exhaustive_enumeration():
    """Every (bucket, sign) draw of a 3 → 2 CountSketch, in sympy: E‖Sx‖² = ‖x‖² and
    Var‖Sx‖² = (2/m)(‖x‖⁴ − Σx_i⁴); the library's operator gives the same two numbers."""
    n, m = 3, 2
    x = _x_syms(n)
    draws = list(itertools.product(itertools.product(range(m), repeat=n),
                                   itertools.product((-1, 1), repeat=n)))

    def norm2_sym(dr):
        rows, signs = dr
        y = [sp.Add(*[signs[i] * x[i] for i in range(n) if rows[i] == k]) for k in range(m)]
        return sp.Add(*[yk**2 for yk in y])

    mean, var = _exact_moments(draws, norm2_sym)
    n2 = sp.Add(*[xi**2 for xi in x])
    n4 = sp.Add(*[xi**4 for xi in x])
    assert sp.expand(mean - n2) == 0
    closed = sp.Rational(2, m) * (n2**2 - n4)
    assert sp.expand(var - closed) == 0
    for xv in ([1.0, -2.0, 0.5], [0.3, 0.3, 3.0]):
        vals = []
        for rows, signs in draws:
            op = SketchOperator(kind="countsketch", n_rows=n, sketch_size=m,
                                params={"rows": np.array(rows), "signs": np.array(signs, float)})
            vals.append(float(np.sum(op.apply(np.array(xv)) ** 2)))
        sub = dict(zip(x, xv, strict=True))
        assert np.mean(vals) == pytest.approx(_f(n2, sub), rel=1e-13)
        assert np.var(vals) == pytest.approx(_f(closed, sub), rel=1e-12)


@pytest.mark.parametrize("n", [3, 4])
def test_srht_mean_and_variance_by_exhaustive_enumeration(n):
    """SRHT S = √(N/m) P (H/√N) D: every sign vector and every m-subset of the N = 4
    Hadamard rows. E‖Sx‖² = ‖x‖² and Var‖Sx‖² = (2/m)·(N − m)/(N − 1)·(‖x‖⁴ − Σx_i⁴) —
    CountSketch's variance times the finite-population factor of sampling rows without
    replacement; the library's operator matches both."""
    N, m = 4, 2
    x = _x_syms(n)
    H = sp.Matrix([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    draws = list(itertools.product(itertools.product((-1, 1), repeat=n),
                                   itertools.combinations(range(N), m)))

    def norm2_sym(dr):
        signs, rows = dr
        z = [sp.Add(*[H[k, j] * signs[j] * x[j] for j in range(n)]) for k in rows]
        return sp.Rational(N, m) * sp.Add(*[zk**2 for zk in z]) / N

    mean, var = _exact_moments(draws, norm2_sym)
    n2 = sp.Add(*[xi**2 for xi in x])
    n4 = sp.Add(*[xi**4 for xi in x])
    assert sp.expand(mean - n2) == 0
    closed = sp.Rational(2, m) * sp.Rational(N - m, N - 1) * (n2**2 - n4)
    assert sp.expand(var - closed) == 0
    for xv in ([1.0, -2.0, 0.5, 1.5][:n], [0.3, 0.3, 3.0, -1.0][:n]):
        vals = []
        for signs, rows in draws:
            op = SketchOperator(kind="srht", n_rows=n, sketch_size=m,
                                params={"n_pad": N, "signs": np.array(signs, float),
                                        "rows": np.array(rows)})
            vals.append(float(np.sum(op.apply(np.array(xv)) ** 2)))
        sub = dict(zip(x, xv, strict=True))
        assert np.mean(vals) == pytest.approx(_f(n2, sub), rel=1e-13)
        assert np.var(vals) == pytest.approx(_f(closed, sub), rel=1e-12)


def test_gaussian_sketch_mean_and_variance():
    """Entries N(0, 1/m): each (Sx)_i ~ N(0, ‖x‖²/m), so E‖Sx‖² = ‖x‖² and
    Var‖Sx‖² = 2‖x‖⁴/m (Gaussian moments on a 2 × 2 sketch); the library's Gaussian sketch agrees
    within 5 standard errors over 4000 seeded draws."""
    m = 2
    x = _x_syms(2)
    S = sp.symbols(f"s0:{2 * m}", real=True)

    def E(poly):  # independent N(0, 1/m) entries
        return _gauss_mean(poly, S, sp.Rational(1, m))

    q = sp.Add(*[(S[2 * i] * x[0] + S[2 * i + 1] * x[1]) ** 2 for i in range(m)])
    n2 = x[0] ** 2 + x[1] ** 2
    assert sp.simplify(E(q) - n2) == 0
    var = sp.simplify(E(q**2) - n2**2)
    assert sp.simplify(var - 2 * n2**2 / m) == 0
    xv = np.array([1.0, -2.0])
    rng = np.random.default_rng(7)
    vals = np.array([np.sum(draw_sketch("gaussian", 2, m, rng=rng).apply(xv) ** 2)
                     for _ in range(4000)])
    mu, v = _f(n2, dict(zip(x, xv, strict=True))), _f(var, dict(zip(x, xv, strict=True)))
    assert abs(vals.mean() - mu) < 5 * math.sqrt(v / len(vals))
    se_var = math.sqrt(np.var((vals - vals.mean()) ** 2) / len(vals))
    assert abs(vals.var() - v) < 5 * se_var


def test_gaussian_diag_failure_constant_and_countsketch_failure_probability():
    """2 − (4/π) arctan 2 = (4/π) arctan(1/2) = P(|g₁/g₂| ∉ (1/2, 2)) for i.i.d. Gaussians
    (the angle of (g₁, g₂) is uniform). CountSketch: 1 − (1 − d/m)^t is the exact
    probability that one of t heavy rows hits the d identity buckets *given those are
    distinct*; averaged over identity collisions it is an upper bound."""
    # |tan θ| ≤ 1/2 or ≥ 2: four arcs of each kind on the circle
    prob = (4 * sp.atan(sp.Rational(1, 2)) + 4 * (sp.pi / 2 - sp.atan(2))) / (2 * sp.pi)
    # atan(1/2) = π/2 − atan 2, since cot(atan 2) = 1/2 and both angles lie in (0, π/2)
    assert sp.simplify(sp.tan(sp.pi / 2 - sp.atan(2)) - sp.Rational(1, 2)) == 0
    prob_closed = prob.subs(sp.atan(sp.Rational(1, 2)), sp.pi / 2 - sp.atan(2))
    assert sp.simplify(prob_closed - (2 - 4 / sp.pi * sp.atan(2))) == 0
    assert skt.gaussian_diag_failure_bound() == pytest.approx(_f(prob), rel=1e-14)
    assert skt.gaussian_diag_failure_bound(16) == pytest.approx(
        _f(prob * (1 - 2 * sp.exp(-2))), rel=1e-14)
    # m → ∞ balanced limit of P(|cos 2θ| ≥ 3/7), the value the claim measures (≈ 0.718)
    assert _f(1 - 2 / sp.pi * sp.asin(sp.Rational(3, 7))) > _f(prob)
    d, m, t = 2, 4, 2
    hits = total = hits_distinct = total_distinct = 0
    for ident in itertools.product(range(m), repeat=d):
        for heavy in itertools.product(range(m), repeat=t):
            hit = any(h in ident for h in heavy)
            hits += hit
            total += 1
            if len(set(ident)) == d:
                hits_distinct += hit
                total_distinct += 1
    exact = sp.Rational(hits, total)
    conditional = sp.Rational(hits_distinct, total_distinct)
    assert conditional == 1 - (1 - sp.Rational(d, m)) ** t
    assert skt.countsketch_failure_probability(d, m, t) == pytest.approx(float(conditional),
                                                                        rel=1e-14)
    assert exact < conditional  # identity rows that share a bucket leave fewer targets
    assert (conditional, exact) == (sp.Rational(3, 4), sp.Rational(43, 64))  # as documented


# ============================================================================ elser2026
from theorylab.boolean import _reference as br  # noqa: E402
from theorylab.boolean import layered_network, solve_rrr  # noqa: E402

# The plain-NumPy reference of the RRR trainer (the kernels are tested equal to it elsewhere).
# Two spellings of its helpers are accepted: (w, x, y) passed as three arrays or as a tuple.


def _multiplier(p, q, c):
    f = getattr(br, "margin_multiplier", None) or br.hyperbola_multiplier
    return f(p, q, c)


def _onto_hyperbola(w, x, c):
    if hasattr(br, "onto_hyperbola"):
        return br.onto_hyperbola(w, x, c)
    w2, x2, _ = br.hyperbola_project(w, x, c)
    return w2, x2


def _project_a(zw, zx, zy, net, delta, inputs):
    if len(inspect.signature(br.project_a).parameters) == 4:
        return br.project_a((zw, zx, zy), net, delta, inputs)
    return br.project_a(zw, zx, zy, net, delta, inputs)


def _project_b(rw, rx, ry, g, net, targets):
    if len(inspect.signature(br.project_b).parameters) == 4:
        return br.project_b((rw, rx, ry), g, net, targets)
    return br.project_b(rw, rx, ry, g, net, targets)


def test_hyperbola_projection_from_its_lagrangian():
    """Nearest (w', x') to (w, x) with w'·x' = c: stationarity w' − w = u x', x' − x = u w'
    gives w' = (w + u x)/(1 − u²), x' = (x + u w)/(1 − u²), and the constraint becomes
    ((1 + u²) p + u q)/(1 − u²)² = c with p = w·x, q = ‖w‖² + ‖x‖² — the equation the
    library's multiplier solves (on the root in (−1, 1) with the sign of c − p)."""
    u, c = sp.symbols("u c", real=True)
    w = sp.Matrix(sp.symbols("w0:2", real=True))
    x = sp.Matrix(sp.symbols("y0:2", real=True))
    wp = sp.Matrix(sp.symbols("a0:2"))
    xp = sp.Matrix(sp.symbols("b0:2"))
    sol = sp.solve(list(wp - w - u * xp) + list(xp - x - u * wp), list(wp) + list(xp), dict=True)[0]
    W2, X2 = wp.subs(sol), xp.subs(sol)
    assert sp.simplify(W2 - (w + u * x) / (1 - u**2)) == sp.zeros(2, 1)
    assert sp.simplify(X2 - (x + u * w) / (1 - u**2)) == sp.zeros(2, 1)
    p, q = w.dot(x), w.dot(w) + x.dot(x)
    assert sp.simplify(W2.dot(X2) - ((1 + u**2) * p + u * q) / (1 - u**2) ** 2) == 0
    rng = np.random.default_rng(3)
    for _ in range(4):
        wv, xv = rng.standard_normal(2), rng.standard_normal(2)
        cv = float(rng.uniform(-2, 2))
        sub = {**dict(zip(w, wv, strict=True)), **dict(zip(x, xv, strict=True)), c: cv}
        eq = (W2.dot(X2) - c).subs(sub)
        lo, hi = (-1, 0) if float(wv @ xv) > cv else (0, 1)
        u_ref = float(sp.nsolve(eq, u, (lo + 1e-9, hi - 1e-9), solver="bisect", prec=30))
        u_lib = _multiplier(float(wv @ xv), float(wv @ wv + xv @ xv), cv)
        assert u_lib == pytest.approx(u_ref, abs=1e-12)
        wo, xo = _onto_hyperbola(wv, xv, cv)
        want_w = np.array([float(e) for e in W2.subs(sub).subs(u, u_ref)])
        want_x = np.array([float(e) for e in X2.subs(sub).subs(u, u_ref)])
        np.testing.assert_allclose(wo, want_w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xo, want_x, rtol=1e-10, atol=1e-12)


def test_btf_margin_of_a_k_input_majority():
    """±1 weights on k of deg inputs, scaled to ‖w‖² = deg: min over ±1 inputs of |w·x| is
    √(deg/k) for odd k and 0 for even k, so the margin Δ = √(deg/σ) admits exactly the odd
    k ≤ σ — COPY/NOT and MAJ3 at σ = 3. The library's extracted gates meet Δ exactly."""
    deg, sig = sp.symbols("deg sigma", positive=True)
    for k in range(1, 6):
        amp = sp.sqrt(deg / k)  # k weights of size amp: ‖w‖² = deg
        margin = min(abs(sum(xs)) for xs in itertools.product((-1, 1), repeat=k)) * amp
        assert sp.simplify(margin - (sp.sqrt(deg / k) if k % 2 else 0)) == 0
        feasible = k % 2 == 1 and bool((margin**2 - deg / sig).subs(sig, 3) >= 0)
        assert feasible == (k in (1, 3))
    X = np.array([[a, b] for a in (-1.0, 1.0) for b in (-1.0, 1.0)])
    Y = np.where((X[:, :1] > 0) & (X[:, 1:] > 0), 1.0, -1.0)  # AND: a 3-input majority
    net = layered_network([2, 1])
    res = solve_rrr(net, X, Y, rng=0, sigma=3.0)
    w, gates = res.extract_logic(X)
    assert gates == ["out1 = AND(x1, x2)"]
    d = int(net.degrees[-1])
    vals = np.column_stack([-np.ones(4), X])  # the bias node is −1
    delta = _f(sp.sqrt(deg / sig), {deg: d, sig: 3})
    assert np.min(np.abs(vals @ w)) == pytest.approx(delta, rel=1e-14)
    assert np.all((vals @ w) * Y[:, 0] > 0)


def test_rrr_fixed_points_are_where_the_projections_agree():
    """T(z) = z + β(P_B(2P_A z − z) − P_A z) = z ⇔ P_B(2P_A z − z) = P_A z, and then P_A z
    is in A ∩ B. Exactly, on a tiny instance in R² (A: the line y = 0, B: the half-plane
    y ≤ 0): every z with y ≤ 0 is fixed (though only y = 0 is in A ∩ B) and projects
    onto A ∩ B; no z with y > 0 is.
    On the library: a solution of the NOT instance is a fixed point with gap 0, and the
    iterate at which the library's RRR stops projects (P_A) onto a point of A ∩ B."""
    beta = sp.Rational(1, 2)
    z1 = sp.symbols("z1", real=True)
    t = sp.symbols("t", positive=True)
    PA = lambda v: sp.Matrix([v[0], 0])  # noqa: E731
    PB = lambda v: sp.Matrix([v[0], sp.Min(v[1], 0)])  # noqa: E731

    def T(z):
        a = PA(z)
        return z + beta * (PB(2 * a - z) - a)

    for z2, is_fixed in ((-t, True), (sp.Integer(0), True), (t, False)):
        z = sp.Matrix([z1, z2])
        agree = sp.simplify(PB(2 * PA(z) - z) - PA(z)) == sp.zeros(2, 1)
        assert (sp.simplify(T(z) - z) == sp.zeros(2, 1)) == agree == is_fixed
        if is_fixed:  # P_A z lies in A (y = 0) and in B (y ≤ 0)
            assert PA(z)[1] == 0 and PB(PA(z)) == PA(z)

    net = layered_network([1, 1])  # nodes: bias 0, input 1, output 2; edges 0→2, 1→2
    X = np.array([[-1.0], [1.0]])
    Y = -X
    deg = int(net.degrees[2])
    delta = np.sqrt(net.degrees / 3.0)
    root2 = math.sqrt(deg)
    # the exact NOT solution: w = (0, −√deg), edge values = sender values, y = node values
    sw = np.array([[0.0, -root2], [0.0, -root2]])
    sx = np.array([[-1.0, -1.0], [-1.0, 1.0]])
    sy = np.array([[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    g = np.ones_like(sy)
    aw, ax, ay = _project_a(sw, sx, sy, net, delta, X)
    bw, bx, by = _project_b(2 * aw - sw, 2 * ax - sx, 2 * ay - sy, g, net, Y)
    for p, q_ in ((aw, sw), (ax, sx), (ay, sy), (bw, sw), (bx, sx), (by, sy)):
        np.testing.assert_allclose(p, q_, atol=1e-14)
    # from a random start, the library stops where the projections agree; P_A z solves
    rng = np.random.default_rng(0)
    st = [rng.uniform(-1, 1, s) for s in ((2, 2), (2, 2), (2, 3))]
    st[2][:, 0], st[2][:, 1:2], st[2][:, 2:] = -1.0, X, Y
    gaps, _, n_iter, stopped, (zw, zx_, zy_, g2) = br.rrr_run(
        st[0], st[1], st[2], np.ones((2, 3)), net, delta, X, Y, 0.5, 0.0, 2000, 1e-10)
    assert stopped and gaps[-1] < 1e-10
    aw, ax, ay = _project_a(zw, zx_, zy_, net, delta, X)
    bw, bx, by = _project_b(2 * aw - zw, 2 * ax - zx_, 2 * ay - zy_, g2, net, Y)
    for p, q_ in ((aw, bw), (ax, bx), (ay, by)):
        np.testing.assert_allclose(p, q_, atol=1e-9)
    w = aw[0]
    assert np.sum(w**2) == pytest.approx(deg, rel=1e-8)  # on B's sphere
    np.testing.assert_allclose(aw[1], w, atol=1e-9)  # one weight for all items (B)
    vals = np.column_stack([-np.ones(2), X])
    assert np.all((vals @ w) * Y[:, 0] >= delta[2] - 1e-9)  # margin (A): it computes NOT
