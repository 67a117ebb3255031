"""
Cross-entropy against squared error
===================================

Two losses for the same linear model: cross-entropy on the softmax probabilities, and
the squared error between the probabilities and the one-hot targets. We compare their
gradients with respect to the logit, then train both on the same data.
"""

# %%
# Gradients against the predicted probability
# --------------------------------------------
# Binary case, true class 1, predicted probability q = sigmoid(z). The cross-entropy
# gradient in z is q - 1; the squared error's is 2 (q - 1) q (1 - q), which vanishes
# when the model is confidently wrong (q -> 0).
import matplotlib.pyplot as plt
import numpy as np

q = np.linspace(1e-3, 1 - 1e-3, 400)
fig, ax = plt.subplots(1, 2, figsize=(10, 4))
ax[0].plot(q, -np.log(q), label="cross-entropy  -log q")
ax[0].plot(q, (1 - q) ** 2, label="squared error  (1 - q)^2")
ax[0].set(xlabel="predicted probability of the true class", ylabel="loss")
ax[0].legend()
ax[1].plot(q, np.abs(q - 1), label="|d CE / dz| = 1 - q")
ax[1].plot(q, np.abs(2 * (q - 1) * q * (1 - q)), label="|d SE / dz| = 2 q (1 - q)^2")
ax[1].set(xlabel="predicted probability of the true class",
          ylabel="gradient magnitude w.r.t. the logit")
ax[1].legend()
fig.tight_layout()

# %%
# Training comparison
# -------------------
# Same linear softmax model, same data, same optimizer (scipy's L-BFGS on the same
# parameters, same L2 penalty, same zero start); only the loss differs. skce's
# SoftmaxRegressor gives the cross-entropy fit; the squared-error fit is written out
# below with its analytic gradient.
from scipy.optimize import minimize
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor
from skce._loss import softmax

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n, d = X_train.shape
K = 10
Y = np.eye(K)[y_train]
alpha = 1e-3


def squared_error(w):
    W, b = w[: d * K].reshape(d, K), w[d * K:]
    P = softmax(X_train @ W + b)
    R = P - Y
    value = (R**2).sum() / n + 0.5 * alpha * (W**2).sum()
    # d/dz of sum_k (p_k - y_k)^2 = 2 * J_softmax^T r, J = diag(p) - p p^T
    G = 2 * P * (R - (P * R).sum(axis=1, keepdims=True)) / n
    grad = np.concatenate([(X_train.T @ G + alpha * W).ravel(), G.sum(axis=0)])
    return value, grad


curves = {"squared error": []}


def record(intermediate_result):
    W = intermediate_result.x[: d * K].reshape(d, K)
    b = intermediate_result.x[d * K:]
    curves["squared error"].append(log_loss(y_test, softmax(X_test @ W + b),
                                            labels=np.arange(K)))


res = minimize(squared_error, np.zeros(d * K + K), jac=True, method="L-BFGS-B",
               callback=record, options={"maxiter": 300})
W_se, b_se = res.x[: d * K].reshape(d, K), res.x[d * K:]

curves["cross-entropy"] = []


def record_ce(rec):
    W, b = rec.coef[:-1], rec.coef[-1]
    curves["cross-entropy"].append(log_loss(y_test, softmax(X_test @ W + b),
                                            labels=np.arange(K)))


ce = SoftmaxRegressor(alpha=alpha, max_iter=300, callbacks=[record_ce]).fit(
    X_train, y_train)

for name, proba in [("cross-entropy", ce.predict_proba(X_test)),
                    ("squared error", softmax(X_test @ W_se + b_se))]:
    print(f"{name:14s} test accuracy {accuracy_score(y_test, proba.argmax(1)):.4f}  "
          f"test log-loss {log_loss(y_test, proba):.4f}  "
          f"iterations {len(curves[name])}")

fig, ax = plt.subplots(figsize=(6, 4))
for name, curve in curves.items():
    ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
ax.set(xlabel="L-BFGS iteration", ylabel="test log-loss", yscale="log",
       title="Same model, same optimizer, two losses")
ax.legend()
fig.tight_layout()
