"""SoftmaxRegressor: multinomial logistic regression trained by cross-entropy."""

from ._base import BaseCEClassifier


class SoftmaxRegressor(BaseCEClassifier):
    r"""Softmax regression (multinomial logistic regression), a linear classifier.

    Minimizes the penalized, weighted cross-entropy

    .. math::

        f(W, b) &= \frac{\sum_i s_i \, \mathrm{CE}\big(T_i,
        \operatorname{softmax}(W x_i + b)\big)}{\sum_i s_i} \\
        &\quad + \alpha \Big(\frac{1 - \rho}{2} \|W\|_F^2 + \rho \|W\|_1\Big)

    with :math:`\rho` = ``l1_ratio``, :math:`s_i` = ``sample_weight[i] *
    class_weight[y_i]`` and :math:`T_i` the (label-smoothed or soft) target
    distribution. Binary problems use one logit and the sigmoid, as scikit-learn's
    LogisticRegression does; with ``l1_ratio=0`` the optimum equals
    LogisticRegression's with :math:`C = 1 / (\alpha \sum_i s_i)`.

    Parameters
    ----------
    solver : str or solver object, default="auto"
        "auto", "lbfgs", "newton-cg", "gd" (full-batch), or "sgd", "minibatch",
        "momentum", "nesterov", "adagrad", "rmsprop", "adam" (stochastic), or an
        object from :mod:`skce.solvers` carrying its own hyperparameters. "auto"
        (:class:`~skce.solvers.Auto`) uses newton-cg when n_samples * n_features
        >= 1e6, lbfgs below, gd when l1_ratio > 0: measured fastest on the
        benchmark suite (``benchmarks/``); the choice is stored as ``solver_``.
    alpha : float, default=1e-4
        Penalty strength; the intercept is never penalized.
    l1_ratio : float in [0, 1], default=0.0
        Elastic-net mixing; values > 0 need a solver with proximal steps ("gd" or
        a stochastic one).
    fit_intercept : bool, default=True
    class_weight : None, "balanced" or dict, default=None
        Per-class weights multiplying sample_weight. "balanced" gives
        n / (n_classes * n_c) with n_c the weighted class counts.
    label_smoothing : float in [0, 1), default=0.0
        Targets become (1 - eps) * onehot + eps / n_classes (PyTorch's semantics).
    max_iter : int or None, default=None
        Iterations (full-batch) or epochs (stochastic); None uses the solver's
        default (1000 for lbfgs, 200 for newton-cg, 10000 for gd; for the
        stochastic solvers a budget of 20000 updates, ceil(20000 / batches per
        epoch) epochs within [10, 2000]).
    tol : float or None, default=None
        Full-batch: stop when the max-norm of the gradient (the gradient mapping
        for gd) is at most tol; default 1e-7. Stochastic: stop when the epoch's
        training loss (or the validation loss, with early stopping) has not improved
        by tol for n_iter_no_change epochs; default None: run all max_iter epochs,
        over which learning_rate="auto" anneals to 0 (with early stopping, any
        improvement of the validation loss counts).
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` (and, for stochastic
        solvers, the previous optimizer state).
    random_state : int, RandomState instance or None, default=None
        Seeds shuffling (stochastic solvers) and the validation split.
    verbose : int, default=0
        1 prints one line per iteration or epoch (a tqdm bar if tqdm is installed).
    early_stopping : bool, default=False
        Hold out validation_fraction of the data (stratified) and stop when its loss
        stops improving; the best coefficients are restored.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=5
    callbacks : list of callables or None, default=None
        Each is called after every iteration or epoch with an
        :class:`~skce.IterationRecord`; returning True stops training cleanly.
    max_time : float or None, default=None
        Stop cleanly after this many seconds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for binary problems (the sigmoid form), else one per class.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Zero when ``fit_intercept=False``; multiclass intercepts sum to zero.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has string feature names (pandas).
    n_iter_ : int
        Iterations or epochs run (over warm starts and partial_fit calls).
    loss_curve_ : list of float
        The objective after each iteration; for stochastic solvers, the mean
        mini-batch objective of each epoch.
    validation_loss_curve_ : list of float
        With early_stopping only.
    best_iteration_ : int
        With early_stopping only: the iteration whose coefficients were kept.
    solver_ : solver object
        The solver that ran (what "auto" chose, or the given one).
    stop_reason_ : str
        "converged", "precision_floor" (converged to the rounding noise of X's
        dtype, which is above tol), "max_iter" (the iteration or epoch budget ran
        out: the stochastic solvers, which run no convergence test, always end
        so unless another rule stops them), "no_improvement", "early_stopping",
        "callback" or "max_time".

    See Also
    --------
    WeightedCEClassifier : class-weighted, focal and logit-adjusted cross-entropy
        for imbalanced data.
    sklearn.linear_model.LogisticRegression : the same model, lbfgs/newton only.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import SoftmaxRegressor
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), SoftmaxRegressor()).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).round(3)
    array([[1., 0., 0.]])
    """

    def __init__(self, *, solver="auto", alpha=1e-4, l1_ratio=0.0, fit_intercept=True,
                 class_weight=None, label_smoothing=0.0, max_iter=None, tol=None,
                 warm_start=False, random_state=None, verbose=0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, callbacks=None,
                 max_time=None):
        self.solver = solver
        self.alpha = alpha
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
