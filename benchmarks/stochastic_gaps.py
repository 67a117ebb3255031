"""Relative objective gap of every stochastic solver at its defaults (issue 12).

Run from the repository root::

    python benchmarks/stochastic_gaps.py            # the whole table (about 2 min)
    python benchmarks/stochastic_gaps.py sgd adam   # some solvers only

Writes (merges, per solver) ``benchmarks/results/stochastic_gaps.json``, which the
docs' solver page renders as its table; ``--no-write`` only prints.

For each solver, data set (iris, wine, breast_cancer, digits, standardized) and
``alpha`` in (1e-3, 1e-4): ``(f - f*) / |f*|`` with f the training objective at the
fitted coefficients and f* newton-cg's at ``tol=1e-10`` (same objective, computed
independently here with scipy's logsumexp). Prints a markdown table and the worst
gap; issue 12 asks for at most 2e-3 everywhere.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skce import SoftmaxRegressor  # noqa: E402

SOLVERS = ("sgd", "minibatch", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
           "saga")
DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}
ALPHAS = (1e-3, 1e-4)
BOUND = 2e-3


def data(name):
    X, y = DATASETS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


def objective(clf, X, y):
    """Mean cross-entropy plus alpha/2 ||coef||^2 (softmax; sigmoid for 2 classes,
    skce's binary parametrization), independent of skce."""
    Z = X @ clf.coef_.T + clf.intercept_
    codes = np.searchsorted(clf.classes_, y)
    if Z.shape[1] == 1:
        z = Z[:, 0]
        ce = np.logaddexp(0.0, z) - codes * z
    else:
        ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), codes]
    return float(ce.mean() + 0.5 * clf.alpha * np.sum(clf.coef_**2))


def gap_table(solvers=SOLVERS, datasets=tuple(DATASETS), alphas=ALPHAS, seed=0):
    """{(solver, dataset, alpha): (gap, seconds, stop_reason_, warned)}."""
    out = {}
    for ds in datasets:
        X, y = data(ds)
        for alpha in alphas:
            ref = SoftmaxRegressor(solver="newton-cg", alpha=alpha, tol=1e-10,
                                   max_iter=1000).fit(X, y)
            f_star = objective(ref, X, y)
            for name in solvers:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    t = time.perf_counter()
                    clf = SoftmaxRegressor(solver=name, alpha=alpha,
                                           random_state=seed).fit(X, y)
                    t = time.perf_counter() - t
                warned = any(issubclass(w.category, ConvergenceWarning)
                             for w in caught)
                gap = (objective(clf, X, y) - f_star) / abs(f_star)
                out[name, ds, alpha] = (gap, t, clf.stop_reason_, warned)
    return out


RESULTS = Path(__file__).resolve().parent / "results" / "stochastic_gaps.json"


def write_json(table, path=RESULTS):
    """Merge ``table`` into results/stochastic_gaps.json (rows of other solvers
    kept), which the docs' solver page renders; returns the merged rows."""
    import json
    import platform

    import sklearn

    rows = {}
    if path.exists():
        rows = {(r["solver"], r["dataset"], r["alpha"]): r
                for r in json.loads(path.read_text())["rows"]}
    for (name, ds, alpha), (gap, t, reason, warned) in table.items():
        rows[name, ds, alpha] = {"solver": name, "dataset": ds, "alpha": alpha,
                                 "gap": gap, "seconds": t, "stop_reason": reason,
                                 "warned": warned}
    order = {n: i for i, n in enumerate(SOLVERS)}
    merged = sorted(rows.values(), key=lambda r: (
        order.get(r["solver"], len(order)), r["solver"],
        list(DATASETS).index(r["dataset"]), -r["alpha"]))
    path.write_text(json.dumps({
        "bound": BOUND,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "scikit-learn": sklearn.__version__},
        "rows": merged}, indent=1) + "\n")
    return merged


def main(argv):
    write = "--no-write" not in argv
    solvers = tuple(a for a in argv if not a.startswith("--")) or SOLVERS
    table = gap_table(solvers)
    if write:
        write_json(table)
    cols = [(ds, a) for ds in DATASETS for a in ALPHAS]
    print("| solver | " + " | ".join(f"{ds} {a:g}" for ds, a in cols) + " | seconds |")
    print("|---" * (len(cols) + 2) + "|")
    worst = 0.0
    for name in solvers:
        cells, secs = [], 0.0
        for ds, a in cols:
            gap, t, _, warned = table[name, ds, a]
            worst = max(worst, gap)
            cells.append(f"{gap:.1e}" + ("*" if gap > BOUND else "")
                         + (" w" if warned else ""))
            secs += t
        print(f"| {name} | " + " | ".join(cells) + f" | {secs:.1f} |")
    print(f"\nworst gap {worst:.2e} (bound {BOUND:g}; * above it, w: "
          "ConvergenceWarning)")
    if write:
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
