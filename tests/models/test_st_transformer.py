import pytest
import torch
import torch.nn.functional as F

from nanogenie.models.st_transformer import (STTransformer, apply_rope, attend_by_products, band_mask, grid_rope_tables,
                                             rope_tables)


def _model(temporal=True, cond_width=None, window=8):
    torch.manual_seed(0)
    return STTransformer(width=32, depth=2, heads=4, window=window, temporal=temporal, cond_width=cond_width).eval()


def test_temporal_attention_is_causal():
    model = _model()
    x = torch.randn(2, 6, 5, 32)
    changed = x.clone()
    changed[:, 4:] += torch.randn_like(changed[:, 4:])
    out, out_changed = model(x), model(changed)
    assert torch.allclose(out[:, :4], out_changed[:, :4], atol=1e-6)
    assert not torch.allclose(out[:, 4:], out_changed[:, 4:], atol=1e-3)  # later frames do see the change


def test_conditioning_is_per_frame_and_causal():
    model = _model(cond_width=16)
    for block in model.blocks:  # a fresh AdaLN starts at zero; give it weights so conditioning matters
        torch.nn.init.normal_(block.adaln.weight, std=0.1)
    x, cond = torch.randn(1, 5, 4, 32), torch.randn(1, 5, 16)
    changed = cond.clone()
    changed[:, 3] += 1.0
    out, out_changed = model(x, cond=cond), model(x, cond=changed)
    assert torch.allclose(out[:, :3], out_changed[:, :3], atol=1e-6)
    assert not torch.allclose(out[:, 3], out_changed[:, 3], atol=1e-3)


def test_spatial_only_stack_treats_frames_independently():
    model = _model(temporal=False)
    x = torch.randn(1, 3, 4, 32)
    changed = x.clone()
    changed[:, 0] += 1.0
    assert torch.allclose(model(x)[:, 1:], model(changed)[:, 1:], atol=1e-6)


def test_rope_scores_depend_only_on_frame_distance():
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def score(q_pos, k_pos):
        cq, sq = rope_tables(torch.tensor([q_pos]), 16, torch.float32)
        ck, sk = rope_tables(torch.tensor([k_pos]), 16, torch.float32)
        return (apply_rope(q, cq, sq) * apply_rope(k, ck, sk)).sum()

    assert torch.allclose(score(5, 2), score(100_005, 100_002), atol=1e-4)
    assert not torch.allclose(score(5, 2), score(5, 4), atol=1e-3)


def test_grid_rope_scores_depend_only_on_where_tokens_stand_relative_to_each_other():
    side = 8
    cos, sin = grid_rope_tables(side, 16)
    q, k = torch.randn(16), torch.randn(16)

    def score(q_row, q_col, k_row, k_col):
        i, j = q_row * side + q_col, k_row * side + k_col
        return (apply_rope(q, cos[i], sin[i]) * apply_rope(k, cos[j], sin[j])).sum()

    assert torch.allclose(score(1, 2, 3, 1), score(5, 6, 7, 5), atol=1e-5)  # the same offset anywhere on the grid
    assert not torch.allclose(score(1, 2, 3, 1), score(1, 2, 1, 3), atol=1e-3)  # rows and columns tell apart
    assert not torch.allclose(score(1, 2, 3, 1), score(1, 2, 3, 2), atol=1e-3)


def test_spatial_rope_changes_the_output_and_saves_no_tables():
    torch.manual_seed(0)
    model = STTransformer(width=32, depth=2, heads=4, window=8, grid=2).eval()
    torch.manual_seed(0)
    plain = STTransformer(width=32, depth=2, heads=4, window=8).eval()
    x = torch.randn(1, 3, 4, 32)
    assert not torch.allclose(model(x), plain(x), atol=1e-4)
    assert set(model.state_dict()) == set(plain.state_dict())  # the tables are rebuilt, never saved


def test_cache_equals_banded_full_sequence_past_the_window():
    window, frames = 3, 8
    model = _model(window=window)
    x = torch.randn(2, frames, 5, 32)
    full = model(x)  # banded causal attention over all frames
    cache = model.new_cache(2 * 5, "cpu", torch.float32)
    keys_ptr = cache.keys[0].data_ptr()
    stepped = []
    for t in range(frames):
        stepped.append(model(x[:, t:t + 1], cache=cache))
        cache.advance()
    assert torch.allclose(torch.cat(stepped, dim=1), full, atol=1e-5)
    assert cache.keys[0].data_ptr() == keys_ptr and cache.keys[0].shape == (10, 4, window, 8)
    # a reference that only sees the last `window` frames from scratch differs: the cache is not that
    assert not torch.allclose(model(x[:, -window:])[:, -1], full[:, -1], atol=1e-4)


@pytest.mark.parametrize("case", ["none", "causal", "band", "frame mask"])
def test_attention_by_products_equals_the_fused_kernel(case):
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4, 6, 8), torch.randn(3, 4, 6, 8), torch.randn(3, 4, 6, 8)
    mask = {"band": band_mask(6, 3, q.device), "frame mask": (torch.rand(6, 6) < 0.5) | torch.eye(6, dtype=torch.bool)
            }.get(case)
    causal = case == "causal"
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    assert torch.allclose(attend_by_products(q, k, v, mask, causal), fused, atol=1e-6)


def test_a_stack_under_cpu_bf16_autocast_stays_close_to_fp32_and_keeps_its_gradients(monkeypatch):
    model = _model(cond_width=16).train()
    x, cond = torch.randn(2, 6, 5, 32), torch.randn(2, 6, 16)
    reference = model(x, cond=cond)

    def fused(*args, **kwargs):
        raise AssertionError("bf16 attention on a CPU should not reach the fused kernel")

    monkeypatch.setattr(F, "scaled_dot_product_attention", fused)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(x, cond=cond)
    assert (mixed.float() - reference).abs().mean() < 0.05 * reference.abs().mean()
    mixed.float().pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 and p.grad.isfinite().all()
               for p in model.parameters() if p.requires_grad)
