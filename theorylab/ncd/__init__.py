"""Novel class discovery in tabular data (Troisemaine et al. 2023, arXiv:2311.05440).

Public names:

- clustering: :func:`ncd_kmeans` (k-means with known-class prototypes fixed; numba Lloyd),
  :class:`NCDKMeansResult`, :func:`class_prototypes`, :func:`ncd_spectral_clustering`,
  :func:`spectral_embedding`;
- scoring and selection: :func:`hungarian_accuracy`, :func:`hidden_class_kfold`
  (:class:`HiddenClassSplit`), :func:`estimate_k` (:class:`KEstimate`);
- data: :func:`load_ncd_split` (:class:`NCDSplit`; scikit-learn's bundled digits, wine,
  breast_cancer);
- torch (imported lazily): :class:`PBN`, :func:`train_pbn`, :class:`PBNResult`.
"""

from .data import NCDSplit, load_ncd_split
from .kmeans import NCDKMeansResult, class_prototypes, ncd_kmeans
from .metrics import hungarian_accuracy
from .selection import HiddenClassSplit, KEstimate, estimate_k, hidden_class_kfold
from .spectral import ncd_spectral_clustering, spectral_embedding

_TORCH_NAMES = ("PBN", "PBNResult", "train_pbn")

__all__ = [
    "ncd_kmeans", "NCDKMeansResult", "class_prototypes",
    "ncd_spectral_clustering", "spectral_embedding",
    "hungarian_accuracy", "hidden_class_kfold", "HiddenClassSplit", "estimate_k", "KEstimate",
    "load_ncd_split", "NCDSplit", *_TORCH_NAMES,
]


def __getattr__(name):  # torch is imported only when its names are used
    if name in _TORCH_NAMES:
        from . import pbn

        return getattr(pbn, name)
    raise AttributeError(f"module 'theorylab.ncd' has no attribute {name!r}")
