"""skce.onnx without its extra: importing it says which extra to install."""

import importlib
import sys

import pytest


def test_import_without_skl2onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import skl2onnx fails
    monkeypatch.delitem(sys.modules, "skce.onnx", raising=False)
    with pytest.raises(ImportError, match=r"skce.onnx needs skl2onnx \(the onnx "
                       r"extra, with onnxruntime to run the graphs\): pip install "
                       r"'skce\[onnx\]'. Importing skl2onnx failed"):
        importlib.import_module("skce.onnx")
