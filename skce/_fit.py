"""The fit driver: one function fits every estimator on every back end.

``fit`` reads top to bottom: validate the parameters -> pick the back end for X ->
validate and encode the data (the back end) -> plan the solver -> build the problem
(objective, class weights, offsets, validation split) -> start -> solve under the
monitor -> check, warn and store. A fit that raises leaves the estimator exactly as
it was before the call.
"""

import copy
import dataclasses
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from . import _validation as V
from ._loss import log_prior_start
from ._problem import build_problem
from ._training import (
    Monitor,
    averaged,
    default_epochs,
    init_loop_state,
    run_epochs,
    start_averaging,
)
from ._xp import nbytes as data_nbytes
from ._xp import to_numpy
from .backends import backend_for
from .solvers import solver_traits


def fit(estimator, X, y, sample_weight=None, *, partial=False, classes=None):
    """Fit ``estimator`` (``fit``, or one ``partial_fit`` call with ``partial``).

    Parameters
    ----------
    estimator : BaseCEClassifier
    X : array-like, sparse matrix, array API array or dask array
    y : labels of shape (n_samples,) or soft targets of shape (n_samples, K)
    sample_weight : array-like of shape (n_samples,) or None
    partial : bool
        One epoch over (X, y), continuing the optimizer state.
    classes : ndarray or None
        Every class, for ``partial_fit``.

    Returns
    -------
    estimator
    """
    est = estimator
    solver, traits = V.check_params(est)
    if partial and traits["family"] != "stochastic":  # guarded by _stochastic_only
        raise AttributeError("partial_fit needs a stochastic solver.")
    backend = backend_for(X)
    continuing = partial and hasattr(est, "_loop")
    warm = (est.warm_start or continuing) and hasattr(est, "coef_")
    saved = dict(est.__dict__)
    try:
        data = backend.validate(est, X, y, sample_weight, classes=classes,
                                reset=not continuing)
        V.check_refit(est, warm=warm, continuing=False, n_features=data.n_features,
                      classes=data.classes)
        solver, traits, max_iter, tol = plan(est, solver, traits, data)
        random_state = check_random_state(est.random_state)
        problem = build_problem(
            est, backend, data,
            seen_mass=to_numpy(est._class_mass_seen) if continuing else None,
            early_stopping=est.early_stopping and not partial,
            random_state=random_state)
        params = start_params(est, problem, warm=warm, partial=partial)
        run = solve(est, problem.objective, solver, traits, params, partial=partial,
                    warm=warm, max_iter=max_iter, tol=tol,
                    validation=problem.validation, random_state=random_state,
                    epochs=backend.epochs)
        store(est, run, problem)
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        raise
    return est


def plan(estimator, solver, traits, data):
    """``(solver, traits, max_iter, tol)`` for this data (a back end's ``Data``).

    A solver with ``select`` (``"auto"``) is replaced by the one it picks, so that
    its defaults apply. ``max_iter`` and ``tol`` are the estimator's, or the solver
    family's defaults (for stochastic solvers a budget of updates, see
    ``default_epochs``)."""
    est = estimator
    n_samples, n_features = data.n_samples, data.n_features
    if callable(getattr(solver, "select", None)):
        l1 = est.l1_ratio > 0 and est.alpha > 0
        n_outputs = 1 if len(data.classes) == 2 else len(data.classes)
        solver = solver.select(n_samples, n_features, l1,
                               n_params=(n_features + 1) * n_outputs,
                               data_bytes=data_nbytes(data.X))
        traits = solver_traits(solver)
    if est.max_iter is not None:
        max_iter = est.max_iter
    elif traits["family"] == "stochastic":
        max_iter = default_epochs(solver, n_samples)
    else:
        max_iter = traits["default_max_iter"]
    tol = est.tol if est.tol is not None else traits["default_tol"]
    return solver, traits, max_iter, tol


def start_params(estimator, problem, *, warm, partial):
    """The previous fit's parameters (warm start, partial_fit), else zeros with the
    intercept at the priors of the weighted problem (uniform for a first
    partial_fit chunk, which may lack classes: their priors would pin their
    intercepts near log(1e-12))."""
    objective = problem.objective
    params = np.zeros(objective.shape, dtype=objective.dtype)
    d = objective.n_features
    if warm:
        params[:d] = to_numpy(estimator.coef_).T
        if objective.fit_intercept:
            # the fitted intercept, without a post-hoc offset folded in
            params[d] = to_numpy(getattr(estimator, "raw_intercept_",
                                         estimator.intercept_))
            seen = getattr(estimator, "_class_mass_seen", None)
            if problem.offset is not None and seen is not None:
                # the training offset moved with the class counts (partial_fit):
                # shift the intercept so the training logits W x + b + o stay
                # where they were, and the adjusted model follows the new priors
                old = estimator._training_offset(to_numpy(seen), objective.dtype)
                if old is not None:
                    params[d] += old - problem.offset
        return params
    if objective.fit_intercept:
        mass = np.ones(len(problem.fit_mass)) if partial else problem.fit_mass
        b = log_prior_start(mass, objective.shape[1])
        if problem.offset is not None:
            b = b - problem.offset
        params[d] = b
    return params


@dataclass
class Run:
    """What :func:`solve` hands to :func:`store`."""

    params: np.ndarray
    n_iter: int
    stop_reason: str
    warning: Any  # the ConvergenceWarning's text, or None
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


def solve(estimator, objective, solver, traits, params, *, partial, warm, max_iter,
          tol, validation=None, random_state=None, epochs=None):
    """Run ``solver`` on ``objective`` under the shared Monitor.

    ``epochs`` runs the stochastic epochs (``run_epochs`` for in-memory data; the
    dask back end streams chunks). Returns a :class:`Run`; the estimator is only
    read.
    """
    est = estimator
    stochastic = traits["family"] == "stochastic"
    continuing = partial and hasattr(est, "_loop")
    carry = (continuing or est.warm_start) and stochastic and warm and \
        getattr(est, "_loop", None) is not None
    start_iter = est.n_iter_ if warm and hasattr(est, "n_iter_") else 0
    monitor = Monitor(
        watch_training_loss=stochastic and not partial, tol=tol,
        n_iter_no_change=est.n_iter_no_change, validation=validation,
        callbacks=est.callbacks, max_time=est.max_time, verbose=est.verbose,
        start_iter=start_iter, progress_total=None if partial else max_iter,
        name=type(est).__name__,
        keep_recent=est.n_iter_no_change + 1 if stochastic and not partial else 0)
    loop = rng = None
    try:
        if stochastic:
            key = problem_key(est, objective)
            loop = init_loop_state(solver, params)
            if carry:
                loop = from_plain(copy.deepcopy(est._loop), loop)
            if carry and getattr(loop, "problem_key", key) != key:
                # the problem changed (alpha, weights, loss, data...): moments,
                # schedule and rate of another problem would mislead; keep only
                # the coefficients
                loop = init_loop_state(solver, params)
                loop.reset_reasons.append("optimizer state and schedule")
            elif carry and not partial:
                # a new fit of the same problem: the "auto" rate is re-resolved
                loop.base_rate = None
                loop.reference_loss = None
            loop.problem_key = key
            if random_state is None:
                random_state = check_random_state(est.random_state)
            rng = copy.deepcopy(est._rng) if (partial and hasattr(est, "_rng")) else \
                np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
            horizon = None if partial else max_iter
            start_averaging(loop, solver, horizon, 1)
            (epochs or run_epochs)(objective, solver, params, loop,
                                   n_epochs=horizon or 1, rng=rng, monitor=monitor,
                                   horizon=horizon)
            # averaging solvers return the mean of their last iterates (the next
            # partial_fit or warm start continues from it)
            params = averaged(loop, params, objective)
            loop.average, loop.n_averaged = None, 0
            n_iter = monitor.iteration - start_iter
            # No convergence test ran: the epochs (or partial_fit's one) ran out.
            # Say so, and warn when the loss was still moving at the end.
            stop_reason = "max_iter"
            warning = None if partial else (
                still_moving(objective, monitor.recent, params)
                or far_from_optimum(objective, params))
            if warning is not None:
                warning = (f"{type(est).__name__} with solver={est.solver!r} did not "
                           f"converge: {max_iter} epochs ended with {warning}. "
                           f"Increase max_iter (now {max_iter}), lower the "
                           f"solver's learning_rate, or standardize X (e.g. with "
                           f"StandardScaler).")
        else:
            extra = {}
            if getattr(solver, "uses_random_state", False):  # e.g. saga's sampling
                if random_state is None:
                    random_state = check_random_state(est.random_state)
                extra["rng"] = np.random.default_rng(
                    random_state.randint(np.iinfo(np.int32).max))
            result = solver.minimize(objective, params, max_iter=max_iter, tol=tol,
                                     monitor=monitor, **extra)
            params, n_iter = result.params, result.n_iter
            converged = result.converged or result.stopped
            stop_reason = "converged" if converged else "max_iter"
            if result.converged and \
                    getattr(result, "precision_floor", None) is not None:
                # optimal to the rounding of X's dtype, above tol: say which
                stop_reason = "precision_floor"
                if est.verbose:
                    print(f"[{type(est).__name__}] {result.message}", flush=True)
            warning = None if converged else (
                f"{type(est).__name__} with solver={est.solver!r} did not converge: "
                f"{result.message}. Increase max_iter (now {max_iter}), loosen tol "
                f"(now {tol}), or standardize X (e.g. with StandardScaler).")
    finally:
        monitor.close()
    if loop is not None and loop.reset_reasons:
        if est.verbose:
            print(f"[{type(est).__name__}] warm start: reset the carried "
                  f"{' and '.join(loop.reset_reasons)} (the solver or the "
                  f"parameters' shape changed)", flush=True)
        loop.reset_reasons = []
    if monitor.best_params is not None:  # early stopping: restore the best
        params = monitor.best_params
    return Run(params, n_iter, stop_reason, warning, monitor, loop, rng, start_iter,
               max_iter, tol, warm, partial, stochastic, solver)


def store(estimator, run, problem):
    """Check what :func:`solve` returned, warn, and store the fitted attributes
    (in the input's namespace and on its device)."""
    est = estimator
    backend, data, objective = problem.backend, problem.data, problem.objective
    if not np.all(np.isfinite(run.params)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; standardize X (e.g. "
            "StandardScaler), increase alpha or use solver='lbfgs'.")
    if run.warning is not None and run.monitor.stop_reason is None:
        warnings.warn(run.warning, ConvergenceWarning,
                      stacklevel=external_stacklevel())
    # fitted arrays in X's dtype, whatever a (user-written) solver returned
    coef, intercept = split_params(np.asarray(run.params, dtype=objective.dtype),
                                   objective)
    if est.alpha == 0 and not est.label_smoothing and not run.partial and \
            data.kind == "hard" and \
            backend.separated(data, problem.sample_weight, coef, intercept):
        warn_separated(float(np.abs(coef).max()))
    est.coef_ = backend.place(data, coef)
    offset = est._posthoc_offset(problem.class_mass, coef.shape[0])
    if offset is not None:  # in intercept_: decision_function = X coef_.T + intercept_
        est.raw_intercept_ = backend.place(data, intercept)
        intercept = intercept + np.asarray(offset, dtype=intercept.dtype)
    elif hasattr(est, "raw_intercept_"):  # a previous fit's, now stale
        del est.raw_intercept_
    est.intercept_ = backend.place(data, intercept)
    est.classes_ = backend.place(data, data.classes)
    est._class_mass_seen = backend.place(data, problem.class_mass)
    for name, value in est._fitted_extras(problem.class_mass, problem.class_weight,
                                          coef.shape[0], data.dtype).items():
        setattr(est, name, value if value is None else backend.place(data, value))
    monitor = run.monitor
    est.n_iter_ = run.start_iter + max(int(run.n_iter), 0)
    previous = run.warm and hasattr(est, "loss_curve_")
    est.loss_curve_ = (list(est.loss_curve_) if previous else []) + monitor.loss_curve
    if monitor.validation is not None:
        # warm starts extend the validation curve like loss_curve_
        kept = list(getattr(est, "validation_loss_curve_", [])) if previous else []
        est.validation_loss_curve_ = kept + monitor.validation_loss_curve
        best = monitor.best_iteration
        if best is None:  # no iteration ran (a warm refit already optimal)
            best = getattr(est, "best_iteration_", None) if previous else None
            best = run.start_iter if best is None else best
        est.best_iteration_ = best
    est.stop_reason_ = monitor.stop_reason or run.stop_reason
    est.solver_ = run.solver
    if run.stochastic:
        est._loop = to_plain(run.loop)
        if run.partial:
            est._rng = run.rng


def to_plain(value):
    """``value`` with every dataclass and named tuple turned into a dict of its
    fields, recursively: what a fitted estimator stores of the loop and optimizer
    state (``_loop``), so that it holds only numpy arrays, numbers, strings, lists
    and dicts, which pickle and skops load without trusting skce's private
    classes. :func:`from_plain` turns it back."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: to_plain(v) for name, v in zip(value._fields, value,
                                                     strict=True)}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    return value


def from_plain(plain, template):
    """The inverse of :func:`to_plain`, guided by ``template``, a fresh value of
    the type to rebuild (``init_loop_state(solver, params)``): a dict becomes the
    template's dataclass (fields it lacks keep the template's values) or named
    tuple (when the fields match exactly). Anything else is returned as it is: a
    state stored for another optimizer stays a dict, which ``run_epochs`` then
    replaces with a fresh state as it does for any state of another type."""
    if not isinstance(plain, dict):
        return plain
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        return dataclasses.replace(template, **{
            f.name: from_plain(plain[f.name], getattr(template, f.name))
            for f in dataclasses.fields(template) if f.name in plain and f.init})
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        if set(plain) != set(template._fields):
            return plain
        return type(template)(**{name: from_plain(plain[name], getattr(template,
                                                                       name))
                                 for name in template._fields})
    if isinstance(template, dict):
        return {k: from_plain(v, template.get(k)) for k, v in plain.items()}
    return plain


def loop_state(estimator):
    """The fitted estimator's stored loop state (``_loop``) as the
    :class:`~skce._training.LoopState` the training loop uses, or None."""
    plain = getattr(estimator, "_loop", None)
    if plain is None:
        return None
    solver = estimator.solver_
    shape = (estimator.coef_.shape[1] + estimator.fit_intercept,
             estimator.coef_.shape[0])
    return from_plain(copy.deepcopy(plain),
                      init_loop_state(solver, np.zeros(shape)))


def problem_key(estimator, objective):
    """What a carried optimizer state belongs to: the estimator's parameters that
    define the problem (not budgets, verbosity or callbacks) and the data's
    shape."""
    skip = {"max_iter", "tol", "warm_start", "verbose", "callbacks", "max_time",
            "random_state", "n_iter_no_change", "early_stopping",
            "validation_fraction"}
    params = {k: v for k, v in estimator.get_params(deep=False).items()
              if k not in skip}
    return repr(sorted(params.items())) + repr((objective.n_samples,
                                                objective.shape))


#: The stochastic family's tolerance: a run that ends on its epoch budget warns
#: when its training loss still moved by more than this fraction of its value over
#: the last ``n_iter_no_change`` epochs.
MOVING_RTOL = 1e-3


def still_moving(objective, recent, params):
    """How much the training objective moved over the last epochs, or None when
    it moved by at most ``MOVING_RTOL`` of its value.

    The objective itself, evaluated at the parameters of ``len(recent) - 1``
    epochs ago and at the end (two full passes), not the epochs' running means of
    mini-batch losses, which lag the parameters and drift while the steps shrink.
    """
    if recent is None or len(recent) < 2:
        return None
    then, now = objective.value(recent[0]), objective.value(params)
    if not (np.isfinite(then) and np.isfinite(now)):
        return None
    spread = abs(then - now) / max(abs(now), 1e-12)
    if spread <= MOVING_RTOL:
        return None
    return (f"the training loss still moving by {spread:.2g} of its value over the "
            f"last {len(recent) - 1} epochs (tolerance {MOVING_RTOL:g})")


#: A stochastic run that ends on its epoch budget also warns when the gradient says
#: its objective may be more than this fraction of its value above the optimum.
FAR_RTOL = 0.1


def far_from_optimum(objective, params):
    """The estimated relative suboptimality ``||grad f||^2 / (2 l2 |f|)`` at the
    end of a stochastic run (one full pass) when above ``FAR_RTOL``, else None.

    A run whose rate was annealed to zero stops moving wherever it is, so the
    "still moving" test cannot tell a run that converged from one that stalled
    short of the optimum. With an L2 penalty ``l2 = alpha * (1 - l1_ratio)`` the
    objective is ``l2``-strongly convex in the coefficients, and ``f - f* <=
    ||grad f||^2 / (2 l2)`` there; the unpenalized intercept makes the estimate
    an approximation, on the safe side (its gradient entries count as if their
    curvature were only ``l2``). Measured at the defaults on standardized
    breast_cancer, digits and wine, alpha 1e-3 and 1e-4: the estimate was 1.3 to
    10 times the true relative gap for sgd, minibatch and adam; it flags
    single-sample sgd where it ends 4e-2 to 0.4 off and none of the minibatch or
    adam fits (estimates at most 2e-2). None with an L1 penalty or no L2 (no
    such bound) or where the objective cannot be evaluated.
    """
    if objective.l1 or not objective.l2:
        return None
    value, grad = objective.value_grad(params)
    grad = np.asarray(grad, dtype=np.float64)
    estimate = float(np.vdot(grad, grad)) / (2.0 * objective.l2) / \
        max(abs(value), 1e-12)
    if not np.isfinite(estimate) or estimate <= FAR_RTOL:
        return None
    return (f"a gradient that puts the training loss up to {estimate:.2g} of its "
            f"value above the optimum (||gradient||^2 / (2 alpha |loss|), "
            f"tolerance {FAR_RTOL:g}; solver='saga' reaches a tight optimum)")


def split_params(params, objective):
    """``(coef, intercept)`` from the parameter layout, on the host; a softmax
    intercept is centred (the model is invariant to a shared shift)."""
    d = objective.n_features
    coef = np.ascontiguousarray(params[:d].T)
    if objective.fit_intercept:
        intercept = params[d].copy()
        if intercept.shape[0] > 1:
            intercept -= intercept.mean()
    else:
        intercept = np.zeros(params.shape[1], dtype=params.dtype)
    return coef, intercept


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def external_stacklevel():
    """The ``stacklevel`` that points a warning at the first frame outside skce.

    Call it from the function that calls ``warnings.warn``. Fit paths nest to
    different depths, so a fixed stacklevel would point at skce's own lines.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn_separated(max_abs_coef):
    """The warning for alpha=0 on linearly separable training data."""
    warnings.warn(
        f"The training data are perfectly separable and alpha=0: the unpenalized "
        f"cross-entropy has no minimizer, so coef_ (now max |coef_| = "
        f"{max_abs_coef:.3g}) grows with max_iter and tol "
        f"instead of converging, and predict_proba is overconfident. Set alpha > 0 "
        f"(e.g. alpha=1e-4) or label_smoothing > 0.",
        ConvergenceWarning, stacklevel=external_stacklevel())
