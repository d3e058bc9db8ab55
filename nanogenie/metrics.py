"""Figures the models log and the evaluation reports: PSNR, codebook usage, normalised mutual information.

Pure functions on tensors or numpy arrays, so each can be checked against a hand computation. The one
home of each definition: the models' training metrics and `nanogenie eval` both use these.
"""

from __future__ import annotations

import numpy as np
import torch


PSNR_CAP = 100.0  # dB: a perfect match reports this rather than inf


def psnr_from_mse(mse: torch.Tensor) -> torch.Tensor:
    """PSNR in dB on the [0, 1] pixel scale from an MSE measured on [-1, 1] pixels (any shape)."""
    return (10 * torch.log10(4.0 / mse.float().clamp_min(1e-12))).clamp(max=PSNR_CAP)


def psnr(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per leading item, frames in [-1, 1] measured on the [0, 1] pixel scale.

    generated, target: (B, ...) -> (B,).
    """
    diff = generated.float().clamp(-1, 1) - target.float().clamp(-1, 1)
    return psnr_from_mse(diff.pow(2).flatten(1).mean(dim=1))


def moving_pixels(target: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) frames in [-1, 1] -> (..., 1, H, W) bool: pixels whose colour changed by more than
    one 8-bit level in any channel."""
    return (target.float() - previous.float()).abs().amax(dim=-3, keepdim=True) > 1 / 127.5


def moving_psnr(generated: torch.Tensor, target: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, [0, 1] scale) over only the pixels that change from `previous` to `target` (a sprite, a
    scrolled edge), per leading item; items where nothing changes are NaN (callers average with nanmean).

    generated, target, previous: (B, 3, H, W) in [-1, 1] -> (B,). A static sky would otherwise fill the
    mean and hide a missing hero.
    """
    moving = moving_pixels(target, previous)
    diff = ((generated.float().clamp(-1, 1) - target.float().clamp(-1, 1)) / 2).pow(2) * moving
    count = moving.flatten(1).sum(dim=1) * target.shape[1]
    value = psnr_from_mse(4 * diff.flatten(1).sum(dim=1) / count.clamp_min(1))  # back to the [-1, 1] scale
    return torch.where(count > 0, value, torch.full_like(value, float("nan")))


def code_usage(codes: torch.Tensor | np.ndarray, num_codes: int) -> float:
    """Fraction of the `num_codes` codebook entries that occur at least once in `codes` (-1 = none)."""
    flat = torch.as_tensor(np.asarray(codes) if not torch.is_tensor(codes) else codes).reshape(-1).long()
    flat = flat[(flat >= 0) & (flat < num_codes)]
    return float(torch.bincount(flat, minlength=num_codes).gt(0).sum()) / num_codes


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_information(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """NMI = I(A;B) / sqrt(H(A) H(B)) (the geometric-mean normalisation), in [0, 1].

    1 means each label of one side determines the other; 0 means independent. When either side
    is constant (zero entropy) there is no information to share and the result is 0.
    """
    a = np.asarray(labels_a).reshape(-1)
    b = np.asarray(labels_b).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    _, a_idx = np.unique(a, return_inverse=True)
    _, b_idx = np.unique(b, return_inverse=True)
    joint = np.zeros((a_idx.max() + 1, b_idx.max() + 1), dtype=np.float64)
    np.add.at(joint, (a_idx, b_idx), 1.0)
    h_a, h_b = _entropy(joint.sum(1)), _entropy(joint.sum(0))
    if h_a == 0.0 or h_b == 0.0:
        return 0.0
    mutual = h_a + h_b - _entropy(joint.reshape(-1))
    return float(np.clip(mutual / np.sqrt(h_a * h_b), 0.0, 1.0))


def probe_accuracy(truth: np.ndarray, codes: np.ndarray) -> float:
    """Genie's probe: map each code to its most frequent true action on the first half of the pairs,
    then score that map on the second half (a code unseen in the first half gets the most frequent action).

    Pairs should come in time order from episodes with a fresh random action every frame: with sticky
    actions past motion predicts the action, and a code could score without seeing the action's effect.
    """
    truth, codes = np.asarray(truth).reshape(-1), np.asarray(codes).reshape(-1)
    if truth.shape != codes.shape:
        raise ValueError(f"label arrays differ in length: {truth.shape} vs {codes.shape}")
    half = len(truth) // 2
    if half == 0:
        return 0.0
    fit_truth, fit_codes = truth[:half], codes[:half]
    fallback = np.bincount(fit_truth).argmax()
    mapping = {c: np.bincount(fit_truth[fit_codes == c]).argmax() for c in np.unique(fit_codes)}
    predicted = np.array([mapping.get(c, fallback) for c in codes[half:]])
    return float((predicted == truth[half:]).mean())


def standard_error(values: torch.Tensor) -> float | None:
    """The standard error of the mean of values (N,), rounded to 3 places; None for fewer than two values."""
    if len(values) < 2:
        return None
    return round(float(values.float().std() / len(values) ** 0.5), 3)
