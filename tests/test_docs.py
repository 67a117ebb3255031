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
    html = tmp_path / "html"
    assert (html / "index.html").exists()
    assert (html / "auto_examples" / "index.html").exists()
    # every class of the HTML repr's "?" links has its API page
    import skce

    for name in skce.TRUSTED_TYPES:
        assert (html / "generated" / f"{name}.html").exists(), name
    assert (html / "generated" / "skce.solvers.Auto.html").exists()
    # math renders offline: MathJax is served from the site itself, no CDN
    page = (html / "user_guide" / "cross_entropy.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js' in page
    assert "cdn.jsdelivr" not in page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 100_000
    import re

    remote = re.compile(r'<(?:script|link)[^>]+(?:src|href)="https?://')
    online = [str(p.relative_to(html)) for p in html.rglob("*.html")
              if remote.search(p.read_text(errors="replace"))]
    assert not online, f"pages that load scripts or styles from the network: {online}"
    api = (html / "generated" / "skce.SoftmaxRegressor.html").read_text()
    assert r"\frac{\sum_i s_i" in api  # the docstring's formula, as math
    assert 'class="math' in api
