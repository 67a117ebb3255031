"""
Distillation with soft targets
==============================

A linear student learns from the probabilities of a teacher rather than from hard
labels. ``y`` of shape ``(n_samples, n_classes)`` is read as soft targets: each row is
a distribution, and the loss is the cross-entropy H(T_i, q_i) with the whole row.

The teacher here is a random forest trained on a small labelled set; its predicted
probabilities on a larger unlabelled set, softened by a temperature, become the
student's targets. A forest's probabilities are under-confident (its test log-loss
is high although its accuracy is good), so the temperature here *sharpens* them
(T < 1). We report test accuracy, test log-loss and agreement with the teacher, as
measured: raw (T=1) forest probabilities make a poorly calibrated student, sharpened
ones give the student the teacher's accuracy and the highest agreement with it.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.3,
                                                  random_state=0, stratify=y)
X_lab, X_unlab, y_lab, _ = train_test_split(X_rest, y_rest, train_size=150,
                                            random_state=0, stratify=y_rest)

teacher = RandomForestClassifier(n_estimators=300, random_state=0).fit(X_lab, y_lab)


def soften(P, temperature):
    logits = np.log(np.clip(P, 1e-4, 1)) / temperature
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# %%
# Students: hard labels of the small set only, the teacher's hard labels on all the
# data, and the teacher's softened probabilities on all the data.
X_all = np.vstack([X_lab, X_unlab])
P_all = teacher.predict_proba(X_all)
teacher_test = teacher.predict(X_test)
models = {
    "student, 150 labels": (X_lab, y_lab),
    "student, teacher's hard labels": (X_all, P_all.argmax(axis=1)),
}
for T in (1.0, 0.5, 0.25):
    models[f"student, soft targets T={T:g}"] = (X_all, soften(P_all, T))

results = {"teacher (forest)": (teacher.score(X_test, y_test),
                                log_loss(y_test, teacher.predict_proba(X_test)), 1.0)}
for name, (X_fit, target) in models.items():
    student = SoftmaxRegressor(alpha=1e-2).fit(X_fit, target)
    results[name] = (student.score(X_test, y_test),
                     log_loss(y_test, student.predict_proba(X_test)),
                     np.mean(student.predict(X_test) == teacher_test))

print(f"{'':34s} accuracy  log-loss  agreement with teacher")
for name, (acc, ll, agree) in results.items():
    print(f"{name:34s} {acc:.4f}    {ll:.4f}    {agree:.4f}")

fig, ax = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
names = list(results)
ax[0].barh(names, [r[0] for r in results.values()])
ax[0].set(xlim=(0.7, 1.0), xlabel="test accuracy")
ax[1].barh(names, [r[1] for r in results.values()])
ax[1].set(xlabel="test log-loss (lower is better)")
fig.tight_layout()
