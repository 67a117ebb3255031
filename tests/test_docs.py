"""The documentation builds with warnings as errors, executing every example.

Skipped when the docs extra (sphinx, numpydoc, sphinx-gallery, pydata-sphinx-theme)
is not installed; CI installs it through the tests extra.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme",
                "matplotlib"):
    pytest.importorskip(_module)

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.docs
def test_docs_build_without_warnings(tmp_path):
    if not DOCS.is_dir():  # pragma: no cover - an installed copy without docs/
        pytest.skip("docs/ is not next to the tests")
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    # sphinx-gallery writes auto_examples/ and generated/ inside docs/: build from a
    # copy so the checkout stays clean and parallel runs do not collide.
    import shutil

    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns(
        "_build", "auto_examples", "generated"))
    shutil.copytree(DOCS.parent / "examples", tmp_path / "examples")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         str(src), str(tmp_path / "html")],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert (tmp_path / "html" / "index.html").exists()
    assert (tmp_path / "html" / "auto_examples" / "index.html").exists()
