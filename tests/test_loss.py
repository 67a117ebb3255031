"""The loss engine (skce._loss) against hand-computed values and finite differences."""

import numpy as np
import pytest
from _skce_data import fd_grad
from numpy.testing import assert_allclose

from skce._loss import (
    HardTargets,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SoftTargets,
    log_softmax,
    softmax,
)


def _loss(loss, raw, targets, sw):
    return loss.loss(raw.copy(), targets, sw)


def _loss_grad(loss, raw, targets, sw):
    return loss.loss_gradient(raw.copy(), targets, sw)


def test_hand_computed_cross_entropy():
    # true class [1, 0, 0], predicted [0.7, 0.2, 0.1]: CE = -log 0.7 = 0.35667...
    raw = np.log([[0.7, 0.2, 0.1]])
    targets = HardTargets(np.array([0]), 3)
    loss = SoftmaxCrossEntropy(3)
    value, grad = _loss_grad(loss, raw, targets, np.ones(1))
    assert value == pytest.approx(0.35667494393873245, rel=1e-12)
    assert _loss(loss, raw, targets, np.ones(1)) == pytest.approx(value, rel=1e-14)
    # gradient w.r.t. the logits is q - t
    assert_allclose(grad, [[0.7 - 1.0, 0.2, 0.1]], atol=1e-14)
    # the same row written as a soft target
    soft = SoftTargets(np.array([[1.0, 0.0, 0.0]]))
    assert _loss(loss, raw, soft, np.ones(1)) == pytest.approx(value, rel=1e-14)
    # adding a constant to all logits changes nothing
    assert _loss(loss, raw + 123.0, targets, np.ones(1)) == pytest.approx(value,
                                                                         rel=1e-12)


def test_hand_computed_binary_cross_entropy():
    # one logit z, p = sigmoid(z) = 0.8: CE(y=1) = -log 0.8, CE(y=0) = -log 0.2
    z = np.log(0.8 / 0.2)
    raw = np.array([[z], [z]])
    targets = HardTargets(np.array([1, 0]), 2)
    value, grad = _loss_grad(SigmoidCrossEntropy(), raw, targets, np.array([1.0, 2.0]))
    assert value == pytest.approx(-np.log(0.8) - 2 * np.log(0.2), rel=1e-12)
    assert_allclose(grad, [[0.8 - 1.0], [2 * 0.8]], atol=1e-14)


def test_sigmoid_equals_softmax_on_two_logits():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 1)) * 3
    codes = rng.integers(0, 2, 20)
    sw = rng.uniform(0.5, 2.0, 20)
    for smoothing in (0.0, 0.2):
        targets = HardTargets(codes, 2, smoothing)
        v1 = _loss(SigmoidCrossEntropy(), z, targets, sw)
        v2 = _loss(SoftmaxCrossEntropy(2), np.hstack([np.zeros_like(z), z]), targets,
                   sw)
        assert v1 == pytest.approx(v2, rel=1e-12)


def test_label_smoothing_matches_torch_formula():
    # torch.nn.CrossEntropyLoss(label_smoothing=eps):
    #   (1 - eps) * (-log q_y) + eps / K * sum_k (-log q_k)
    eps, K = 0.1, 3
    q = np.array([0.7, 0.2, 0.1])
    expected = (1 - eps) * -np.log(0.7) + eps / K * -np.log(q).sum()
    # by hand: 0.9 * 0.35667 + 0.1 / 3 * (0.35667 + 1.60944 + 2.30259) = 0.46330
    assert expected == pytest.approx(0.46330, abs=1e-5)
    raw = np.log(q)[None, :]
    targets = HardTargets(np.array([0]), K, smoothing=eps)
    value, grad = _loss_grad(SoftmaxCrossEntropy(K), raw, targets, np.ones(1))
    assert value == pytest.approx(expected, rel=1e-12)
    T = np.array([1 - eps + eps / K, eps / K, eps / K])
    assert_allclose(grad[0], q - T, atol=1e-14)
    # the class mass of smoothed targets
    assert_allclose(targets.class_mass(np.array([2.0])), 2 * T)


def test_label_smoothing_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(8, 4))
    codes = rng.integers(0, 4, 8)
    expected = torch.nn.CrossEntropyLoss(label_smoothing=0.15, reduction="sum")(
        torch.tensor(raw), torch.tensor(codes)).item()
    value = _loss(SoftmaxCrossEntropy(4), raw, HardTargets(codes, 4, 0.15), np.ones(8))
    assert value == pytest.approx(expected, rel=1e-10)


def _targets(kind, n, K, rng):
    if kind == "hard":
        return HardTargets(rng.integers(0, K, n), K)
    if kind == "smoothed":
        return HardTargets(rng.integers(0, K, n), K, 0.2)
    T = rng.dirichlet(np.ones(K), size=n)
    return SoftTargets(T)


@pytest.mark.parametrize("kind", ["hard", "smoothed", "soft"])
@pytest.mark.parametrize("K", [2, 4])
def test_raw_gradient_and_hessian_finite_differences(kind, K):
    rng = np.random.default_rng(2)
    n = 7
    loss = SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)
    raw = rng.normal(size=(n, loss.n_outputs)) * 2
    targets = _targets(kind, n, K, rng)
    sw = rng.uniform(0.1, 3.0, n)

    def f(r):
        return _loss(loss, r, targets, sw)

    value, grad = _loss_grad(loss, raw, targets, sw)
    assert value == pytest.approx(f(raw), rel=1e-14)
    assert_allclose(grad, fd_grad(f, raw), rtol=1e-6, atol=1e-8)

    state = loss.hessian_setup(raw.copy(), targets, sw)
    d = rng.normal(size=raw.shape)
    Hd = loss.hessian_product(state, d.copy())
    h = 1e-5

    def g(r):
        return _loss_grad(loss, r, targets, sw)[1]

    fd = (g(raw + h * d) - g(raw - h * d)) / (2 * h)
    assert_allclose(Hd, fd, rtol=1e-6, atol=1e-8)


def test_extreme_logits_are_finite():
    raw = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    targets = HardTargets(np.array([1, 1]), 3)
    value, grad = _loss_grad(SoftmaxCrossEntropy(3), raw, targets, np.ones(2))
    # row 0: log-sum-exp = 1e4, target logit -1e4 -> 2e4; row 1: 0
    assert value == pytest.approx(2e4, rel=1e-12)
    assert np.all(np.isfinite(grad))
    assert_allclose(grad, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-12)
    z = np.array([[1e4], [-1e4]])
    value, grad = _loss_grad(SigmoidCrossEntropy(), z, HardTargets(np.array([0, 0]), 2),
                             np.ones(2))
    assert value == pytest.approx(1e4, rel=1e-12)
    assert_allclose(grad, [[1.0], [0.0]], atol=1e-12)
    assert np.all(np.isfinite(log_softmax(raw)))
    assert_allclose(softmax(raw).sum(axis=1), 1.0)


def test_float32_stays_float32():
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(5, 3)).astype(np.float32)
    targets = HardTargets(rng.integers(0, 3, 5), 3, 0.1)
    _, grad = _loss_grad(SoftmaxCrossEntropy(3), raw, targets,
                         np.ones(5, dtype=np.float32))
    assert grad.dtype == np.float32
    _, grad = _loss_grad(SigmoidCrossEntropy(), raw[:, :1],
                         HardTargets(rng.integers(0, 2, 5), 2),
                         np.ones(5, dtype=np.float32))
    assert grad.dtype == np.float32


def test_targets_take_and_dot():
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 3, 6)
    hard = HardTargets(codes, 3, 0.3)
    dense = SoftTargets(np.eye(3)[codes] * 0.7 + 0.1)
    raw = rng.normal(size=(6, 3))
    assert_allclose(hard.dot(raw), dense.dot(raw))
    rows = np.array([4, 0, 2])
    assert_allclose(hard.take(rows).dot(raw[rows]), dense.take(rows).dot(raw[rows]))
    sw = rng.uniform(size=6)
    assert_allclose(hard.class_mass(sw), dense.class_mass(sw))
    assert len(hard) == len(dense) == 6
