"""ONNX export (skce.onnx): onnxruntime reproduces predict and predict_proba.

Each fitted model is converted with skl2onnx, run by onnxruntime, and compared with
the model's own ``predict`` (equal labels) and ``predict_proba`` (max absolute
difference at most 1e-5 for float32 graphs, 1e-10 for float64 graphs): binary
(breast cancer) and multiclass (iris, digits, and an imbalanced iris on which the
post-hoc logit adjustment changes the predictions), integer and string labels,
both estimators, with and without intercept, alone and in a Pipeline, ZipMap on,
off and as columns. Skipped without the onnx extra (skl2onnx, onnxruntime).
"""

import copy
import warnings

import numpy as np
import pytest
from _skce_data import LOADERS, dataset
from numpy.testing import assert_array_equal
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import skce.onnx  # noqa: E402  (registers the converters)
from skce import SoftmaxRegressor, WeightedCEClassifier  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]
DATASETS = ["breast_cancer", "iris", "digits", "iris_imbalanced"]
ESTIMATORS = {
    "softmax": SoftmaxRegressor(),
    "softmax_no_intercept": SoftmaxRegressor(fit_intercept=False),
    "weighted_balanced": WeightedCEClassifier(),
    "weighted_post_hoc": WeightedCEClassifier(tau=1.0, logit_adjustment="post-hoc",
                                              class_weight=None),
    "weighted_post_hoc_no_intercept": WeightedCEClassifier(
        tau=1.0, logit_adjustment="post-hoc", class_weight=None,
        fit_intercept=False),
}
NAMES = {  # string labels per data set, by class index
    "breast_cancer": np.array(["malignant", "benign"]),
    "iris": np.array(["setosa", "versicolor", "virginica"]),
    "iris_imbalanced": np.array(["setosa", "versicolor", "virginica"]),
    "digits": np.array([f"digit {k}" for k in range(10)]),
}


def _data(name):
    """Standardized (X, y) of the training part; "iris_imbalanced" keeps 50, 15
    and 5 samples of the three iris classes."""
    if name == "iris_imbalanced":
        X, _, y, _ = dataset("iris")
        keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:15],
                               np.flatnonzero(y == 2)[:5]])
        return X[keep], y[keep]
    X, _, y, _ = dataset(name)
    return X, y


_FITTED = {}


def _fitted(estimator, name, labels, fit_dtype=np.float64):
    key = (estimator, name, labels, fit_dtype)
    if key not in _FITTED:
        X, y = _data(name)
        if labels == "str":
            y = NAMES[name][y]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _FITTED[key] = clone(ESTIMATORS[estimator]).fit(X.astype(fit_dtype), y)
    return _FITTED[key]


def _session(model, X, zipmap=False, **options):
    final = model[-1] if hasattr(model, "steps") else model
    onx = skl2onnx.to_onnx(model, X[:1],
                           options={id(final): {"zipmap": zipmap, **options}})
    return ort.InferenceSession(onx.SerializeToString(),
                                providers=["CPUExecutionProvider"])


def _run(model, X, zipmap=False, **options):
    """(labels, probabilities as an (n_samples, n_classes) array)."""
    session = _session(model, X, zipmap=zipmap, **options)
    outputs = session.run(None, {session.get_inputs()[0].name: X})
    labels = outputs[0]
    if zipmap is True:
        classes = (model[-1] if hasattr(model, "steps") else model).classes_
        proba = np.array([[row[c.item()] for c in classes] for row in outputs[1]])
    elif zipmap == "columns":
        proba = np.column_stack(outputs[1:])
    else:
        proba = outputs[1]
    return labels, proba


def _check(model, X, tol, zipmap=False):
    labels, proba = _run(model, X, zipmap=zipmap)
    assert_array_equal(labels, model.predict(X))
    expected = model.predict_proba(X)
    assert proba.shape == expected.shape
    assert np.abs(proba - expected).max() <= tol
    return np.abs(proba - expected).max()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("estimator", list(ESTIMATORS))
@pytest.mark.parametrize("name", DATASETS)
def test_onnx_reproduces_predict_and_predict_proba(name, estimator, labels, dtype):
    model = _fitted(estimator, name, labels)
    X = _data(name)[0].astype(dtype)
    labels_out, proba = _run(model, X)
    assert proba.dtype == dtype
    if labels == "str":
        assert labels_out.dtype == object
    else:
        assert labels_out.dtype == np.int64
    _check(model, X, TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_model_fitted_in_float32(name, dtype):
    # coef_ is float32; the graph casts it to the input's type
    model = _fitted("weighted_post_hoc", name, "int", fit_dtype=np.float32)
    assert model.coef_.dtype == np.float32
    _check(model, _data(name)[0].astype(dtype), TOL[dtype])


@pytest.mark.parametrize("name", ["breast_cancer", "iris_imbalanced"])
def test_post_hoc_offset_matters(name):
    """The post-hoc shift moves the probabilities far beyond the tolerance, so
    the comparisons above would catch a graph that left logit_offset_ out (it is
    in intercept_, not in raw_intercept_)."""
    model = _fitted("weighted_post_hoc", name, "int")
    X = _data(name)[0]
    assert np.all(model.logit_offset_ != 0)
    raw = X @ model.coef_.T + model.raw_intercept_
    unshifted = (np.column_stack([expit(-raw[:, 0]), expit(raw[:, 0])])
                 if raw.shape[1] == 1 else softmax(raw, axis=1))
    assert np.abs(unshifted - model.predict_proba(X)).max() > 0.1


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("zipmap", [True, "columns"])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris_imbalanced"])
def test_zipmap(name, labels, zipmap, dtype):
    model = _fitted("weighted_post_hoc", name, labels)
    X = _data(name)[0].astype(dtype)
    # ONNX's ZipMap holds float32: a float64 graph rounds its probabilities there
    tol = TOL[np.float32] if zipmap is True else TOL[dtype]
    _check(model, X, tol, zipmap=zipmap)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("estimator", ["softmax", "weighted_post_hoc"])
@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_pipeline(name, estimator, dtype):
    X, y = LOADERS[name](return_X_y=True)  # unscaled: the scaler is in the graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), clone(ESTIMATORS[estimator])).fit(
            X, NAMES[name][y])
    X = X.astype(dtype)
    _check(pipe, X, TOL[dtype])
    _check(pipe, X, TOL[np.float32], zipmap=True)


def test_nocl_gives_class_indices():
    model = _fitted("softmax", "iris", "str")
    X = _data("iris")[0].astype(np.float32)
    labels, _ = _run(model, X, nocl=True)
    assert_array_equal(labels, model.predict_proba(X).argmax(axis=1))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_binary_tie_goes_to_the_first_class(dtype):
    """predict gives classes_[1] only when the logit is > 0; at z = 0 both the
    model and the graph answer classes_[0] with probabilities [0.5, 0.5]."""
    model = copy.deepcopy(_fitted("softmax", "breast_cancer", "str"))
    model.coef_ = np.zeros_like(model.coef_)
    model.intercept_ = np.zeros_like(model.intercept_)
    X = _data("breast_cancer")[0][:5].astype(dtype)
    labels, proba = _run(model, X)
    assert_array_equal(labels, model.predict(X))
    assert_array_equal(labels, [model.classes_[0]] * 5)
    assert_array_equal(proba, np.full((5, 2), 0.5))


def test_registered_estimators():
    assert SoftmaxRegressor in skce.onnx.ESTIMATORS
    assert WeightedCEClassifier in skce.onnx.ESTIMATORS


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_cv_estimators(name):
    """The CV variants export as their refitted model: multiclass softmax, and a
    binary WeightedCEClassifierCV with its post-hoc offset in intercept_."""
    from skce import SoftmaxRegressorCV, WeightedCEClassifierCV

    X, y = _data(name)
    for model in (SoftmaxRegressorCV(alphas=2, cv=3),
                  WeightedCEClassifierCV(alphas=2, cv=3, tau=1.0,
                                         logit_adjustment="post-hoc")):
        model.fit(X, y)
        for dtype in DTYPES:
            _check(model, X.astype(dtype), 1e-5)


# ---------------------------------------------------------------- errors
X_IRIS = _data("iris")[0]


@pytest.mark.parametrize("estimator", [SoftmaxRegressor(), WeightedCEClassifier()])
def test_unfitted_model_raises(estimator):
    msg = f"This {type(estimator).__name__} instance is not fitted yet"
    with pytest.raises(NotFittedError, match=msg):
        skl2onnx.to_onnx(estimator, X_IRIS[:1])
    with pytest.raises(NotFittedError, match=msg):
        skl2onnx.to_onnx(make_pipeline(StandardScaler().fit(X_IRIS), estimator),
                         X_IRIS[:1])


def test_integral_float_labels_become_int64():
    model = SoftmaxRegressor().fit(X_IRIS, _data("iris")[1].astype(float))
    labels, _ = _run(model, X_IRIS)
    assert labels.dtype == np.int64
    assert_array_equal(labels, model.predict(X_IRIS))


def test_integer_input_type_raises():
    model = _fitted("softmax", "iris", "int")
    with pytest.raises(TypeError, match="SoftmaxRegressor converts float inputs "
                       "only .* got Int64TensorType. Cast X to float32 or float64"):
        skl2onnx.to_onnx(model, X_IRIS[:1].astype(np.int64))


def test_wrong_number_of_features_raises():
    model = _fitted("softmax", "iris", "int")
    with pytest.raises(ValueError, match="The ONNX input has 2 features, but "
                       "SoftmaxRegressor was fitted with 4"):
        skl2onnx.to_onnx(model, X_IRIS[:1, :2])


def test_readme_example():
    # the README's ONNX snippet, verbatim, on the quick example's clf and X_test
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():  # pragma: no cover - tests run outside the checkout
        pytest.skip("README.md is not next to the tests")
    snippet = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)[1]
    assert "import skce.onnx" in snippet
    X, y = LOADERS["digits"](return_X_y=True)
    clf = make_pipeline(StandardScaler(), SoftmaxRegressor(alpha=1e-3)).fit(X, y)
    namespace = {"clf": clf, "X_test": X[:200]}
    exec(compile(snippet, str(readme), "exec"), namespace)
    X32 = namespace["X32"]
    assert_array_equal(namespace["label"], clf.predict(X32))
    assert np.abs(namespace["proba"] - clf.predict_proba(X32)).max() <= 1e-6


def test_dataframe_columns_as_inputs_raise():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_IRIS, columns=["a", "b", "c", "d"])
    model = SoftmaxRegressor().fit(frame, _data("iris")[1])
    with pytest.raises(ValueError, match=r"SoftmaxRegressor takes one \(n_samples, "
                       r"n_features\) float input, got 4 inputs. to_onnx makes one "
                       r"input per column of a DataFrame: pass X\[:1\].to_numpy\(\)"):
        skl2onnx.to_onnx(model, frame[:1])
    labels, proba = _run(model, frame[:1].to_numpy())
    assert_array_equal(labels, model.predict(frame[:1]))
