"""Export skce classifiers to ONNX with skl2onnx.

Importing this module registers a parser, a shape calculator and a converter with
`skl2onnx <https://onnx.ai/sklearn-onnx/>`_ for each skce classifier, so that
``skl2onnx.to_onnx`` converts them, alone or inside a scikit-learn ``Pipeline``.
It needs the optional extra::

    pip install "skce[onnx]"    # skl2onnx and onnxruntime

The graph computes the logits ``z = X @ coef_.T + intercept_`` (for
:class:`~skce.WeightedCEClassifier`, ``intercept_`` includes the post-hoc logit
adjustment ``logit_offset_``) and from them

- the label, as ``predict`` does: ``classes_[argmax(z)]``, or for binary models
  (one logit) ``classes_[1]`` when ``z > 0``, else ``classes_[0]``;
- the probabilities, as ``predict_proba`` does: ``softmax(z)``, or
  ``[sigmoid(-z), sigmoid(z)]`` for binary models.

The probabilities are those of ``predict_proba``, not those of
:meth:`~skce.WeightedCEClassifier.predict_proba_prior`: the export carries no
correction back to the training priors. To serve prior-corrected probabilities,
apply that correction to the logits outside the graph.

Computation follows the input type: a float32 input (``FloatTensorType``, what
``to_onnx`` infers from a float32 ``X``) computes in float32, a float64 input
(``DoubleTensorType``, inferred from a float64 ``X``) in float64, with the
coefficients cast to that type. Only one float input is accepted (for a model
fitted on a DataFrame, pass ``X[:1].to_numpy()``: from a DataFrame, ``to_onnx``
makes one input per column). Labels come out as
int64 for integer classes and as strings for string classes.

The classifier options of skl2onnx apply (``zipmap`` and ``nocl``). By default the
probabilities come out as a list of ``{class: probability}`` dicts (ZipMap), as for
scikit-learn's classifiers. ONNX's ZipMap holds float32 only, so in a float64 graph
the dicts hold the float64 probabilities rounded to float32 (skl2onnx's own
classifiers give an invalid graph there); labels are still computed in float64.
``options={id(model): {"zipmap": False}}`` (or ``{SoftmaxRegressor: {"zipmap":
False}}``) gives the plain ``(n_samples, n_classes)`` array of the input's type,
``"columns"`` one output per class.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> from skl2onnx import to_onnx
>>> from sklearn.datasets import load_iris
>>> import skce.onnx  # registers the converters
>>> from skce import SoftmaxRegressor
>>> X, y = load_iris(return_X_y=True)
>>> clf = SoftmaxRegressor().fit(X, y)
>>> onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}})
>>> sess = ort.InferenceSession(onx.SerializeToString(),
...                             providers=["CPUExecutionProvider"])
>>> label, proba = sess.run(None, {"X": X})
>>> bool((label == clf.predict(X)).all())
True
>>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-10)
True
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import (
        _apply_zipmap,
        _parse_sklearn_classifier,
        _parse_sklearn_simple_model,
    )
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # pragma: no cover - exercised by test_onnx_extra.py
    raise ImportError(
        f"skce.onnx needs skl2onnx (the onnx extra, with onnxruntime to run the "
        f"graphs): pip install 'skce[onnx]'. Importing skl2onnx failed: {exc}"
    ) from exc

import skce

__all__ = ["ESTIMATORS"]

# The classes to register. A class added to skce later (e.g. a cross-validated
# variant with the same fitted attributes: coef_, classes_ and intercept_, the
# decision function's) is registered by naming it here; names skce does not
# define are skipped.
_ESTIMATOR_NAMES = (
    "SoftmaxRegressor",
    "WeightedCEClassifier",
    "SoftmaxRegressorCV",
    "WeightedCEClassifierCV",
)

#: The skce classes this module registered with skl2onnx.
ESTIMATORS = tuple(getattr(skce, name) for name in _ESTIMATOR_NAMES
                   if hasattr(skce, name))

_FLOAT_TYPES = {FloatTensorType: np.float32, DoubleTensorType: np.float64}


def _parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (label and probabilities, then ZipMap unless
    ``zipmap=False``), after checking that the model is fitted.

    ONNX's ZipMap takes float32 probabilities only (skl2onnx's own classifiers
    give an invalid graph for a double input with ZipMap on): a float64 graph
    keeps its float64 logits, labels and probability tensor, and casts the
    probabilities to float32 for ZipMap."""
    check_is_fitted(model)
    zipmap = scope.get_options(model, dict(zipmap=True))["zipmap"]
    if zipmap is not True or not isinstance(inputs[0].type, DoubleTensorType):
        return _parse_sklearn_classifier(scope, model, inputs,
                                         custom_parsers=custom_parsers)
    label, proba = _parse_sklearn_simple_model(scope, model, inputs,
                                               custom_parsers=custom_parsers)
    cast = scope.declare_local_operator("SklearnCast")
    cast.inputs.append(proba)
    proba32 = scope.declare_local_variable("probabilities_float", FloatTensorType())
    cast.outputs.append(proba32)
    return _apply_zipmap(True, scope, model, FloatTensorType(), [label, proba32])


def _shape_calculator(operator):
    """Input: (N, n_features) float or double. Outputs: labels (N,) int64 or
    string, probabilities (N, n_classes) of the input's type."""
    model = operator.raw_operator
    if len(operator.inputs) != 1:
        raise ValueError(
            f"{type(model).__name__} takes one (n_samples, n_features) float input, "
            f"got {len(operator.inputs)} inputs. to_onnx makes one input per column "
            f"of a DataFrame: pass X[:1].to_numpy() instead.")
    input_type = operator.inputs[0].type
    if type(input_type) not in _FLOAT_TYPES:
        raise TypeError(
            f"{type(model).__name__} converts float inputs only (FloatTensorType "
            f"or DoubleTensorType), got {type(input_type).__name__}. Cast X to "
            f"float32 or float64 before calling to_onnx.")
    shape = input_type.shape
    if len(shape) == 2 and isinstance(shape[1], int) and \
            shape[1] != model.n_features_in_:
        raise ValueError(
            f"The ONNX input has {shape[1]} features, but {type(model).__name__} "
            f"was fitted with {model.n_features_in_}.")
    calculate_linear_classifier_output_shapes(operator)


def _converter(scope, operator, container):
    """Logits z = X @ coef_.T + intercept_ (the decision function's intercept,
    post-hoc logit offsets included); for binary models
    the two-column logits [-z, z], so that ArgMax picks class 1 exactly when z > 0
    (ties to class 0, as ``predict``) and Sigmoid gives ``predict_proba``."""
    model = operator.raw_operator
    dtype = _FLOAT_TYPES[type(operator.inputs[0].type)]
    proto = (onnx_proto.TensorProto.FLOAT if dtype == np.float32
             else onnx_proto.TensorProto.DOUBLE)
    label_name, proba_name = (out.full_name for out in operator.outputs)

    coef = np.asarray(model.coef_, dtype=np.float64)
    bias = np.asarray(model.intercept_, dtype=np.float64)

    def initializer(name, array, proto_type):
        full = scope.get_unique_variable_name(name)
        container.add_initializer(full, proto_type, array.shape,
                                  array.ravel().tolist())
        return full

    def node(op_type, inputs, name, **attrs):
        out = scope.get_unique_variable_name(name)
        container.add_node(op_type, inputs, out,
                           name=scope.get_unique_operator_name(op_type), **attrs)
        return out

    weights = initializer("coef", coef.T.astype(dtype), proto)
    intercept = initializer("intercept", bias.astype(dtype), proto)
    product = node("MatMul", [operator.inputs[0].full_name, weights], "product")
    logits = node("Add", [product, intercept], "logits")
    if coef.shape[0] == 1:
        negated = node("Neg", [logits], "negated")
        logits = node("Concat", [negated, logits], "logits2", axis=1)
        container.add_node("Sigmoid", [logits], proba_name,
                           name=scope.get_unique_operator_name("Sigmoid"))
    else:
        container.add_node("Softmax", [logits], proba_name,
                           name=scope.get_unique_operator_name("Softmax"), axis=1)
    index = node("ArgMax", [logits], "index", axis=1, keepdims=0)

    # the label type the shape calculator declared: strings or int64
    classes = np.asarray(get_label_classes(scope, model))
    if all(isinstance(c, str) for c in classes):
        labels = scope.get_unique_variable_name("classes")
        container.add_initializer(labels, onnx_proto.TensorProto.STRING,
                                  classes.shape, [c.encode("utf-8") for c in classes])
    else:
        labels = initializer("classes", classes.astype(np.int64),
                             onnx_proto.TensorProto.INT64)
    container.add_node("Gather", [labels, index], label_name, axis=0,
                       name=scope.get_unique_operator_name("Gather"))


for _cls in ESTIMATORS:
    update_registered_converter(
        _cls, f"Skce{_cls.__name__}", _shape_calculator, _converter,
        parser=_parser,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
    )
