"""
Choosing alpha by cross-validation: the regularization path
===========================================================

:class:`~skce.SoftmaxRegressorCV` fits each training fold along a path of alphas,
from the largest (every coefficient exactly zero for a pure L1 penalty) to the
smallest, each fit warm-started from the previous one, and keeps the alpha with the
best mean held-out score. Here, on the bundled breast cancer data with an L1 penalty:
the coefficients along the path (``coefs_paths_``) and the cross-validated log loss,
with the chosen alpha marked. Then an imbalanced problem, where
:class:`~skce.WeightedCEClassifierCV` chooses alpha by balanced accuracy.
"""

# %%
# The path on breast cancer
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressorCV, WeightedCEClassifierCV

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
clf = SoftmaxRegressorCV(alphas=8, l1_ratio=1.0, cv=3, tol=1e-5).fit(X, y)

# coefs_paths_: (n_alphas, n_folds, n_outputs, n_features + 1), intercept last
coefs = clf.coefs_paths_[:, :, 0, :-1].mean(axis=1)
scores = -clf.scores_  # log loss per alpha and fold

fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
ax1.semilogx(clf.alphas_, coefs)
ax1.axvline(clf.alpha_, color="k", ls="--", label=f"chosen alpha = {clf.alpha_:.3g}")
ax1.set_ylabel("coefficient (mean over folds)")
ax1.legend()
ax2.semilogx(clf.alphas_, scores, color="0.8")
ax2.semilogx(clf.alphas_, scores.mean(axis=1), "o-", color="C0", label="mean")
ax2.axvline(clf.alpha_, color="k", ls="--")
ax2.set_xlabel("alpha")
ax2.set_ylabel("held-out log loss")
ax2.legend()
fig.tight_layout()

# %%
# The largest alpha zeroes every coefficient of the whole data's fit; the folds'
# gradients differ a little, so a few fold coefficients leave zero there. Below it
# the L1 path keeps exact zeros.
print("nonzero coefficients along the path:",
      (np.abs(coefs) > 0).sum(axis=1).tolist())
print("nonzero coefficients of the refit:", int((clf.coef_ != 0).sum()))

# %%
# An imbalanced problem, scored by balanced accuracy
# --------------------------------------------------
# The digit 8 against every other digit (about 1:9). WeightedCEClassifierCV
# reweights the classes ("balanced") and picks alpha by balanced accuracy.
X, y = load_digits(return_X_y=True)
X, y = StandardScaler().fit_transform(X), (y == 8).astype(int)
weighted = WeightedCEClassifierCV(alphas=6, cv=3,
                                  scoring="balanced_accuracy").fit(X, y)
plain = SoftmaxRegressorCV(alphas=6, cv=3, scoring="balanced_accuracy").fit(X, y)

fig, ax = plt.subplots(figsize=(7, 3.5))
for model, name in [(weighted, "WeightedCEClassifierCV"),
                    (plain, "SoftmaxRegressorCV")]:
    line, = ax.semilogx(model.alphas_, model.scores_.mean(axis=1), "o-", label=name)
    ax.axvline(model.alpha_, color=line.get_color(), ls="--")
ax.set_xlabel("alpha")
ax.set_ylabel("balanced accuracy (CV)")
ax.legend()
fig.tight_layout()
print(f"best CV balanced accuracy: weighted "
      f"{weighted.scores_.mean(axis=1).max():.3f}, plain "
      f"{plain.scores_.mean(axis=1).max():.3f}")
