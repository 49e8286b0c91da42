"""Bad input to every public function of every NumPy subpackage: one table, three checks.

For each function the table holds a minimal valid call. From it the test derives, for every
array or number argument:

- complex input -> ``TypeError`` naming the argument (never silently cut to the real part);
- empty input (0 rows, 0 columns, 0 entries) -> ``ValueError`` naming the argument;
- NaN -> ``ValueError`` (``TypeError`` for an integer argument) naming the argument.

A last test fails when a public function is missing from the table, so a new function
must come with its row.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

SUBPACKAGES = ["boolean", "convex_relu", "dro", "dynamics", "gamp", "sketch", "sparse"]
SUBPACKAGES.append("precond")
SUBPACKAGES += ["pretrain"]
SUBPACKAGES += ["ncd"]
SUBPACKAGES += ["metric_losses", "robust"]
# the torch subpackage (its functions take tensors: complex, empty and NaN tensors below)
if importlib.util.find_spec("torch") is not None:
    SUBPACKAGES.append("seq")
# language-model unlearning (torch + transformers; models built lazily, at test time)
if all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers")):
    SUBPACKAGES.append("unlearning.llm")


def _mod(name):
    return importlib.import_module(f"theorylab.{name}")


# ----------------------------------------------------------------- argument kinds

@dataclass(frozen=True)
class Mask:
    """A boolean array (patterns, masks): complex and empty are errors, NaN is n/a."""

    value: np.ndarray


@dataclass(frozen=True)
class IntSeq:
    """A sequence of integers (layer widths, support indices)."""

    value: list


@dataclass
class Case:
    call: Any
    params: dict[str, Any]
    needs: tuple[str, ...] = ()
    skip: dict[str, str] = field(default_factory=dict)  # "param:kind" -> reason

    def valid(self) -> dict[str, Any]:
        return {k: _unwrap(v) for k, v in self.params.items()}


def _unwrap(v):
    return v.value if isinstance(v, Mask | IntSeq) else v


_R = np.random.default_rng(0)
X = _R.standard_normal((12, 4))
y = _R.standard_normal(12)
ypm = np.sign(_R.standard_normal(12))
ypm[ypm == 0] = 1
w4 = _R.standard_normal(4)
U = _R.standard_normal((4, 3))
a3 = _R.standard_normal(3)


def _gamp_data():
    from theorylab.gamp import sample_quadratic_network

    return sample_quadratic_network(8, alpha=1.0, kappa=0.5, delta=0.1, rng=0)


def _net():
    from theorylab.boolean import layered_network

    return layered_network([2, 3, 1])


def _xor():
    inputs = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    targets = np.array([[-1.0], [1.0], [1.0], [-1.0]])
    return inputs, targets


def build_cases() -> dict[str, Case]:
    b = _mod("boolean")
    cr = _mod("convex_relu")
    dro = _mod("dro")
    dyn = _mod("dynamics")
    gp = _mod("gamp")
    sk = _mod("sketch")
    sp = _mod("sparse")
    inst = _gamp_data()
    inputs, targets = _xor()
    net = _net()
    D = X @ _R.standard_normal((4, 5)) > 0
    Xs = _R.standard_normal((16, 3))  # sketch problems: n rows a power of two
    bs = _R.standard_normal(16)
    C: dict[str, Case] = {}

    # boolean
    C["boolean.autoencoder_task"] = Case(b.autoencoder_task, dict(n_bits=3, n_items=4))
    C["boolean.cellular_automaton_task"] = Case(b.cellular_automaton_task,
                                                dict(rule=30, n_cells=5))
    C["boolean.check_pm1"] = Case(lambda a: b.check_pm1(a, name="a"), dict(a=targets))
    C["boolean.init_state"] = Case(
        lambda inputs, targets: b.init_state(net, inputs, targets, np.random.default_rng(0)),
        dict(inputs=inputs, targets=targets))
    C["boolean.layered_network"] = Case(b.layered_network, dict(widths=IntSeq([2, 3, 1])))
    C["boolean.multiplier_task"] = Case(b.multiplier_task, dict(n_bits=2))
    C["boolean.parity_task"] = Case(b.parity_task, dict(n_bits=3))
    C["boolean.random_andor_circuit"] = Case(
        lambda width, depth: b.random_andor_circuit(width, depth, rng=0),
        dict(width=3, depth=2))
    C["boolean.solve_rrr"] = Case(
        lambda inputs, targets, beta: b.solve_rrr(net, inputs, targets, beta=beta,
                                                  max_iter=5, rng=0),
        dict(inputs=inputs, targets=targets, beta=0.2), needs=("warn",))

    # convex_relu
    C["convex_relu.default_cone_scale"] = Case(cr.default_cone_scale, dict(X=X))
    C["convex_relu.pgd_attack_linf"] = Case(
        lambda X, y, U, alpha, eps: cr.pgd_attack_linf(X, y, U, alpha, eps=eps, n_steps=2),
        dict(X=X, y=y, U=U, alpha=a3, eps=0.1))
    C["convex_relu.solve_convex_relu_scp"] = Case(
        lambda X, y, beta: cr.solve_convex_relu_scp(X, y, beta=beta, n_neurons=5,
                                                    max_iter=20, rng=0),
        dict(X=X, y=y, beta=0.1), needs=("warn",))
    C["convex_relu.enumerate_activation_patterns"] = Case(
        cr.enumerate_activation_patterns, dict(X=X[:, :2]))
    C["convex_relu.nonconvex_objective"] = Case(
        lambda X, y, U, alpha, beta: cr.nonconvex_objective(X, y, U, alpha, beta=beta),
        dict(X=X, y=y, U=U, alpha=a3, beta=0.1))
    C["convex_relu.relu_network_forward"] = Case(cr.relu_network_forward,
                                                 dict(X=X, U=U, alpha=a3))
    C["convex_relu.sample_activation_patterns"] = Case(
        lambda X, n_patterns: cr.sample_activation_patterns(X, n_patterns, rng=0),
        dict(X=X, n_patterns=4))
    C["convex_relu.solve_convex_relu_admm"] = Case(
        lambda X, y, beta, patterns: cr.solve_convex_relu_admm(
            X, y, beta=beta, patterns=patterns, max_iter=20, rng=0),
        dict(X=X, y=y, beta=0.1, patterns=Mask(D)), needs=("warn",))
    C["convex_relu.solve_convex_relu_cvxpy"] = Case(
        lambda X, y, beta, patterns: cr.solve_convex_relu_cvxpy(X, y, beta=beta,
                                                                patterns=patterns),
        dict(X=X, y=y, beta=0.1, patterns=Mask(D)), needs=("cvxpy",))
    C["convex_relu.solve_convex_relu_robust"] = Case(
        lambda X, y, beta, patterns, eps_adv: cr.solve_convex_relu_robust(
            X, y, beta=beta, patterns=patterns, eps_adv=eps_adv),
        dict(X=X, y=ypm, beta=0.1, patterns=Mask(D), eps_adv=0.05), needs=("cvxpy",))
    C["convex_relu.unique_patterns"] = Case(cr.unique_patterns, dict(D=Mask(D)))
    C["convex_relu.solve_convex_relu"] = Case(
        lambda X, y, beta, patterns: cr.solve_convex_relu(X, y, beta=beta, patterns=patterns,
                                                          method="admm", max_iter=20),
        dict(X=X, y=y, beta=0.1, patterns=Mask(D)), needs=("warn",))
    C["convex_relu.choose_method"] = Case(cr.choose_method, dict(n=10, d=3, P=4))
    Vz = np.zeros((X.shape[1], D.shape[1]))
    C["convex_relu.convex_parts"] = Case(cr.convex_parts, dict(X=X, D=Mask(D), V=Vz, W=Vz))
    C["convex_relu.convex_objective"] = Case(
        lambda X, y, D, V, W: cr.convex_objective(X, y, D, V, W, 0.1),
        dict(X=X, y=y, D=Mask(D), V=Vz, W=Vz))
    # The scikit-learn estimators (ConvexReLURegressor/Classifier, RSSClassifier) validate
    # through scikit-learn's own helpers, with its messages; their complex, empty and NaN
    # input are checked by scikit-learn's estimator suite in tests/test_sklearn_compat.py.

    # dro
    C["dro.sample_gmm_shift"] = Case(lambda d, m, n: dro.sample_gmm_shift(d, m, n, rng=0),
                                     dict(d=3, m=6, n=6))
    C["dro.condition_covariance"] = Case(dro.condition_covariance, dict(d=3, kappa=2.0))
    C["dro.robust_surrogate"] = Case(lambda margin, gamma: dro.robust_surrogate(margin,
                                                                                gamma=gamma),
                                     dict(margin=y, gamma=1.0))
    C["dro.robust_surrogate_linear"] = Case(
        lambda w, X, y, gamma: dro.robust_surrogate_linear(w, X, y, gamma=gamma),
        dict(w=w4, X=X, y=ypm, gamma=1.0))
    C["dro.solve_rss"] = Case(
        lambda X, y, X_unlabeled, gamma: dro.solve_rss(
            X, y, X_unlabeled, gamma=gamma, gamma_u=gamma, lam=1.0, init="erm",
            max_iter=5, rng=0),
        dict(X=X, y=ypm, X_unlabeled=X[:6], gamma=1.0), needs=("warn",))
    C["dro.solve_erm"] = Case(lambda X, y: dro.solve_erm(X, y, max_iter=5), dict(X=X, y=ypm),
                              needs=("warn",))
    C["dro.solve_robust_erm"] = Case(
        lambda X, y, gamma: dro.solve_robust_erm(X, y, gamma=gamma, max_iter=5, rng=0),
        dict(X=X, y=ypm, gamma=1.0), needs=("warn",))
    C["dro.rss_objective"] = Case(
        lambda w, X, y, X_unlabeled, gamma: dro.rss_objective(w, X, y, X_unlabeled,
                                                              gamma=gamma),
        dict(w=w4, X=X, y=ypm, X_unlabeled=X[:6], gamma=1.0))
    C["dro.exact_accuracy"] = Case(dro.exact_accuracy, dict(w=w4, mu=w4 + 1.0, sigma=1.0))
    C["dro.exact_robust_risk"] = Case(
        lambda w, mu, gamma: dro.exact_robust_risk(w, mu, gamma=gamma),
        dict(w=w4, mu=w4 + 1.0, gamma=0.5))
    C["dro.bayes_accuracy"] = Case(dro.bayes_accuracy, dict(mu_norm=1.0, sigma=1.0))
    C["dro.erm_accuracy"] = Case(dro.erm_accuracy, dict(m=20, d=5))
    C["dro.pca_oracle_accuracy"] = Case(dro.pca_oracle_accuracy, dict(n=20, d=5))
    C["dro.bound_theorem41"] = Case(
        lambda m, n, d, alpha, gamma: dro.bound_theorem41(m, n, d, alpha=alpha, gamma=gamma),
        dict(m=50, n=500, d=5, alpha=0.5, gamma=1.0))
    C["dro.bound_theorem42"] = Case(
        lambda m, n, d, alpha: dro.bound_theorem42(m, n, d, alpha=alpha),
        dict(m=50, n=500, d=5, alpha=0.5))
    # dynamics
    t = np.array([0.1, 1.0, 10.0])
    C["dynamics.bayes_optimal_error"] = Case(dyn.bayes_optimal_error, dict(alpha=0.5, snr=2.0))
    C["dynamics.gd_error_curves"] = Case(
        lambda alpha, snr, times: dyn.gd_error_curves(alpha, snr, times, n_nodes=50),
        dict(alpha=0.5, snr=2.0, times=t))
    C["dynamics.long_time_errors"] = Case(dyn.long_time_errors, dict(alpha=0.5, snr=2.0))
    C["dynamics.optimal_stopping"] = Case(dyn.optimal_stopping, dict(alpha=0.5, snr=2.0))
    C["dynamics.ridge_error"] = Case(dyn.ridge_error, dict(alpha=0.5, snr=2.0, ridge=0.1))
    C["dynamics.simulate_gradient_flow"] = Case(
        lambda n_features, n_samples, times, snr: dyn.simulate_gradient_flow(
            n_features, n_samples, times, snr=snr, rng=0),
        dict(n_features=5, n_samples=4, times=t, snr=2.0))

    # gamp
    C["gamp.sample_quadratic_network"] = Case(
        lambda d, alpha, kappa: gp.sample_quadratic_network(d, alpha=alpha, kappa=kappa, rng=0),
        dict(d=6, alpha=1.0, kappa=0.5))
    C["gamp.quadratic_labels"] = Case(gp.quadratic_labels, dict(X=inst.X, S=inst.S_star))
    C["gamp.solve_gamp_rie"] = Case(
        lambda X, y, kappa, S_star: gp.solve_gamp_rie(X, y, kappa=kappa, delta=0.1,
                                                      max_iter=3, rng=0, S_star=S_star),
        dict(X=inst.X, y=inst.y, kappa=0.5, S_star=inst.S_star), needs=("warn",))
    C["gamp.train_quadratic_network_gd"] = Case(
        lambda X, y, lr: gp.train_quadratic_network_gd(X, y, width=2, n_steps=2, lr=lr),
        dict(X=inst.X, y=inst.y, lr=0.1), needs=("torch",))
    C["gamp.rie_denoise"] = Case(lambda R, delta, kappa: gp.rie_denoise(R, delta, kappa=kappa),
                                 dict(R=inst.S_star / 8.0, delta=0.1, kappa=0.5))
    C["gamp.denoising_mmse"] = Case(lambda delta, kappa: gp.denoising_mmse(delta, kappa=kappa),
                                    dict(delta=np.array([0.1, 0.5]), kappa=0.5))
    C["gamp.bayes_optimal_mmse"] = Case(gp.bayes_optimal_mmse,
                                        dict(alpha=np.array([0.2, 0.4]), kappa=0.5))
    C["gamp.perfect_recovery_threshold"] = Case(gp.perfect_recovery_threshold,
                                                dict(kappa=np.array([0.2, 0.5])))
    C["gamp.small_kappa_mmse"] = Case(gp.small_kappa_mmse,
                                      dict(alpha_tilde=np.array([0.2, 0.4])))
    C["gamp.preact_to_label_noise"] = Case(gp.preact_to_label_noise,
                                           dict(preact_noise_std=0.1))
    C["gamp.label_to_preact_noise"] = Case(gp.label_to_preact_noise, dict(delta=0.1))
    C["gamp.state_evolution"] = Case(
        lambda alpha, kappa: gp.state_evolution(alpha, kappa=kappa, n_iter=3),
        dict(alpha=0.3, kappa=0.5))
    C["gamp.expected_test_error"] = Case(lambda mse: gp.expected_test_error(mse, delta=0.1),
                                         dict(mse=np.array([0.1, 0.2])))

    # sketch
    C["sketch.coherent_spiky_instance"] = Case(
        lambda n, d, n_spikes: sk.coherent_spiky_instance(n, d, n_spikes, rng=0),
        dict(n=32, d=3, n_spikes=2))
    C["sketch.draw_sketch"] = Case(
        lambda n_rows, sketch_size: sk.draw_sketch("srht", n_rows, sketch_size, rng=0),
        dict(n_rows=16, sketch_size=8))
    C["sketch.fwht"] = Case(sk.fwht, dict(X=Xs))
    C["sketch.gaussian_instance"] = Case(lambda n, d: sk.gaussian_instance(n, d, rng=0),
                                         dict(n=16, d=3))
    x_ls = np.linalg.lstsq(Xs, bs, rcond=None)[0]
    C["sketch.linf_error_ratio"] = Case(
        lambda A, b, x, x_star: sk.linf_error_ratio(A, b, x, x_star=x_star),
        dict(A=Xs, b=bs, x=x_ls + 0.01, x_star=x_ls))
    C["sketch.next_pow2"] = Case(sk.next_pow2, dict(n=5))
    C["sketch.paper_sketch_size"] = Case(sk.paper_sketch_size, dict(eps=0.5, d=3, n=64))
    C["sketch.solve_lstsq_preconditioned"] = Case(
        lambda A, b: sk.solve_lstsq_preconditioned(A, b, m=12, rng=0), dict(A=Xs, b=bs),
        needs=("warn",))
    C["sketch.solve_sketched_lstsq"] = Case(
        lambda A, b: sk.solve_sketched_lstsq(A, b, m=12, rng=0), dict(A=Xs, b=bs))
    from theorylab.sketch import rotated as skr

    C["sketch.rotated.gaussian_sketch_solve"] = Case(
        lambda A, b, m: skr.gaussian_sketch_solve(A, b, m, rng=0), dict(A=Xs, b=bs, m=12))
    C["sketch.rotated.solve_from_rotated"] = Case(
        skr.solve_from_rotated, dict(G=_R.standard_normal((6, 4)), R=np.triu(np.eye(4) + 0.1)))
    C["sketch.two_coordinate_instance"] = Case(sk.two_coordinate_instance, dict(n=8))

    # sparse
    ws = np.zeros(4)
    ws[[0, 2]] = [1.0, -1.0]
    C["sparse.compare_methods"] = Case(
        lambda X, y, noise: sp.compare_methods(X, y, k=2, noise=noise),
        dict(X=X, y=y, noise=0.1), needs=("warn",))
    C["sparse.conditioned_design"] = Case(
        lambda n_samples, dim, kappa: sp.conditioned_design(n_samples, dim, k=2, kappa=kappa,
                                                            rng=0),
        dict(n_samples=12, dim=4, kappa=2.0))
    C["sparse.gadget_design"] = Case(
        lambda n_samples, dim: sp.gadget_design(n_samples, dim, k=2, rng=0),
        dict(n_samples=12, dim=6))
    C["sparse.gaussian_design"] = Case(
        lambda n_samples, dim: sp.gaussian_design(n_samples, dim, k=2, rng=0),
        dict(n_samples=12, dim=4))
    C["sparse.lambda_max"] = Case(sp.lambda_max, dict(X=X, y=y))
    C["sparse.planted_response"] = Case(
        lambda X, support, values: sp.planted_response(X, support, values=values, rng=0),
        dict(X=X, support=IntSeq([0, 2]), values=np.array([1.0, -1.0])))
    C["sparse.prediction_error"] = Case(sp.prediction_error, dict(X=X, w_hat=ws, w_star=w4))
    C["sparse.equicorrelated_design"] = Case(
        lambda n_samples, dim: sp.equicorrelated_design(n_samples, dim, k=2, rng=0),
        dict(n_samples=12, dim=4))
    C["sparse.sparse_dependency_preconditioner"] = Case(
        sp.sparse_dependency_preconditioner, dict(Z=X))
    C["sparse.random_walk_design"] = Case(
        lambda n_samples, dim: sp.random_walk_design(n_samples, dim, k=2, rng=0),
        dict(n_samples=12, dim=4))
    C["sparse.solve_exhaustive"] = Case(lambda X, y: sp.solve_exhaustive(X, y, k=2),
                                        dict(X=X, y=y))
    C["sparse.solve_iht"] = Case(lambda X, y: sp.solve_iht(X, y, k=2, max_iter=5),
                                 dict(X=X, y=y), needs=("warn",))
    C["sparse.solve_lasso"] = Case(
        lambda X, y, lam, w0: sp.solve_lasso(X, y, lam=lam, w0=w0, max_iter=50),
        dict(X=X, y=y, lam=0.1, w0=ws), needs=("warn",))
    C["sparse.solve_omp"] = Case(lambda X, y: sp.solve_omp(X, y, k=2), dict(X=X, y=y))
    C["sparse.solve_random_support_regression"] = Case(
        lambda X, y: sp.solve_random_support_regression(X, y, k=2, n_lambdas=4), dict(X=X, y=y),
        needs=("warn",))

    # pretrain
    pt = _mod("pretrain")
    Wp, psip = U, np.ones(4)
    C["pretrain.sample_factor_model"] = Case(
        lambda d, r, loading_scale: pt.sample_factor_model(d, r, loading_scale=loading_scale,
                                                           rng=0),
        dict(d=4, r=2, loading_scale=0.5))
    C["pretrain.fit_factor_analysis"] = Case(
        lambda X, n_factors, tol: pt.fit_factor_analysis(X, n_factors, tol=tol, max_iter=5),
        dict(X=X, n_factors=2, tol=1e-6), needs=("warn",))
    C["pretrain.fit_downstream_ols"] = Case(
        pt.fit_downstream_ols, dict(W=Wp, noise_variance=psip, mean=w4, X=X, y=y))
    C["pretrain.factor_model_bayes_risk"] = Case(
        pt.factor_model_bayes_risk, dict(B=U, theta=a3, sigma_x=1.0, sigma_y=0.1))
    C["pretrain.oracle_ols_excess_risk"] = Case(
        lambda n, r, noise_var: pt.oracle_ols_excess_risk(n, r, noise_var=noise_var),
        dict(n=20, r=3, noise_var=0.5))
    C["pretrain.excess_risk_bounds"] = Case(
        lambda m, n, c_phi: pt.excess_risk_bounds(m, n, c_phi=c_phi, c_psi=1.0, c_phi_psi=4.0),
        dict(m=np.array([100.0, 1000.0]), n=np.array([10.0, 20.0]), c_phi=2.0))

    # ncd
    nc = _mod("ncd")
    Xb = np.vstack([X, X + 5.0])
    lab = np.repeat([0, 1], 12)
    C["ncd.ncd_kmeans"] = Case(
        lambda X, known_prototypes, k: nc.ncd_kmeans(X, known_prototypes, k=k, n_init=2,
                                                     rng=0),
        dict(X=X, known_prototypes=X[:2], k=3), needs=("warn",),
        skip={"known_prototypes:empty": "no prototypes (0 rows) is valid: plain k-means"})
    C["ncd.class_prototypes"] = Case(lambda Z: nc.class_prototypes(Z, np.arange(12) % 3),
                                     dict(Z=X))
    C["ncd.hungarian_accuracy"] = Case(
        nc.hungarian_accuracy, dict(y_true=np.arange(12.0) % 3, y_pred=np.arange(12.0) % 4))
    C["ncd.hidden_class_kfold"] = Case(
        lambda y_known, n_folds: nc.hidden_class_kfold(y_known, n_folds=n_folds, rng=0),
        dict(y_known=np.arange(12.0) % 3, n_folds=2))
    C["ncd.estimate_k"] = Case(
        lambda Z, k_max: nc.estimate_k(Z, k_min=2, k_max=k_max, n_init=2, rng=0),
        dict(Z=Xb, k_max=3))
    C["ncd.spectral_embedding"] = Case(
        lambda X, n_components, min_dist: nc.spectral_embedding(
            X, n_components=n_components, min_dist=min_dist),
        dict(X=Xb, n_components=2, min_dist=0.5))
    C["ncd.ncd_spectral_clustering"] = Case(
        lambda X_unlabeled, X_known, y_known: nc.ncd_spectral_clustering(
            X_unlabeled, X_known, y_known, k=2, n_init=2, rng=0),
        dict(X_unlabeled=Xb, X_known=X, y_known=np.arange(12.0) % 2), needs=("warn",))
    C["ncd.load_ncd_split"] = Case(
        lambda known_classes: nc.load_ncd_split("wine", known_classes=known_classes),
        dict(known_classes=IntSeq([0])))
    C["ncd.train_pbn"] = Case(
        lambda X_known, y_known, X_unlabeled, w: nc.train_pbn(
            X_known, y_known, X_unlabeled, w=w, latent_dim=2, hidden=(4,), epochs=1),
        dict(X_known=Xb, y_known=lab.astype(float), X_unlabeled=X, w=0.5), needs=("torch",))

    # public functions of the submodules (building blocks not re-exported at the top)
    import theorylab.boolean.baselines as bb
    import theorylab.boolean.batched_baselines as bbb
    import theorylab.boolean.tasks as bt
    import theorylab.convex_relu.data as cd
    import theorylab.convex_relu.timing as ct
    import theorylab.dro.data as dd
    import theorylab.dynamics.nonlinear as dn
    import theorylab.dynamics.theory as dt
    import theorylab.gamp.fast as gf
    import theorylab.gamp.gamp as gg
    import theorylab.gamp.rie as gr
    import theorylab.gamp.theory as gt
    import theorylab.sketch.operators as so
    import theorylab.sketch.theory as st

    C["boolean.baselines.train_ste_network"] = Case(
        lambda widths, X, Y: bb.train_ste_network(widths, X, Y, steps=2),
        dict(widths=IntSeq([2, 1]), X=inputs, Y=targets), needs=("torch",))
    C["boolean.baselines.train_penalized_mlp"] = Case(
        lambda widths, X, Y: bb.train_penalized_mlp(widths, X, Y, steps=2),
        dict(widths=IntSeq([2, 3, 1]), X=inputs, Y=targets), needs=("torch",))
    C["boolean.batched_baselines.train_ste_networks"] = Case(
        lambda widths, X, Y: bbb.train_ste_networks(widths, [X], [Y], steps=2,
                                                    generators=[None]),
        dict(widths=IntSeq([2, 1]), X=inputs, Y=targets), needs=("torch",))
    C["boolean.batched_baselines.train_penalized_mlps"] = Case(
        lambda widths, X, Y: bbb.train_penalized_mlps(widths, [X], [Y], steps=2,
                                                      generators=[None]),
        dict(widths=IntSeq([2, 3, 1]), X=inputs, Y=targets), needs=("torch",))
    C["convex_relu.timing.time_admm_iterations"] = Case(
        lambda X, y, beta, patterns, iters: ct.time_admm_iterations(
            X, y, beta=beta, patterns=patterns, iters=iters),
        dict(X=X, y=y, beta=0.1, patterns=Mask(D), iters=20))
    C["boolean.tasks.to_pm1"] = Case(bt.to_pm1, dict(b=np.array([0.0, 1.0, 1.0])))
    C["boolean.tasks.bits"] = Case(bt.bits, dict(values=np.array([1, 2, 3]), n=3),
                                   skip={"values:nan": "integer codes; NaN is refused as "
                                         "non-integral (TypeError), checked by complex"})
    C["convex_relu.data.breast_cancer"] = Case(lambda n: cd.breast_cancer(n=n, rng=0),
                                               dict(n=20))
    C["convex_relu.data.synthetic_classification"] = Case(
        lambda n, n_features: cd.synthetic_classification(n, n_features=n_features),
        dict(n=20, n_features=4))
    C["convex_relu.data.one_d_regression"] = Case(
        lambda n, noise: cd.one_d_regression(n, noise=noise, rng=0), dict(n=10, noise=0.1))
    C["convex_relu.data.digits_pair"] = Case(cd.digits_pair, dict(a=2, b=8))
    C["dro.data.load_digits_shift"] = Case(
        lambda m, n, blur: dd.load_digits_shift(m, n, n_test=50, blur=blur, rng=0),
        dict(m=20, n=20, blur=0.6))
    C["dro.data.digits_covariate_shift"] = Case(
        lambda images, gain: dd.digits_covariate_shift(images, gain=gain),
        dict(images=np.full((3, 64), 0.5), gain=0.8))
    C["dynamics.nonlinear.train_two_layer_student"] = Case(
        lambda width, snr: dn.train_two_layer_student(width, n_inputs=3, n_teacher=2,
                                                      n_samples=10, n_test=10, snr=snr,
                                                      n_steps=2, n_records=2, rng=0),
        dict(width=2, snr=1.0), needs=("torch",))
    tv = dict(teacher_var=1.0, noise_var=0.5)
    C["dynamics.theory.mp_edges"] = Case(dt.mp_edges, dict(alpha=0.5))
    C["dynamics.theory.mp_nodes"] = Case(dt.mp_nodes, dict(alpha=0.5, n_nodes=20))
    C["dynamics.theory.mp_stieltjes"] = Case(dt.mp_stieltjes, dict(gamma=0.5, alpha=0.5))
    C["dynamics.theory.gen_error_theory"] = Case(
        lambda alpha, times, noise_var: dt.gen_error_theory(
            alpha, times, teacher_var=1.0, noise_var=noise_var, sigma0_sq=0.0, n_nodes=20),
        dict(alpha=0.5, times=t, noise_var=0.5))
    C["dynamics.theory.train_error_theory"] = Case(
        lambda alpha, times, teacher_var: dt.train_error_theory(
            alpha, times, teacher_var=teacher_var, noise_var=0.5, sigma0_sq=0.0, n_nodes=20),
        dict(alpha=0.5, times=t, teacher_var=1.0))
    C["dynamics.theory.gen_error_asymptote"] = Case(
        lambda alpha, sigma0_sq: dt.gen_error_asymptote(alpha, sigma0_sq=sigma0_sq, **tv),
        dict(alpha=0.5, sigma0_sq=0.0))
    C["dynamics.theory.train_error_asymptote"] = Case(
        lambda alpha, noise_var: dt.train_error_asymptote(alpha, noise_var=noise_var),
        dict(alpha=2.0, noise_var=0.5))
    C["dynamics.theory.ridge_error_theory"] = Case(
        lambda alpha, ridge: dt.ridge_error_theory(alpha, ridge, n_nodes=20, **tv),
        dict(alpha=0.5, ridge=0.1))
    C["dynamics.theory.bayes_error_theory"] = Case(
        lambda alpha, teacher_var: dt.bayes_error_theory(alpha, teacher_var=teacher_var,
                                                         noise_var=0.5),
        dict(alpha=0.5, teacher_var=1.0))
    C["gamp.gamp.init_gamp_rie"] = Case(
        lambda d, n, kappa: gg.init_gamp_rie(d, n, kappa=kappa, rng=0),
        dict(d=4, n=6, kappa=0.5))
    C["gamp.rie.rie_shrink_eigenvalues"] = Case(
        lambda lam, delta: gr.rie_shrink_eigenvalues(lam, delta, kappa=0.5),
        dict(lam=np.array([0.5, 1.0, 2.0]), delta=0.1))
    C["gamp.theory.stieltjes_th"] = Case(gt.stieltjes_th,
                                         dict(x=np.array([0.5, 3.0]), s2=0.1, kappa=0.5))
    C["gamp.theory.spectral_edges_th"] = Case(gt.spectral_edges_th, dict(s2=0.1, kappa=0.5))
    C["gamp.theory.spectral_density_th"] = Case(
        gt.spectral_density_th, dict(x=np.array([0.5, 3.0]), s2=0.1, kappa=0.5))
    C["gamp.theory.denoising_mmse_table"] = Case(gt.denoising_mmse_table, dict(kappa=0.5))
    C["gamp.fast.stieltjes_th_fast"] = Case(gf.stieltjes_th_fast,
                                            dict(x=np.array([0.5, 3.0]), s2=0.1, kappa=0.5))
    C["gamp.fast.solve_gamp_rie_fast"] = Case(
        lambda X, y, kappa, S_star: gf.solve_gamp_rie_fast(X, y, kappa=kappa, delta=0.1,
                                                           max_iter=3, rng=0, S_star=S_star),
        dict(X=inst.X, y=inst.y, kappa=0.5, S_star=inst.S_star), needs=("warn",))
    C["gamp.fast.bayes_optimal_mmse_fast"] = Case(gf.bayes_optimal_mmse_fast,
                                                  dict(alpha=np.array([0.2, 0.4]), kappa=0.5))
    C["sketch.operators.max_sketch_size"] = Case(lambda n: so.max_sketch_size("srht", n),
                                                 dict(n=10))
    C["sketch.theory.countsketch_failure_probability"] = Case(
        st.countsketch_failure_probability, dict(d=4, m=32, t=3))
    C["sketch.theory.countsketch_failure_magnitude"] = Case(
        st.countsketch_failure_magnitude, dict(d=4, t=3))
    C["sketch.theory.osnap_floor"] = Case(st.osnap_floor, dict(d=4, t=3, s=2))
    C["sketch.theory.gaussian_diag_failure_bound"] = Case(st.gaussian_diag_failure_bound,
                                                          dict(m=16))
    C["sketch.theory.srht_flops"] = Case(st.srht_flops, dict(n=64, k=3))
    C["sketch.theory.srht_sampled_ops"] = Case(st.srht_sampled_ops, dict(n=64, k=3, m=8))
    _precond_cases(C)
    C.update(_metric_losses_cases())
    C.update(_robust_cases())
    return C


def _metric_losses_cases() -> dict[str, Case]:
    """AnyLoss (han2024_anyloss): NumPy metrics and data, torch losses (tensors: own tests)."""
    ml = _mod("metric_losses")
    yb = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    sc = np.linspace(0.05, 0.95, 12)
    C: dict[str, Case] = {}
    C["metric_losses.confusion_metric"] = Case(
        lambda y_true, y_pred, beta: ml.confusion_metric(y_true, y_pred, beta=beta),
        dict(y_true=yb, y_pred=sc, beta=1.0))
    C["metric_losses.tune_threshold"] = Case(
        lambda scores, y_true, beta: ml.tune_threshold(scores, y_true, beta=beta),
        dict(scores=sc, y_true=yb, beta=1.0))
    C["metric_losses.imbalanced_dataset"] = Case(
        lambda positive_fraction: ml.imbalanced_dataset("wine", rng=0,
                                                        positive_fraction=positive_fraction),
        dict(positive_fraction=0.2))
    C["metric_losses.split_standardize"] = Case(
        lambda X, y, val_fraction, test_fraction: ml.split_standardize(
            X, y, val_fraction=val_fraction, test_fraction=test_fraction, rng=0),
        dict(X=X, y=yb, val_fraction=0.2, test_fraction=0.3))

    def _t(a):
        import torch

        return torch.as_tensor(a)

    C["metric_losses.approximation"] = Case(lambda L: ml.approximation(_t(sc), L=L),
                                            dict(L=5.0), needs=("torch",))
    C["metric_losses.soft_confusion"] = Case(lambda L: ml.soft_confusion(_t(sc), _t(yb), L=L),
                                             dict(L=5.0), needs=("torch",))
    C["metric_losses.anyloss"] = Case(
        lambda L, beta: ml.anyloss(_t(sc), _t(yb), L=L, beta=beta), dict(L=5.0, beta=1.0),
        needs=("torch",))
    C["metric_losses.weighted_bce"] = Case(lambda: ml.weighted_bce(_t(sc), _t(yb)), dict(),
                                           needs=("torch",))
    C["metric_losses.hybrid_loss"] = Case(
        lambda rho, L, beta: ml.hybrid_loss(_t(sc), _t(yb), rho=rho, L=L, beta=beta),
        dict(rho=0.5, L=5.0, beta=1.0), needs=("torch",))
    C["metric_losses.fit_binary_mlp"] = Case(
        lambda X, y, L, beta, rho, hidden, steps, lr: ml.fit_binary_mlp(
            X, y, loss="hybrid", L=L, beta=beta, rho=rho, hidden=hidden, steps=steps, lr=lr),
        dict(X=X, y=yb, L=5.0, beta=1.0, rho=0.5, hidden=4, steps=2, lr=1e-2),
        needs=("torch",))
    return C


def _robust_cases() -> dict[str, Case]:
    """TSCNC tools (tscnc2025_lipschitz_condition): NumPy condition numbers, torch rest."""
    rb = _mod("robust")
    W = _R.standard_normal((6, 4))
    C: dict[str, Case] = {}
    C["robust.active_condition_number"] = Case(
        lambda W, tol, rank_rtol: rb.active_condition_number(W, tol=tol, rank_rtol=rank_rtol),
        dict(W=W, tol=0.0, rank_rtol=1e-12))
    C["robust.active_submatrix"] = Case(lambda W, tol: rb.active_submatrix(W, tol=tol),
                                        dict(W=W, tol=0.0))

    def _net():
        import torch

        g = torch.Generator().manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
        with torch.no_grad():
            for p in net.parameters():
                p.uniform_(-0.5, 0.5, generator=g)
        return net

    def _xy():
        import torch

        return torch.rand(6, 4, generator=torch.Generator().manual_seed(1)), \
            torch.tensor([0, 1, 2, 0, 1, 2])

    def _w():
        import torch

        return torch.as_tensor(W)

    C["robust.log_condition_penalty"] = Case(lambda: rb.log_condition_penalty(_w()), dict(),
                                             needs=("torch",))
    C["robust.lipschitz_penalty"] = Case(lambda: rb.lipschitz_penalty(_w()), dict(),
                                         needs=("torch",))
    C["robust.transformed_l1"] = Case(lambda a: rb.transformed_l1(_w(), a=a), dict(a=1.0),
                                      needs=("torch",))
    C["robust.magnitude_prune"] = Case(lambda rate: rb.magnitude_prune(_net(), rate=rate),
                                       dict(rate=0.5), needs=("torch",))
    C["robust.apply_masks"] = Case(
        lambda: (lambda n: rb.apply_masks(n, rb.magnitude_prune(n, rate=0.5)))(_net()),
        dict(), needs=("torch",))
    C["robust.fgsm"] = Case(lambda eps: rb.fgsm(_net(), *_xy(), eps=eps), dict(eps=0.1),
                            needs=("torch",))
    C["robust.pgd"] = Case(
        lambda eps, steps, step_size: rb.pgd(_net(), *_xy(), eps=eps, steps=steps,
                                             step_size=step_size),
        dict(eps=0.1, steps=2, step_size=0.05), needs=("torch",))
    C["robust.gaussian_noise"] = Case(
        lambda sigma: rb.gaussian_noise(_xy()[0], sigma=sigma), dict(sigma=0.1),
        needs=("torch",))
    C["robust.accuracy"] = Case(lambda: rb.accuracy(_net(), *_xy()), dict(), needs=("torch",))
    return C


def _precond_cases(C):
    pc = _mod("precond")
    sysd = pc.poisson_system((4, 4))
    solid = np.zeros((4, 4), dtype=bool)
    solid[1, 1] = True
    Ad = sysd.A.toarray()
    bd = pc.bump_rhs(sysd, rng=0)
    C["precond.poisson_system"] = Case(lambda solid: pc.poisson_system((4, 4), solid=solid),
                                       dict(solid=Mask(solid)))
    C["precond.apply_poisson_stencil"] = Case(pc.apply_poisson_stencil,
                                              dict(p=np.ones((4, 4)), fluid=Mask(~solid)))
    C["precond.obstacle_mask"] = Case(
        lambda n_obstacles, radius: pc.obstacle_mask((6, 6), n_obstacles=n_obstacles,
                                                     radius=radius, rng=0),
        dict(n_obstacles=2, radius=0.2))
    C["precond.bump_rhs"] = Case(
        lambda n_bumps, width: pc.bump_rhs(sysd, n_bumps=n_bumps, width=width, rng=0),
        dict(n_bumps=3, width=0.1))
    C["precond.noise_rhs"] = Case(lambda: pc.noise_rhs(sysd, rng=0), {})
    C["precond.ritz_rhs"] = Case(
        lambda n_samples, low_fraction, scale: pc.ritz_rhs(
            sysd, n_samples, low_fraction=low_fraction, scale=scale, rng=0),
        dict(n_samples=3, low_fraction=0.5, scale=9.0))
    C["precond.ic0"] = Case(lambda A, shift: pc.ic0(A, shift=shift), dict(A=Ad, shift=0.0))
    C["precond.make_preconditioner"] = Case(
        lambda A, shift: pc.make_preconditioner(A, "ic0", shift=shift), dict(A=Ad, shift=0.0))
    C["precond.solve_pcg"] = Case(
        lambda A, b, tol: pc.solve_pcg(A, b, preconditioner="sgs", tol=tol),
        dict(A=Ad, b=bd, tol=1e-6))
    C["precond.solve_dcdm"] = Case(
        lambda A, b, tol, n_orth: pc.solve_dcdm(A, b, lambda r: r, tol=tol, n_orth=n_orth),
        dict(A=Ad, b=bd, tol=1e-6, n_orth=2))
    # torch part (imported lazily; tensors are not corrupted by this table)
    C["precond.dcdm_loss"] = Case(lambda: _precond_torch("loss", sysd), {}, needs=("torch",))
    C["precond.net_direction"] = Case(lambda: _precond_torch("direction", sysd), {},
                                      needs=("torch",))
    C["precond.train_dcdm_net"] = Case(
        lambda rhs, steps, lr: _precond_torch("train", sysd, rhs=rhs, steps=steps, lr=lr),
        dict(rhs=pc.ritz_rhs(sysd, 4, rng=0), steps=1, lr=1e-3), needs=("torch",))


def _precond_torch(what, system, **kw):
    import torch

    from theorylab.precond import DCDMNet, dcdm_loss, net_direction, train_dcdm_net

    net = DCDMNet(2, channels=2, levels=1, generator=torch.Generator().manual_seed(0))
    if what == "loss":
        q = torch.ones(1, system.n)
        return dcdm_loss(q, q, torch.eye(system.n))
    if what == "direction":
        return net_direction(net, system)(np.ones(system.n))
    return train_dcdm_net(net, system, kw["rhs"], steps=kw["steps"], lr=kw["lr"],
                          batch_size=2, generator=torch.Generator().manual_seed(0))


# Public names that take no argument a user could get wrong in these three ways.
NOT_FUNCTIONS_OF_DATA = {
    "sparse.STANDIN_NOTE",  # a string constant
    "sketch.SKETCHES",  # a tuple constant
    "precond.PRECONDITIONERS",  # a tuple constant
}

def _seq_cases() -> dict[str, Case]:
    """Rows of ``theorylab.seq`` (torch tensors; float64 unless the argument is integer)."""
    import torch

    s = _mod("seq")
    g = torch.Generator().manual_seed(0)

    def rn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    a, b, h0 = torch.rand(2, 5, 3, dtype=torch.float64), rn(2, 5, 3), rn(2, 3)
    q, k, v = rn(1, 2, 5, 3), rn(1, 2, 5, 3), rn(1, 2, 5, 4)
    k = k / k.norm(dim=-1, keepdim=True)
    beta, S0 = 2 * torch.rand(1, 2, 5, dtype=torch.float64), rn(1, 2, 3, 4)
    Q, K1, K2, V1, V2 = rn(4, 3), rn(5, 3), rn(6, 3), rn(5, 2), rn(6, 2)
    cfg = s.LinearRNNConfig(vocab_size=2, n_classes=2, d_model=4, kind="diag")
    model = s.LinearRNNModel(cfg, generator=torch.Generator().manual_seed(0))
    batch = s.parity_task(2, 5, generator=torch.Generator().manual_seed(0))
    nums = torch.tensor([[3, 1, 2], [0, 5, 4]])
    ttl = {"z": rn(2, 3)}
    C: dict[str, Case] = {}
    # linear RNNs
    C["seq.eigenvalue_transform"] = Case(
        lambda z: s.eigenvalue_transform(z, eig_range="[-1,1]", kind="delta"), ttl)
    C["seq.diagonal_scan_sequential"] = Case(s.diagonal_scan_sequential, dict(a=a, b=b, h0=h0))
    C["seq.diagonal_scan_chunked"] = Case(s.diagonal_scan_chunked,
                                          dict(a=a, b=b, h0=h0, chunk_size=2))
    C["seq.delta_rule_sequential"] = Case(s.delta_rule_sequential,
                                          dict(q=q, k=k, v=v, beta=beta, S0=S0))
    C["seq.delta_rule_chunked"] = Case(s.delta_rule_chunked,
                                       dict(q=q, k=k, v=v, beta=beta, S0=S0, chunk_size=2))
    # state-tracking tasks
    C["seq.parity_task"] = Case(s.parity_task, dict(batch=2, length=5))
    C["seq.mod_add_task"] = Case(s.mod_add_task, dict(batch=2, length=5, modulus=3))
    C["seq.mod_arithmetic_task"] = Case(s.mod_arithmetic_task,
                                        dict(batch=2, length=5, modulus=5))
    C["seq.cycle_navigation_task"] = Case(s.cycle_navigation_task,
                                          dict(batch=2, length=5, n_states=5))
    C["seq.make_task"] = Case(
        lambda batch, length, modulus: s.make_task("mod_add", batch, length, modulus=modulus),
        dict(batch=2, length=5, modulus=3))
    C["seq.task_loss"] = Case(lambda: s.task_loss(model, batch), {})
    C["seq.sequence_accuracy"] = Case(lambda: s.sequence_accuracy(model, batch), {})
    C["seq.train_state_tracking"] = Case(
        lambda steps, lr, batch, min_length, max_length, modulus: s.train_state_tracking(
            s.LinearRNNModel(cfg, generator=torch.Generator().manual_seed(0)), "parity",
            steps=steps, lr=lr, batch=batch, min_length=min_length, max_length=max_length,
            modulus=modulus, generator=torch.Generator().manual_seed(0)),
        dict(steps=1, lr=0.01, batch=2, min_length=2, max_length=4, modulus=3))
    # batched DeltaNet ensemble (theorylab.seq.ensemble)
    ens_mod = importlib.import_module("theorylab.seq.ensemble")
    dcfg = s.LinearRNNConfig(vocab_size=3, n_classes=3, d_model=4, n_heads=2)

    def ensemble():
        return ens_mod.DeltaNetEnsemble(
            [s.LinearRNNModel(dcfg, generator=torch.Generator().manual_seed(i)) for i in (0, 1)])

    C["seq.ensemble.train_state_tracking_ensemble"] = Case(
        lambda steps, lr, batch, min_length, max_length, modulus:
        ens_mod.train_state_tracking_ensemble(
            ensemble(), "mod_add", steps=steps, lr=lr, batch=batch, min_length=min_length,
            max_length=max_length, modulus=modulus,
            generators=[torch.Generator().manual_seed(i) for i in (0, 1)]),
        dict(steps=1, lr=0.01, batch=2, min_length=2, max_length=4, modulus=3))
    C["seq.ensemble.ensemble_sequence_accuracy"] = Case(
        lambda max_batch: ens_mod.ensemble_sequence_accuracy(
            ensemble(), [s.mod_add_task(3, 4, generator=torch.Generator().manual_seed(i))
                         for i in (0, 1)], max_batch=max_batch),
        dict(max_batch=2))
    # stacked NEE members' training losses (theorylab.seq.nee_stack): per-step losses, whose
    # values are not checked (a NaN check would synchronise every step; train_steps refuses
    # a non-finite loss) — shapes and dtypes are
    ns = importlib.import_module("theorylab.seq.nee_stack")
    nan_reason = ("per-step training loss: values unchecked (no synchronisation); "
                  "train_steps refuses a non-finite loss")
    C["seq.nee_stack.stacked_bit_loss"] = Case(
        ns.stacked_bit_loss,
        dict(value_logits=torch.randn(2, 3, 4, dtype=torch.float64, generator=g),
             target_bits=torch.randint(0, 2, (2, 3, 4), generator=g).double()),
        skip={"value_logits:nan": nan_reason, "target_bits:nan": nan_reason})
    C["seq.nee_stack.stacked_min_pointer_loss"] = Case(
        ns.stacked_min_pointer_loss,
        dict(pointer_logits=torch.randn(2, 3, 4, dtype=torch.float64, generator=g),
             numbers=torch.randint(0, 9, (2, 3, 4), generator=g),
             mask=Mask(torch.zeros(2, 3, 4, dtype=torch.bool))),
        skip={"pointer_logits:nan": nan_reason})
    # tensor attention
    qkv = dict(Q=Q, K1=K1, K2=K2, V1=V1, V2=V2)
    C["seq.tensor_attention_exact"] = Case(
        lambda Q, K1, K2, V1, V2, block_queries: s.tensor_attention_exact(
            Q, K1, K2, V1, V2, block_queries=block_queries), dict(qkv, block_queries=2))
    C["seq.tensor_attention_poly"] = Case(
        lambda Q, K1, K2, V1, V2, degree: s.tensor_attention_poly(Q, K1, K2, V1, V2,
                                                                  degree=degree),
        dict(qkv, degree=2))
    C["seq.tensor_attention_bruteforce"] = Case(s.tensor_attention_bruteforce, dict(qkv))
    C["seq.poly_feature_dim"] = Case(s.poly_feature_dim, dict(d=3, degree=2))
    C["seq.poly_features"] = Case(lambda X, degree: s.poly_features(X, degree),
                                  dict(X=Q, degree=2))
    C["seq.poly_error_bound"] = Case(s.poly_error_bound, dict(R=0.5, degree=2, v_max=1.0))
    C["seq.softmax_attention"] = Case(s.softmax_attention, dict(Q=Q, K=K1, V=V1))
    # hyper-connections
    C["seq.sinkhorn"] = Case(lambda logits, n_iter: s.sinkhorn(logits, n_iter=n_iter),
                             dict(logits=rn(3, 3), n_iter=5))
    C["seq.spectral_normalize"] = Case(
        lambda H, n_power_iter: s.spectral_normalize(H, method="power",
                                                     n_power_iter=n_power_iter),
        dict(H=rn(3, 3), n_power_iter=3))
    C["seq.expand_streams"] = Case(s.expand_streams, dict(x=rn(2, 3), n_streams=2))
    C["seq.reduce_streams"] = Case(s.reduce_streams, dict(X=rn(2, 2, 3)))
    C["seq.composite_gain"] = Case(lambda H_list: s.composite_gain(list(H_list)),
                                   dict(H_list=rn(2, 3, 3)))
    C["seq.stream_similarity"] = Case(s.stream_similarity, dict(X=rn(2, 2, 3)))
    # neural execution engines
    C["seq.selection_sort_traces"] = Case(
        lambda n_lists, length, bits, hard_fraction: s.selection_sort_traces(
            n_lists, length, bits=bits, hard_fraction=hard_fraction,
            generator=torch.Generator().manual_seed(0)),
        dict(n_lists=2, length=4, bits=4, hard_fraction=0.25))
    C["seq.encode_bits"] = Case(s.encode_bits, dict(numbers=nums, bits=4))
    C["seq.decode_bits"] = Case(s.decode_bits, dict(bit_logits=rn(2, 3, 4)))
    C["seq.min_pointer_loss"] = Case(
        s.min_pointer_loss,
        dict(pointer_logits=rn(2, 3), numbers=nums, mask=Mask(torch.ones(2, 3, dtype=bool))))
    return C


_LLM: dict[str, Any] = {}


def _llm():
    """A TOFU split, its tokenizer and an untrained tiny GPT-2 (built once, on first use)."""
    if not _LLM:
        import torch

        llm = _mod("unlearning.llm")
        torch.set_num_threads(1)
        sp = llm.tofu_splits(n_authors=4, attributes=1, forget_fraction=0.5, n_real_authors=1,
                             n_world_facts=1, seed=0)
        tok = llm.build_tokenizer(sp.facts.texts())
        model = llm.tiny_gpt2(tok, n_layer=1, n_embd=16, n_head=2, n_positions=32)
        _LLM.update(sp=sp, tok=tok, model=model, facts=list(sp.facts.facts))
    return _LLM


def _llm_cases() -> dict[str, Case]:
    """Rows of ``theorylab.unlearning.llm`` (facts, model, metrics, relearn)."""
    llm = _mod("unlearning.llm")
    L = _llm
    C: dict[str, Case] = {}
    k = "unlearning.llm."

    def g():
        import torch

        return torch.Generator().manual_seed(0)

    def qa():
        f = L()["facts"]
        return [x.question for x in f], [x.answer for x in f]

    # facts.py
    C[k + "make_facts"] = Case(
        lambda n_groups, n_perturbed: llm.make_facts(n_groups, 1, 2, n_perturbed=n_perturbed,
                                                     seed=0),
        dict(n_groups=3, n_perturbed=2))
    # model.py (its arguments are tokenizers, models and token batches: valid calls only)
    C[k + "build_tokenizer"] = Case(lambda: llm.build_tokenizer(["a b", "c ."]), {})
    C[k + "tiny_gpt2"] = Case(lambda: llm.tiny_gpt2(L()["tok"], n_layer=1, n_embd=8,
                                                    n_head=2), {})
    C[k + "check_compatible"] = Case(lambda: llm.check_compatible(L()["model"], L()["tok"]), {})
    C[k + "encode_qa"] = Case(lambda: llm.encode_qa(L()["tok"], *qa(), model=L()["model"]), {})
    C[k + "token_logprobs"] = Case(
        lambda: llm.token_logprobs(L()["model"], llm.encode_qa(L()["tok"], *qa())), {})
    C[k + "sequence_logprob"] = Case(
        lambda: llm.sequence_logprob(L()["model"], llm.encode_qa(L()["tok"], *qa())), {})
    C[k + "qa_loss"] = Case(
        lambda: llm.qa_loss(L()["model"], llm.encode_qa(L()["tok"], *qa())), {})
    C[k + "train_lm"] = Case(
        lambda: llm.train_lm(__import__("copy").deepcopy(L()["model"]),
                             llm.encode_qa(L()["tok"], *qa()), epochs=1, generator=g()), {})
    C[k + "greedy_answers"] = Case(
        lambda: llm.greedy_answers(L()["model"], L()["tok"], qa()[0], max_new_tokens=2), {})
    def save_load():
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            llm.save_lm(L()["model"], L()["tok"], d)
            return llm.load_lm(d)

    C[k + "save_lm"] = Case(save_load, {})
    C[k + "load_lm"] = Case(save_load, {})
    # metrics.py
    C[k + "answer_nll"] = Case(
        lambda batch_size: llm.answer_nll(L()["model"], L()["tok"], *qa(), batch_size=batch_size),
        dict(batch_size=2))
    C[k + "truth_ratio_statistic"] = Case(
        lambda batch_size: llm.truth_ratio_statistic(L()["model"], L()["tok"], L()["facts"],
                                                     batch_size=batch_size), dict(batch_size=2))
    C[k + "answer_probability"] = Case(
        lambda batch_size: llm.answer_probability(L()["model"], L()["tok"], L()["facts"],
                                                  kind="normalised", batch_size=batch_size),
        dict(batch_size=2))
    s1, s2 = np.array([0.5, 1.5, 2.0]), np.array([1.0, 3.0])
    C[k + "forget_quality"] = Case(llm.forget_quality, dict(stat_unlearned=s1, stat_retain=s2))
    C[k + "forget_truth_ratio"] = Case(llm.forget_truth_ratio, dict(s=s1))
    C[k + "truth_score"] = Case(llm.truth_score, dict(s=s1))
    C[k + "model_utility"] = Case(llm.model_utility, dict(components=np.array([0.5, 0.25])))
    C[k + "lcs_length"] = Case(lambda: llm.lcs_length(["a", "b"], ["b"]), {})
    C[k + "rouge_l_recall"] = Case(lambda: llm.rouge_l_recall("a b", "b c"), {})
    C[k + "is_well_formed"] = Case(
        lambda: llm.is_well_formed(L()["facts"][0].answer, L()["facts"][0]), {})
    C[k + "score_answers"] = Case(
        lambda: llm.score_answers(qa()[1], L()["facts"]), {})
    C[k + "qa_accuracy"] = Case(
        lambda max_new_tokens: llm.qa_accuracy(L()["model"], L()["tok"], L()["facts"],
                                               max_new_tokens=max_new_tokens),
        dict(max_new_tokens=2))
    C[k + "tofu_splits"] = Case(
        lambda n_authors, forget_fraction: llm.tofu_splits(
            n_authors, 1, forget_fraction=forget_fraction, n_real_authors=1, n_world_facts=1,
            seed=0),
        dict(n_authors=4, forget_fraction=0.5))
    C[k + "evaluate_tofu"] = Case(
        lambda batch_size, max_new_tokens: llm.evaluate_tofu(
            L()["model"], L()["tok"], L()["sp"], batch_size=batch_size,
            max_new_tokens=max_new_tokens),
        dict(batch_size=8, max_new_tokens=2))
    # relearn.py
    C[k + "split_for_relearning"] = Case(
        lambda fraction: llm.split_for_relearning(L()["facts"], fraction, stratify=False, rng=0),
        dict(fraction=0.5))
    C[k + "relearn_attack"] = Case(
        lambda lr, batch_size: llm.relearn_attack(
            L()["model"], L()["tok"], L()["facts"][:2], L()["facts"][2:], steps=[0, 1], lr=lr,
            batch_size=batch_size, generator=g(), max_new_tokens=2),
        dict(lr=1e-3, batch_size=2))
    C[k + "steps_to_recover"] = Case(
        lambda threshold: llm.steps_to_recover(
            llm.RelearnCurve(steps=np.array([0, 1]), accuracy=np.array([0.0, 1.0]),
                             value_accuracy=np.zeros(2), probability=np.zeros(2),
                             relearn_loss=np.zeros(2), n_relearn=1, n_eval=1), threshold),
        dict(threshold=0.5))
    # losses.py (per-sequence log-likelihood tensors: complex, empty and NaN refused by name)
    import torch

    lp = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    C[k + "ga_loss"] = Case(llm.ga_loss, dict(logp=lp(-1.0, -2.0)))
    C[k + "grad_diff_loss"] = Case(llm.grad_diff_loss,
                                   dict(logp_forget=lp(-1.0), logp_retain=lp(-2.0, -3.0)))
    C[k + "idk_loss"] = Case(llm.idk_loss, dict(logp_refusal=lp(-1.0), logp_retain=lp(-2.0)))
    C[k + "npo_loss"] = Case(llm.npo_loss, dict(logp=lp(-1.0, -2.0), logp_ref=lp(-1.5, -1.0),
                                                beta=0.1))
    C[k + "npo_weight"] = Case(llm.npo_weight, dict(logp=lp(-1.0, -2.0),
                                                    logp_ref=lp(-1.5, -1.0), beta=0.1))
    C[k + "dpo_loss"] = Case(llm.dpo_loss, dict(
        logp_preferred=lp(-1.0), logp_rejected=lp(-2.0), logp_preferred_ref=lp(-1.5),
        logp_rejected_ref=lp(-1.0), beta=0.1))
    C[k + "kl_retain_loss"] = Case(llm.kl_retain_loss, dict(
        logits=torch.zeros(2, 3, 4, dtype=torch.float64),
        ref_logits=torch.ones(2, 3, 4, dtype=torch.float64)))
    # methods.py and synthetic_rf.py (models, batches and problems: valid calls only; their
    # numbers are validated by LMUnlearnConfig / the functions and tested in their own files)
    C[k + "list_lm_methods"] = Case(llm.list_lm_methods, {})
    C[k + "refusal_batch"] = Case(
        lambda: llm.refusal_batch(llm.build_tokenizer(["where ?", llm.REFUSAL]), ["where ?"]), {})
    C[k + "unlearn_lm"] = Case(
        lambda: llm.unlearn_lm(L()["model"], llm.encode_qa(L()["tok"], *qa()), method="ga",
                               config=llm.LMUnlearnConfig(steps=1), generator=g()), {})
    rf = lambda: llm.make_rf_problem(d=4, N=8, n_r=20, n_f=10, n_eval=20,  # noqa: E731
                                     pretrain_steps=5, rng=0)
    C[k + "make_rf_problem"] = Case(rf, {})
    C[k + "rf_unlearn"] = Case(lambda: llm.rf_unlearn(rf(), "ga", lr=1e-3, steps=2), {})
    C[k + "synthetic_rf.rf_loss"] = Case(
        lambda: llm.rf_unlearn(rf(), "npo", lr=1e-3, beta=1.0, steps=1), {})
    # concept_vectors.py (models and token sets: valid calls only, except the number-valued
    # gate; its bad inputs are tested in tests/test_llm_concept_vectors.py)
    M = lambda: L()["model"]  # noqa: E731
    C[k + "value_site"] = Case(lambda: llm.value_site(M(), 0), {})
    C[k + "value_vectors"] = Case(lambda: llm.value_vectors(M(), 0), {})
    C[k + "unembedding"] = Case(lambda: llm.unembedding(M()), {})
    C[k + "topk_tokens"] = Case(
        lambda: llm.topk_tokens(llm.value_vectors(M(), 0), llm.unembedding(M()), 3), {})
    C[k + "concept_vectors.cosine"] = Case(
        lambda: __import__("theorylab.unlearning.llm.concept_vectors", fromlist=["x"]).cosine(
            torch.ones(3), torch.arange(3.0)), {})
    C[k + "concept_vectors.jaccard"] = Case(
        lambda: __import__("theorylab.unlearning.llm.concept_vectors", fromlist=["x"]).jaccard(
            [1, 2], [2, 3]), {})
    C[k + "intrinsic_scores"] = Case(
        lambda: llm.intrinsic_scores(llm.value_vectors(M(), 0)[0], llm.value_vectors(M(), 0)[1],
                                     llm.unembedding(M()), k=3), {})
    C[k + "locate_concept_vectors"] = Case(
        lambda: llm.locate_concept_vectors(M(), [{5, 6}], k=3), {})
    def ablate():
        with llm.ablate_value_vector(M(), 0, 0) as site:
            return site

    C[k + "ablate_value_vector"] = Case(ablate, {})
    C[k + "needle"] = Case(
        lambda: llm.needle(__import__("copy").deepcopy(M()),
                           lambda m: llm.qa_loss(m, llm.encode_qa(L()["tok"], *qa())), 0, 0,
                           max_steps=1, generator=g()), {})
    C[k + "localisation_gate"] = Case(
        llm.localisation_gate, dict(concept_before=1.0, concept_after=0.5, unrelated_before=1.0,
                                    unrelated_after=1.0))
    # mrp.py (models, batches and hidden states: valid calls only; bad values in its tests)
    def batch():
        return llm.encode_qa(L()["tok"], *qa())

    def mrp_model():
        m = __import__("copy").deepcopy(L()["model"])
        llm.mrp_unlearn(m, batch(), batch(), layers=0, rank=1, lr=0.1, epochs=1,
                        batch_size=2, generator=g())
        return m

    C[k + "mrp_unlearn"] = Case(mrp_model, {})
    C[k + "apply_mrp"] = Case(
        lambda: llm.apply_mrp(__import__("copy").deepcopy(L()["model"]), 0), {})
    C[k + "mrp_blocks"] = Case(lambda: llm.mrp_blocks(mrp_model()), {})
    C[k + "decoder_layers"] = Case(lambda: llm.decoder_layers(L()["model"]), {})
    C[k + "collect_hidden_states"] = Case(
        lambda: llm.collect_hidden_states(L()["model"], batch(), 0), {})
    C[k + "init_mrp_directions"] = Case(
        lambda: llm.init_mrp_directions(llm.collect_hidden_states(L()["model"], batch(), 0),
                                        llm.collect_hidden_states(L()["model"], batch(), 0), 1),
        {})

    def mrp_save_load():
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            llm.save_mrp(mrp_model(), L()["tok"], d)
            return llm.load_mrp(d)

    C[k + "save_mrp"] = Case(mrp_save_load, {})
    C[k + "load_mrp"] = Case(mrp_save_load, {})
    return C


CASES = build_cases()
if "seq" in SUBPACKAGES:
    CASES |= _seq_cases()
if "unlearning.llm" in SUBPACKAGES:
    CASES |= _llm_cases()


def _is_tensor(v) -> bool:
    return type(v).__module__.startswith("torch") and hasattr(v, "is_floating_point")


def _tensor_corruptions(name, v):
    """Complex, empty (and empty columns for 2-d), NaN versions of a torch tensor (a
    ``Mask``-wrapped bool tensor gets no NaN version; an integer tensor's NaN version is a
    float tensor, so its error may be a dtype ``TypeError``)."""
    import torch

    mask = isinstance(v, Mask)
    v = _unwrap(v)
    out = [(name, "complex", v.to(torch.complex128) + 1j, (TypeError,)),
           (name, "empty", v[:0], (ValueError,))]
    if v.ndim == 2:
        out.append((name, "empty_cols", v[:, :0], (ValueError,)))
    if not mask:
        bad = v.to(torch.float64).clone()
        bad.view(-1)[0] = float("nan")
        exc = (ValueError,) if v.is_floating_point() else (TypeError, ValueError)
        out.append((name, "nan", bad, exc))
    return out


def _corruptions(case: Case):
    """(param, kind, bad value, expected exception types) for every argument."""
    out = []
    for name, v in case.params.items():
        if isinstance(v, Mask) and isinstance(v.value, np.ndarray):
            a = v.value
            out += [(name, "complex", a.astype(complex) + 1j, (TypeError,)),
                    (name, "empty", a[:0], (ValueError,))]
            if a.ndim == 2:
                out.append((name, "empty_cols", a[:, :0], (ValueError,)))
        elif isinstance(v, Mask) or _is_tensor(v):
            out += _tensor_corruptions(name, v)
        elif isinstance(v, IntSeq):
            out += [(name, "complex", [complex(x, 1) for x in v.value], (TypeError,)),
                    (name, "empty", [], (ValueError,))]
        elif isinstance(v, np.ndarray):
            bad = v.astype(float).copy()
            bad.flat[0] = np.nan
            out += [(name, "complex", v + 1j, (TypeError,)),
                    (name, "empty", v[:0], (ValueError,)),
                    (name, "nan", bad, (ValueError,))]
            if v.ndim == 2:
                out.append((name, "empty_cols", v[:, :0], (ValueError,)))
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int):
            out += [(name, "complex", complex(v, 1), (TypeError,)),
                    (name, "nan", float("nan"), (TypeError, ValueError))]
        elif isinstance(v, float):
            out += [(name, "complex", complex(v, 1), (TypeError,)),
                    (name, "nan", float("nan"), (ValueError,))]
    return out


def _prepare(case: Case):
    for need in case.needs:
        if need in ("cvxpy", "torch"):
            pytest.importorskip(need)


PARAMS = [
    pytest.param(key, name, kind, bad, exc, id=f"{key}-{name}-{kind}")
    for key, case in CASES.items()
    for name, kind, bad, exc in _corruptions(case)
    if f"{name}:{kind}" not in case.skip
]


@pytest.mark.parametrize("key", sorted(CASES))
def test_table_call_is_valid(key):
    """The rows are valid calls, so the errors below come from the corrupted argument."""
    case = CASES[key]
    _prepare(case)
    import warnings

    from theorylab.results import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        case.call(**case.valid())


@pytest.mark.parametrize("key, name, kind, bad, exc", PARAMS)
def test_bad_argument_is_refused_by_name(key, name, kind, bad, exc):
    case = CASES[key]
    _prepare(case)
    kwargs = case.valid()
    kwargs[name] = bad
    with pytest.raises(exc) as info:
        case.call(**kwargs)
    msg = str(info.value)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", msg), \
        f"{key}: the {kind} error does not name {name!r}: {msg!r}"
    if kind == "complex":
        assert "real" in msg or "integer" in msg, msg
    if kind.startswith("empty"):
        assert "at least" in msg or "non-empty" in msg or "must have shape" in msg, msg


_SKLEARN = __import__("pathlib").Path(__file__).with_name(
    "test_sklearn_compat.py").read_text()


def _submodule_functions(sub):
    """Public functions defined in the public submodules of ``theorylab.<sub>``."""
    import pkgutil

    pkg = _mod(sub)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name == "reference":  # twins: test-only code
            continue
        try:
            mod = importlib.import_module(f"theorylab.{sub}.{info.name}")
        except ImportError:  # a torch-only module without torch
            continue
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name, None)
            if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
                yield info.name, name, obj


def test_table_covers_every_public_function():
    missing = []
    for sub in SUBPACKAGES:
        mod = _mod(sub)
        for name in mod.__all__:
            key = f"{sub}.{name}"
            if sub == "dro" and name in mod._TORCH_NAMES or key in NOT_FUNCTIONS_OF_DATA:
                continue
            obj = getattr(mod, name)
            if inspect.isfunction(obj) and key not in CASES:
                missing.append(key)
            # estimators (classes with fit) are covered by scikit-learn's own check suite
            # in tests/test_sklearn_compat.py, which must list each of them
            if inspect.isclass(obj) and hasattr(obj, "fit") and obj.__name__ not in _SKLEARN:
                missing.append(f"{key}.fit")
    for sub in SUBPACKAGES:
        top = set(_mod(sub).__all__)
        for module, name, _ in _submodule_functions(sub):
            if name in top:
                continue
            if f"{sub}.{module}.{name}" not in CASES:
                missing.append(f"{sub}.{module}.{name}")
    assert not missing, f"public functions without a row in the table: {missing}"


# ------------------------------------------------------------ the shared checks themselves

def test_check_array_rules():
    from theorylab._validation import check_array, check_labels, check_matrix, check_vector

    with pytest.raises(TypeError, match=r"^X must be real-valued, got complex128$"):
        check_matrix(np.ones((2, 2)) + 0j)  # even a zero imaginary part is refused
    with pytest.raises(TypeError, match="X must be a numeric array, got dtype bool"):
        check_matrix(np.ones((2, 2), dtype=bool))
    assert check_matrix(np.ones((2, 2), dtype=bool), allow_bool=True).dtype == np.float64
    with pytest.raises(TypeError, match="X must be a numeric array, got dtype object"):
        check_matrix(np.array([[1.0, None]], dtype=object))
    with pytest.raises(ValueError, match=r"X must have at least 1 row, got 0 \(shape \(0, 3\)\)"):
        check_matrix(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="X must have at least 2 columns, got 1"):
        check_matrix(np.zeros((3, 1)), min_cols=2)
    with pytest.raises(ValueError, match="y must have at least 1 entry, got 0"):
        check_vector([], name="y")
    with pytest.raises(TypeError, match="support must hold integers"):
        check_array([0.5, 1.0], name="support", dtype=np.int64)
    assert check_array(2.0, name="t", ndim=None).shape == ()  # a scalar query stays 0-d
    assert check_array(np.ones(3) + 1j, name="z", dtype=np.complex128).dtype == np.complex128
    assert check_labels(["a", "b"]).tolist() == ["a", "b"]
    with pytest.raises(TypeError, match="y must be real-valued"):
        check_labels([1 + 1j, 2.0])
