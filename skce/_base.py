"""Shared estimator machinery: validation, label encoding, weights, fit and predict.

Estimators stay thin: they validate, encode labels, resolve class weights, build the
objective, hand it to the solver and store the fitted attributes. Subclasses change
the loss (``_make_loss``), the class weights (``_class_weights``) or the logit offset
(``_training_offset``) and nothing else.
"""

import copy
import functools
import numbers
import os
import sys
import types
import warnings
from dataclasses import dataclass
from typing import Any

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
        validate = getattr(solver, "validate", None)
        if callable(validate):  # the solver's own hyperparameters, at fit time
            validate()
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
        kind, classes, target = self._validate_y(y, n_samples, classes)
        # validate_data(reset=False) already checked n_features when continuing
        self._check_refit(warm=warm, continuing=False, n_features=n_features,
                          classes=classes)
        K = len(classes)
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
        solver, traits, max_iter, tol = self._plan(solver, traits, n_samples,
                                                   n_features)

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

        # priors of the weighted problem (class weights included): class weights
        # and the equivalent sample weights then start, and end, alike
        fit_mass = np.bincount(target, weights=s, minlength=K) if kind == "hard" \
            else s.astype(np.float64) @ target
        params = self._start_params(objective, warm=warm, partial=partial,
                                    fit_mass=fit_mass, offset=offset)
        run = self._solve(objective, solver, traits, params, partial=partial,
                          warm=warm, max_iter=max_iter, tol=tol,
                          validation=validation, random_state=random_state)
        self.classes_ = classes
        separated = None
        if kind == "hard":
            def separated():
                return margins_positive(X, target, s, self.coef_, self.intercept_)
        return self._finish_fit(run, objective, separated=separated)

    # ----------------------------------------------- shared by every fit path
    def _plan(self, solver, traits, n_samples, n_features):
        """``(solver, traits, max_iter, tol)`` for data of this size.

        A solver with ``select`` (``"auto"``) is replaced by the one it picks, so
        that its defaults apply. ``max_iter`` and ``tol`` are the estimator's, or
        the solver family's defaults (for stochastic solvers a budget of updates,
        see ``default_epochs``)."""
        if callable(getattr(solver, "select", None)):
            solver = solver.select(n_samples, n_features,
                                   self.l1_ratio > 0 and self.alpha > 0)
            traits = solver_traits(solver)
        if self.max_iter is not None:
            max_iter = self.max_iter
        elif traits["family"] == "stochastic":
            max_iter = default_epochs(solver, n_samples)
        else:
            max_iter = traits["default_max_iter"]
        tol = self.tol if self.tol is not None else traits["default_tol"]
        return solver, traits, max_iter, tol

    def _check_refit(self, *, warm, continuing, n_features, classes):
        """Errors for a warm start or partial_fit that cannot continue the last fit,
        and for a single class."""
        name = type(self).__name__
        if continuing and n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {name} is expecting "
                f"{self.n_features_in_} features as input.")
        if warm and not continuing and n_features != self.coef_.shape[1]:
            raise ValueError(
                f"warm_start: X has {n_features} features but the previous fit had "
                f"{self.coef_.shape[1]}; set warm_start=False to refit.")
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start: the classes changed from {self.classes_.tolist()} to "
                f"{classes.tolist()}; set warm_start=False to refit.")
        if len(classes) < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes; got 1 class: "
                f"{classes.tolist()}.")

    def _start_params(self, objective, *, warm, partial, fit_mass, offset):
        """The previous fit's parameters (warm start, partial_fit), else zeros with
        the intercept at the priors ``fit_mass`` (uniform for a first partial_fit
        chunk, which may lack classes: their priors would pin their intercepts near
        log(1e-12))."""
        if warm:
            return self._params_from_fit(objective)
        if partial:
            fit_mass = np.ones(len(fit_mass))
        return self._initial_params(objective, fit_mass, offset)

    def _solve(self, objective, solver, traits, params, *, partial, warm, max_iter,
               tol, validation=None, random_state=None, epochs=None):
        """Run ``solver`` on ``objective`` under the shared Monitor.

        ``epochs`` runs the stochastic epochs (``run_epochs`` for in-memory data;
        the dask path streams chunks). Returns a :class:`_Run`.
        """
        stochastic = traits["family"] == "stochastic"
        continuing = partial and hasattr(self, "_loop")
        carry = (continuing or self.warm_start) and stochastic and warm and \
            getattr(self, "_loop", None) is not None
        start_iter = self.n_iter_ if warm and hasattr(self, "n_iter_") else 0
        monitor = Monitor(
            watch_training_loss=stochastic and not partial, tol=tol,
            n_iter_no_change=self.n_iter_no_change, validation=validation,
            callbacks=self.callbacks, max_time=self.max_time, verbose=self.verbose,
            start_iter=start_iter, progress_total=None if partial else max_iter,
            name=type(self).__name__)
        loop = rng = None
        try:
            if stochastic:
                loop = copy.deepcopy(self._loop) if carry else \
                    init_loop_state(solver, params)
                if random_state is None:
                    random_state = check_random_state(self.random_state)
                rng = self._rng if (partial and hasattr(self, "_rng")) else \
                    np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
                horizon = None if partial else max_iter
                (epochs or run_epochs)(objective, solver, params, loop,
                                       n_epochs=horizon or 1, rng=rng, monitor=monitor,
                                       horizon=horizon)
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
        finally:
            monitor.close()
        if monitor.best_params is not None:  # early stopping: restore the best
            params = monitor.best_params
        return _Run(params, n_iter, converged, message, monitor, loop, rng,
                    start_iter, max_iter, tol, warm, partial, stochastic, solver)

    def _finish_fit(self, run, objective, *, separated=None, place=None):
        """Check and store what ``_solve`` returned; shared by every fit path.

        Parameters
        ----------
        run : _Run
        objective : the objective that was solved (for the parameter layout)
        separated : callable or None
            ``() -> bool``: whether the fitted model classifies every positively
            weighted training sample correctly; asked only when alpha=0.
        place : callable or None
            Called last, after ``coef_``/``intercept_`` are stored (as numpy), to
            move them (the array API path keeps them on X's device).
        """
        if not np.all(np.isfinite(run.params)):
            raise FloatingPointError(
                "The solver produced non-finite coefficients; standardize X (e.g. "
                "StandardScaler), increase alpha or use solver='lbfgs'.")
        if not run.converged and run.monitor.stop_reason is None:
            warnings.warn(
                f"{type(self).__name__} with solver={self.solver!r} did not converge: "
                f"{run.message}. Increase max_iter (now {run.max_iter}), loosen tol "
                f"(now {run.tol}), or standardize X (e.g. with StandardScaler).",
                ConvergenceWarning, stacklevel=external_stacklevel())
        self._store_params(run.params, objective)
        if self.alpha == 0 and not self.label_smoothing and not run.partial and \
                separated is not None and separated():
            warn_separated(float(np.abs(run.params[: objective.n_features]).max()))
        if place is not None:
            place()
        monitor = run.monitor
        self.n_iter_ = run.start_iter + max(int(run.n_iter), 0)
        previous = run.warm and hasattr(self, "loss_curve_")
        self.loss_curve_ = (list(self.loss_curve_) if previous else []) + \
            monitor.loss_curve
        if monitor.validation is not None:
            # warm starts extend the validation curve like loss_curve_
            kept = list(getattr(self, "validation_loss_curve_", [])) if previous \
                else []
            self.validation_loss_curve_ = kept + monitor.validation_loss_curve
            self.best_iteration_ = monitor.best_iteration
        self.stop_reason_ = monitor.stop_reason or (
            "converged" if run.converged else "max_iter")
        self.solver_ = run.solver
        if run.stochastic:
            self._loop = run.loop
            if run.partial:
                self._rng = run.rng
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


@dataclass
class _Run:
    """What ``BaseCEClassifier._solve`` hands to ``_finish_fit``."""

    params: np.ndarray
    n_iter: int
    converged: bool
    message: str
    monitor: Monitor
    loop: Any
    rng: Any
    start_iter: int
    max_iter: int
    tol: Any
    warm: bool
    partial: bool
    stochastic: bool
    solver: Any


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def external_stacklevel():
    """The ``stacklevel`` that points a warning at the first frame outside skce.

    Call it from the function that calls ``warnings.warn``. Fit paths nest to
    different depths (estimator subclasses, the dask and array API paths), so a
    fixed stacklevel would point at skce's own lines for some of them.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def margins_positive(X, codes, s, coef, intercept):
    """Whether every sample of positive weight is classified correctly (margin > 0).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    codes : ndarray of shape (n_samples,), integer class codes
    s : ndarray of shape (n_samples,), per-sample weights
    coef, intercept : the fitted ``coef_`` and ``intercept_``

    Returns
    -------
    bool
    """
    rows = np.flatnonzero(s > 0)
    if not rows.size:
        return False
    scores = np.asarray(X[rows] @ coef.T) + intercept
    codes = codes[rows]
    if scores.shape[1] == 1:
        margin = np.where(codes == 1, scores[:, 0], -scores[:, 0])
    else:
        true = scores[np.arange(len(rows)), codes]
        scores[np.arange(len(rows)), codes] = -np.inf
        margin = true - scores.max(axis=1)
    return bool(np.all(margin > 0))


def warn_separated(max_abs_coef):
    """The warning for alpha=0 on linearly separable training data."""
    warnings.warn(
        f"The training data are perfectly separable and alpha=0: the unpenalized "
        f"cross-entropy has no minimizer, so coef_ (now max |coef_| = "
        f"{max_abs_coef:.3g}) grows with max_iter and tol "
        f"instead of converging, and predict_proba is overconfident. Set alpha > 0 "
        f"(e.g. alpha=1e-4) or label_smoothing > 0.",
        ConvergenceWarning, stacklevel=external_stacklevel())


def _ragged(y):
    try:
        np.asarray(y)
    except ValueError:
        return True
    return False

