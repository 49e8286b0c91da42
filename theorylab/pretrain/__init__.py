"""Provable advantage of unsupervised pretraining: the factor-model instance (Ge et al. 2023).

arXiv:2303.01566 (ICLR 2024). Pretraining fits a latent-variable model Phi by maximum likelihood
on m unlabeled samples; the downstream task fits a small head Psi on n labels. The paper bounds
the excess risk by O~(sqrt(C_Phi/m) + sqrt(C_Psi/n)) against O~(sqrt(C_{Phi o Psi}/n)) for
supervised learning alone. Public names:

- data: :func:`sample_factor_model`, :class:`FactorModel` (x = B z + eps, y = theta.z + xi);
- pretraining: :func:`fit_factor_analysis` (EM maximum likelihood), :class:`FactorAnalysisResult`;
- downstream: :func:`fit_downstream_ols` (least squares on E[z | x]), :class:`DownstreamResult`;
- theory: :func:`factor_model_bayes_risk`, :func:`oracle_ols_excess_risk`,
  :func:`excess_risk_bounds`.
"""

from .data import FactorModel, sample_factor_model
from .factor import (
    DownstreamResult,
    FactorAnalysisResult,
    fit_downstream_ols,
    fit_factor_analysis,
)
from .theory import excess_risk_bounds, factor_model_bayes_risk, oracle_ols_excess_risk

__all__ = [
    "FactorModel", "sample_factor_model",
    "FactorAnalysisResult", "fit_factor_analysis",
    "DownstreamResult", "fit_downstream_ols",
    "factor_model_bayes_risk", "oracle_ols_excess_risk", "excess_risk_bounds",
]
