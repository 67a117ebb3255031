"""
Grid search over solver hyperparameters
=======================================

A solver is an estimator-like object, so its hyperparameters are reachable from
``GridSearchCV`` through double-underscore names: here ``solver__learning_rate`` and
``solver__batch_size`` of Adam, and learning-rate schedules as values.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor
from skce.solvers import Adam, Constant, CosineDecay

X, y = load_digits(return_X_y=True)
pipe = Pipeline([("scale", StandardScaler()),
                 ("clf", SoftmaxRegressor(solver=Adam(), max_iter=30,
                                          random_state=0))])
grid = GridSearchCV(pipe, {
    "clf__solver__learning_rate": [Constant(1e-3), Constant(1e-2), CosineDecay(3e-2)],
    "clf__solver__batch_size": [16, 64, 256],
}, cv=3, scoring="neg_log_loss")
grid.fit(X, y)
print("best:", grid.best_params_)
print(f"best cross-validated log-loss: {-grid.best_score_:.4f}")

# %%
results = pd.DataFrame(grid.cv_results_)
# schedules are objects: label them by their repr to tabulate
results["learning_rate"] = results["param_clf__solver__learning_rate"].map(repr)
table = results.pivot_table(index="learning_rate",
                            columns="param_clf__solver__batch_size",
                            values="mean_test_score", aggfunc="first")
fig, ax = plt.subplots(figsize=(6, 3))
im = ax.imshow(-table.values, cmap="viridis_r")
ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
ax.set_yticks(range(table.shape[0]), table.index)
ax.set(xlabel="batch size", title="cross-validated log-loss (lower is better)")
fig.colorbar(im)
fig.tight_layout()
