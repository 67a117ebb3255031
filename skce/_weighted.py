"""WeightedCEClassifier: class-weighted, focal and logit-adjusted cross-entropy."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseCEClassifier, log_proba_of
from ._focal import SigmoidFocalLoss, SoftmaxFocalLoss
from ._validation import check_number
from ._weights import STRATEGIES, class_weight_vector
from ._xp import namespace, to_numpy
from .backends import backend_for

_ADJUSTMENTS = ("loss", "post-hoc")


def _logit_vector(per_class, n_outputs):
    """A per-class logit shift as the model's logit shift: itself for softmax, the
    difference class 1 - class 0 for the single binary logit."""
    if n_outputs == 1:
        return np.array([per_class[1] - per_class[0]])
    return per_class - per_class.mean()


class WeightedCEClassifier(BaseCEClassifier):
    """Linear classifier for imbalanced data: class-weighted cross-entropy, with
    optional focal loss and logit adjustment.

    Minimizes

    .. math::

        f(W, b) &= \\frac{\\sum_i s_i \\, \\mathrm{FL}_\\gamma\\big(T_i,
        \\operatorname{link}(W x_i + b + o)\\big)}{\\sum_i s_i} \\\\
        &\\quad + \\alpha \\Big(\\frac{1 - \\rho}{2} \\|W\\|_F^2 + \\rho \\|W\\|_1\\Big)

    with :math:`\\rho` = ``l1_ratio``, :math:`s_i = \\mathtt{sample\\_weight}_i \\,
    w_{y_i}` (class weights, normalized so that :math:`\\sum_c w_c n_c = n`),
    :math:`\\mathrm{FL}_\\gamma` the focal loss (the cross-entropy when
    ``focal_gamma=0``) and :math:`o = \\tau \\log(\\text{prior})` the loss-time
    logit adjustment (zero unless ``tau > 0`` and ``logit_adjustment="loss"``).
    Binary problems use one logit and the sigmoid. Every solver, soft targets, label
    smoothing, warm starts, early stopping and ``partial_fit`` work as in
    :class:`SoftmaxRegressor`; with ``class_weight=None, focal_gamma=0, tau=0`` the
    two estimators are the same model.

    Three ways to correct for imbalance, usable alone or together:

    - **Class weights** (``class_weight``) reweight the loss of each class.
    - **Focal loss** (``focal_gamma > 0``, Lin et al. 2017) down-weights samples the
      model already classifies confidently, focusing on the hard ones.
    - **Logit adjustment** (Menon et al. 2021) targets the balanced error directly:
      the Bayes classifier for the balanced error is argmax_c p(c|x) / prior_c,
      i.e. the logits shifted by -log(prior_c).

      - ``logit_adjustment="loss"`` (loss-time): training adds tau * log(prior_c)
        to the logits; prediction uses the raw logits, so ``coef_`` and
        ``intercept_`` alone are the adjusted classifier.
      - ``logit_adjustment="post-hoc"``: an ordinary fit, then tau * log(prior_c)
        is subtracted from the logits. The shift is stored as ``logit_offset_``
        and folded into ``intercept_``; the intercept the solver fitted is kept
        as ``raw_intercept_`` (``intercept_ = raw_intercept_ + logit_offset_``).
        So ``decision_function(X) == X @ coef_.T + intercept_`` always holds, as
        for every scikit-learn linear classifier, and whatever reads ``coef_``
        and ``intercept_`` (shap's ``LinearExplainer``, ONNX or PMML converters,
        scoring code written by hand) sees the adjusted model.

      **Which one.** For this linear model with ``fit_intercept=True`` the two give
      the same classifier: the intercept is free and unpenalized, so training on
      W x + b + o is a change of variables b' = b + o, the optimum W is unchanged
      and the fitted b is the ordinary one minus o (the solvers even take the same
      path; the tests check the equality). The difference is then what the fitted
      attributes hold: both give (nearly) the same ``coef_`` and ``intercept_``;
      the post-hoc form also keeps the ordinary intercept (``raw_intercept_``)
      and the shift (``logit_offset_``) separately, and does not change what
      training minimizes.
      With ``fit_intercept=False`` they differ: the loss-time offset can only be
      absorbed by tilting W, which distorts the boundary, while the post-hoc shift
      still moves the logits exactly; prefer post-hoc there. (Menon et al. found
      the loss-time form better for deep networks, where the offset also shapes
      the learned features; a linear model on fixed features with a free bias
      cannot show that advantage.) Both are meant for an otherwise unweighted
      fit, ``class_weight=None``: balanced weights already undo the imbalance and
      the corrections stack.

    Parameters
    ----------
    solver : str or solver object, default="auto"
        As in :class:`SoftmaxRegressor`: "auto", "lbfgs", "newton-cg", "gd", "sgd",
        "minibatch", "momentum", "nesterov", "adagrad", "rmsprop", "adam", or an
        object from :mod:`skce.solvers`. All of them support ``focal_gamma > 0``
        (Newton-CG uses the exact, possibly indefinite, Hessian of the focal loss
        with truncated conjugate gradients).
    alpha : float, default=1e-4
        Penalty strength; the intercept is never penalized. Because the weights are
        normalized, alpha means the same under every class_weight strategy.
    l1_ratio : float in [0, 1], default=0.0
    fit_intercept : bool, default=True
    class_weight : "balanced", "balanced_sqrt", "effective_number", dict or None, \
default="balanced"
        Per-class weights multiplying ``sample_weight``, with n_c the class counts
        weighted by ``sample_weight``:

        - "balanced": w_c = n / (n_classes * n_c);
        - "balanced_sqrt": the square root of the balanced weights (milder);
        - "effective_number": w_c proportional to (1 - beta) / (1 - beta ** n_c)
          (Cui et al. 2019);
        - a dict ``{class: weight}`` (missing classes get 1), or None (all 1).

        Every strategy is rescaled so that sum_c w_c n_c = n: multiplying every
        weight by a constant changes nothing. With ``partial_fit``, n_c counts every
        sample seen since the first call.
    beta : float in [0, 1), default=0.999
        For ``class_weight="effective_number"``.
    focal_gamma : float >= 0, default=0.0
        Focusing parameter of the focal loss, -sum_k T_k (1 - q_k)^gamma log q_k;
        0 is the cross-entropy. Class weights give its alpha-balanced form.
    tau : float >= 0, default=0.0
        Strength of the logit adjustment; 0 turns it off, 1 is Menon et al.'s
        choice.
    logit_adjustment : {"loss", "post-hoc"}, default="loss"
        Where tau acts: in the training loss or at prediction (see above).
    label_smoothing : float in [0, 1), default=0.0
    max_iter : int or None, default=None
    tol : float or None, default=None
    warm_start : bool, default=False
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    early_stopping : bool, default=False
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=5
    callbacks : list of callables or None, default=None
    max_time : float or None, default=None
        These as in :class:`SoftmaxRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,)
        The resolved class weights, aligned with ``classes_``, normalized so that
        ``class_weight_ @ (n * class_prior_) == n``.
    class_prior_ : ndarray of shape (n_classes,)
        Class frequencies of the training data (weighted by sample_weight, not by
        the class weights); the priors of the logit adjustment and of
        ``predict_proba_prior``.
    logit_offset_ : ndarray of shape (1,) or (n_classes,)
        The post-hoc logit adjustment, ``-tau * log(class_prior_)`` as a logit shift
        (zeros otherwise); already included in ``intercept_``.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercept of ``decision_function``: ``decision_function(X) == X @
        coef_.T + intercept_``, the post-hoc adjustment included (so with
        ``fit_intercept=False`` and a post-hoc adjustment it is
        ``logit_offset_``, not zero).
    raw_intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercept the solver fitted: ``intercept_ - logit_offset_`` (equal to
        ``intercept_`` unless ``logit_adjustment="post-hoc"`` with ``tau > 0``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
    n_iter_ : int
    loss_curve_ : list of float
    validation_loss_curve_ : list of float
    best_iteration_ : int
    stop_reason_ : str
        As in :class:`SoftmaxRegressor`.
    solver_ : solver object
        The solver that ran (what "auto" chose, or the given one).

    See Also
    --------
    SoftmaxRegressor : the unweighted model.

    Notes
    -----
    **Probabilities.** ``predict_proba`` is the softmax of ``decision_function``,
    so its argmax is always ``predict`` (as scikit-learn requires). Those are the
    probabilities of the *reweighted* problem: a class with weight w_c is inflated,
    q_w(c|x) proportional to w_c p(c|x). ``predict_proba_prior`` undoes the
    reweighting (p proportional to q_w / w_c), the loss-time adjustment (the logits
    plus tau * log prior) and ignores the post-hoc shift, giving probabilities
    calibrated to the training priors. The correction is exact for a
    well-specified model trained by cross-entropy on hard labels; with
    ``focal_gamma > 0`` or label smoothing, the fitted probabilities are not
    calibrated to begin with and the correction only removes the weights. A
    separate method, rather than a parameter switching what ``predict_proba``
    returns, keeps ``predict``, ``predict_proba`` and ``decision_function``
    consistent with each other, and makes the choice visible where the
    probabilities are used. To score them, pass a callable as ``scoring``, e.g.
    ``lambda est, X, y: -log_loss(y, est.predict_proba_prior(X))``
    (``make_scorer`` accepts only the standard response methods); a ``Pipeline``
    does not forward the method, so call it as
    ``pipe[-1].predict_proba_prior(pipe[:-1].transform(X))``.

    References
    ----------
    Lin, Goyal, Girshick, He and Dollar, "Focal Loss for Dense Object Detection",
    ICCV 2017. Cui, Jia, Lin, Song and Belongie, "Class-Balanced Loss Based on
    Effective Number of Samples", CVPR 2019. Menon, Jayasumana, Rawat, Jain, Veit
    and Kumar, "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.metrics import balanced_accuracy_score
    >>> from skce import WeightedCEClassifier, SoftmaxRegressor
    >>> X, y = make_classification(n_samples=2000, weights=[0.95], flip_y=0,
    ...                            class_sep=0.5, random_state=0)
    >>> clf = WeightedCEClassifier().fit(X, y)
    >>> np.bincount(y)
    array([1900,  100])
    >>> clf.class_weight_.round(3)
    array([ 0.526, 10.   ])
    >>> plain = SoftmaxRegressor().fit(X, y)
    >>> bool(balanced_accuracy_score(y, clf.predict(X))
    ...      > balanced_accuracy_score(y, plain.predict(X)))
    True
    >>> clf.predict_proba(X[1:2]).round(3)
    array([[0.014, 0.986]])
    >>> clf.predict_proba_prior(X[1:2]).round(3)
    array([[0.213, 0.787]])
    """

    _class_weight_strategies = STRATEGIES

    def __init__(self, *, solver="auto", alpha=1e-4, l1_ratio=0.0, fit_intercept=True,
                 class_weight="balanced", beta=0.999, focal_gamma=0.0, tau=0.0,
                 logit_adjustment="loss", label_smoothing=0.0, max_iter=None,
                 tol=None, warm_start=False, random_state=None, verbose=0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=5,
                 callbacks=None, max_time=None):
        self.solver = solver
        self.alpha = alpha
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

    # ---------------------------------------------------------------- hooks
    def _check_extra_params(self, solver):
        check_number("beta", self.beta, low=0.0, high=1.0, high_open=True)
        check_number("focal_gamma", self.focal_gamma, low=0.0)
        check_number("tau", self.tau, low=0.0)
        if self.logit_adjustment not in _ADJUSTMENTS:
            raise ValueError(
                f"logit_adjustment must be one of {list(_ADJUSTMENTS)}; got "
                f"logit_adjustment={self.logit_adjustment!r}.")

    def _make_loss(self, n_classes):
        if self.focal_gamma == 0:
            return super()._make_loss(n_classes)
        if n_classes == 2:
            return SigmoidFocalLoss(self.focal_gamma)
        return SoftmaxFocalLoss(n_classes, self.focal_gamma)

    def _class_weights(self, classes, class_mass):
        return class_weight_vector(self.class_weight, classes, class_mass,
                                   beta=self.beta,
                                   allowed=self._class_weight_strategies,
                                   normalize=True)

    @staticmethod
    def _log_prior(mass):
        """Log class priors for the logit adjustment. A class without mass (a
        first partial_fit chunk that lacks it) would get log(0): then every class
        gets one pseudo-sample (a unit of sample weight), so the offsets stay
        finite and moderate until the class shows up."""
        mass = np.asarray(mass, dtype=np.float64)
        if np.any(mass <= 0):
            mass = mass + 1.0
        return np.log(mass / mass.sum())

    def _training_offset(self, class_mass, dtype):
        if self.tau == 0 or self.logit_adjustment != "loss":
            return None
        mass = np.asarray(class_mass, dtype=np.float64)
        n_outputs = 1 if len(mass) == 2 else len(mass)
        return _logit_vector(self.tau * self._log_prior(mass), n_outputs).astype(dtype)

    def _posthoc_offset(self, class_mass, n_outputs):
        """``logit_offset_``: -tau * log(prior) for the post-hoc adjustment, else
        zeros (float64; the driver folds it into ``intercept_``)."""
        post_hoc = self.logit_adjustment == "post-hoc" and self.tau > 0
        return _logit_vector(
            -self.tau * self._log_prior(class_mass) if post_hoc
            else np.zeros(len(class_mass)), n_outputs)

    def _fitted_extras(self, class_mass, class_weight, n_outputs, dtype):
        """class_weight_, class_prior_, logit_offset_ and predict_proba_prior's
        shift, from the class mass (accumulated over partial_fit calls)."""
        mass, w = np.asarray(class_mass, dtype=np.float64), class_weight
        log_prior = self._log_prior(mass)
        # predict_proba_prior's shift of X @ coef_.T + intercept_: + tau log prior
        # (undoes the loss-time adjustment, or the post-hoc one folded into
        # intercept_), - log w (undoes the weights); None when a zero weight
        # makes it undefined
        with np.errstate(divide="ignore"):
            undo = self.tau * log_prior - np.log(w)
        return {
            "class_weight_": w,
            "class_prior_": mass / mass.sum(),
            "logit_offset_": self._posthoc_offset(mass, n_outputs).astype(dtype),
            "_prior_offset": _logit_vector(undo, n_outputs).astype(dtype)
            if np.all(w > 0) else None,
        }

    # ----------------------------------------------------------- prediction
    def decision_function(self, X):
        """Logits ``X @ coef_.T + intercept_``.

        ``intercept_`` includes the post-hoc logit adjustment ``logit_offset_``
        (zeros otherwise): ``intercept_ = raw_intercept_ + logit_offset_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for binary problems, else
        (n_samples, n_classes)
        """
        return super().decision_function(X)

    def predict_proba_prior(self, X):
        """Class probabilities corrected back to the training priors.

        ``predict_proba`` answers for the reweighted problem (minority classes
        inflated by their weights) and matches ``predict``. This method undoes the
        class weights (p(c|x) proportional to q_w(c|x) / w_c) and the loss-time
        logit adjustment, and ignores the post-hoc one: the result estimates
        p(c|x) under the training class distribution. Exact for a well-specified
        model fitted by cross-entropy (``focal_gamma=0``) on hard labels. Its argmax
        need not be ``predict``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        if self._prior_offset is None:
            zero = to_numpy(self.classes_)[to_numpy(self.class_weight_) == 0].tolist()
            raise ValueError(
                f"predict_proba_prior cannot undo a class weight of 0 (classes "
                f"{zero}): the fit holds no information about those classes' "
                f"probabilities. Give every class a positive weight.")
        X = backend_for(X).check_predict_X(self, X, "predict_proba_prior")
        scores = self._linear_scores(X) \
            + self._prior_offset
        if scores.shape[1] == 1:
            scores = scores[:, 0]
        log_proba = log_proba_of(scores)
        return namespace(log_proba)[0].exp(log_proba)
