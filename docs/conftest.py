"""pytest runs the doctests of the .rst pages; conf.py is Sphinx's, not a test."""

import importlib.util

try:
    import matplotlib
except ImportError:  # the pages' doctests do not need it
    matplotlib = None
else:
    matplotlib.use("Agg")

collect_ignore = ["conf.py"]
# onnx.rst needs the onnx extra (skl2onnx, onnxruntime)
if not all(importlib.util.find_spec(name) for name in ("skl2onnx", "onnxruntime")):
    collect_ignore.append("onnx.rst")
# persistence.rst needs skops (the tests and docs extras)
if importlib.util.find_spec("skops") is None:
    collect_ignore.append("persistence.rst")
