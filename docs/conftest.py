"""pytest runs the doctests of the .rst pages; conf.py is Sphinx's, not a test."""

try:
    import matplotlib
except ImportError:  # the pages' doctests do not need it
    matplotlib = None
else:
    matplotlib.use("Agg")

collect_ignore = ["conf.py"]
