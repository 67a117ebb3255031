"""Side-by-side benchmark of skce against scikit-learn and PyTorch.

Run from the repository root::

    python benchmarks/run.py --quick      # small problems, about two minutes
    python benchmarks/run.py              # the problems of issue 5 (long)

Writes ``benchmarks/results/latest.md`` (tables and machine information),
``benchmarks/results/latest.json`` (every raw number) and
``benchmarks/results/suboptimality.png`` (suboptimality against time); a quick run
writes the same names ending in ``-quick`` (gitignored).

Method (also written into the results file):

* Every competitor minimizes the same objective,
  ``sum_i s_i CE_i / sum_i s_i + alpha / 2 * ||W||_F^2`` (intercept unpenalized), which
  is scikit-learn's LogisticRegression with ``C = 1 / (alpha * sum_i s_i)``. Its value
  is computed for every competitor by one independent float64 function,
  :func:`objective`, written here and not taken from skce.
* Time to accuracy. A solver's trajectory is a list of (seconds since ``fit`` was
  called, coefficients). skce records it with a callback (one ``fit``); PyTorch's
  L-BFGS with one ``step`` per iteration; scikit-learn, which has no callback, is
  refitted from scratch with ``max_iter`` = 1, 2, 4, 8, ... (benchopt's method), each
  fit's wall time and coefficients being one point. The reference objective f* is the
  lowest value any solver reached (a tight-tolerance skce Newton-CG run is among
  them; skce's trajectories are thinned to about 60 evenly spaced iterations before
  evaluation). The time to a relative suboptimality eps, (f - f*) / |f*| <= eps, is
  interpolated linearly in log-suboptimality between the last point above eps and the
  first point below it. Runs stop at a per-solver time budget (scikit-learn's
  doubling stops before a refit expected to exceed it, or once within 1e-7 of the
  best skce value); a solver that did not get there reads "> budget".
* One loss-and-gradient evaluation against the floor: the median over repeats of
  ``Objective.value_grad`` against the median of the two bare products ``X @ W`` and
  ``X.T @ G`` on the same arrays, same dtype.
* One mini-batch epoch (batch 256, Adam): skce's epoch time comes from the
  callback timestamps of consecutive epochs; PyTorch's is a plain loop (shuffled
  index, ``X[idx]``, forward, ``CrossEntropyLoss``, backward, ``Adam.step``) with no
  DataLoader; medians over epochs after a warm-up epoch.
* Peak memory: ``tracemalloc`` (numpy reports its allocations to it) around a
  ``fit`` of a few iterations; X is allocated before, so the peak is the extra memory
  the fit needed, compared with the size of X and of one (n_samples, n_classes) array.
"""

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import time
import tracemalloc
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy.special import logsumexp
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import skce  # noqa: E402
from skce import SoftmaxRegressor, WeightedCEClassifier  # noqa: E402
from skce._loss import (  # noqa: E402
    HardTargets,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
)
from skce._objective import Objective  # noqa: E402
from skce.solvers import Adam  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch baselines are optional
    torch = None

# The other peers are optional too (``pip install ".[benchmarks]"``); each is imported
# when its runner first runs, so a missing one only drops its rows.
PEERS = {name: importlib.util.find_spec(name) is not None
         for name in ("glum", "cyanure", "snapml", "jax", "optax")}

ALPHA = 1e-4
EPSILONS = (1e-4, 1e-6)
RESULTS = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------- problems
def _planted_sparse(n, d, density, n_classes, seed):
    """CSR X with N(0, 1) entries; labels from a planted linear model plus Gumbel noise
    (so they follow a true softmax model)."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", dtype=np.float64,
                  random_state=rng, data_rvs=rng.standard_normal)
    W = rng.standard_normal((d, n_classes)) * (3.0 / math.sqrt(density * d))
    logits = np.asarray(X @ W) + rng.gumbel(size=(n, n_classes))
    return X, logits.argmax(axis=1)


def make_problems(quick):
    """Name -> dict(X, y, class_weight, note)."""
    problems = {}
    X, y = load_digits(return_X_y=True)
    problems["digits"] = dict(X=StandardScaler().fit_transform(X), y=y,
                              note="load_digits, standardized (1797 x 64, 10 classes)")
    n = 10_000 if quick else 200_000
    X, y = make_classification(n_samples=n, n_features=100, n_informative=60,
                               n_classes=10, random_state=0)
    spec = f"make_classification({n} x 100, 60 informative, 10 classes)"
    problems["dense-f64"] = dict(X=X, y=y, note=spec + ", float64")
    problems["dense-f32"] = dict(X=X.astype(np.float32), y=y, note=spec + ", float32")
    X, y = make_classification(n_samples=n, n_features=100, n_informative=60,
                               n_classes=2, random_state=0)
    problems["binary"] = dict(X=X, y=y, note=f"make_classification({n} x 100, 60 "
                              "informative, 2 classes), float64")
    ns, ds = (10_000, 5_000) if quick else (100_000, 50_000)
    X, y = _planted_sparse(ns, ds, 1e-3, 20, seed=0)
    problems["sparse"] = dict(X=X, y=y, note=f"CSR {ns} x {ds}, density 1e-3, 20 "
                              "classes from a planted softmax model")
    ni = 10_000 if quick else 100_000
    X, y = make_classification(n_samples=ni, n_features=50, n_informative=30,
                               n_classes=5, weights=[0.8, 0.1, 0.05, 0.03, 0.02],
                               random_state=0)
    problems["imbalanced"] = dict(X=X, y=y, class_weight="balanced",
                                  estimator=WeightedCEClassifier,
                                  note=f"make_classification({ni} x 50, 5 classes, "
                                  "80/10/5/3/2 %), skce's WeightedCEClassifier at its "
                                  "defaults (class_weight='balanced')")
    nm = 5_000 if quick else 50_000
    X, y = make_classification(n_samples=nm, n_features=200, n_informative=150,
                               n_classes=100, n_clusters_per_class=1, random_state=0)
    problems["many-classes"] = dict(X=X, y=y, note=f"make_classification({nm} x "
                                    "200, 150 informative, 100 classes), float64")
    nw, dw = (500, 2_000) if quick else (2_000, 5_000)
    X, y = make_classification(n_samples=nw, n_features=dw, n_informative=100,
                               n_classes=5, random_state=0)
    problems["wide"] = dict(X=X, y=y, alpha=1e-2,
                            note=f"make_classification({nw} x {dw}, 100 informative, "
                            "5 classes), float64, alpha=1e-2")
    X, y = problems["sparse"]["X"], problems["sparse"]["y"]
    problems["sparse-enet"] = dict(X=X, y=y, l1_ratio=0.5,
                                   note=f"the sparse problem (CSR {ns} x {ds}) with "
                                   "the elastic net, l1_ratio=0.5")
    return problems


def _setting(problem):
    """``(alpha, l1_ratio)`` of a problem (ALPHA and 0 unless it says otherwise)."""
    return problem.get("alpha", ALPHA), problem.get("l1_ratio", 0.0)


def sample_weights(y, class_weight):
    """Per-sample weights s_i for class_weight=None or 'balanced' (n / (K n_k))."""
    if class_weight is None:
        return np.ones(y.shape[0])
    counts = np.bincount(y)
    return (y.shape[0] / (len(counts) * counts))[y]


# -------------------------------------------------------------------- objective
def objective(coef, intercept, X, y, sw, alpha):
    """The reference objective, independent of skce, in float64.

    coef of shape (K, d) (multinomial, K >= 3) or (1, d) (binary, one logit);
    ``sum_i s_i CE_i / sum_i s_i + alpha / 2 * ||coef||^2``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64).ravel()
    total = 0.0
    step = 20_000
    for start in range(0, X.shape[0], step):
        Xb = X[start:start + step]
        Xb = Xb.astype(np.float64) if sp.issparse(Xb) else np.asarray(Xb, np.float64)
        Z = np.asarray(Xb @ coef.T) + intercept
        yb, sb = y[start:start + step], sw[start:start + step]
        if coef.shape[0] == 1:
            z = Z[:, 0]
            ce = np.logaddexp(0.0, z) - yb * z
        else:
            ce = logsumexp(Z, axis=1) - Z[np.arange(Z.shape[0]), yb]
        total += float(sb @ ce)
    return total / float(sw.sum()) + 0.5 * alpha * float(np.sum(coef * coef))


def penalized_objective(coef, intercept, X, y, sw, alpha, l1_ratio=0.0):
    """:func:`objective` with the elastic-net penalty
    ``alpha (l1_ratio |W|_1 + (1 - l1_ratio) / 2 ||W||^2)``."""
    value = objective(coef, intercept, X, y, sw, alpha * (1.0 - l1_ratio))
    return value + alpha * l1_ratio * float(np.abs(np.asarray(coef)).sum())


# ----------------------------------------------------------------- competitors
def _skce_params_to_coef(params):
    params = np.array(params, dtype=np.float64)  # a copy: saga updates in place
    return params[:-1].T, params[-1]


def run_skce(problem, solver, budget):
    """One fit with a callback recording (seconds since fit(), coef, intercept)."""
    X, y = problem["X"], problem["y"]
    alpha, l1_ratio = _setting(problem)
    points = []
    t0 = [0.0]

    def record(rec):
        t = time.perf_counter() - t0[0]
        points.append((t, *_skce_params_to_coef(rec.coef)))

    estimator = problem.get("estimator", SoftmaxRegressor)
    kwargs = {} if solver is None else {"solver": solver}
    if estimator is SoftmaxRegressor:
        kwargs["class_weight"] = problem.get("class_weight")
    if solver == "saga":
        kwargs["random_state"] = 0
    clf = estimator(alpha=alpha, l1_ratio=l1_ratio, tol=1e-8, max_iter=100_000,
                    max_time=budget, callbacks=[record], **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0[0] = time.perf_counter()
        clf.fit(X, y)
    picked = getattr(clf, "solver_", None)
    return points, {"n_iter": int(clf.n_iter_), "stop": clf.stop_reason_,
                    "solver": picked if picked is None or isinstance(picked, str)
                    else type(picked).__name__}


def _coef_intercept(clf):
    """scikit-learn's layout: coef (k, d), intercept (k,)."""
    return np.atleast_2d(clf.coef_), np.atleast_1d(clf.intercept_)


def run_sklearn(make, budget, X, y, target_ok, coef_of=_coef_intercept, fit_kw=None,
                slack=0):
    """Refit with max_iter = 1, 2, 4, ... until converged, target reached or budget
    (any estimator without a callback: ``make(max_iter)`` builds it, ``coef_of``
    reads its coefficients in scikit-learn's layout; converged means ``n_iter_ +
    slack < max_iter``, slack for solvers that count iterations in blocks)."""
    points, max_iter, info = [], 1, {}
    with warnings.catch_warnings():  # first-call costs (imports, set-up), untimed
        warnings.simplefilter("ignore")
        make(1).fit(X, y, **(fit_kw or {}))
    while True:
        clf = make(max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            clf.fit(X, y, **(fit_kw or {}))
            elapsed = time.perf_counter() - t
        coef, intercept = coef_of(clf)
        points.append((elapsed, np.array(coef, dtype=np.float64),
                       np.array(intercept, dtype=np.float64)))
        n_iter = int(np.max(clf.n_iter_))
        info = {"n_iter": n_iter, "max_iter": max_iter}
        # the next fit takes about twice as long: never start one past the budget
        if (n_iter + slack < max_iter or target_ok(coef, intercept)
                or 2 * elapsed > budget):
            break
        max_iter *= 2
    return points, info


def run_torch_lbfgs(X, y, sw, budget, n_outputs, alpha=ALPHA):
    """PyTorch full-batch L-BFGS (strong Wolfe) on nn.Linear + CrossEntropyLoss."""
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    swt = torch.from_numpy(sw.astype(X.dtype))
    model = torch.nn.Linear(X.shape[1], n_outputs, dtype=dtype)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    # one iteration per step() so each can be timed; max_eval must then be raised
    # from its default max_iter * 5 / 4 = 1, which would leave the line search
    # a single trial
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=1, max_eval=25,
                            history_size=10,
                            tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")
    S = float(sw.sum())

    def closure():
        opt.zero_grad()
        out = model(Xt)
        if n_outputs == 1:
            ce = torch.nn.functional.binary_cross_entropy_with_logits(
                out[:, 0], yt.to(dtype), reduction="none")
        else:
            ce = torch.nn.functional.cross_entropy(out, yt, reduction="none")
        loss = (ce * swt).sum() / S + 0.5 * alpha * (model.weight ** 2).sum()
        loss.backward()
        return loss

    points = []
    t0 = time.perf_counter()
    for _ in range(100_000):
        opt.step(closure)
        t = time.perf_counter() - t0
        points.append((t, model.weight.detach().numpy().copy(),
                       model.bias.detach().numpy().copy()))
        if t > budget:
            break
        if len(points) > 3 and np.array_equal(points[-1][1], points[-2][1]):
            break  # converged: no step left
    return points, {"n_iter": len(points)}


def _import_jax(threads):
    """jax in float64 on the CPU; XLA's own thread pool held to one thread when the
    run is (the flag must be set before jax is first imported)."""
    if threads == 1 and "jax" not in sys.modules:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import optax

    jax.config.update("jax_enable_x64", True)
    return jax, optax


def run_jax_lbfgs(X, y, sw, budget, n_outputs, alpha, threads):
    """optax's L-BFGS (zoom line search, memory 10) on the same objective, jitted;
    one jitted step per iteration so each can be timed. The compilation happens in an
    untimed first step on the same shapes (restarted from zero afterwards)."""
    jax, optax = _import_jax(threads)
    jnp = jax.numpy
    Xj, yj, swj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(sw.astype(X.dtype))
    S = float(sw.sum())

    def fun(params):
        W, b = params
        Z = Xj @ W.T + b
        if n_outputs == 1:
            z = Z[:, 0]
            ce = jnp.logaddexp(0.0, z) - yj * z
        else:
            ce = jax.nn.logsumexp(Z, axis=1) - jnp.take_along_axis(
                Z, yj[:, None], axis=1)[:, 0]
        return swj @ ce / S + 0.5 * alpha * jnp.sum(W * W)

    opt = optax.lbfgs(memory_size=10)
    value_and_grad = optax.value_and_grad_from_state(fun)

    @jax.jit
    def step(params, state):
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad,
                                    value_fn=fun)
        return optax.apply_updates(params, updates), state

    def start():
        params = (jnp.zeros((n_outputs, X.shape[1]), X.dtype),
                  jnp.zeros(n_outputs, X.dtype))
        # strong (not weak) dtypes in the state: else the second step recompiles
        state = jax.tree.map(lambda a: a + jnp.zeros((), jnp.result_type(a)),
                             opt.init(params))
        return params, state

    params, state = start()
    jax.block_until_ready(step(params, state))  # compile, untimed
    params, state = start()
    points = []
    t0 = time.perf_counter()
    for _ in range(100_000):
        params, state = jax.block_until_ready(step(params, state))
        t = time.perf_counter() - t0
        points.append((t, np.asarray(params[0]).copy(), np.asarray(params[1]).copy()))
        if t > budget:
            break
        if len(points) > 3 and np.array_equal(points[-1][1], points[-2][1]):
            break
    return points, {"n_iter": len(points)}


def competitors(problem, budget, has_torch, quick=False, threads=1):
    """(name, family, runner) for a problem; runner(target_ok) -> (points, info).

    Families: "skce"; "sklearn" and "peer" (the same objective: they enter the
    ratios); "other" (another objective: only its best suboptimality means
    something)."""
    X, y, cw = problem["X"], problem["y"], problem.get("class_weight")
    alpha, l1_ratio = _setting(problem)
    n, d = X.shape
    K = len(np.unique(y))
    sw = sample_weights(y, cw)
    C = 1.0 / (alpha * sw.sum())
    jobs = threads or -1
    default = SoftmaxRegressor().solver
    out = [(f"skce default ({default})", "skce",
            lambda ok: run_skce(problem, None, budget))]
    for s in ("lbfgs", "newton-cg") if not l1_ratio else ("saga",):
        if s != default:
            out.append((f"skce {s}", "skce",
                        lambda ok, s=s: run_skce(problem, s, budget)))
    solvers = ("saga",) if l1_ratio else ("lbfgs", "newton-cg", "newton-cholesky",
                                          "saga")
    for s in solvers:
        if s == "newton-cholesky" and (d * max(K - 1, 1) > 4000 or quick):
            continue  # a dense (d K)^2 Hessian: not meant for this size

        def make(max_iter, s=s):
            return LogisticRegression(solver=s, C=C, l1_ratio=l1_ratio, tol=1e-8,
                                      max_iter=max_iter, class_weight=cw)

        out.append((f"sklearn {s}", "sklearn",
                    lambda ok, make=make: run_sklearn(make, budget, X, y, ok)))
        if s == "lbfgs" and not quick:  # sklearn with single-threaded BLAS
            def run_limited(ok, make=make):
                with threadpool_limits(1, user_api="blas"):
                    return run_sklearn(make, budget, X, y, ok)

            out.append(("sklearn lbfgs [1 BLAS thread]", "sklearn", run_limited))
    fit_kw = {} if cw is None else {"sample_weight": sw}
    if PEERS["glum"] and K == 2:
        from glum import GeneralizedLinearRegressor

        # glum: sum_i s_i deviance_i / (2 sum_i s_i) + alpha (l1_ratio |w|_1
        # + (1 - l1_ratio) / 2 ||w||^2), and the binomial deviance is 2 CE: the
        # same objective with the same alpha and l1_ratio
        for s in ("lbfgs", "irls-cd"):
            def make_glum(max_iter, s=s):
                return GeneralizedLinearRegressor(
                    family="binomial", alpha=alpha, l1_ratio=l1_ratio, solver=s,
                    gradient_tol=1e-10, max_iter=max_iter)

            out.append((f"glum {s}", "peer", lambda ok, make=make_glum: run_sklearn(
                make, budget, X, y.astype(np.float64), ok,
                lambda g: (g.coef_[None, :], np.atleast_1d(g.intercept_)), fit_kw)))
    if PEERS["cyanure"] and cw is None:  # cyanure's fit takes no sample weights
        from cyanure.estimators import Classifier

        # cyanure: mean loss + lambda_1 / 2 ||w||^2 (l2) or lambda_1 |w|_1 +
        # lambda_2 / 2 ||w||^2 (elasticnet); the intercept is not penalized
        pen = (dict(penalty="elasticnet", lambda_1=alpha * l1_ratio,
                    lambda_2=alpha * (1 - l1_ratio)) if l1_ratio
               else dict(penalty="l2", lambda_1=alpha))

        def make_cyanure(max_iter):
            return Classifier(loss="multiclass-logistic" if K > 2 else "logistic",
                              tol=1e-10, max_iter=max_iter, verbose=False,
                              n_threads=jobs, **pen)

        def cyanure_coef(c):
            return np.asarray(c.coef_).T.reshape(-1, d), np.ravel(c.intercept_)

        # n_iter_ advances in steps of duality_gap_interval (5) epochs
        out.append(("cyanure", "peer", lambda ok: run_sklearn(
            make_cyanure, budget, X, y, ok, cyanure_coef, slack=5)))
    if PEERS["snapml"] and K == 2 and cw is None and not l1_ratio:
        import snapml

        # snapml: sum_i CE_i + regularizer / 2 ||w||^2 with regularizer = alpha n,
        # but fit_intercept adds a constant column, so its intercept is penalized
        # too: another objective ("other"), out of the ratios
        def make_snap(max_iter):
            return snapml.LogisticRegression(
                regularizer=alpha * n, fit_intercept=True, tol=1e-10,
                max_iter=max_iter, n_jobs=max(jobs, 1))

        out.append(("snapml (penalizes its intercept)", "other",
                    lambda ok: run_sklearn(make_snap, budget, X, y, ok)))

    if not quick:
        def make_sgd(max_iter):
            return SGDClassifier(loss="log_loss", alpha=alpha, tol=None,
                                 max_iter=max_iter, class_weight=cw, random_state=0)

        # another objective (one-vs-rest), it never reaches the targets: a quarter
        # budget
        out.append(("sklearn SGDClassifier (OvR)", "other",
                    lambda ok: run_sklearn(make_sgd, budget / 4, X, y, ok)))
    dense_l2 = not sp.issparse(X) and not l1_ratio
    if has_torch and dense_l2:
        out.append(("torch L-BFGS", "peer", lambda ok: run_torch_lbfgs(
            X, y, sw, budget, 1 if K == 2 else K, alpha)))
    # jax compiles per shape, untimed but 10-30 s each on a loaded 2-core machine:
    # not in the quick run
    if PEERS["jax"] and PEERS["optax"] and dense_l2 and not quick:
        out.append(("jax L-BFGS (optax)", "peer", lambda ok: run_jax_lbfgs(
            X, y, sw, budget, 1 if K == 2 else K, alpha, threads)))
    return out


# ------------------------------------------------------------- time to target
def time_to(times, subopts, eps):
    """Interpolated time at which the suboptimality first reaches eps (or None)."""
    for i, (t, s) in enumerate(zip(times, subopts, strict=True)):
        if s <= eps:
            if i == 0:
                return t
            t0, s0 = times[i - 1], max(subopts[i - 1], 1e-300)
            if s0 <= eps:
                return t
            a = (math.log(s0) - math.log(eps)) / (
                math.log(s0) - math.log(max(s, 1e-300)))
            return t0 + a * (t - t0)
    return None


def _thin(points, keep):
    """At most about ``keep`` points (the objective is costly to evaluate at 200k
    rows): every k-th one, plus the last."""
    if len(points) <= keep:
        return points
    k = math.ceil(len(points) / keep)
    return points[::k] + ([points[-1]] if (len(points) - 1) % k else [])


def time_accuracy(name, problem, budget, repeats, has_torch, log, quick=False,
                  threads=1):
    X, y, cw = problem["X"], problem["y"], problem.get("class_weight")
    sw = sample_weights(y, cw)
    alpha, _ = _setting(problem)
    f = problem_objective(problem)

    # Provisional reference for stopping scikit-learn's refits early: the best skce
    # run so far (skce's competitors run first).
    f_ref = [math.inf]

    def target_ok(coef, intercept):
        return (f(coef, intercept) - f_ref[0]) / abs(f_ref[0]) <= 1e-7

    # Warm-up, untimed: the first fit on a problem pays one-time costs (lazy
    # imports, scipy.sparse's first transposed product, first touches of fresh
    # buffers) that would otherwise land on whichever competitor runs first (in one
    # run skce's default, which delegates to NewtonCG, took 5.3 s against 2.5 s for
    # the identical NewtonCG right after it).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SoftmaxRegressor(alpha=alpha, max_iter=2, tol=0.0).fit(X, y)
        LogisticRegression(C=1.0 / (alpha * sw.sum()), max_iter=2).fit(X, y)

    runs = {}
    for cname, family, runner in competitors(problem, budget, has_torch, quick,
                                             threads):
        reps = []
        for r in range(repeats):
            t = time.perf_counter()
            points, info = runner(target_ok)
            points = _thin(points, 60)
            values = [f(c, b) for _, c, b in points]
            if family == "skce":
                f_ref[0] = min(f_ref[0], min(values))
            reps.append({"times": [p[0] for p in points], "values": values,
                         "info": info})
            log(f"  {name:11s} {cname:32s} run {r + 1}: {len(points)} points, "
                f"best {min(values):.10g}, {time.perf_counter() - t:.1f}s")
        runs[cname] = {"family": family, "repeats": reps}
    f_star = min(min(rep["values"]) for r in runs.values() for rep in r["repeats"])
    for r in runs.values():
        per_eps = {}
        for eps in EPSILONS:
            ts = []
            for rep in r["repeats"]:
                sub = [(v - f_star) / abs(f_star) for v in rep["values"]]
                rep["subopt"] = sub
                ts.append(time_to(rep["times"], sub, eps))
            ok = [t for t in ts if t is not None]
            per_eps[str(eps)] = float(np.median(ok)) if len(ok) == len(ts) else None
        r["time_to"] = per_eps
        r["best_subopt"] = min(min(rep["subopt"]) for rep in r["repeats"])
    return {"f_star": f_star, "runs": runs}


# ------------------------------------------ peers' objectives, threads, first fits
def problem_objective(problem):
    """The benchmark's objective of a problem as a function of (coef, intercept)."""
    X, y = problem["X"], problem["y"]
    sw = sample_weights(y, problem.get("class_weight"))
    alpha, l1_ratio = _setting(problem)
    K = len(np.unique(y))

    def f(coef, intercept):
        coef = np.asarray(coef)
        if K > 2 and coef.shape[0] == 1:
            raise ValueError("binary coefficients on a multiclass problem")
        return penalized_objective(coef, intercept, X, y, sw, alpha, l1_ratio)

    return f


def verify_mapping(problem, rows=1000, budget=5.0):
    """Each solver's converged value on the problem's first ``rows`` rows against
    the best of them, relative: the check that every peer's regularization was
    mapped onto the same objective (the timed runs stop the peers' refits once
    within 1e-7, too early to show it). The peers that are refitted (glum, cyanure,
    snapml) against skce's default; PyTorch and jax run to convergence in the timed
    runs already, and scikit-learn's C = 1 / (alpha sum_i s_i) is its documented
    objective."""
    sub = dict(problem, X=problem["X"][:rows], y=problem["y"][:rows])
    f = problem_objective(sub)
    values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cname, family, runner in competitors(sub, budget, False, quick=True):
            if not cname.startswith(("skce default", "glum", "cyanure", "snapml")):
                continue
            points, info = runner(lambda coef, intercept: False)
            values[cname] = (min(f(c, b) for _, c, b in _thin(points, 30)), family)
    best = min(v for v, _ in values.values())
    return {"rows": rows, "f_star": best,
            "gap": {k: (v - best) / abs(best) for k, (v, _) in values.items()},
            "family": {k: fam for k, (_, fam) in values.items()}}


def thread_speedup(problem, f_star, budget, repeats, threads=(1, 2)):
    """skce default's time to 1e-6 at 1 and at 2 BLAS/OpenMP threads, run in
    alternation (1, 2, 1, 2, ...) so that both see the same machine load; medians."""
    f = problem_objective(problem)
    times = {t: [] for t in threads}
    walls = {t: [] for t in threads}
    for _ in range(repeats):
        for t in threads:
            with threadpool_limits(t):
                points, _ = run_skce(problem, None, budget)
            pts = _thin(points, 60)
            sub = [(f(c, b) - f_star) / abs(f_star) for _, c, b in pts]
            times[t].append(time_to([p[0] for p in pts], sub, 1e-6))
            walls[t].append(points[-1][0])
    out = {}
    for t in threads:
        ok = [x for x in times[t] if x is not None]
        out[str(t)] = {"to_1e-6": float(np.median(ok)) if ok else None,
                       "fit_s": float(np.median(walls[t]))}
    t1, t2 = out[str(threads[0])]["to_1e-6"], out[str(threads[1])]["to_1e-6"]
    out["speedup"] = t1 / t2 if t1 and t2 else None
    out["slower"] = bool(t1 and t2 and t2 > t1)
    return out


def first_impression(repeats):
    """Default settings on the bundled data sets (standardized): SoftmaxRegressor()
    against LogisticRegression(), fit time (median) and the relative gap to the
    optimum of each one's own objective (C = 1 / (alpha n); f* from newton-cg at
    tol 1e-10, or the estimator's own value if lower)."""
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    out = {}
    for name, load in (("iris", load_iris), ("wine", load_wine),
                       ("breast_cancer", load_breast_cancer),
                       ("digits", load_digits)):
        X, y = load(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        n, d = X.shape
        sw = np.ones(n)
        row = {"note": f"{n} x {d}, {len(np.unique(y))} classes, standardized",
               "runs": {}}
        for label, make, alpha in (
                ("skce SoftmaxRegressor()", SoftmaxRegressor, SoftmaxRegressor().alpha),
                ("sklearn LogisticRegression()", LogisticRegression,
                 1.0 / (LogisticRegression().C * n))):
            ts = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make().fit(X, y)  # warm-up
                for _ in range(repeats):
                    clf = make()
                    t = time.perf_counter()
                    clf.fit(X, y)
                    ts.append(time.perf_counter() - t)
                ref = LogisticRegression(C=1.0 / (alpha * n), solver="newton-cg",
                                         tol=1e-10, max_iter=10_000).fit(X, y)
            value = objective(clf.coef_, clf.intercept_, X, y, sw, alpha)
            f_star = min(value, objective(ref.coef_, ref.intercept_, X, y, sw, alpha))
            row["runs"][label] = {"fit_s": float(np.median(ts)), "alpha": alpha,
                                  "gap": (value - f_star) / abs(f_star),
                                  "n_iter": int(np.max(clf.n_iter_))}
        r = row["runs"]
        row["ratio"] = (r["skce SoftmaxRegressor()"]["fit_s"]
                        / r["sklearn LogisticRegression()"]["fit_s"])
        out[name] = row
    return out


def peer_versions():
    """Installed version of every optional peer (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("glum", "cyanure", "snapml", "jax", "jaxlib", "optax", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# ------------------------------------------------------------- micro measures
def _median_time(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def eval_vs_floor(problem, repeats):
    """Median time of one value_grad against the two bare products."""
    X, y = problem["X"], problem["y"]
    K = len(np.unique(y))
    dtype = X.dtype
    n, d = X.shape
    loss = SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)
    k = loss.n_outputs
    obj = Objective(X, HardTargets(y.astype(np.intp), K), np.ones(n, dtype), loss,
                    alpha=ALPHA)
    rng = np.random.default_rng(0)
    params = (0.01 * rng.standard_normal(obj.shape)).astype(dtype)
    W = np.ascontiguousarray(params[:d])
    G = (0.01 * rng.standard_normal((n, k))).astype(dtype)

    def floor():
        X @ W
        X.T @ G

    t_floor = _median_time(floor, repeats)
    t_eval = _median_time(lambda: obj.value_grad(params), repeats)
    return {"floor_s": t_floor, "value_grad_s": t_eval, "ratio": t_eval / t_floor}


def adam_epoch(problem, epochs, threads):
    """Seconds per epoch (median), batch 256, Adam: skce and PyTorch."""
    X, y = problem["X"], problem["y"]
    times = []

    def record(rec):
        times.append(time.perf_counter())

    clf = SoftmaxRegressor(solver=Adam(learning_rate=1e-3, batch_size=256),
                           alpha=ALPHA, max_iter=epochs + 1, tol=0.0,
                           n_iter_no_change=epochs + 10, callbacks=[record],
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    out = {"skce_s": float(np.median(np.diff(times)))}
    if torch is None or sp.issparse(X):
        return out
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    K = len(np.unique(y))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    model = torch.nn.Linear(X.shape[1], K, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n = X.shape[0]
    ts = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, 256):
            idx = perm[start:start + 256]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(Xt[idx]), yt[idx]) + \
                0.5 * ALPHA * (model.weight ** 2).sum()
            loss.backward()
            opt.step()
        ts.append(time.perf_counter() - t)
    out["torch_s"] = float(np.median(ts[1:]))
    out["ratio"] = out["skce_s"] / out["torch_s"]
    return out


def peak_memory(problem):
    """Extra memory (tracemalloc peak) of a short fit, against the size of X."""
    X, y, cw = problem["X"], problem["y"], problem.get("class_weight")
    K = len(np.unique(y))
    n = X.shape[0]
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) \
        else X.nbytes
    nk = n * (1 if K == 2 else K) * X.dtype.itemsize
    out = {"X_MB": x_bytes / 2**20, "nK_MB": nk / 2**20}
    fits = {"skce default": lambda: SoftmaxRegressor(alpha=ALPHA, max_iter=5,
                                                     class_weight=cw),
            "skce newton-cg": lambda: SoftmaxRegressor(solver="newton-cg",
                                                       alpha=ALPHA, max_iter=3,
                                                       class_weight=cw),
            "sklearn lbfgs": lambda: LogisticRegression(C=1 / (ALPHA * n), max_iter=5,
                                                        class_weight=cw)}
    for name, make in fits.items():
        clf = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tracemalloc.start()
            clf.fit(X, y)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        out[name] = {"peak_MB": peak / 2**20, "peak_over_X": peak / x_bytes,
                     "peak_in_nK": peak / nk, "coef_dtype": str(clf.coef_.dtype)}
    return out


# ------------------------------------------------------------------- reporting
def machine_info(threads):
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    blas = [{"library": i.get("internal_api"), "prefix": i.get("prefix"),
             "num_threads": i.get("num_threads"), "version": i.get("version"),
             "filepath": os.path.basename(i.get("filepath", ""))}
            for i in threadpool_info()]
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(), "memory_GB": mem,
        "platform": platform.platform(), "python": platform.python_version(),
        "numpy": np.__version__, "scipy": scipy.__version__,
        "sklearn": sklearn.__version__, "skce": skce.__version__
        if hasattr(skce, "__version__") else "dev",
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "thread_limit": threads, "blas": blas,
        "load_average_start": os.getloadavg(),
    }


def _fmt_t(t, budget):
    return f"> {budget:g}" if t is None else (f"{t:.3g}" if t < 10 else f"{t:.1f}")


def write_report(results, out_dir, quick, budget):
    m = results["machine"]
    lines = ["# skce benchmark results", ""]
    lines += [f"Mode: {'quick' if quick else 'full'}; alpha = {ALPHA:g} "
              f"(C = 1 / (alpha * sum_i s_i)); per-solver time budget {budget:g} s; "
              f"{results['repeats']} run(s) per solver for time to accuracy, "
              f"medians over {results['micro_repeats']} repeats for the evaluation "
              f"timings. Total wall time {results['wall_s']:.0f} s.", ""]
    lines += ["## Machine", ""]
    lines += [f"- CPU: {m['cpu']}, {m['logical_cores']} logical cores, "
              f"{m['memory_GB']:.0f} GB" if m["memory_GB"] else f"- CPU: {m['cpu']}"]
    lines += [f"- {m['platform']}, Python {m['python']}, numpy {m['numpy']}, scipy "
              f"{m['scipy']}, scikit-learn {m['sklearn']}, torch {m['torch']} "
              f"({m['torch_threads']} threads)"]
    if m.get("peers"):
        lines += ["- Peers: " + ", ".join(f"{k} {v or 'not installed'}"
                                         for k, v in m["peers"].items())]
    blas = "; ".join(f"{b['filepath']} ({b['library']} {b['version']}, "
                     f"{b['num_threads']} threads)" for b in m["blas"])
    lines += [f"- Thread pools: {blas}"]
    lim = m["thread_limit"]
    lines += [f"- Thread limit for the run: {lim or 'none (library defaults)'}"]
    start = tuple(round(x, 2) for x in m["load_average_start"])
    end = tuple(round(x, 2) for x in results["load_average_end"])
    lines += [f"- Load average at start {start}, at end {end}", ""]

    lines += ["## Time to accuracy (seconds)", "",
              "Relative suboptimality (f - f*) / |f*| with f evaluated in float64 by "
              "the benchmark's own function; f* the best value any solver reached. "
              "`> B` = not reached within the budget B. SGDClassifier is one-vs-rest: "
              "it minimizes another objective, so only its best suboptimality is "
              "meaningful.", ""]
    lines += ["| problem | solver | to 1e-4 | to 1e-6 | best subopt. | iters |",
              "|---|---|---|---|---|---|"]
    for pname, res in results["time"].items():
        for cname, r in res["runs"].items():
            info = r["repeats"][-1]["info"]
            lines.append(
                f"| {pname} | {cname} | {_fmt_t(r['time_to']['0.0001'], budget)} | "
                f"{_fmt_t(r['time_to']['1e-06'], budget)} | {r['best_subopt']:.1e} | "
                f"{info.get('n_iter', '')} |")
    lines += ["", "### skce default against the fastest scikit-learn "
              "LogisticRegression solver (time to 1e-6)", "",
              "| problem | skce default | fastest sklearn | time | ratio |",
              "|---|---|---|---|---|"]
    for pname, res in results["time"].items():
        row = _target_ratio(res)
        if row:
            lines.append(f"| {pname} | {_fmt_t(row[0], budget)} | {row[1]} | "
                         f"{_fmt_t(row[2], budget)} | {row[3]} |")
    lines += ["", "### skce default against the fastest peer of the same objective "
              "(scikit-learn, glum, cyanure, jax, PyTorch; time to 1e-6; target "
              "ratio <= 0.5)", "",
              "| problem | skce default | fastest peer | time | ratio | target |",
              "|---|---|---|---|---|---|"]
    for pname, res in results["time"].items():
        row = _target_ratio(res, ("sklearn", "peer"))
        if row:
            met = "-" if row[3] == "-" else ("met" if float(row[3]) <= 0.5
                                             else "missed")
            lines.append(f"| {pname} | {_fmt_t(row[0], budget)} | {row[1]} | "
                         f"{_fmt_t(row[2], budget)} | {row[3]} | {met} |")
    if results.get("mapping"):
        lines += ["", "### Regularization mapping check", "",
                  "Each refitted peer run to convergence on the problem's first "
                  "rows, its value of the benchmark's objective against the best "
                  "(relative): the same objective reads ~1e-10 or less.", "",
                  "| problem | rows | solver | (f - best) / best |",
                  "|---|---|---|---|"]
        for pname, m in results["mapping"].items():
            for k, g in m["gap"].items():
                lines.append(f"| {pname} | {m['rows']} | {k} | {g:.1e} |")
    if results.get("threads"):
        lines += ["", "## Threads: skce default at 1 and 2 BLAS/OpenMP threads", "",
                  "Time to 1e-6 (wall seconds), the two thread counts run in "
                  "alternation; speed-up = 1 thread / 2 threads.", "",
                  "| problem | 1 thread | 2 threads | speed-up | 2 threads slower? |",
                  "|---|---|---|---|---|"]
        for pname, r in results["threads"].items():
            sp_ = r["speedup"]
            lines.append(f"| {pname} | {_fmt_t(r['1']['to_1e-6'], budget)} | "
                         f"{_fmt_t(r['2']['to_1e-6'], budget)} | "
                         f"{'-' if sp_ is None else f'{sp_:.2f}'} | "
                         f"{'SLOWER' if r['slower'] else 'no'} |")
    if results.get("saga"):
        lines += ["", "## skce saga beside scikit-learn's saga and sag", "",
                  "| problem | solver | to 1e-6 | best subopt. | epochs |",
                  "|---|---|---|---|---|"]
        for pname, row in results["saga"].items():
            for label, r in row["runs"].items():
                lines.append(f"| {pname} | {label} | {_fmt_t(r['to_1e-6'], budget)} "
                             f"| {r['best_subopt']:.1e} | {r['info'].get('n_iter')} |")
    if results.get("first_impression"):
        lines += ["", "## First impression: default settings, bundled data sets", "",
                  "Fit time (median) and the relative gap to the optimum of each "
                  "estimator's own objective (alpha = 1 / (C n) for "
                  "LogisticRegression's C = 1).", "",
                  "| data set | estimator | alpha | fit (s) | gap | iters |",
                  "|---|---|---|---|---|---|"]
        for dname, row in results["first_impression"].items():
            for label, r in row["runs"].items():
                lines.append(f"| {dname} ({row['note']}) | {label} | {r['alpha']:.3g} "
                             f"| {r['fit_s']:.4f} | {r['gap']:.1e} | {r['n_iter']} |")
    lines += ["", "## One loss-and-gradient evaluation against the two-product floor",
              "", "| problem | X @ W + X.T @ G (ms) | value_grad (ms) | ratio |",
              "|---|---|---|---|"]
    for pname, r in results["eval"].items():
        lines.append(f"| {pname} | {r['floor_s'] * 1e3:.1f} | "
                     f"{r['value_grad_s'] * 1e3:.1f} | {r['ratio']:.2f} |")
    lines += ["", "## One mini-batch epoch (batch 256, Adam)", "",
              "| problem | skce (s) | PyTorch (s) | ratio |", "|---|---|---|---|"]
    for pname, r in results["epoch"].items():
        lines.append(f"| {pname} | {r['skce_s']:.3f} | "
                     f"{r.get('torch_s', float('nan')):.3f} | "
                     f"{r.get('ratio', float('nan')):.2f} |")
    lines += ["", "## Peak memory of fit (tracemalloc, beyond X)", "",
              "| problem | X (MB) | one n x K array (MB) | fit | peak (MB) | "
              "peak / X | peak in n x K arrays | coef_ dtype |",
              "|---|---|---|---|---|---|---|---|"]
    for pname, r in results["memory"].items():
        for fit, v in r.items():
            if not isinstance(v, dict):
                continue
            lines.append(f"| {pname} | {r['X_MB']:.1f} | {r['nK_MB']:.1f} | {fit} | "
                         f"{v['peak_MB']:.1f} | {v['peak_over_X']:.2f} | "
                         f"{v['peak_in_nK']:.1f} | {v['coef_dtype']} |")
    lines += ["", "## Method", "", __doc__.split("Method (also written into the "
                                                  "results file):")[1].strip(), ""]
    lines += ["## Problems", ""]
    lines += [f"- **{k}**: {v}" for k, v in results["problems"].items()]
    (out_dir / f"latest{_suffix(quick)}.md").write_text("\n".join(lines) + "\n")


def _target_ratio(res, families=("sklearn",)):
    """(skce default's time, fastest solver of ``families``, its time, ratio) to
    1e-6; families "sklearn" (LogisticRegression) or ("sklearn", "peer")."""
    runs = res["runs"]
    skce_default = next((r for k, r in runs.items() if k.startswith("skce default")),
                        None)
    lr = {k: r["time_to"]["1e-06"] for k, r in runs.items()
          if r.get("family", "sklearn" if k.startswith("sklearn") else "")
          in families and "SGD" not in k}
    if skce_default is None or not lr:
        return None
    reached = {k: t for k, t in lr.items() if t is not None}
    t_skce = skce_default["time_to"]["1e-06"]
    if not reached:
        return (t_skce, "none reached", None, "-")
    best = min(reached, key=reached.get)
    ratio = "-" if t_skce is None else f"{t_skce / reached[best]:.2f}"
    return (t_skce, best, reached[best], ratio)


def _suffix(quick):
    """File names of a quick run end in -quick (gitignored): a quick run never
    overwrites the full run the README is generated from."""
    return "-quick" if quick else ""


def plot(results, out_dir, quick=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["time"])
    # one colour per solver, the same in every panel
    solvers = list(dict.fromkeys(c for p in names for c in results["time"][p]["runs"]))
    cmap = plt.get_cmap("tab20")
    colour = {c: cmap(i % 20) for i, c in enumerate(solvers)}
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, pname in zip(axes.ravel(), names, strict=False):
        for cname, r in results["time"][pname]["runs"].items():
            rep = r["repeats"][0]
            sub = np.maximum(np.asarray(rep["subopt"]), 1e-12)
            style = {"skce": "-", "sklearn": "--", "peer": "-."}.get(r["family"], ":")
            times = np.maximum(np.asarray(rep["times"]), 1e-3)
            ax.semilogy(times, sub, style, marker=".", ms=3, label=cname,
                        color=colour[cname])
        for eps in EPSILONS:
            ax.axhline(eps, color="grey", lw=0.5)
        ax.set_title(pname)
        ax.set_xlabel("seconds")
        ax.set_ylabel("(f - f*) / |f*|")
        ax.set_xscale("log")
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out_dir / f"suboptimality{_suffix(quick)}.png", dpi=110)
    plt.close(fig)


# ------------------------------------------------ saga beside scikit-learn (issue 12)
def saga_problems(quick):
    """Name -> dict(X, y, alpha, l1_ratio, note): a dense, a sparse and an L1
    problem for :func:`saga_comparison`."""
    out = {}
    n = 5_000 if quick else 50_000
    X, y = make_classification(n_samples=n, n_features=100, n_informative=60,
                               n_classes=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    out["saga-dense"] = dict(X=X, y=y, alpha=ALPHA, l1_ratio=0.0,
                             note=f"make_classification({n} x 100, 10 classes), "
                             f"standardized, alpha={ALPHA:g}")
    ns, ds = (5_000, 5_000) if quick else (20_000, 50_000)
    X, y = _planted_sparse(ns, ds, 20 / ds, 5, seed=1)
    out["saga-sparse"] = dict(X=X, y=y, alpha=ALPHA, l1_ratio=0.0,
                              note=f"CSR {ns} x {ds}, 20 nnz a row, 5 classes, "
                              f"alpha={ALPHA:g}")
    X, y = load_digits(return_X_y=True)
    out["saga-l1"] = dict(X=StandardScaler().fit_transform(X), y=y, alpha=1e-3,
                          l1_ratio=1.0, note="load_digits standardized, L1 "
                          "(l1_ratio=1), alpha=1e-3")
    return out


def saga_objective(coef, intercept, X, y, alpha, l1_ratio):
    """:func:`objective` with the elastic-net penalty
    ``alpha (l1_ratio |W|_1 + (1 - l1_ratio) / 2 ||W||^2)``."""
    value = objective(coef, intercept, X, y, np.ones(y.shape[0]),
                      alpha * (1.0 - l1_ratio))
    return value + alpha * l1_ratio * float(np.abs(np.asarray(coef)).sum())


def saga_comparison(quick, budget, log):
    """Time to (f - f*) / |f*| <= 1e-6 of skce's saga, scikit-learn's saga and sag
    (sag: no L1) on :func:`saga_problems`. scikit-learn minimizes
    ``C sum_i CE_i + penalty(W)``, the same objective divided by ``C n`` when
    ``C = 1 / (alpha n)`` (and ``l1_ratio`` passed through); f* is the best value
    any of them or a tight newton-cg (ridge) or gd (L1) run reached."""
    results = {}
    for name, pb in saga_problems(quick).items():
        X, y, alpha, l1_ratio = pb["X"], pb["y"], pb["alpha"], pb["l1_ratio"]
        C = 1.0 / (alpha * X.shape[0])

        def f(coef, intercept, X=X, y=y, alpha=alpha, l1_ratio=l1_ratio):
            return saga_objective(coef, intercept, X, y, alpha, l1_ratio)

        def run_ours(ok, X=X, y=y, alpha=alpha, l1_ratio=l1_ratio):
            points, t0 = [], [0.0]

            def record(rec):
                # rec.coef is a view of the parameters saga updates in place: copy
                points.append((time.perf_counter() - t0[0],
                               *_skce_params_to_coef(np.array(rec.coef))))

            clf = SoftmaxRegressor(solver="saga", alpha=alpha, l1_ratio=l1_ratio,
                                   tol=1e-12, max_iter=100_000, max_time=budget,
                                   random_state=0, callbacks=[record])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0[0] = time.perf_counter()
                clf.fit(X, y)
            return points, {"n_iter": int(clf.n_iter_), "stop": clf.stop_reason_}

        runners = [("skce saga", run_ours)]
        for s in ("saga", "sag"):
            if s == "sag" and l1_ratio:
                continue

            def make(max_iter, s=s, C=C, l1_ratio=l1_ratio):
                return LogisticRegression(solver=s, C=C, l1_ratio=l1_ratio, tol=1e-10,
                                          max_iter=max_iter, random_state=0)

            runners.append((f"sklearn {s}", lambda ok, make=make, X=X, y=y:
                            run_sklearn(make, budget, X, y, ok)))
        f_ref = [math.inf]

        def target_ok(coef, intercept, f=f, f_ref=f_ref):
            return (f(coef, intercept) - f_ref[0]) / abs(f_ref[0]) <= 1e-7

        with warnings.catch_warnings():  # warm-up: first-touch costs, untimed
            warnings.simplefilter("ignore", ConvergenceWarning)
            SoftmaxRegressor(solver="saga", alpha=alpha, max_iter=1).fit(X, y)
        runs = {}
        for label, runner in runners:
            points, info = runner(target_ok)
            points = _thin(points, 60)
            values = [f(c, b) for _, c, b in points]
            f_ref[0] = min(f_ref[0], min(values))
            runs[label] = {"times": [p[0] for p in points], "values": values,
                           "info": info}
        # the optimum itself: a tight newton-cg (ridge) or gd (L1) run, untimed
        ref = SoftmaxRegressor(solver="gd" if l1_ratio else "newton-cg", alpha=alpha,
                               l1_ratio=l1_ratio, tol=1e-10, max_iter=100_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref.fit(X, y)
        f_tight = f(ref.coef_, ref.intercept_)
        f_star = min([f_tight] + [min(r["values"]) for r in runs.values()])
        log(f"  {name:11s} f* {f_star:.12g}; tight {ref.solver} run "
            f"{(f_tight - f_star) / abs(f_star):.1e} above it ({ref.stop_reason_})")
        row = {"note": pb["note"], "f_star": f_star, "f_tight": f_tight, "runs": {}}
        for label, r in runs.items():
            sub = [(v - f_star) / abs(f_star) for v in r["values"]]
            row["runs"][label] = {"to_1e-6": time_to(r["times"], sub, 1e-6),
                                  "best_subopt": min(sub), "info": r["info"]}
            t = row["runs"][label]["to_1e-6"]
            log(f"  {name:11s} {label:13s} to 1e-6: "
                f"{'> budget' if t is None else f'{t:.3f} s'}  best "
                f"{min(sub):.1e}  {r['info']}")
        results[name] = row
    return results


def write_saga_report(saga, out_dir, budget, quick=False):
    """``saga.md``: the table of :func:`saga_comparison`."""
    lines = ["# skce saga beside scikit-learn's saga and sag", "",
             "Time to a relative suboptimality of 1e-6 (seconds; f* the best value "
             "any solver or a tight newton-cg / gd run reached), same objective "
             "(C = 1 / (alpha n)).", "",
             "| problem | solver | to 1e-6 | best subopt. | epochs |",
             "|---|---|---|---|---|"]
    for name, row in saga.items():
        for label, r in row["runs"].items():
            t = r["to_1e-6"]
            lines.append(f"| {name} | {label} | {_fmt_t(t, budget)} | "
                         f"{r['best_subopt']:.1e} | {r['info'].get('n_iter')} |")
    lines += [""] + [f"- {name}: {row['note']}" for name, row in saga.items()]
    (out_dir / f"saga{_suffix(quick)}.md").write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small problems and budgets (about two minutes)")
    parser.add_argument("--threads", type=int, default=1,
                        help="limit every BLAS/OpenMP pool (and torch) to this many "
                             "threads (default 1: per-core comparisons, immune to "
                             "the thread contention of a shared machine); 0 leaves "
                             "the libraries' defaults")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per solver run (default 1 quick, 40 full)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per solver for time to accuracy (median)")
    parser.add_argument("--problems", default=None,
                        help="comma-separated subset of the problems")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--saga-only", action="store_true",
                        help="only the saga block (skce saga beside scikit-learn's "
                             "saga and sag); writes OUT/saga.md")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the mapping check, the 2-thread runs and the "
                             "first-impression table")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the plot and tables from OUT/latest.json")
    args = parser.parse_args(argv)
    budget = args.budget or (1.0 if args.quick else 40.0)
    micro_repeats = 5 if args.quick else 7
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replot:
        with open(out_dir / f"latest{_suffix(args.quick)}.json") as fh:
            results = json.load(fh)
        write_report(results, out_dir, args.quick, budget)
        plot(results, out_dir, args.quick)
        return
    has_torch = torch is not None
    if has_torch and args.threads:
        torch.set_num_threads(args.threads)
    limit = threadpool_limits(args.threads) if args.threads else nullcontext()
    start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - start:7.1f}s] {msg}", flush=True)

    for name, found in PEERS.items():
        if not found:
            log(f"note: {name} does not import; its runs are skipped "
                '(pip install ".[benchmarks]")')
    if not has_torch:
        log("note: torch does not import; the PyTorch baselines are skipped")
    if args.saga_only:
        with limit:
            write_saga_report(saga_comparison(args.quick, budget, log), out_dir,
                              budget, args.quick)
        log(f"wrote {out_dir / f'saga{_suffix(args.quick)}.md'}")
        return
    with limit:
        results = {"machine": machine_info(args.threads), "quick": args.quick,
                   "repeats": args.repeats,
                   "micro_repeats": micro_repeats, "time": {}, "eval": {},
                   "epoch": {}, "memory": {}, "problems": {}, "mapping": {},
                   "threads": {}}
        results["machine"]["peers"] = peer_versions()
        problems = make_problems(args.quick)
        if args.problems:
            problems = {k: v for k, v in problems.items()
                        if k in args.problems.split(",")}
        for name, problem in problems.items():
            results["problems"][name] = problem["note"]
            log(f"{name}: {problem['note']}")
            if name in ("dense-f64", "dense-f32", "binary", "sparse"):
                results["eval"][name] = eval_vs_floor(problem, micro_repeats)
                log(f"  eval/floor {results['eval'][name]['ratio']:.2f}")
            if name in ("dense-f64", "dense-f32"):
                results["epoch"][name] = adam_epoch(problem, 3 if args.quick else 3,
                                                    args.threads)
                log(f"  adam epoch {results['epoch'][name]}")
            results["memory"][name] = peak_memory(problem)
            results["time"][name] = time_accuracy(name, problem, budget, args.repeats,
                                                  has_torch, log, args.quick,
                                                  args.threads)
            if args.no_extras:
                continue
            # the quick run checks the mapping on the binary problem only (glum,
            # snapml, cyanure) and times the threads on dense-f64 only
            if not args.quick or name == "binary":
                results["mapping"][name] = verify_mapping(
                    problem, budget=3.0 if args.quick else 30.0)
                log(f"  mapping on {results['mapping'][name]['rows']} rows: "
                    f"{results['mapping'][name]['gap']}")
            if not args.quick or name == "dense-f64":
                results["threads"][name] = thread_speedup(
                    problem, results["time"][name]["f_star"], 2 * budget,
                    args.repeats)
                log(f"  threads {results['threads'][name]}")
        results["saga"] = saga_comparison(args.quick, budget, log)
        write_saga_report(results["saga"], out_dir, budget, args.quick)
        if not args.no_extras:
            results["first_impression"] = first_impression(3 if args.quick else 11)
            log(f"first impression {results['first_impression']}")
    results["wall_s"] = time.perf_counter() - start
    results["load_average_end"] = os.getloadavg()
    with open(out_dir / f"latest{_suffix(args.quick)}.json", "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    write_report(results, out_dir, args.quick, budget)
    plot(results, out_dir, args.quick)
    log(f"wrote {out_dir / f'latest{_suffix(args.quick)}.md'}")


# ------------------------------------------------------------- issue 13: CV
def cv_benchmark(argv=None):
    """Time SoftmaxRegressorCV(alphas=20, cv=5) against LogisticRegressionCV(Cs=20,
    cv=5) with its fastest solver (each solver in ``--lrcv-solvers`` timed) and
    against GridSearchCV(SoftmaxRegressor) on SoftmaxRegressorCV's grid and folds.

    ``python benchmarks/run.py cv [--n 200000] [--threads 1] [--problems digits
    dense]``; prints one row per problem with the ratios (skce /
    LogisticRegressionCV, skce / GridSearchCV) and writes them, with the machine,
    to ``benchmarks/results/cv.json`` (``--out``). Every estimator runs at its
    default tolerance. newton-cholesky is timed on digits only by default: on
    the dense problem its (1010 x 1010) Hessian per iteration costs
    n * 1010^2 flops, hours for 100 fits.
    """

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from skce import SoftmaxRegressor, SoftmaxRegressorCV

    parser = argparse.ArgumentParser(description="CV timings (issue 13)")
    parser.add_argument("--n", type=int, default=200_000,
                        help="rows of the dense 100-feature problem")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--problems", nargs="+", default=["digits", "dense"],
                        choices=["digits", "dense"])
    parser.add_argument("--lrcv-solvers", nargs="+", default=None,
                        help="LogisticRegressionCV solvers to time (default: "
                             "lbfgs and newton-cholesky on digits, lbfgs on "
                             "the dense problem)")
    parser.add_argument("--out", type=Path, default=RESULTS / "cv.json")
    args = parser.parse_args(argv)
    problems = {}
    if "digits" in args.problems:
        X, y = load_digits(return_X_y=True)
        problems["digits (standardized)"] = (StandardScaler().fit_transform(X), y,
                                             ["lbfgs", "newton-cholesky"])
    if "dense" in args.problems:
        X, y = make_classification(n_samples=args.n, n_features=100,
                                   n_informative=60, n_classes=10, random_state=0)
        problems[f"dense {args.n} x 100, 10 classes"] = (X, y, ["lbfgs"])

    def timed(est, X, y):
        start = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - start, est

    n_folds, n_alphas = 5, 20
    rows = []
    machine = machine_info(args.threads)  # the load average before the runs
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (X, y, solvers) in problems.items():
            solvers = args.lrcv_solvers or solvers
            cv = StratifiedKFold(n_folds)
            t_ours, ours = timed(SoftmaxRegressorCV(alphas=n_alphas, cv=cv), X, y)
            t_ref = {}
            for solver in solvers:
                t_ref[solver], _ = timed(LogisticRegressionCV(
                    Cs=n_alphas, cv=cv, solver=solver, scoring="neg_log_loss",
                    l1_ratios=(0.0,), use_legacy_attributes=False), X, y)
            fastest = min(t_ref, key=t_ref.get)
            t_grid, _ = timed(GridSearchCV(
                SoftmaxRegressor(), {"alpha": list(ours.alphas_)}, cv=cv,
                scoring="neg_log_loss"), X, y)
            row = {"name": name, "n_samples": int(X.shape[0]),
                   "n_features": int(X.shape[1]), "n_classes": int(len(set(y))),
                   "skce_s": t_ours, "skce_refit_solver": repr(ours.solver_),
                   "skce_path_iterations": int(ours.n_iter_.sum()),
                   "lrcv_solver": fastest, "lrcv_s": t_ref[fastest],
                   "lrcv_s_by_solver": t_ref, "grid_s": t_grid,
                   "ratio_lrcv": t_ours / t_ref[fastest],
                   "ratio_grid": t_ours / t_grid,
                   "n_folds": n_folds, "n_alphas": n_alphas}
            rows.append(row)
            others = ", ".join(f"{k} {v:.2f}" for k, v in t_ref.items())
            print(f"{name}: SoftmaxRegressorCV {t_ours:.2f} s; LogisticRegressionCV "
                  f"({fastest}) {t_ref[fastest]:.2f} s ({others}); "
                  f"GridSearchCV(SoftmaxRegressor) {t_grid:.2f} s; ratios "
                  f"{row['ratio_lrcv']:.2f}x LogisticRegressionCV, "
                  f"{row['ratio_grid']:.2f}x GridSearchCV", flush=True)
            # written after each problem: a long run stopped later keeps these
            result = {"machine": {**machine,
                                  "load_average_now": os.getloadavg()},
                      "method": "one fit of each estimator at its default "
                                "tolerance, side by side in one process; "
                                "StratifiedKFold(5); LogisticRegressionCV(Cs=20, "
                                "scoring='neg_log_loss') with its fastest solver; "
                                "GridSearchCV on SoftmaxRegressorCV's grid",
                      "problems": rows}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["cv"]:
        cv_benchmark(sys.argv[2:])
    else:
        main()
