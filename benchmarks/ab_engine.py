"""A/B timing of two skce trees side by side in one process, at one BLAS thread.

Usage: python benchmarks/ab_engine.py OLD_PARENT_DIR
where OLD_PARENT_DIR holds the old package renamed ``skce_old`` (e.g. from
``git archive <rev> skce | tar -x``, then ``mv skce skce_old``). Prints the
minimum over interleaved repeats of: one objective value-and-gradient on the
dense 200k x 100 problems (10 classes f64/f32, binary), one focal-loss evaluation,
and default fits on standardized digits and on the dense 200k x 100 problem.
"""

import importlib
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def objective(pkg, X, y, K, focal=0.0):
    loss_mod = importlib.import_module(pkg + "._loss")
    obj_mod = importlib.import_module(pkg + "._objective")
    if focal:
        focal_mod = importlib.import_module(pkg + "._focal")
        loss = focal_mod.SoftmaxFocalLoss(K, focal) if K > 2 else \
            focal_mod.SigmoidFocalLoss(focal)
    else:
        loss = loss_mod.SoftmaxCrossEntropy(K) if K > 2 else \
            loss_mod.SigmoidCrossEntropy()
    return obj_mod.Objective(X, loss_mod.HardTargets(y, K), np.ones(len(y), X.dtype),
                             loss, alpha=1e-4)


def main(old_parent):
    sys.path.insert(0, old_parent)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    rows = []
    X, y = make_classification(200_000, 100, n_informative=50, n_classes=10,
                               random_state=0)
    Xb, yb = make_classification(200_000, 100, n_informative=50, random_state=0)
    cases = [("value_grad dense f64, K=10", X, y, 10, 0.0),
             ("value_grad dense f32, K=10", X.astype(np.float32), y, 10, 0.0),
             ("value_grad binary f64", Xb, yb, 2, 0.0),
             ("value_grad focal f64, K=10, 50k rows", X[:50_000], y[:50_000], 10,
              2.0)]
    with threadpool_limits(1):
        for name, A, b, K, focal in cases:
            objs = {pkg: objective(pkg, A, b, K, focal) for pkg in ("skce_old", "skce")}
            params = np.zeros(objs["skce"].shape, dtype=A.dtype)
            t = {pkg: [] for pkg in objs}
            for _ in range(5):  # interleaved
                for pkg, obj in objs.items():
                    t[pkg].append(best(lambda o=obj, w=params: o.value_grad(w), 1))
            rows.append((name, min(t["skce_old"]), min(t["skce"])))
        Xd, yd = load_digits(return_X_y=True)
        Xd = StandardScaler().fit_transform(Xd)
        for name, A, b, reps in [("default fit digits", Xd, yd, 7),
                                 ("default fit dense f64 200k x 100", X, y, 2)]:
            t = {"skce_old": [], "skce": []}
            for _ in range(reps):
                for pkg in t:
                    est = importlib.import_module(pkg).SoftmaxRegressor()
                    t[pkg].append(best(lambda e=est, A=A, b=b: e.fit(A, b), 1))
            rows.append((name, min(t["skce_old"]), min(t["skce"])))
    print(f"{'case':40s} {'old s':>9s} {'new s':>9s} {'new/old':>8s}")
    for name, old, new in rows:
        print(f"{name:40s} {old:9.4f} {new:9.4f} {new / old:8.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
