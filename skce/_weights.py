"""Class-weight strategies, resolved to one weight per class.

Class weights reach the loss engine only as per-sample weights:
s_i = sample_weight_i * sum_k T_ik w_k (for hard labels, w of the labelled class).
"""

import numbers

import numpy as np

STRATEGIES = ("balanced", "balanced_sqrt", "effective_number")


def class_weight_vector(class_weight, classes, class_mass, *, beta=0.999,
                        allowed=("balanced",), normalize=False):
    """Resolve ``class_weight`` to an array aligned with ``classes``.

    Parameters
    ----------
    class_weight : None, str or dict
    classes : ndarray of shape (K,)
    class_mass : ndarray of shape (K,)
        Weighted class counts n_c = sum_i sample_weight_i T_ic.
    beta : float
        For "effective_number" (Cui et al. 2019).
    allowed : tuple of str
        Which string strategies the caller offers.
    normalize : bool
        Rescale so that sum_c w_c n_c = sum_c n_c.

    Returns
    -------
    ndarray of shape (K,)
    """
    K = len(classes)
    n_c = np.asarray(class_mass, dtype=np.float64)
    present = n_c > 0
    if class_weight is None:
        w = np.ones(K)
    elif isinstance(class_weight, str):
        if class_weight not in allowed:
            raise ValueError(
                f"class_weight={class_weight!r} is not supported; use None, a dict "
                f"{{class: weight}} or one of {sorted(allowed)}.")
        w = np.ones(K)
        n_present = max(int(present.sum()), 1)
        if class_weight in ("balanced", "balanced_sqrt"):
            w[present] = n_c.sum() / (n_present * n_c[present])
            if class_weight == "balanced_sqrt":
                w = np.sqrt(w)
        else:  # effective number of samples: (1 - beta) / (1 - beta ** n_c)
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"beta must be in [0, 1); got beta={beta!r}.")
            if beta > 0:
                w[present] = (1.0 - beta) / -np.expm1(np.log(beta) * n_c[present])
    elif isinstance(class_weight, dict):
        w = np.ones(K)
        index = {c: k for k, c in enumerate(classes.tolist())}
        unknown = [c for c in class_weight if _key(c) not in index]
        if unknown:
            raise ValueError(
                f"class_weight names classes that are not in the training labels: "
                f"{unknown}; the classes are {classes.tolist()}.")
        for c, weight in class_weight.items():
            if not isinstance(weight, numbers.Real) or not np.isfinite(weight) \
                    or weight < 0:
                raise ValueError(
                    f"class_weight[{c!r}] must be a finite non-negative number; "
                    f"got {weight!r}.")
            w[index[_key(c)]] = weight
    else:
        raise ValueError(
            f"class_weight must be None, a dict or a string; got "
            f"{type(class_weight).__name__}.")
    if normalize and np.dot(w, n_c) > 0:
        w = w * (n_c.sum() / np.dot(w, n_c))
    return w


def _key(c):
    return c.item() if isinstance(c, np.generic) else c
