import math

import pytest
import torch

from nanogenie.models.fsq import FSQ, round_ste

LEVEL_LISTS = [[8], [4, 4], [8, 5, 5, 5], [7, 5, 5, 5], [2, 3], [8, 8, 6, 5]]


@pytest.mark.parametrize("levels", LEVEL_LISTS)
def test_index_code_index_round_trip(levels):
    fsq = FSQ(levels)
    assert fsq.codebook_size == math.prod(levels)
    indices = torch.arange(fsq.codebook_size)
    codes = fsq.indices_to_codes(indices)
    assert codes.shape == (fsq.codebook_size, len(levels))
    assert torch.equal(fsq.codes_to_indices(codes), indices)
    assert len({tuple(c.tolist()) for c in codes}) == fsq.codebook_size  # every index its own code


@pytest.mark.parametrize("levels", LEVEL_LISTS)
def test_quantised_values_lie_on_the_grid_and_use_every_level(levels):
    fsq = FSQ(levels)
    z = torch.linspace(-6, 6, 2001)[:, None].expand(-1, len(levels))
    codes = fsq(z)
    for i, level in enumerate(levels):
        half = level // 2
        grid = (torch.arange(level) - half) / half
        values = codes[:, i].unique()
        assert torch.allclose(values, grid), (level, values)  # exactly L values, even levels included
    assert torch.equal(fsq.codes_to_indices(codes), fsq.codes_to_indices(fsq.indices_to_codes(fsq.codes_to_indices(codes))))


@pytest.mark.parametrize("levels", LEVEL_LISTS)
def test_zero_maps_to_zero_code_and_gradient_flows(levels):
    fsq = FSQ(levels)
    z = torch.zeros(3, len(levels), requires_grad=True)
    codes = fsq(z)
    assert torch.all(codes == 0)
    codes.sum().backward()
    assert torch.all(z.grad > 0)  # rounding is straight-through, tanh has slope there


def test_round_ste_rounds_forward_and_passes_gradient():
    x = torch.tensor([0.2, 1.6, -2.4], requires_grad=True)
    y = round_ste(x)
    assert torch.equal(y, torch.tensor([0.0, 2.0, -2.0]))
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([1.0, 2.0, 3.0]))


def test_soft_assignment_is_a_distribution_peaked_at_the_hard_code():
    fsq = FSQ([8, 5])
    z = torch.randn(64, 2) * 2
    probs = fsq.soft_assignment(z, temperature=0.05)
    assert probs.shape == (64, 40)
    assert torch.allclose(probs.sum(-1), torch.ones(64), atol=1e-5)
    assert torch.equal(probs.argmax(-1), fsq.codes_to_indices(fsq(z)))
