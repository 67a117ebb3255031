"""At-scale measurements (issue "At scale"): extra memory of ``fit`` per solver,
the cost of many classes, 1 against 2 BLAS threads, and the default single-sample
SGD fit on a million rows.

Run from the repository root (after ``pip install ".[benchmarks]"``)::

    python benchmarks/scale.py                 # all sections, a few minutes
    python benchmarks/scale.py --only memory   # one section: memory, classes,
                                               # threads, sgd

Writes ``benchmarks/results/scale.json`` and ``scale.md`` (``--out`` to change the
folder). Memory is the ``tracemalloc`` peak during ``fit`` (numpy and scipy report
their allocations to it) with X allocated before, as a multiple of X's bytes (for CSR:
data + indices + indptr). Times are wall seconds of one ``fit`` at a given number of
BLAS threads (threadpoolctl), median of ``--repeats``.
"""
import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from skce import SoftmaxRegressor  # noqa: E402

SOLVERS = ["lbfgs", "newton-cg", "gd", "saga", "sgd", "minibatch", "momentum",
           "nesterov", "adagrad", "rmsprop", "adam"]
# a few iterations reach each solver's steady-state memory (lbfgs fills its history
# of 10 pairs; the stochastic solvers hold their moments after one epoch)
MAX_ITER = {"lbfgs": 12, "newton-cg": 3, "gd": 5, "saga": 1}
STOCHASTIC_ITER = 1


def x_bytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def memory_problems(quick):
    """Tall problems (X much larger than the parameters) and one wide sparse one
    (parameters beyond X: what L-BFGS's history costs there)."""
    rng = np.random.default_rng(0)
    n = 6_000 if quick else 40_000
    d = 40
    X = rng.normal(size=(n, d))
    y = np.argmax(X[:, :5] + rng.gumbel(size=(n, 5)), axis=1)
    nnz_per_row, d_sparse = 20, 2_000
    rows = np.repeat(np.arange(n), nnz_per_row)
    cols = rng.integers(0, d_sparse, n * nnz_per_row)
    S = sp.csr_matrix((rng.normal(size=n * nnz_per_row), (rows, cols)),
                      shape=(n, d_sparse))
    S.sum_duplicates()
    ys = np.argmax(S[:, :5].toarray() + rng.gumbel(size=(n, 5)), axis=1)
    n_w, d_w = (2_000, 20_000) if quick else (10_000, 200_000)
    rows = np.repeat(np.arange(n_w), nnz_per_row)
    cols = rng.integers(0, d_w, n_w * nnz_per_row)
    Wd = sp.csr_matrix((rng.normal(size=n_w * nnz_per_row), (rows, cols)),
                       shape=(n_w, d_w))
    Wd.sum_duplicates()
    yw = rng.integers(0, 5, n_w)
    return {
        f"dense f64 {n}x{d}": (X, y),
        f"dense f32 {n}x{d}": (X.astype(np.float32), y),
        f"CSR f64 {n}x{d_sparse}": (S, ys),
        f"wide CSR {n_w}x{d_w}": (Wd, yw),
    }


def peak_over_X(X, y, solver, early_stopping):
    model = SoftmaxRegressor(solver=solver, early_stopping=early_stopping,
                             max_iter=MAX_ITER.get(solver, STOCHASTIC_ITER),
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        try:
            model.fit(X, y)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peak / x_bytes(X)


def run_memory(quick, log):
    out = {}
    for name, (X, y) in memory_problems(quick).items():
        n_params = (X.shape[1] + 1) * len(np.unique(y))
        row = {"X_MB": x_bytes(X) / 2**20,
               "params_over_X": n_params * 8 / x_bytes(X), "solvers": {}}
        wide = name.startswith("wide")
        for solver in SOLVERS:
            if wide and solver in ("sgd", "momentum", "nesterov"):
                # one-sample steps on a million parameters: minutes, not memory
                continue
            cell = {}
            for es in (False,) if wide else (False, True):
                try:
                    cell[str(es)] = peak_over_X(X, y, solver, es)
                except Exception as exc:  # recorded, not hidden: the table says so
                    cell[str(es)] = f"error: {type(exc).__name__}"
            row["solvers"][solver] = cell
            log(f"memory {name} {solver}: {row['solvers'][solver]}")
        out[name] = row
    return out


def many_classes_problem(n_classes, n=10_000, d=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, n_classes)) / np.sqrt(d)
    y = np.argmax(X @ W * 3 + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def run_classes(quick, repeats, log):
    out = {}
    sizes = (20, 100) if quick else (100, 1000)
    for K in sizes:
        X, y = many_classes_problem(K, n=2_000 if quick else 10_000)
        row = {}
        for solver in ["auto", "lbfgs", "newton-cg", "minibatch", "adam"]:
            times = []
            for _ in range(repeats):
                model = SoftmaxRegressor(solver=solver, alpha=1e-3, random_state=0)
                with threadpool_limits(1), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tracemalloc.start()
                    start = time.perf_counter()
                    model.fit(X, y)
                    times.append(time.perf_counter() - start)
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
            row[solver] = {"seconds": float(np.median(times)),
                           "peak_MB": peak / 2**20,
                           "objective": float(model.loss_curve_[-1]),
                           "n_iter": int(model.n_iter_),
                           "stop_reason": model.stop_reason_,
                           "solver_": type(model.solver_).__name__}
            log(f"classes K={K} {solver}: {row[solver]}")
        out[str(K)] = row
    return out


def threads_problems(quick):
    """The issue's tall float32 problem and a dense float64 one of 100 columns and
    10 classes (issue 16/17 target there: 2 threads at most 0.6x the wall of 1)."""
    rng = np.random.default_rng(0)
    n = 100_000 if quick else 1_000_000
    X = rng.normal(size=(n, 20)).astype(np.float32)
    y = np.argmax(X[:, :5] + rng.gumbel(size=(n, 5)), axis=1)
    n_d = 20_000 if quick else 200_000
    Xd = rng.normal(size=(n_d, 100))
    yd = np.argmax(Xd[:, :10] + rng.gumbel(size=(n_d, 10)), axis=1)
    return {f"f32 {n}x20 K=5": (X, y, ["auto", "lbfgs", "newton-cg"]),
            f"f64 {n_d}x100 K=10": (Xd, yd, ["auto"])}


def run_threads(quick, repeats, log):
    out = {}
    for name, (X, y, solvers) in threads_problems(quick).items():
        for solver in solvers:
            row = {}
            for threads in (1, 2):
                times = []
                for _ in range(repeats):
                    model = SoftmaxRegressor(solver=solver)
                    with threadpool_limits(threads), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        model.fit(X, y)
                        times.append(time.perf_counter() - start)
                row[str(threads)] = float(np.median(times))
            row["ratio_2_over_1"] = row["2"] / row["1"]
            row["solver_"] = type(model.solver_).__name__
            log(f"threads {name} {solver}: {row}")
            out[f"{name} | {solver}"] = row
    return out


def run_sgd(quick, log):
    """The default SGD fit (single-sample steps, ``max_iter=None``) on the tall
    float32 problem: timed whole when its planned updates fit in about three
    minutes at the measured cost of one epoch, else one epoch timed and the fit
    projected (epochs x one epoch)."""
    from skce._training import default_epochs
    from skce.solvers import SGD
    rng = np.random.default_rng(0)
    n = 100_000 if quick else 1_000_000
    X = rng.normal(size=(n, 20)).astype(np.float32)
    y = np.argmax(X[:, :5] + rng.gumbel(size=(n, 5)), axis=1)
    planned = default_epochs(SGD(), n)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        SoftmaxRegressor(solver="sgd", max_iter=1, random_state=0).fit(X, y)
        epoch = time.perf_counter() - start
        row = {"n_samples": n, "planned_epochs": planned, "one_epoch_s": epoch,
               "us_per_update": epoch / n * 1e6,
               "projected_fit_s": planned * epoch, "timed_whole": False}
        if planned * epoch <= 180:
            start = time.perf_counter()
            SoftmaxRegressor(solver="sgd", random_state=0).fit(X, y)
            row["fit_s"] = time.perf_counter() - start
            row["timed_whole"] = True
    log(f"sgd {row}")
    return row


def write_markdown(results, path):
    machine = results["machine"]
    quick = " --quick" if results["quick"] else ""
    lines = ["# At-scale measurements", "",
             f"Generated by `python benchmarks/scale.py{quick}` on {machine['cpu']}"
             f" ({machine['cores']} cores), numpy {machine['numpy']}, scipy"
             f" {machine['scipy']}."]
    if "memory" in results:
        lines += ["", "## Extra memory of fit, as a multiple of X (tracemalloc"
                  " peak)", "", "Cells: without / with `early_stopping=True`."
                  " params/X: the float64 size of one parameter vector over X's"
                  " bytes.", ""]
        names = list(results["memory"])
        lines.append("| solver | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        lines.append("| params / X | " + " | ".join(
            f"{results['memory'][n]['params_over_X']:.3g}" for n in names) + " |")
        for solver in SOLVERS:
            cells = []
            for n in names:
                cell = results["memory"][n]["solvers"].get(solver)
                cells.append("-" if cell is None else
                             " / ".join(v if isinstance(v, str) else f"{v:.2f}"
                                        for v in cell.values()))
            lines.append(f"| {solver} | " + " | ".join(cells) + " |")
    if "classes" in results:
        note = results.get("notes", {}).get("classes")
        lines += ["", "## Many classes (10,000 x 50 dense float64, alpha 1e-3, one"
                  " BLAS thread)", ""] + ([note, ""] if note else []) + [
                  "| K | solver | seconds | peak MB | objective | iterations | stop |",
                  "|---|---|---|---|---|---|---|"]
        for K, row in results["classes"].items():
            for solver, r in row.items():
                name = solver if solver != "auto" else f"auto ({r['solver_']})"
                lines.append(f"| {K} | {name} | {r['seconds']:.2f} | {r['peak_MB']:.0f}"
                             f" | {r['objective']:.6f} | {r['n_iter']} |"
                             f" {r['stop_reason']} |")
    if "threads" in results:
        note = results.get("notes", {}).get("threads")
        lines += ["", "## 1 against 2 BLAS threads (default parameters)", ""] + (
            [note, ""] if note else []) + [
            "| problem | solver | 1 thread (s) | 2 threads (s) | 2 / 1 |",
            "|---|---|---|---|---|"]
        for key, r in results["threads"].items():
            problem, _, solver = key.rpartition(" | ")
            problem = problem or "f32 1000000x20 K=5"  # results written before
            if solver == "auto" and "solver_" in r:
                solver = f"auto ({r['solver_']})"
            lines.append(f"| {problem} | {solver} | {r['1']:.2f} | {r['2']:.2f} |"
                         f" {r['ratio_2_over_1']:.2f} |")
    if "sgd" in results:
        r = results["sgd"]
        note = results.get("notes", {}).get("sgd")
        lines += ["", f"## Default SGD fit on {r['n_samples']:,} x 20 float32, 5"
                  " classes (one BLAS thread)", ""] + ([note, ""] if note else []) + [
            "| planned epochs | one epoch (s) | us per update | fit (s) |",
            "|---|---|---|---|",
            f"| {r['planned_epochs']} | {r['one_epoch_s']:.1f} |"
            f" {r['us_per_update']:.1f} | "
            + (f"{r['fit_s']:.1f} |" if r["timed_whole"] else
               f"{r['projected_fit_s']:.0f} (projected: epochs x one epoch) |")]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", choices=["memory", "classes", "threads", "sgd"],
                        action="append")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "results"))
    args = parser.parse_args(argv)
    sections = args.only or ["memory", "classes", "threads", "sgd"]
    import scipy
    results = {"quick": args.quick, "machine": {
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "numpy": np.__version__, "scipy": scipy.__version__}}

    def log(msg):
        print(msg, flush=True)

    stem = "scale-quick" if args.quick else "scale"
    path = os.path.join(args.out, stem + ".json")
    if args.only and os.path.exists(path):  # keep the sections not re-run
        with open(path) as f:
            previous = json.load(f)
        results.update({k: v for k, v in previous.items()
                        if k in ("memory", "classes", "threads", "sgd",
                                 "notes")})

    if "memory" in sections:
        results["memory"] = run_memory(args.quick, log)
    if "classes" in sections:
        results["classes"] = run_classes(args.quick, args.repeats, log)
    if "threads" in sections:
        results["threads"] = run_threads(args.quick, args.repeats, log)
    if "sgd" in sections:
        results["sgd"] = run_sgd(args.quick, log)
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    write_markdown(results, os.path.join(args.out, stem + ".md"))
    print(f"wrote {os.path.join(args.out, stem)}.json and .md")


if __name__ == "__main__":
    main()
