"""Sphinx configuration for the skce documentation."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))

import skce  # noqa: E402

project = "skce"
author = "skce developers"
copyright = "2026, skce developers"
version = release = skce.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
# Document our own methods (inherited from skce's base classes too) but not the ones
# scikit-learn's mixins bring, whose docstrings point at labels of sklearn's site.
autodoc_default_options = {
    "members": True,
    "inherited-members": "BaseEstimator,ClassifierMixin,_MetadataRequester",
    "exclude-members": "set_fit_request,set_score_request,set_partial_fit_request,"
                       "get_metadata_routing",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store",
                    "sg_execution_times.rst"]
html_theme = "pydata_sphinx_theme"
html_title = "skce"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
html_static_path = []

# No network at build time: intersphinx inventories are optional.
intersphinx_mapping = {}
intersphinx_disabled_reftypes = ["*"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "reference_url": {"skce": None},
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "backreferences_dir": "auto_examples",
    "doc_module": ("skce",),
}



def _write_backend_table(app):
    """docs/_generated/backends.rst from skce.backends.SUPPORT (never typed)."""
    from skce.backends import BACKENDS, FEATURES, SUPPORT

    lines = [".. list-table::", "   :header-rows: 1", "", "   * - feature"]
    lines += [f"     - {b}" for b in BACKENDS]
    for feature in FEATURES:
        lines.append(f"   * - {feature}")
        lines += [f"     - {SUPPORT[(feature, b)]}" for b in BACKENDS]
    out = os.path.join(app.srcdir, "_generated")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "backends.rst"), "w") as f:
        f.write("\n".join(lines) + "\n")


def setup(app):
    app.connect("builder-inited", _write_backend_table)


# Headless builds.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
