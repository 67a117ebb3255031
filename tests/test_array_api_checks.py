"""scikit-learn's own array API estimator checks, for both estimators.

scikit-learn runs them only when SCIPY_ARRAY_API=1 is set before scipy is imported,
which would change scipy for the whole test session; they run here in a child
process that sets it. Each check (same-namespace inputs on numpy, array-api-strict
and torch, float32 and float64; mixed namespaces of X and y/sample_weight; predict
refusing another namespace) must pass or be skipped by scikit-learn itself (a
namespace or device that is not installed).
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("array_api_strict")

SCRIPT = textwrap.dedent("""
    import warnings
    from sklearn.exceptions import ConvergenceWarning, SkipTestWarning
    from sklearn.utils.estimator_checks import (
        _yield_array_api_checks, check_array_api_same_namespace)
    from skce import SoftmaxRegressor, WeightedCEClassifier

    warnings.simplefilter("ignore", ConvergenceWarning)
    ran = skipped = 0
    for est in (SoftmaxRegressor(), WeightedCEClassifier(focal_gamma=1.0),
                SoftmaxRegressor(solver="adam", random_state=0, max_iter=20)):
        name = type(est).__name__
        checks = list(_yield_array_api_checks(est))
        checks.append(lambda n, e: check_array_api_same_namespace(
            n, e, array_namespace="array_api_strict"))
        for check in checks:
            try:
                check(name, est)
                ran += 1
            except Exception as exc:  # SkipTest: namespace/device not installed
                if type(exc).__name__ != "SkipTest":
                    raise
                skipped += 1
    print(f"ran {ran} skipped {skipped}")
""")


def test_sklearn_array_api_checks_pass():
    env = dict(os.environ, SCIPY_ARRAY_API="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True,
                            text=True, env=env, timeout=600,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    ran = int(result.stdout.split("ran ")[1].split()[0])
    assert ran >= 9, result.stdout  # numpy + array-api-strict at least, x 3
