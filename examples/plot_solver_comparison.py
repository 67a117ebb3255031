"""
Comparing the solvers
=====================

Every solver minimizes the same objective. We record the objective after each
iteration (full-batch) or epoch (stochastic) with a callback and plot the
suboptimality f(w) - f* against wall-clock time, f* being the best value any solver
reached with a tight tolerance.
"""

# %%
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
alpha = 1e-3

reference = SoftmaxRegressor(solver="newton-cg", alpha=alpha, tol=1e-10).fit(X, y)
f_star = reference.loss_curve_[-1]

solvers = ["lbfgs", "newton-cg", "gd", "minibatch", "momentum", "nesterov",
           "adagrad", "rmsprop", "adam"]
traces = {}
for name in solvers:
    times, values = [], []
    start = time.perf_counter()

    def record(rec, times=times, values=values, start=start):
        times.append(time.perf_counter() - start)
        values.append(rec.loss)

    model = SoftmaxRegressor(solver=name, alpha=alpha, max_iter=100, tol=1e-12,
                             random_state=0, callbacks=[record])
    model.fit(X, y)
    traces[name] = (times, values)
    f_star = min(f_star, min(values))

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (times, values) in traces.items():
    style = "-" if name in ("lbfgs", "newton-cg", "gd") else "--"
    ax.plot(times, [max(v - f_star, 1e-16) for v in values], style, label=name)
ax.set(xscale="log", yscale="log", xlabel="seconds", ylabel="f(w) - f*",
       title="Digits, alpha=1e-3 (stochastic curves: mean mini-batch objective)")
ax.legend(ncol=2, fontsize=8)
fig.tight_layout()

for name, (times, values) in traces.items():
    print(f"{name:10s} {len(values):4d} iterations  {times[-1]:.3f} s  "
          f"final suboptimality {values[-1] - f_star:.2e}")
