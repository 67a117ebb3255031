"""pytest collects the package's doctests; skce/onnx.py needs the onnx extra.

A conftest inside the package (imported as ``skce.conftest``): a second top-level
conftest.py would collide with docs/conftest.py under --doctest-modules.
"""

import importlib.util

collect_ignore = []
if not all(importlib.util.find_spec(name) for name in ("skl2onnx", "onnxruntime")):
    collect_ignore.append("onnx.py")
