"""What a fit needs, built from the data: objective, classes, mass, weights, offsets.

:func:`build_problem` is the one place where class counts become class weights and
per-sample weights, where the loss and its logit offset are chosen (through the
estimator's hooks, which take values and return values), and where early stopping
splits off its validation rows. It asks the back end for every data operation, so
the same lines serve numpy, array API and dask inputs.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from . import _validation as V


@dataclass
class Problem:
    """A fit's fixed data, bound once.

    Attributes
    ----------
    objective : Objective or DaskObjective
        What the solver minimizes (the training rows).
    validation : callable or None
        ``params -> validation loss`` when early stopping holds rows out.
    data : skce.backends.Data
        The validated data (all rows).
    backend : the back end that built it
    sample_weight : array of shape (n_samples,)
        Per-sample weights s_i with the class weights folded in (all rows).
    class_mass : ndarray of shape (n_classes,)
        Class counts weighted by sample_weight, accumulated over every
        ``partial_fit`` call (what class weights and priors are computed from).
    class_weight : ndarray of shape (n_classes,)
    offset : ndarray of shape (n_outputs,) or None
        The training-time logit offset.
    fit_mass : ndarray of shape (n_classes,)
        Class mass under the per-sample weights s: the priors of the weighted
        problem, where the intercept starts.
    """

    objective: Any
    validation: Any
    data: Any
    backend: Any
    sample_weight: Any
    class_mass: np.ndarray
    class_weight: np.ndarray
    offset: Any
    fit_mass: np.ndarray


def build_problem(estimator, backend, data, *, seen_mass=None, early_stopping=False,
                  random_state=None):
    """Build the :class:`Problem` of one fit.

    Parameters
    ----------
    estimator : BaseCEClassifier
        Read for its parameters and hooks (``_class_weights``, ``_make_loss``,
        ``_training_offset``); never modified.
    backend : a back end of :mod:`skce.backends`
    data : skce.backends.Data
    seen_mass : ndarray of shape (n_classes,) or None
        Class mass of the earlier ``partial_fit`` calls, added to this chunk's.
    early_stopping : bool
        Split off ``estimator.validation_fraction`` of the rows (stratified).
    random_state : numpy RandomState
        Seeds the split.
    """
    est = estimator
    K = data.n_classes
    mass = backend.counts(data, data.sample_weight)
    if seen_mass is not None:
        mass = mass + seen_mass
    class_weight = est._class_weights(data.classes, mass)
    s = backend.sample_weights(data, class_weight)
    if not backend.total(s) > 0:
        raise V.zero_weight_after_class_weight()
    loss = est._make_loss(K)
    offset = est._training_offset(mass, data.dtype)
    # priors of the weighted problem (class weights included): class weights and
    # the equivalent sample weights then start, and end, alike
    fit_mass = backend.counts(data, s)

    def objective(rows, **penalty):
        return backend.objective(data.X, data.target, s, loss, n_classes=K,
                                 smoothing=float(est.label_smoothing), rows=rows,
                                 fit_intercept=est.fit_intercept, offset=offset,
                                 **penalty)

    penalty = {"alpha": est.alpha, "l1_ratio": est.l1_ratio}
    validation = None
    if early_stopping:
        train, val = split_rows(backend.labels(data), est.validation_fraction,
                                random_state)
        V.check_split_weights(backend.total(backend.take(s, train)),
                              backend.total(backend.take(s, val)),
                              est.validation_fraction)
        validation = objective(val, alpha=0.0).value
        train_objective = objective(train, **penalty)
    else:
        train_objective = objective(None, **penalty)
    return Problem(train_objective, validation, data, backend, s, mass, class_weight,
                   offset, fit_mass)


def split_rows(labels, fraction, random_state):
    """Sorted (train, validation) row indices, stratified by ``labels`` when every
    class can be split, else at random; seeded by ``random_state``."""
    n_samples = labels.shape[0]
    rows = np.arange(n_samples)
    seed = random_state.randint(np.iinfo(np.int32).max)
    try:
        train, val = train_test_split(rows, test_size=fraction, stratify=labels,
                                      random_state=seed)
    except ValueError:  # a class too small to stratify: split at random
        try:
            train, val = train_test_split(rows, test_size=fraction,
                                          random_state=seed)
        except ValueError:  # too few samples for any split: say so below
            train = val = rows[:0]
    V.check_split_sizes(len(train), len(val), fraction, n_samples)
    return np.sort(train), np.sort(val)
