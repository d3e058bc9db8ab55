import math

import numpy as np
import pytest
import torch

from nanogenie.metrics import (code_usage, moving_psnr, normalized_mutual_information, probe_accuracy, psnr,
                               standard_error)


def test_psnr_matches_hand_computation():
    target = torch.zeros(2, 3, 4, 4)  # mid-grey on the [0, 1] scale
    generated = torch.full((2, 3, 4, 4), 0.2)  # 0.1 brighter on the [0, 1] scale: mse 0.01 -> 20 dB
    assert psnr(generated, target).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)
    assert psnr(target, target).tolist() == [100.0, 100.0]


def test_code_usage_counts_distinct_codes():
    assert code_usage(torch.tensor([[0, 1, 1], [3, 3, 0]]), 8) == pytest.approx(3 / 8)
    assert code_usage(np.array([-1, 2, 2]), 4) == pytest.approx(1 / 4)  # -1 (unknown) is not a code


def test_nmi_of_identical_and_relabelled_labels_is_one():
    labels = np.random.default_rng(0).integers(0, 6, size=2000)
    assert normalized_mutual_information(labels, labels) == pytest.approx(1.0)
    relabelled = (labels * 5 + 3) % 7  # a bijection: the same partition under other names
    assert normalized_mutual_information(labels, relabelled) == pytest.approx(1.0)


def test_nmi_of_independent_labels_is_near_zero():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 6, size=20_000), rng.integers(0, 8, size=20_000)
    assert normalized_mutual_information(a, b) < 0.01


def test_nmi_matches_a_hand_computed_case():
    # a determines b, but b merges two of a's labels: I = H(b) = ln 2, H(a) = 1.5 ln 2.
    a = np.array([0, 1, 2, 2])
    b = np.array([0, 0, 1, 1])
    expected = math.log(2) / math.sqrt(1.5 * math.log(2) * math.log(2))
    assert normalized_mutual_information(a, b) == pytest.approx(expected)


def test_nmi_with_a_constant_side_is_zero():
    assert normalized_mutual_information(np.zeros(10), np.arange(10)) == 0.0


def test_probe_accuracy_fits_on_the_first_half_and_scores_the_second():
    truth = np.array([0, 0, 1, 1, 2, 0, 0, 1, 1, 2])
    codes = np.array([5, 5, 7, 7, 7, 5, 5, 7, 9, 7])  # 5 -> 0, 7 -> 1 (2 of 3); 9 unseen -> majority 0
    assert probe_accuracy(truth, codes) == pytest.approx(3 / 5)  # second half: 0 0 1 1 2 -> 0 0 1 0 1
    assert probe_accuracy(truth, truth) == 1.0
    with pytest.raises(ValueError):
        probe_accuracy(truth, codes[:-1])


def test_moving_psnr_counts_only_the_pixels_that_changed():
    previous = torch.zeros(2, 3, 4, 4)
    target = previous.clone()
    target[0, :, 0, 0] = 1.0  # one pixel moved in the first item; nothing in the second
    generated = target.clone()
    generated[0, :, 3, 3] = 1.0  # a wrong static pixel does not count ...
    assert moving_psnr(generated, target, previous)[0] == 100.0
    generated[0, :, 0, 0] = 0.0  # ... a missed moving one does: error 0.5 on the [0, 1] scale -> 6.02 dB
    value = moving_psnr(generated, target, previous)
    assert value[0].item() == pytest.approx(6.0206, abs=1e-3) and math.isnan(value[1].item())


def test_standard_error_is_the_spread_over_root_n():
    gains = torch.tensor([1.0, 3.0, -1.0, 1.0])  # sample std 1.633, over sqrt(4)
    assert standard_error(gains) == pytest.approx(0.816, abs=1e-3)
    assert standard_error(torch.tensor([2.0])) is None  # one value says nothing about the spread
