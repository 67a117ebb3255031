"""scikit-learn's estimator checks over SoftmaxRegressor with each solver family."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skce import SoftmaxRegressor, SoftmaxRegressorCV, WeightedCEClassifierCV

ESTIMATORS = [
    SoftmaxRegressor(),
    SoftmaxRegressor(solver="newton-cg"),
    SoftmaxRegressor(solver="gd"),
    # 100 epochs, not the default budget of 20,000 updates (2,000 epochs on the
    # checks' 100-row data sets): five of the checks took 13-23 s each
    SoftmaxRegressor(solver="adam", random_state=0, max_iter=100),
    # one alpha, two folds: each check fit is still folds, scoring and a refit
    # (the warm-started path itself is tested in tests/test_cv.py)
    SoftmaxRegressorCV(alphas=1, cv=2),
    WeightedCEClassifierCV(alphas=1, cv=2),
]


def expected_failed_checks(estimator):
    """{check name: reason} for the checks that truly fail: none. (newton-cg's
    sample-weight equivalence checks pass since its final exact Newton step.)"""
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
