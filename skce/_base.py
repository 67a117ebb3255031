"""Shared estimator machinery: validation, label encoding, weights, fit and predict.

Estimators stay thin: they validate, encode labels, resolve class weights, build the
objective, hand it to the solver and store the fitted attributes. Subclasses change
the loss (``_make_loss``), the class weights (``_class_weights``) or the logit offset
(``_training_offset``) and nothing else.
"""

import functools
import numbers
import types
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _array_api
from ._loss import (
    HardTargets,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SoftTargets,
    log_softmax,
)
from ._objective import Objective
from ._training import Monitor, default_epochs, init_loop_state, run_epochs
from ._weights import class_weight_vector
from .solvers import SOLVERS, resolve_solver, solver_traits

_ACCEPT_SPARSE = ("csr", "csc")
_DTYPES = (np.float64, np.float32)


def _stochastic_names():
    return [k for k, v in SOLVERS.items() if v.family == "stochastic"]


def _check_number(name, value, *, low=None, high=None, low_open=False,
                  high_open=False, integer=False, allow_none=False):
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = bool(np.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        what = "an integer" if integer else "a finite number"
        rng = f" in {lo}{hi}" if low is not None else ""
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {what}{rng}{none}; got {name}={value!r}.")


def _has_stochastic_solver(self):
    solver = resolve_solver(self.solver)
    if solver_traits(solver)["family"] != "stochastic":
        raise AttributeError(
            f"partial_fit needs a stochastic solver; solver={self.solver!r} is "
            f"full-batch. Use one of {_stochastic_names()} or a first-order solver "
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

    # ----------------------------------------------------------------- hooks
    def _make_loss(self, n_classes):
        if n_classes == 2:
            return SigmoidCrossEntropy()
        return SoftmaxCrossEntropy(n_classes)

    def _class_weights(self, classes, class_mass):
        return class_weight_vector(self.class_weight, classes, class_mass,
                                   allowed=self._class_weight_strategies)

    def _training_offset(self, class_mass, dtype):
        return None

    def _check_extra_params(self, solver):
        """Subclasses validate their own hyperparameters here."""

    # ----------------------------------------------------------- validation
    def _check_params(self):
        solver = resolve_solver(self.solver)
        _check_number("alpha", self.alpha, low=0.0)
        _check_number("l1_ratio", self.l1_ratio, low=0.0, high=1.0)
        _check_number("label_smoothing", self.label_smoothing, low=0.0, high=1.0,
                      high_open=True)
        _check_number("max_iter", self.max_iter, low=1, integer=True, allow_none=True)
        _check_number("tol", self.tol, low=0.0, allow_none=True)
        _check_number("validation_fraction", self.validation_fraction, low=0.0,
                      high=1.0, low_open=True, high_open=True)
        _check_number("n_iter_no_change", self.n_iter_no_change, low=1, integer=True)
        _check_number("max_time", self.max_time, low=0.0, low_open=True,
                      allow_none=True)
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(
                f"fit_intercept must be True or False; got {self.fit_intercept!r}.")
        traits = solver_traits(solver)
        if self.l1_ratio > 0 and self.alpha > 0 and not traits["supports_l1"]:
            able = [k for k, v in SOLVERS.items() if v.supports_l1]
            raise ValueError(
                f"solver={self.solver!r} does not support l1_ratio > 0 (L1 or elastic "
                f"net need proximal steps); use one of {able}.")
        if self.callbacks is not None and not all(callable(c) for c in self.callbacks):
            raise ValueError("callbacks must be a list of callables (or None).")
        self._check_extra_params(solver)
        return solver, traits

    def _validate_y(self, y, n_samples, classes=None):
        """Return (targets-kind, classes, codes-or-T)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                f"is None.")
        if not sp.issparse(y) and getattr(y, "ndim", None) is None:
            y = np.asarray(y, dtype=object) if _ragged(y) else np.asarray(y)
        if getattr(y, "ndim", 1) == 2 and y.shape[1] > 1:
            return self._validate_soft(y, n_samples, classes)
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {n_samples} and "
                f"{y.shape[0]}.")
        check_classification_targets(y)
        if classes is None:
            classes = np.unique(y)
        codes = np.searchsorted(classes, y)
        codes = np.clip(codes, 0, len(classes) - 1)
        if np.any(classes[codes] != y):
            unseen = np.setdiff1d(np.unique(y), classes).tolist()
            raise ValueError(
                f"y contains labels {unseen} that are not in classes "
                f"{classes.tolist()}; pass every class in `classes` on the first "
                f"partial_fit call.")
        return "hard", classes, codes.astype(np.intp)

    def _validate_soft(self, y, n_samples, classes):
        T = np.asarray(y.toarray() if sp.issparse(y) else y)
        if T.dtype.kind not in "fiub":
            raise ValueError(
                f"2-D y is read as soft targets and must be numeric; got dtype "
                f"{T.dtype}.")
        T = T.astype(np.float64)
        if T.shape[0] != n_samples:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {n_samples} and "
                f"{T.shape[0]}.")
        if not np.all(np.isfinite(T)) or np.any(T < 0):
            raise ValueError(
                "Soft targets (2-D y) must be finite and non-negative: each row is a "
                "probability distribution over the classes.")
        sums = T.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
        if bad.size:
            raise ValueError(
                f"Soft targets (2-D y) must have rows summing to 1; row {bad[0]} sums "
                f"to {sums[bad[0]]:.6g} ({bad.size} rows off). Normalize the rows, "
                f"or pass 1-D class labels.")
        K = T.shape[1]
        if classes is not None and len(classes) != K:
            raise ValueError(
                f"Soft targets have {K} columns but the model has {len(classes)} "
                f"classes.")
        return "soft", np.arange(K), T

    def _validate_sample_weight(self, sample_weight, n_samples, dtype):
        if sample_weight is None:
            return np.ones(n_samples, dtype=dtype)
        if isinstance(sample_weight, numbers.Number):
            sw = np.full(n_samples, sample_weight, dtype=np.float64)
        else:
            sw = np.asarray(sample_weight)
            if sw.dtype.kind not in "fiub":
                raise ValueError(
                    f"sample_weight must be numeric; got dtype {sw.dtype}.")
            sw = sw.astype(np.float64)
        if sw.ndim != 1 or sw.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight.shape == {sw.shape}, expected ({n_samples},)!")
        if not np.all(np.isfinite(sw)):
            raise ValueError("sample_weight contains NaN or infinity.")
        if np.any(sw < 0):
            raise ValueError("sample_weight must be non-negative; got negative "
                             "values.")
        if not sw.sum() > 0:
            raise ValueError("sample_weight sums to zero: at least one sample needs "
                             "a positive weight.")
        return sw.astype(dtype)

    # -------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimizing the penalized cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32. Never modified.
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
        return self._fit(X, y, sample_weight, partial=False, classes=None)

    @_stochastic_only
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over the chunk ``(X, y)``, carrying the optimizer state.

        Available with the stochastic solvers only.

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
        first = not hasattr(self, "_loop")
        if first and classes is None and not (
                getattr(y, "ndim", None) == 2 and y.shape[1] > 1):
            raise ValueError(
                "classes must be passed on the first call to partial_fit (all the "
                "labels the model will ever see).")
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from the classes of the first "
                    f"partial_fit call, {self.classes_.tolist()}.")
        elif not first:
            classes = self.classes_
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, partial, classes):
        solver, traits = self._check_params()
        if type(X).__module__.partition(".")[0] == "dask":  # fit on the cluster
            from ._dask import fit_dask

            return fit_dask(self, X, y, sample_weight, solver=solver, traits=traits,
                            partial=partial, classes=classes)
        if _array_api.uses_array_api(X):  # torch, CuPy...: fit on X's device
            return _array_api.fit_array_api(self, X, y, sample_weight, solver=solver,
                                            traits=traits, partial=partial,
                                            classes=classes)
        continuing = partial and hasattr(self, "_loop")
        warm = (self.warm_start or continuing) and hasattr(self, "coef_")
        X = validate_data(self, X, reset=not continuing, accept_sparse=_ACCEPT_SPARSE,
                          dtype=_DTYPES)
        n_samples, n_features = X.shape
        if warm and not continuing and n_features != self.coef_.shape[1]:
            raise ValueError(
                f"warm_start: X has {n_features} features but the previous fit had "
                f"{self.coef_.shape[1]}; set warm_start=False to refit.")
        kind, classes, target = self._validate_y(y, n_samples, classes)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start: the classes changed from {self.classes_.tolist()} to "
                f"{classes.tolist()}; set warm_start=False to refit.")
        K = len(classes)
        if K < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 "
                f"class: {classes.tolist()}.")
        dtype = X.dtype
        sw = self._validate_sample_weight(sample_weight, n_samples, dtype)

        if kind == "hard":
            targets = HardTargets(target, K, float(self.label_smoothing))
            mass = np.bincount(target, weights=sw, minlength=K)
        else:
            if self.label_smoothing:
                target = (1 - self.label_smoothing) * target + self.label_smoothing / K
            targets = SoftTargets(target.astype(dtype))
            mass = sw.astype(np.float64) @ target
        class_weight = self._class_weights(classes, mass)
        if kind == "hard":
            s = sw * class_weight[target].astype(dtype)
        else:
            s = sw * (targets.T @ class_weight.astype(dtype))
        if not s.sum() > 0:
            raise ValueError("All samples have zero weight after applying "
                             "class_weight; give some class a positive weight.")
        loss = self._make_loss(K)
        offset = self._training_offset(mass, dtype)

        stochastic = traits["family"] == "stochastic"
        if partial and not stochastic:  # guarded by _stochastic_only; keep it honest
            raise AttributeError("partial_fit needs a stochastic solver.")
        max_iter = self.max_iter if self.max_iter is not None else (
            default_epochs(solver, n_samples) if stochastic
            else traits["default_max_iter"])
        tol = self.tol if self.tol is not None else traits["default_tol"]

        random_state = check_random_state(self.random_state)
        validation = None
        train_rows = None
        if self.early_stopping and not partial:
            train_rows, val_rows = self._split(kind, target, n_samples, random_state)
            if not (s[train_rows].sum() > 0 and s[val_rows].sum() > 0):
                part = "training" if not s[train_rows].sum() > 0 else "validation"
                raise ValueError(
                    f"early_stopping: the {part} part of the split has zero total "
                    f"weight (validation_fraction={self.validation_fraction}); give "
                    f"more samples a positive weight, change validation_fraction, or "
                    f"set early_stopping=False.")
            val_obj = Objective(X[val_rows], targets.take(val_rows), s[val_rows],
                                loss, alpha=0.0, fit_intercept=self.fit_intercept,
                                offset=offset)
            validation = val_obj.value
            objective = Objective(X[train_rows], targets.take(train_rows),
                                  s[train_rows], loss, alpha=self.alpha,
                                  l1_ratio=self.l1_ratio,
                                  fit_intercept=self.fit_intercept, offset=offset)
        else:
            objective = Objective(X, targets, s, loss, alpha=self.alpha,
                                  l1_ratio=self.l1_ratio,
                                  fit_intercept=self.fit_intercept, offset=offset)

        if warm:
            params = self._params_from_fit(objective)
        else:
            # priors of the weighted problem (class weights included): class weights
            # and the equivalent sample weights then start, and end, alike
            fit_mass = np.bincount(target, weights=s, minlength=K) if kind == "hard" \
                else s.astype(np.float64) @ target
            if partial:  # a first chunk may lack classes: its priors would pin
                fit_mass = np.ones(K)  # theirs near log(1e-12); start uniform
            params = self._initial_params(objective, fit_mass, offset)

        carry = (continuing or self.warm_start) and stochastic and \
            getattr(self, "_loop", None) is not None and warm
        start_iter = self.n_iter_ if warm and hasattr(self, "n_iter_") else 0
        monitor = Monitor(
            watch_training_loss=stochastic and not partial, tol=tol,
            n_iter_no_change=self.n_iter_no_change, validation=validation,
            callbacks=self.callbacks, max_time=self.max_time, verbose=self.verbose,
            start_iter=start_iter, progress_total=None if partial else max_iter,
            name=type(self).__name__)
        try:
            if stochastic:
                loop = self._loop if carry else init_loop_state(solver, params)
                if carry:
                    loop = _copy_loop(loop)
                rng = self._rng if (partial and hasattr(self, "_rng")) else \
                    np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
                n_epochs = 1 if partial else max_iter
                run_epochs(objective, solver, params, loop, n_epochs=n_epochs, rng=rng,
                           monitor=monitor, horizon=None if partial else max_iter)
                n_iter = monitor.iteration - start_iter
                # tol=None (the default): the schedule ran to its planned end.
                converged = partial or monitor.stop_reason is not None or tol is None
                message = (f"{max_iter} epochs ended with the training loss still "
                           f"improving by more than tol={tol}")
            else:
                result = solver.minimize(objective, params, max_iter=max_iter, tol=tol,
                                         monitor=monitor)
                params, n_iter = result.params, result.n_iter
                converged = result.converged or result.stopped
                message = result.message
                loop = None
        finally:
            monitor.close()

        if monitor.best_params is not None:  # early stopping: restore the best
            params = monitor.best_params
        if not np.all(np.isfinite(params)):
            raise FloatingPointError(
                "The solver produced non-finite coefficients; standardize X (e.g. "
                "StandardScaler), increase alpha or use solver='lbfgs'.")
        if not converged and monitor.stop_reason is None:
            warnings.warn(
                f"{type(self).__name__} with solver={self.solver!r} did not converge: "
                f"{message}. Increase max_iter (now {max_iter}), loosen tol (now "
                f"{tol:g}), or standardize X (e.g. with StandardScaler).",
                ConvergenceWarning, stacklevel=3)

        self.classes_ = classes
        self._store_params(params, objective)
        if self.alpha == 0 and kind == "hard" and not self.label_smoothing and \
                not partial:
            _warn_if_separated(self, X, target, s)
        self.n_iter_ = start_iter + max(int(n_iter), 0)
        curve = monitor.loss_curve
        self.loss_curve_ = (list(self.loss_curve_) + curve) if (
            warm and hasattr(self, "loss_curve_")) else curve
        if validation is not None:
            self.validation_loss_curve_ = monitor.validation_loss_curve
            self.best_iteration_ = monitor.best_iteration
        self.stop_reason_ = monitor.stop_reason or ("converged" if converged else
                                                    "max_iter")
        if stochastic:
            self._loop = loop
            if partial:
                self._rng = rng
        return self

    def _split(self, kind, target, n_samples, random_state):
        labels = target if kind == "hard" else target.argmax(axis=1)
        rows = np.arange(n_samples)
        seed = random_state.randint(np.iinfo(np.int32).max)
        try:
            train, val = train_test_split(rows, test_size=self.validation_fraction,
                                          stratify=labels, random_state=seed)
        except ValueError:  # a class too small to stratify: split at random
            try:
                train, val = train_test_split(rows, test_size=self.validation_fraction,
                                              random_state=seed)
            except ValueError:  # too few samples for any split: say so below
                train = val = rows[:0]
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"early_stopping needs enough samples to split off "
                f"validation_fraction={self.validation_fraction}; got {n_samples}.")
        return np.sort(train), np.sort(val)

    def _initial_params(self, objective, mass, offset):
        """Zeros, with the intercept at the (weighted) log class priors."""
        params = np.zeros(objective.shape, dtype=objective.dtype)
        if objective.fit_intercept:
            prior = np.maximum(mass, 1e-12) / max(mass.sum(), 1e-12)
            logp = np.log(prior)
            if objective.loss.n_outputs == 1:
                b = np.array([logp[1] - logp[0]])
            else:
                b = logp - logp.mean()
            if offset is not None:
                b = b - offset
            params[-1] = b
        return params

    def _params_from_fit(self, objective):
        params = np.zeros(objective.shape, dtype=objective.dtype)
        d = objective.n_features
        params[:d] = self.coef_.T
        if objective.fit_intercept:
            params[d] = self.intercept_
        return params

    def _store_params(self, params, objective):
        d = objective.n_features
        coef = np.ascontiguousarray(params[:d].T)
        if objective.fit_intercept:
            intercept = params[d].copy()
            if intercept.shape[0] > 1:  # softmax: invariant to a shared shift
                intercept -= intercept.mean()
        else:
            intercept = np.zeros(params.shape[1], dtype=params.dtype)
        self.coef_ = coef
        self.intercept_ = intercept

    # ----------------------------------------------------------- prediction
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
        check_is_fitted(self)
        if _array_api.uses_array_api(X):
            return _array_api.decision_function(self, X)
        X = validate_data(self, X, reset=False, accept_sparse=_ACCEPT_SPARSE,
                          dtype=_DTYPES)
        with np.errstate(over="ignore", invalid="ignore"):
            scores = np.asarray(X @ self.coef_.T) + self.intercept_
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"The logits overflow: X @ coef_.T is not finite for X with entries up "
                f"to {_max_abs(X):.3g}. Rescale X (e.g. StandardScaler) before "
                f"predicting.")
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Most probable class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if _array_api.uses_array_api(X):
            return _array_api.predict(self, X)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

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
        if _array_api.uses_array_api(X):
            return _array_api.predict_proba(self, X)
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Log class probabilities, computed stably (no ``log(0)``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        if _array_api.uses_array_api(X):
            return _array_api.predict_log_proba(self, X)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _max_abs(X):
    data = X.data if sp.issparse(X) else X
    return float(np.abs(data).max()) if data.size else 0.0


def _warn_if_separated(estimator, X, codes, s):
    """Warn when the fitted coefficients classify every (weighted) training sample
    correctly with alpha=0: then the data are linearly separable, scaling the
    coefficients up lowers the loss without end, and no minimizer exists."""
    scores = np.asarray(X @ estimator.coef_.T) + estimator.intercept_
    rows = np.flatnonzero(s > 0)
    codes = codes[rows]
    scores = scores[rows]
    if scores.shape[1] == 1:
        margin = np.where(codes == 1, scores[:, 0], -scores[:, 0])
    else:
        true = scores[np.arange(len(rows)), codes]
        scores[np.arange(len(rows)), codes] = -np.inf
        margin = true - scores.max(axis=1)
    if rows.size and np.all(margin > 0):
        warnings.warn(
            f"The training data are perfectly separable and alpha=0: the "
            f"unpenalized cross-entropy has no minimizer, so coef_ (now max |coef_| "
            f"= {float(np.abs(estimator.coef_).max()):.3g}) grows with max_iter and "
            f"tol instead of converging, and predict_proba is overconfident. Set "
            f"alpha > 0 (e.g. alpha=1e-4) or label_smoothing > 0.",
            ConvergenceWarning, stacklevel=4)


def _copy_loop(loop):
    from copy import deepcopy

    return deepcopy(loop)


def _ragged(y):
    try:
        np.asarray(y)
    except ValueError:
        return True
    return False

