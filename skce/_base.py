"""The estimator face: hooks, fit/partial_fit in a few lines, predict*, tags.

Estimators stay thin. ``fit`` and ``partial_fit`` call the one fit driver
(:func:`skce._fit.fit`), which validates, builds the problem through the back end
that serves X (numpy, array API or dask), solves and stores. Subclasses change the
loss (``_make_loss``), the class weights (``_class_weights``), the training logit
offset (``_training_offset``) and their extra fitted attributes
(``_fitted_extras``); each hook takes values and returns values.
"""

import functools
import types

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _fit
from . import _validation as V
from ._loss import (
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    log_expit_xp,
    log_softmax,
)
from ._weights import class_weight_vector
from ._xp import namespace
from .backends import backend_for
from .solvers import DOC_LINK_TEMPLATE, resolve_solver, solver_traits


def _has_stochastic_solver(self):
    solver = resolve_solver(self.solver)
    if solver_traits(solver)["family"] != "stochastic":
        raise AttributeError(
            f"partial_fit needs a stochastic solver; solver={self.solver!r} is "
            f"full-batch. Use one of {V.stochastic_names()} or a first-order solver "
            f"object from skce.solvers.")
    return True


class _stochastic_only:
    """``available_if(_has_stochastic_solver)`` whose AttributeError says why.

    scikit-learn's ``available_if`` replaces the check's message with "has no
    attribute"; here ``clf.partial_fit`` on a full-batch solver names the solvers
    that have it, while ``hasattr`` stays False as duck typing expects.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        try:
            _has_stochastic_solver(obj)
        except AttributeError:
            raise
        except Exception as exc:  # e.g. an unknown solver name: not available
            raise AttributeError(
                f"partial_fit is unavailable: {exc}") from exc
        return types.MethodType(self.fn, obj)


class BaseCEClassifier(ClassifierMixin, BaseEstimator):
    """Linear classifier trained by minimizing (penalized) cross-entropy.

    Not to be used directly: see SoftmaxRegressor and WeightedCEClassifier.
    """

    _class_weight_strategies = ("balanced",)
    # the HTML repr's "?" opens the class's page of skce's API reference
    _doc_link_module = "skce"
    _doc_link_template = DOC_LINK_TEMPLATE

    # ----------------------------------------------------------------- hooks
    def _make_loss(self, n_classes):
        if n_classes == 2:
            return SigmoidCrossEntropy()
        return SoftmaxCrossEntropy(n_classes)

    def _class_weights(self, classes, class_mass):
        """Per-class weights from the class mass (counts weighted by
        sample_weight, accumulated over partial_fit calls)."""
        return class_weight_vector(self.class_weight, classes, class_mass,
                                   allowed=self._class_weight_strategies)

    def _training_offset(self, class_mass, dtype):
        """The logit offset added in training only, or None."""
        return None

    def _check_extra_params(self, solver):
        """Subclasses validate their own hyperparameters here."""

    def _fitted_extras(self, class_mass, class_weight, n_outputs, dtype):
        """Extra fitted attributes, ``{name: host array or None}``."""
        return {}

    def _posthoc_offset(self, class_mass, n_outputs):
        """A logit shift applied after training, or None: the driver folds it
        into ``intercept_`` (so that ``decision_function(X) == X @ coef_.T +
        intercept_``) and keeps the fitted intercept as ``raw_intercept_``."""
        return None

    # -------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimizing the penalized cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32. Never modified. Dask arrays
            and, with ``array_api_dispatch=True``, array API arrays (torch, CuPy)
            are fitted where they live.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or soft targets: rows of non-negative numbers summing
            to 1 (then ``classes_ = arange(n_classes)``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, multiplied with the class weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return _fit.fit(self, X, y, sample_weight)

    @_stochastic_only
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over the chunk ``(X, y)``, carrying the optimizer state.

        Available with the stochastic solvers only. Class weights and priors use
        the class counts of every chunk seen so far.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call (as in SGDClassifier),
            not needed with soft targets.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        classes = V.first_partial_fit_classes(self, y, classes)
        return _fit.fit(self, X, y, sample_weight, partial=True, classes=classes)

    def set_params(self, **params):
        """Set parameters, nested solver parameters included.

        ``solver__learning_rate=0.01`` works when ``solver`` is a name too (as
        RandomizedSearchCV sets it after ``solver="adam"``): the name is first
        replaced by its default object, which then takes the nested values.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and ``solver__<name>`` for the solver's.

        Returns
        -------
        self : object
        """
        if any(key.startswith("solver__") for key in params):
            solver = params.get("solver", self.solver)
            if isinstance(solver, str):
                params = {**params, "solver": resolve_solver(solver)}
        return super().set_params(**params)

    # ----------------------------------------------------------- prediction
    def _linear_scores(self, X):
        """``X @ coef_.T + intercept_`` (2-D) for validated X, in X's namespace."""
        xp, is_np = namespace(X)
        with np.errstate(over="ignore", invalid="ignore"):
            scores = X @ self.coef_.T + self.intercept_
            if is_np:
                scores = np.asarray(scores)
        if not bool(xp.all(xp.isfinite(scores))):
            raise V.logits_overflow(_max_abs(X))
        return scores

    def decision_function(self, X):
        """Logits ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for binary problems, else
        (n_samples, n_classes)
        """
        return self._decision(X, "decision_function")

    def _decision(self, X, method):
        """decision_function on behalf of ``method`` (named in namespace errors)."""
        check_is_fitted(self)
        X = backend_for(X).check_predict_X(self, X, method)
        scores = self._linear_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Most probable class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self._decision(X, "predict")
        xp, is_np = namespace(scores)
        index = xp.astype(scores > 0, xp.int64) if scores.ndim == 1 else \
            xp.argmax(scores, axis=1)
        if is_np:
            return self.classes_[index]
        return xp.take(self.classes_, index, axis=0)

    def predict_proba(self, X):
        """Class probabilities: the softmax (or sigmoid) of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        log_proba = log_proba_of(self._decision(X, "predict_proba"))
        return namespace(log_proba)[0].exp(log_proba)

    def predict_log_proba(self, X):
        """Log class probabilities, computed stably (no ``log(0)``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return log_proba_of(self._decision(X, "predict_log_proba"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags


def log_proba_of(scores):
    """Log class probabilities from logits: the sigmoid's two columns for one
    logit, else the log-softmax; any array API namespace."""
    if scores.ndim == 1:
        xp, _ = namespace(scores)
        return xp.stack([log_expit_xp(xp, -scores), log_expit_xp(xp, scores)], axis=1)
    return log_softmax(scores)


def _max_abs(X):
    if sp.issparse(X):
        return float(np.abs(X.data).max()) if X.data.size else 0.0
    xp, _ = namespace(X)
    return float(xp.max(xp.abs(X))) if X.shape[0] else 0.0
