"""scikit-learn's estimator checks over SoftmaxRegressor with each solver family."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skce import SoftmaxRegressor

ESTIMATORS = [
    SoftmaxRegressor(),
    SoftmaxRegressor(solver="newton-cg"),
    SoftmaxRegressor(solver="gd"),
    SoftmaxRegressor(solver="adam", random_state=0),
]

_NEWTON_CG_WEIGHTS = (
    "newton-cg stops at max|grad| <= tol; the check's problem (15 samples, 30 "
    "features, alpha=1e-4) has more features than samples, so the Hessian's smallest "
    "eigenvalue is alpha=1e-4 and the weighted and the repeated fits, both optimal "
    "to that tolerance, differ by up to 8e-7 relative in predict_proba, above the "
    "check's rtol=1e-7. On sparse data 6e-7 remains at tol=1e-10 (gradient 2e-11; "
    "the two runs round differently inside CG). lbfgs, gd and adam pass."
)


def expected_failed_checks(estimator):
    """{check name: reason} for the checks that truly fail."""
    if estimator.get_params()["solver"] == "newton-cg":
        return {
            "check_sample_weight_equivalence_on_dense_data": _NEWTON_CG_WEIGHTS,
            "check_sample_weight_equivalence_on_sparse_data": _NEWTON_CG_WEIGHTS,
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
