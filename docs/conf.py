"""Sphinx configuration for the skce documentation."""

import os
import re
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
    # MathJax 3.2.2 from the docs extra, copied into _static/mathjax: the built
    # site renders its math offline (no CDN)
    "sphinx-mathjax-offline",
]

# Every cross-reference to skce's public API must resolve (with -W, a dangling one
# fails the build). Two kinds are exempt: other projects' objects (the build is
# offline, so there are no intersphinx inventories to resolve them against) and
# skce's private names (modules and helpers with a leading underscore have no API
# page by design).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|sklearn|pandas|dask|dask_ml|distributed|torch|"
               r"skl2onnx|onnxruntime|skops|mlflow)(\..*)?"),
    (r"py:.*", r"(.*\.)?_[^.]*(\..*)?"),  # skce._fit, _validate_extra, ...
    (r"py:func", r"curvature_bound"),  # skce.solvers._base.curvature_bound
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
                    "sg_execution_times.rst", "**/sg_execution_times.rst"]
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
    # its page loads jQuery and DataTables from CDNs: the site must work offline
    "write_computation_times": False,
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


def _benchmark_substitutions():
    """rst substitutions for the benchmark numbers the pages quote, read from
    benchmarks/results/latest.json (never retyped): ``|bench-<problem>-<column>|``
    with column auto, lbfgs, newton-cg (skce's), sklearn (the fastest
    LogisticRegression solver) and sklearn-solver (its name), and
    ``|bench-<problem>-shape|``; seconds to 1e-6 relative objective."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(skce.__file__).resolve().parent.parent / "benchmarks"
    spec = importlib.util.spec_from_file_location("readme_table",
                                                  root / "readme_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    results = json.loads((root / "results" / "latest.json").read_text())
    budget = results.get("budget")

    def seconds(t):  # "1.42 s", or the budget it did not make
        if t is not None:
            return f"{table._t(t)} s"
        return f"over the {budget:g} s budget" if budget else \
            "not reached within the run's budget"

    subs = {}
    for name, res in results["time"].items():
        runs = res["runs"]
        n, d = table._shape(results["problems"][name])
        subs[f"{name}-shape"] = f"{n:,} x {d:,}"
        for column, run in (("auto", "skce default (auto)"), ("lbfgs", "skce lbfgs"),
                            ("newton-cg", "skce newton-cg")):
            if run in runs:  # the L1 problem has no lbfgs or newton-cg run
                subs[f"{name}-{column}"] = seconds(runs[run]["time_to"][table.EPS])
        best, t_best = table._fastest_sklearn(runs)
        subs[f"{name}-sklearn"], subs[f"{name}-sklearn-solver"] = seconds(t_best), best
    return "\n".join(f".. |bench-{k}| replace:: {v}" for k, v in subs.items())


rst_prolog = _benchmark_substitutions()


def _write_memory_table(app):
    """docs/_generated/memory.rst from benchmarks/results/scale.json (written by
    ``python benchmarks/scale.py``; never typed): extra memory of fit per solver,
    as a multiple of X."""
    import json
    from pathlib import Path

    path = Path(skce.__file__).resolve().parent.parent / "benchmarks" / "results" \
        / "scale.json"
    memory = json.loads(path.read_text())["memory"]
    names = list(memory)
    solvers = list(memory[names[0]]["solvers"])
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - solver"]
    def label(name):  # "wide CSR 10000x200000" -> "wide CSR 10,000 x 200,000"
        return re.sub(r"(\d+)x(\d+)", lambda m: f"{int(m[1]):,} x {int(m[2]):,}",
                      name)

    lines += [f"     - {label(name)}" for name in names]
    lines += ["   * - one parameter vector / X"]
    lines += [f"     - {memory[name]['params_over_X']:.3g}" for name in names]
    for solver in solvers:
        lines.append(f"   * - ``{solver}``")
        for name in names:
            cell = memory[name]["solvers"].get(solver)
            lines.append("     - not run" if cell is None else "     - " + " / ".join(
                v if isinstance(v, str) else f"{v:.2f}" for v in cell.values()))
    out = os.path.join(app.srcdir, "_generated")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "memory.rst"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _write_gap_table(app):
    """docs/_generated/stochastic_gaps.rst from
    benchmarks/results/stochastic_gaps.json (written by ``python
    benchmarks/stochastic_gaps.py``; never typed): relative objective gap of each
    stochastic solver at its defaults, one column per data set holding its alphas
    largest first; bold above the bound, "†" where the fit warned."""
    import json
    from pathlib import Path

    path = Path(skce.__file__).resolve().parent.parent / "benchmarks" / "results" \
        / "stochastic_gaps.json"
    results = json.loads(path.read_text())
    bound, cells, solvers, datasets, alphas = results["bound"], {}, [], [], []
    for r in results["rows"]:
        for seen, key in ((solvers, r["solver"]), (datasets, r["dataset"]),
                          (alphas, r["alpha"])):
            seen += [key] if key not in seen else []
        mantissa, exponent = f"{r['gap']:.1e}".split("e")
        text = f"{mantissa}e{int(exponent)}"  # 3.0e-4, not 3.0e-04
        text = f"**{text}**" if r["gap"] > bound else text
        cells[r["solver"], r["dataset"], r["alpha"]] = text + \
            ("†" if r["warned"] else "")
    alphas = sorted(alphas, reverse=True)
    lines = [".. list-table::", "   :header-rows: 1", "",
             "   * - alpha " + " / ".join(f"{a:g}" for a in alphas)]
    lines += [f"     - {ds}" for ds in datasets]
    for solver in solvers:
        lines.append(f"   * - ``{solver}``")
        lines += ["     - " + " / ".join(cells.get((solver, ds, a), "not run")
                                        for a in alphas) for ds in datasets]
    out = os.path.join(app.srcdir, "_generated")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "stochastic_gaps.rst"), "w") as f:
        f.write("\n".join(lines) + "\n")


def setup(app):
    app.connect("builder-inited", _write_backend_table)
    app.connect("builder-inited", _write_gap_table)
    app.connect("builder-inited", _write_memory_table)


# Headless builds.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
