"""Warnings point at the user's line, whatever the fit path's depth inside skce."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skce import SoftmaxRegressor, WeightedCEClassifier

X, y = load_iris(return_X_y=True)


@pytest.mark.parametrize("Estimator", [SoftmaxRegressor, WeightedCEClassifier])
def test_convergence_warning_points_at_the_caller(Estimator):
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        Estimator(max_iter=1).fit(X, y)
    assert record[0].filename == __file__


@pytest.mark.parametrize("Estimator", [SoftmaxRegressor, WeightedCEClassifier])
def test_separation_warning_points_at_the_caller(Estimator):
    Xs = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    ys = np.array([0, 0, 1, 1])
    with pytest.warns(ConvergenceWarning, match="perfectly separable") as record:
        Estimator(alpha=0.0, max_iter=50).fit(Xs, ys)
    assert all(r.filename == __file__ for r in record)
