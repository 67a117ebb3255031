"""SoftmaxRegressorCV and WeightedCEClassifierCV: the penalty chosen by
cross-validation along a warm-started regularization path.

One path routine (:func:`_path`) serves both estimators: on each training fold it
validates the data and builds the fit's problem once, then fits the alphas from the
largest to the smallest with the fit driver's own steps (:func:`skce._fit.plan`,
``solve``, ``store``), each from the previous point's parameters and only the
objective's penalty changed, and scores each point on the held-out fold. The
alpha grid's upper end comes from the gradient at the intercept-only model,
computed with the driver's own problem (:func:`_null_gradient`), so class weights,
focal losses and offsets count as in the fit.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import check_scoring, get_scorer, log_loss, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, _safe_indexing, check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import column_or_1d, validate_data

from . import _fit
from . import _validation as V
from ._base import log_proba_of
from ._problem import build_problem
from ._softmax import SoftmaxRegressor
from ._validation import check_number
from ._weighted import WeightedCEClassifier
from ._xp import device_of, is_dask_collection, namespace, to_numpy, uses_array_api
from .backends import backend_for
from .backends._memory import ACCEPT_SPARSE, DTYPES

#: The smallest l1_ratio the grid's upper end divides by: with l1_ratio = 0 no
#: finite alpha zeroes the coefficients, and ``max|G| / 1e-3`` (glmnet's
#: convention) is an alpha at which the ridge coefficients are small, ||W||_F <=
#: ||G||_F / alpha (strong convexity of the penalty, G the gradient at W = 0).
_MIN_L1_FOR_GRID = 1e-3

_CV_PARAMS = ("alphas", "l1_ratios", "alpha_min_ratio", "cv", "scoring", "n_jobs",
              "refit", "path_tol")
# The path's default tolerance for full-batch solvers. Measured against fits to
# 1e-9 (20 alphas, 5 folds, standardized data): at 1e-6 the same alpha is chosen
# on breast_cancer and wine and the scores there agree to 6e-7 and 1.9e-5, with
# 17% fewer iterations than at the default tol 1e-7; at LogisticRegressionCV's 1e-4
# (half the iterations again) wine's choice changed and scores moved by 2e-3.
_PATH_TOL = 1e-6


def balanced_log_loss(y_true, y_prob, *, sample_weight=None):
    """Log loss with every class given the same total weight.

    The cross-entropy under a uniform class prior: each sample's weight is divided
    by its class's total weight in ``y_true``. It is the held-out value of what
    :class:`~skce.WeightedCEClassifier` minimizes with its default
    ``class_weight="balanced"`` (and ``focal_gamma=0``), without the penalty.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float

    Examples
    --------
    >>> from skce._cv import balanced_log_loss
    >>> round(balanced_log_loss([0, 0, 0, 1], [0.1, 0.1, 0.1, 0.9]), 4)
    0.1054
    """
    y_true = np.asarray(y_true)
    _, inverse = np.unique(y_true, return_inverse=True)
    sw = np.ones(len(y_true)) if sample_weight is None else \
        np.asarray(sample_weight, dtype=np.float64)
    mass = np.bincount(inverse, weights=sw)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(mass[inverse] > 0, sw / mass[inverse], 0.0)
    return log_loss(y_true, y_prob, sample_weight=weights)


#: WeightedCEClassifierCV's default scorer (``scoring=None``).
neg_balanced_log_loss = make_scorer(balanced_log_loss, greater_is_better=False,
                                    response_method="predict_proba")


# ------------------------------------------------------------------ the path
def _take(a, rows):
    """Rows of ``a`` (numpy, sparse, array API or dask), or None."""
    if a is None:
        return None
    if is_dask_collection(a):
        return a[rows]
    if uses_array_api(a):
        xp, _ = namespace(a)
        return xp.take(a, xp.asarray(rows, device=device_of(a)), axis=0)
    return _safe_indexing(a, rows)


def _fold_params(params, n_samples, rows):
    """Metadata for one fold: arrays with a row per sample are indexed."""
    out = {}
    for key, value in params.items():
        if value is not None and hasattr(value, "shape") or \
                isinstance(value, (list, tuple)):
            if len(value) == n_samples:
                value = _take(value if hasattr(value, "shape") else np.asarray(value),
                              rows)
        out[key] = value
    return out


def _flat_params(est):
    """The fitted coefficients in the objective's layout, intercept last (the
    fitted one: without a post-hoc logit offset, which ``intercept_`` includes):
    ndarray of shape (n_outputs, n_features + 1)."""
    coef = to_numpy(est.coef_)
    intercept = to_numpy(getattr(est, "raw_intercept_", est.intercept_))
    return np.hstack([coef, intercept[:, None]])


def _path(template, X, y, sample_weight, train, test, alphas, l1_ratio, scorer,
          score_params, classes):
    """Fit ``alphas`` (largest first) on the rows ``train``, each fit warm-started
    from the previous one, and score each on the rows ``test``.

    The fold's data are validated and its problem (objective, class weights,
    offsets, early-stopping split) built once; each point changes only the
    objective's penalty and runs the driver's own ``plan -> solve -> store`` from
    the previous point's parameters, so every point is what the base
    estimator's ``fit`` with ``warm_start`` would give, without re-validating
    the data 20 times.

    Returns
    -------
    scores : ndarray of shape (n_alphas,)
    n_iter : ndarray of shape (n_alphas,)
        Iterations (or epochs) of each point's fit.
    coefs : ndarray of shape (n_alphas, n_outputs, n_features + 1)
        Each point's coefficients, intercept last.
    """
    est = clone(template).set_params(l1_ratio=l1_ratio, alpha=float(alphas[0]),
                                     warm_start=False)
    X_train, y_train = _take(X, train), _take(y, train)
    sw_train = _take(sample_weight, train)
    X_test, y_test = _take(X, test), _take(y, test)
    solver0, traits0 = V.check_params(est)
    backend = backend_for(X_train)
    data = backend.validate(est, X_train, y_train, sw_train, classes=None,
                            reset=True)
    V.check_refit(est, warm=False, continuing=False, n_features=data.n_features,
                  classes=data.classes)
    if not np.array_equal(data.classes, classes):
        missing = np.setdiff1d(classes, data.classes).tolist()
        raise ValueError(
            f"A training fold lacks the classes {missing}: every training fold "
            f"must hold every class (the fold models are scored and averaged "
            f"against the same classes_). Use a stratified splitter or fewer "
            f"folds.")
    problem = build_problem(est, backend, data, early_stopping=est.early_stopping,
                            random_state=check_random_state(est.random_state))
    objective = problem.objective
    params = _fit.start_params(est, problem, warm=False, partial=False)
    fast = _fast_scorer(scorer, score_params, backend, X_test, y_test, classes)
    scores, n_iter, coefs = [], [], []
    for alpha in alphas:
        est.alpha = float(alpha)
        objective._set_penalty(est.alpha, est.l1_ratio, est.fit_intercept)
        solver, traits, max_iter, tol = _fit.plan(est, solver0, traits0, data)
        run = _fit.solve(est, objective, solver, traits, params, partial=False,
                         warm=False, max_iter=max_iter, tol=tol,
                         validation=problem.validation, epochs=backend.epochs)
        _fit.store(est, run, problem)
        params = run.params
        n_iter.append(est.n_iter_)
        coefs.append(_flat_params(est))
        scores.append(fast(est) if fast is not None else
                      scorer(est, X_test, y_test, **score_params))
    return np.asarray(scores, dtype=np.float64), np.asarray(n_iter), \
        np.asarray(coefs)


def _fast_scorer(scorer, score_params, backend, X_test, y_test, classes):
    """``est -> score`` for the log-loss scorers (``"neg_log_loss"`` and
    :data:`neg_balanced_log_loss`) on in-memory numpy folds holding every class,
    computed from the fold model's logits as :func:`sklearn.metrics.log_loss`
    computes it (probabilities clipped to [eps, 1 - eps]; the binary case from
    the positive class's column), without the scorer's per-call validation of
    labels and probabilities, which cost more than the fit of a path point on
    digits. None where the scorer must be called (any other scorer, metadata
    other than sample_weight, other back ends, a test fold without a class:
    log_loss's own error then)."""
    balanced = scorer is neg_balanced_log_loss
    if not (balanced or _is_neg_log_loss(scorer)) or backend.name != "numpy" or \
            set(score_params) - {"sample_weight"}:
        return None
    codes = np.searchsorted(classes, y_test)
    if len(np.unique(codes)) != len(classes) or \
            not np.array_equal(classes[codes], y_test):
        return None
    sw = score_params.get("sample_weight")
    weights = None if sw is None else np.asarray(sw, dtype=np.float64)
    if balanced:
        s = np.ones(len(codes)) if weights is None else weights
        mass = np.bincount(codes, weights=s, minlength=len(classes))[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(mass > 0, s / mass, 0.0)
    rows = np.arange(len(codes))

    def score(est):
        logits = est._linear_scores(X_test)
        proba = np.exp(log_proba_of(logits[:, 0] if logits.shape[1] == 1
                                    else logits))
        if proba.shape[1] == 2:  # the scorer passes the positive class's column
            proba = np.stack([1 - proba[:, 1], proba[:, 1]], axis=1)
        eps = np.finfo(proba.dtype).eps
        picked = np.clip(proba[rows, codes], eps, 1 - eps)
        return -float(np.average(-np.log(picked), weights=weights))

    return score


def _is_neg_log_loss(scorer):
    """Whether ``scorer`` is scikit-learn's ``"neg_log_loss"`` scorer."""
    reference = get_scorer("neg_log_loss")
    return type(scorer) is type(reference) and \
        getattr(scorer, "_score_func", None) is log_loss and \
        getattr(scorer, "_sign", None) == -1 and not getattr(scorer, "_kwargs", 1) \
        and getattr(scorer, "_response_method", None) == "predict_proba"


def _null_gradient(template, X, y, sample_weight):
    """``(max |G|, data)``: G the gradient of the data term at W = 0 with the
    intercept where the driver starts it (the weighted log priors: the
    intercept-only optimum of the cross-entropy; for focal losses a close
    approximation), and the driver's validated data. The smallest alpha at which
    all penalized coefficients are zero is max |G| / l1_ratio (the optimality
    condition of the L1 term at W = 0)."""
    est = clone(template).set_params(alpha=0.0, l1_ratio=0.0, early_stopping=False,
                                     warm_start=False)
    backend = backend_for(X)
    data = backend.validate(est, X, y, sample_weight, classes=None, reset=True)
    V.check_refit(est, warm=False, continuing=False, n_features=data.n_features,
                  classes=data.classes)
    problem = build_problem(est, backend, data,
                                 random_state=check_random_state(0))
    params = _fit.start_params(est, problem, warm=False, partial=False)
    _, grad = problem.objective.value_grad(params)
    return float(np.max(np.abs(grad[:problem.objective.n_features]))), data


def _check_alphas(alphas):
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
        if alphas < 1:
            raise ValueError(f"alphas must be a positive int or an array of "
                             f"alphas >= 0; got alphas={alphas!r}.")
        return None
    try:
        grid = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError):
        grid = None
    if grid is None or grid.ndim != 1 or grid.size == 0 or \
            not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"alphas must be a positive int or an array of alphas "
                         f">= 0; got alphas={alphas!r}.")
    return np.sort(grid)[::-1]


def _check_l1_ratios(l1_ratios):
    if l1_ratios is None:
        return None
    try:
        ratios = np.asarray(l1_ratios, dtype=np.float64)
    except (TypeError, ValueError):
        ratios = None
    if ratios is None or ratios.ndim != 1 or ratios.size == 0 or \
            not np.all((ratios >= 0) & (ratios <= 1)):
        raise ValueError(f"l1_ratios must be None or a non-empty list of numbers "
                         f"in [0, 1]; got l1_ratios={l1_ratios!r}.")
    return ratios


class _CVMixin:
    """Cross-validated alpha (and l1_ratio) over a warm-started path; the fitted
    model is the base estimator's, refitted at the chosen point."""

    # -------------------------------------------------------------- helpers
    def _path_tol(self, traits):
        """The fold fits' tol: ``path_tol``, resolved for the solver family."""
        if isinstance(self.path_tol, str) and self.path_tol == "auto":
            if self.tol is not None or traits["family"] == "stochastic":
                return self.tol
            return _PATH_TOL
        check_number("path_tol", self.path_tol, low=0.0)
        return float(self.path_tol)

    def _template(self):
        """The base estimator with this one's parameters (alpha set per point)."""
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in _CV_PARAMS}
        return self._estimator_class(**params)

    def _scorer(self):
        scoring = self.scoring
        if scoring is None:
            scoring = self._default_scoring
        if isinstance(scoring, str) or callable(scoring):
            return check_scoring(self._template(), scoring=scoring)
        raise ValueError(f"scoring must be a scikit-learn scorer name, a callable "
                         f"scorer or None; got scoring={scoring!r}.")

    @property
    def partial_fit(self):
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit: it chooses alpha by "
            f"refitting whole folds. Use {self._estimator_class.__name__} for "
            f"partial_fit.")

    def get_metadata_routing(self):
        """Metadata routing: ``sample_weight`` is used by ``fit`` itself and
        routed, as requested, to the splitter (``split``) and the scorer
        (``score``).

        Returns
        -------
        routing : MetadataRouter
        """
        return (MetadataRouter(owner=self)
                .add_self_request(self)
                .add(splitter=check_cv(self.cv),
                     method_mapping=MethodMapping().add(caller="fit",
                                                        callee="split"))
                .add(scorer=self._scorer(),
                     method_mapping=MethodMapping().add(caller="fit",
                                                        callee="score")))

    # -------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None, **params):
        """Choose alpha (and l1_ratio) by cross-validation, then refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 stays float32; dask arrays (each fold fitted on the cluster)
            and, with ``array_api_dispatch=True``, array API arrays are fitted
            where they live. Never modified.
        y : array-like of shape (n_samples,)
            Class labels (soft targets cannot be stratified or scored: use
            GridSearchCV with a scorer of your own).
        sample_weight : array-like of shape (n_samples,), default=None
            Used in every fit; without metadata routing also passed to the
            scorer (the test rows' weights), as ``LogisticRegressionCV`` does;
            with routing, to the splitter and scorer that request it.
        **params : dict
            With metadata routing enabled, metadata for the splitter (e.g.
            ``groups``) and the scorer.

        Returns
        -------
        self : object
        """
        _check_alphas(self.alphas)
        ratios = _check_l1_ratios(self.l1_ratios)
        if self.alpha_min_ratio != "auto":
            check_number("alpha_min_ratio", self.alpha_min_ratio, low=0.0, high=1.0,
                         low_open=True, high_open=True)
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be True or False; got {self.refit!r}.")
        scorer = self._scorer()
        template = self._template()
        _, traits = V.check_params(template)  # the base parameters, before data
        path_template = clone(template).set_params(tol=self._path_tol(traits))

        if backend_for(X).name == "numpy":
            # pandas and lists become arrays here, once (feature names on self)
            X = validate_data(self, X, accept_sparse=ACCEPT_SPARSE, dtype=DTYPES)
            if hasattr(X, "tocsr"):
                X = X.tocsr()  # row folds
            if y is not None:
                y = np.asarray(y)
                if y.ndim == 2 and y.shape[1] == 1:
                    y = column_or_1d(y, warn=True)
            if sample_weight is not None:
                # a scalar or any array-like, as one array the folds can index
                sample_weight = V.check_sample_weight(sample_weight, X.shape[0],
                                                      X.dtype)
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight,
                                     **params)
        else:
            _raise_for_params(params, self, "fit")
            score = {} if sample_weight is None else {"sample_weight": sample_weight}
            routed = Bunch(splitter=Bunch(split={}), scorer=Bunch(score=score))

        l1_list = [self.l1_ratio] if ratios is None else list(ratios)
        grid, data = self._grid(template, X, y, sample_weight, l1_list)
        if data.kind != "hard":
            raise ValueError(
                f"{type(self).__name__} needs class labels y; got soft targets "
                f"(2-D y), which cannot be stratified into folds nor scored by "
                f"the classification scorers. Use GridSearchCV over "
                f"{self._estimator_class.__name__} with a scorer of your own.")
        classes = data.classes
        labels = _labels_on_host(y)
        cv = check_cv(self.cv, labels, classifier=True)
        n = labels.shape[0]
        folds = list(cv.split(np.zeros((n, 1)), labels, **routed.splitter.split))

        parallel = Parallel(n_jobs=self.n_jobs,
                            prefer="threads" if is_dask_collection(X) else None)
        results = parallel(
            delayed(_path)(path_template, X, y, sample_weight, train, test, grid[j],
                           l1_list[j], scorer,
                           _fold_params(routed.scorer.score, n, test), classes)
            for j in range(len(l1_list)) for train, test in folds)
        n_l1, n_alphas, n_folds = len(l1_list), grid.shape[1], len(folds)
        scores = np.empty((n_l1, n_alphas, n_folds))
        n_iter = np.empty((n_l1, n_alphas, n_folds), dtype=np.int64)
        paths = None
        for index, (s, it, coefs) in enumerate(results):
            j, k = divmod(index, n_folds)
            scores[j, :, k], n_iter[j, :, k] = s, it
            if paths is None:
                paths = np.empty((n_l1, n_alphas, n_folds) + coefs.shape[1:],
                                 dtype=coefs.dtype)
            paths[j, :, k] = coefs

        mean = scores.mean(axis=2)
        # nan scores (a failed scorer) never win; ties go to the largest alpha
        # and the first l1_ratio, as in LogisticRegressionCV
        best = np.unravel_index(np.argmax(np.where(np.isnan(mean), -np.inf, mean)),
                                mean.shape)
        alpha, l1_ratio = float(grid[best]), float(l1_list[best[0]])
        start = paths[best[0], best[1]].mean(axis=0)
        model = clone(template).set_params(alpha=alpha, l1_ratio=l1_ratio)
        if self.refit:
            # warm-started from the folds' mean solution at the chosen point
            model.set_params(warm_start=True)
            model.coef_, model.intercept_ = start[:, :-1], start[:, -1]
            model.classes_ = classes
            model.fit(X, y, sample_weight=sample_weight)
        else:
            # no refit: the first fold's fitted model, with the folds' mean
            # coefficients (LogisticRegressionCV(refit=False) averages them too)
            model = _fit_fold_model(model, X, y, sample_weight, folds[0][0])
            dtype = to_numpy(model.coef_).dtype
            coef, intercept = start[:, :-1].astype(dtype), start[:, -1].astype(dtype)
            model.coef_ = _place_like(model.coef_, coef)
            if hasattr(model, "raw_intercept_"):  # a post-hoc offset: keep it
                offset = to_numpy(model.intercept_) - to_numpy(model.raw_intercept_)
                model.raw_intercept_ = _place_like(model.raw_intercept_, intercept)
                intercept = intercept + offset.astype(dtype)
            model.intercept_ = _place_like(model.intercept_, intercept)
        fitted = {k: v for k, v in vars(model).items()
                  if k not in model.get_params(deep=False)}
        fitted.pop("warm_start", None)
        for key in [k for k in vars(self) if k.endswith("_") and
                    not k.startswith("__") and k not in ("n_features_in_",
                                                         "feature_names_in_")]:
            delattr(self, key)
        self.__dict__.update(fitted)
        self.alpha_, self.l1_ratio_ = alpha, l1_ratio
        squeeze = ratios is None
        self.alphas_ = grid[0] if squeeze else grid
        self.l1_ratios_ = None if squeeze else ratios
        self.scores_ = scores[0] if squeeze else scores
        self.n_iter_ = n_iter[0] if squeeze else n_iter
        self.coefs_paths_ = paths[0] if squeeze else paths
        return self

    def _grid(self, template, X, y, sample_weight, l1_list):
        """The alpha grid, shape (n_l1_ratios, n_alphas), largest first, and the
        driver's validated data."""
        given = _check_alphas(self.alphas)
        top_gradient, data = _null_gradient(template, X, y, sample_weight)
        rows = []
        for l1_ratio in l1_list:
            if given is not None:
                rows.append(given)
                continue
            top = top_gradient / max(l1_ratio, _MIN_L1_FOR_GRID)
            ratio = self.alpha_min_ratio
            if ratio == "auto":
                ratio = 1e-4 if l1_ratio > 0 else 1e-6
            if top == 0:  # the data say nothing: every alpha gives W = 0
                top = 1.0
            rows.append(np.geomspace(top, top * ratio, int(self.alphas)))
        return np.asarray(rows), data


def _labels_on_host(y):
    if is_dask_collection(y):
        return np.asarray(y.compute())
    return to_numpy(y) if uses_array_api(y) else np.asarray(y)


def _fit_fold_model(model, X, y, sample_weight, train):
    return model.fit(_take(X, train), _take(y, train),
                     sample_weight=_take(sample_weight, train))


def _place_like(reference, value):
    if uses_array_api(reference):
        xp, _ = namespace(reference)
        return xp.asarray(value, device=device_of(reference))
    return value


_CV_PARAMS_DOC = """\
    alphas : int or array-like of shape (n_alphas,), default=20
        An int: that many values on a log grid from ``alpha_max`` down to
        ``alpha_min_ratio * alpha_max``, computed from the whole data. For
        l1_ratio > 0, ``alpha_max = max|G| / l1_ratio`` is the smallest alpha at
        which every penalized coefficient is exactly zero (G: the gradient of
        the data term at W = 0, intercept at its optimum, the weighted log
        priors). For l1_ratio = 0 no alpha zeroes them; ``alpha_max =
        max|G| / 1e-3`` (glmnet's convention) is the data-derived upper end,
        where ``||W||_F <= ||G||_F / alpha_max``. An array: those alphas (sorted
        largest first).
    l1_ratios : None or list of float in [0, 1], default=None
        None: the path runs at ``l1_ratio`` only. A list: every value is tried
        (each with its own grid when ``alphas`` is an int).
    alpha_min_ratio : float in (0, 1) or "auto", default="auto"
        The grid's smallest alpha over its largest; "auto" is 1e-4 for
        l1_ratio > 0 (glmnet's choice) and 1e-6 for l1_ratio = 0, whose upper
        end lies 1000 times higher.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: None is 5 folds; an int is that many
        ``StratifiedKFold`` folds (no shuffling).
    n_jobs : int or None, default=None
        Folds (and l1 ratios) fitted in parallel by joblib (threads for dask
        inputs, whose work runs on the cluster).
    path_tol : float or "auto", default="auto"
        Stopping tolerance of the fold fits along the path (the refit uses
        ``tol``). "auto": ``tol`` when it is set; otherwise 1e-6 for the
        full-batch solvers and the solver's default for stochastic ones. Held-out
        scores are far less sensitive than the coefficients, so the path can stop
        earlier than the final fit; 1e-6 kept the choice and the scores of fits
        to 1e-9 on the bundled data sets, where ``LogisticRegressionCV``'s 1e-4
        (half the iterations) changed one choice.
    refit : bool, default=True
        True: refit the whole data at the chosen alpha and l1_ratio,
        warm-started from the folds' mean solution there. False: the folds'
        mean coefficients at the chosen point (as ``LogisticRegressionCV``),
        with the other fitted attributes from a fit on the first fold."""

_CV_ATTRS_DOC = """\
    alpha_ : float
        The chosen alpha (best mean score over the folds; ties go to the
        largest alpha).
    l1_ratio_ : float
        The chosen l1_ratio.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratios, n_alphas)
        The grid, largest first (2-D when ``l1_ratios`` is a list).
    l1_ratios_ : ndarray of shape (n_l1_ratios,) or None
    scores_ : ndarray of shape (n_alphas, n_folds) or \
(n_l1_ratios, n_alphas, n_folds)
        The held-out score of each path point on each fold.
    n_iter_ : ndarray of int, the shape of ``scores_``
        Iterations (epochs for stochastic solvers) of each path point's fit.
    coefs_paths_ : ndarray of shape (n_alphas, n_folds, n_outputs, \
n_features + 1), or with a leading n_l1_ratios axis
        Each point's coefficients on each fold, the fitted intercept last
        (without a post-hoc logit offset, as ``raw_intercept_``).
    coef_, intercept_, classes_, n_features_in_, feature_names_in_, \
loss_curve_, solver_, stop_reason_
        Those of the base estimator fitted at the chosen point."""

_PATH_NOTES = """\
    Each fold fits the alphas from the largest to the smallest, each fit
    warm-started from the previous solution, as the base estimator's
    ``warm_start`` would (for stochastic solvers the optimizer state restarts at
    each alpha: it belongs to the previous problem); the fold's data are
    validated and its objective built once, and only the penalty changes.
    ``solver="auto"`` picks the solver for each fold's problem as it would for
    one fit (gd's proximal steps when l1_ratio > 0, which keep the path's exact
    zeros). The objective is the penalized *mean* loss, so with unit weights
    alpha = 1 / (C * n_train) in ``LogisticRegressionCV``'s terms, n_train the
    training fold's size."""


class SoftmaxRegressorCV(_CVMixin, SoftmaxRegressor):
    __doc__ = f"""Softmax regression with alpha (and l1_ratio) chosen by
    cross-validation along a warm-started regularization path.

    Parameters
    ----------
{_CV_PARAMS_DOC}
    scoring : str or callable, default="neg_log_loss"
        Any scikit-learn scorer. The default is the held-out value of the
        quantity the model minimizes (the cross-entropy, without the penalty).
    solver, l1_ratio, fit_intercept, class_weight, label_smoothing, max_iter, \
tol, warm_start, random_state, verbose, early_stopping, validation_fraction, \
n_iter_no_change, callbacks, max_time
        As in :class:`SoftmaxRegressor` (``warm_start`` is set along the path and
        ignored otherwise; ``l1_ratio`` is used when ``l1_ratios`` is None).

    Attributes
    ----------
{_CV_ATTRS_DOC}

    See Also
    --------
    SoftmaxRegressor : the estimator at one alpha.
    sklearn.linear_model.LogisticRegressionCV : the same search over C.

    Notes
    -----
{_PATH_NOTES}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import SoftmaxRegressorCV
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SoftmaxRegressorCV(alphas=5, cv=3).fit(X, y)
    >>> clf.scores_.shape
    (5, 3)
    >>> bool(clf.alpha_ in clf.alphas_)
    True
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _estimator_class = SoftmaxRegressor
    _default_scoring = "neg_log_loss"

    def __init__(self, *, alphas=20, l1_ratios=None, alpha_min_ratio="auto",
                 cv=None, scoring="neg_log_loss", n_jobs=None, refit=True,
                 path_tol="auto", solver="auto", l1_ratio=0.0, fit_intercept=True,
                 class_weight=None,
                 label_smoothing=0.0, max_iter=None, tol=None, warm_start=False,
                 random_state=None, verbose=0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, callbacks=None,
                 max_time=None):
        self.alphas = alphas
        self.l1_ratios = l1_ratios
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.path_tol = path_tol
        self.solver = solver
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.max_time = max_time


class WeightedCEClassifierCV(_CVMixin, WeightedCEClassifier):
    __doc__ = f"""WeightedCEClassifier with alpha (and l1_ratio) chosen by
    cross-validation along a warm-started regularization path.

    Parameters
    ----------
{_CV_PARAMS_DOC}
    scoring : str, callable or None, default=None
        Any scikit-learn scorer. None is the negative *balanced* log loss
        (:func:`skce._cv.balanced_log_loss`: every class weighing the same in
        the held-out fold). Why not plain ``"neg_log_loss"``: this model's
        ``predict_proba`` answers for the reweighted problem (minority classes
        inflated by their weights, or by the logit adjustment), and the
        imbalanced held-out log loss would score that intended shift as error.
        The balanced log loss is the held-out value of what the model minimizes
        with its default ``class_weight="balanced"`` (without the penalty), and
        unlike ``"balanced_accuracy"`` it is smooth in alpha, so ties between
        alphas are rare. Pass ``"balanced_accuracy"`` to select on the decision
        itself.
    solver, l1_ratio, fit_intercept, class_weight, beta, focal_gamma, tau, \
logit_adjustment, label_smoothing, max_iter, tol, warm_start, random_state, \
verbose, early_stopping, validation_fraction, n_iter_no_change, callbacks, \
max_time
        As in :class:`WeightedCEClassifier` (``warm_start`` is set along the path
        and ignored otherwise; ``l1_ratio`` is used when ``l1_ratios`` is None).

    Attributes
    ----------
{_CV_ATTRS_DOC}
    class_weight_, class_prior_, logit_offset_
        As in :class:`WeightedCEClassifier`.

    See Also
    --------
    WeightedCEClassifier : the estimator at one alpha.
    SoftmaxRegressorCV : the unweighted model.

    Notes
    -----
{_PATH_NOTES}

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skce import WeightedCEClassifierCV
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = WeightedCEClassifierCV(alphas=4, cv=3,
    ...                              scoring="balanced_accuracy").fit(X, y)
    >>> clf.scores_.shape
    (4, 3)
    >>> clf.class_weight_.round(2)
    array([0.56, 4.84])
    """

    _estimator_class = WeightedCEClassifier
    _default_scoring = neg_balanced_log_loss

    def __init__(self, *, alphas=20, l1_ratios=None, alpha_min_ratio="auto",
                 cv=None, scoring=None, n_jobs=None, refit=True,
                 path_tol="auto", solver="auto",
                 l1_ratio=0.0, fit_intercept=True, class_weight="balanced",
                 beta=0.999, focal_gamma=0.0, tau=0.0, logit_adjustment="loss",
                 label_smoothing=0.0, max_iter=None, tol=None, warm_start=False,
                 random_state=None, verbose=0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, callbacks=None,
                 max_time=None):
        self.alphas = alphas
        self.l1_ratios = l1_ratios
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.path_tol = path_tol
        self.solver = solver
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.beta = beta
        self.focal_gamma = focal_gamma
        self.tau = tau
        self.logit_adjustment = logit_adjustment
        self.label_smoothing = label_smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.max_time = max_time
