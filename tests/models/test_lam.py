
import torch

from nanogenie.config import preset
from nanogenie.models.lam import LatentActionModel


def _lam(**changes):
    torch.manual_seed(0)
    cfg = preset("tiny").lam
    for name, value in changes.items():
        setattr(cfg, name, value)
    return LatentActionModel(cfg)


def test_shapes_and_action_range():
    lam = _lam().eval()
    frames = torch.rand(3, 4, 3, 16, 16) * 2 - 1
    actions = lam.infer_actions(frames)
    assert actions.shape == (3, 3) and actions.dtype == torch.long
    assert actions.min() >= 0 and actions.max() < lam.num_actions == 4
    loss, metrics = lam.train().training_loss(frames)
    assert loss.ndim == 0 and 0 < metrics["code_usage"] <= 1 and "psnr" in metrics


def test_action_is_the_head_that_predicts_the_next_frame_best():
    lam = _lam().eval()
    frames = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    candidates = lam.predict_next(frames[:, :2])  # (2, A, 3, H/p, W/p): the futures after x_0, x_1
    for wanted in range(lam.num_actions):
        clip = frames.clone()
        clip[:, 2] = candidates[:, wanted].repeat_interleave(4, -1).repeat_interleave(4, -2)  # head `wanted`, exactly
        assert lam.infer_actions(clip)[:, 1].tolist() == [wanted, wanted]


def test_action_of_a_transition_ignores_later_frames_and_sees_its_history():
    lam = _lam().eval()
    frames = torch.rand(4, 5, 3, 16, 16) * 2 - 1
    later = frames.clone()
    later[:, 4] = torch.rand_like(later[:, 4])
    assert torch.equal(lam.infer_actions(frames)[:, :3], lam.infer_actions(later)[:, :3])
    history = frames[:, 1:3]  # the heads' prediction after x_2 reads x_1 (velocities need no code) ...
    history.requires_grad_(True)
    lam.predict_next(history).sum().backward()
    assert history.grad[:, 0].abs().sum() > 0
    single = _lam(history_frames=1).eval()  # ... and with one history frame, x_2 alone
    assert single.predict_next(frames[:, 2:3]).shape == (4, 4, 3, 4, 4)


def test_training_uses_only_transitions_with_a_whole_history():
    lam = _lam().train()
    frames = (torch.rand(2, 3, 3, 16, 16) * 2 - 1).requires_grad_(True)
    lam.training_loss(frames)[0].backward()  # clip of 3 with 2 history frames: only x_0, x_1 -> x_2
    assert frames.grad[:, 0].abs().sum() > 0 and frames.grad[:, 2].abs().sum() > 0


def test_heads_learn_different_futures_and_idle_heads_restart():
    lam = _lam(spread=0.0)  # no spread: only winners learn, so idle heads must be restarted to be used
    torch.manual_seed(1)
    start = (torch.rand(1, 2, 3, 16, 16) * 2 - 1).expand(16, -1, -1, -1, -1)  # one past ...
    futures = torch.stack([torch.full((3, 16, 16), v) for v in (-0.9, -0.3, 0.3, 0.9)])  # ... four futures
    frames = torch.cat((start, futures.repeat(4, 1, 1, 1)[:, None]), dim=1)  # (16, 3, 3, H, W)
    optimizer = torch.optim.AdamW(lam.parameters(), lr=1e-2)
    for _ in range(150):
        loss, metrics = lam.training_loss(frames)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    codes = lam.eval().infer_actions(frames)[:, 1]
    assert metrics["head_gap"] > 0
    assert len(set(codes.tolist())) == 4, codes  # each kind of future got a head of its own
    assert all(len(set(codes[k::4].tolist())) == 1 for k in range(4))  # and the same future, the same head


def test_restart_is_deterministic():
    lams = [_lam(), _lam()]
    for lam in lams:
        lam.idle_steps[2] = lam.cfg.reset_after + 1
        lam._restart_idle_heads()
    assert torch.equal(lams[0].heads.weight, lams[1].heads.weight)
    assert int(lams[0].idle_steps[2]) == 0


def test_eval_mode_loss_leaves_the_heads_bookkeeping_alone():
    lam = _lam().eval()
    lam.idle_steps[1] = lam.cfg.reset_after + 1
    before = {k: v.clone() for k, v in lam.state_dict().items()}
    lam.training_loss(torch.rand(2, 3, 3, 16, 16) * 2 - 1)
    assert all(torch.equal(before[k], v) for k, v in lam.state_dict().items())


def test_passive_loss_trains_the_history_path_on_every_transition_and_the_heads_on_top():
    lam = _lam(passive_loss=True).train()
    frames = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    history = frames[:, :2]
    passive, candidates = lam._predict(history)
    assert torch.allclose(candidates - passive, lam.heads(lam.present(history[:, -1:])).unflatten(1, (4, 3)),
                          atol=1e-6)
    lam.heads.weight.grad = None
    candidates.sum().backward()  # through the candidates only the heads learn, never the history's path
    assert lam.passive.weight.grad is None and lam.heads.weight.grad.abs().sum() > 0
    loss, _ = lam.training_loss(frames)
    loss.backward()  # the passive loss reaches it
    assert lam.passive.weight.grad.abs().sum() > 0


def test_align_shift_forgives_a_whole_frame_offset_of_a_pixel_but_not_a_sprite_moving():
    lam = _lam(align_shift=1).eval()
    torch.manual_seed(2)
    history = torch.rand(3, 2, 3, 16, 16) * 2 - 1
    passive = lam._predict(history)[0]  # (3, 1, 3, 4, 4)
    scene = torch.rand(3, 3, 16, 16) * 2 - 1
    moved = torch.roll(scene, shifts=1, dims=-1)  # the whole picture one pixel to the right
    aligned = lam._aligned(moved, lam.cells(scene)[:, None])
    # the offset is undone, but for the column of cells at the edge the shift pushed out
    assert torch.allclose(aligned[..., :-1], lam.cells(scene)[..., :-1], atol=1e-6)
    sprite = scene.clone()
    sprite[:, :, 4:8, 4:8] = 1.0  # a sprite appears: no whole-frame offset removes it
    assert not torch.allclose(lam._aligned(sprite, lam.cells(scene)[:, None]), lam.cells(scene), atol=1e-2)
    exact = _lam(align_shift=0).eval()  # no alignment: the target's own cells, whatever the prediction
    assert torch.equal(exact._aligned(moved, passive), exact.cells(moved))


def test_pixel_resolution_scores_every_pixel_so_a_one_pixel_move_inside_a_cell_counts():
    lam = _lam(resolution="pixel").eval()
    frames = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    candidates = lam.predict_next(frames[:, :2])
    assert candidates.shape == (2, 4, 3, 16, 16)
    for wanted in range(lam.num_actions):
        clip = frames.clone()
        clip[:, 2] = candidates[:, wanted]
        assert lam.infer_actions(clip)[:, 1].tolist() == [wanted, wanted]
    # a 1x2 sprite one pixel lower in the same 4x4 cell: the cell means are equal, the pixels are not
    before, after = torch.full((1, 3, 16, 16), -1.0), torch.full((1, 3, 16, 16), -1.0)
    before[:, :, 4:6, 4], after[:, :, 5:7, 4] = 1.0, 1.0
    assert torch.equal(_lam().cells(before), _lam().cells(after))
    assert not torch.equal(lam.cells(before), lam.cells(after))


def test_pixel_resolution_aligns_the_whole_frame_at_full_resolution():
    lam = _lam(resolution="pixel", align_shift=1).eval()
    scene = torch.rand(3, 3, 16, 16) * 2 - 1
    moved = torch.roll(scene, shifts=1, dims=-1)
    aligned = lam._aligned(moved, scene[:, None])
    assert torch.allclose(aligned[..., :-1], scene[..., :-1], atol=1e-6)


def test_smooth_cells_follow_a_sprite_one_pixel_at_a_time():
    lam = _lam(resolution="smooth").eval()
    frames = torch.full((5, 3, 16, 16), -1.0)
    for step, x in enumerate(range(4, 9)):  # a 1x2 sprite stepping right across one 4x4 cell and into the next
        frames[step, :, 4, x:x + 2] = 1.0
    smooth, plain = lam.cells(frames)[:, 0, 1], _lam().cells(frames)[:, 0, 1]  # (5, 4): the row of cells it walks
    assert all(not torch.equal(a, b) for a, b in zip(smooth, smooth[1:]))  # every step shows
    assert torch.equal(plain[0], plain[1]) and torch.equal(plain[1], plain[2])  # inside one cell, a plain mean is blind
    candidates = lam.predict_next(torch.rand(2, 2, 3, 16, 16) * 2 - 1)
    assert candidates.shape == (2, 4, 3, 4, 4)


def test_smooth_alignment_scores_the_cells_of_the_shifted_target():
    lam = _lam(resolution="smooth", align_shift=2).eval()
    scene = torch.rand(3, 3, 16, 16) * 2 - 1
    padded = torch.nn.functional.pad(scene, (2, 2, 2, 2), mode="replicate")
    for dy, dx in ((2, 2), (0, 3), (4, 1)):  # whichever offset is closest to the prediction is the one taken
        shifted = lam.cells(padded[..., dy:dy + 16, dx:dx + 16])
        aligned = lam._aligned(scene, shifted[:, None])
        # the inner cells are equal; the border ones differ only in how the picture's edge is extended
        assert torch.allclose(aligned[..., 1:-1, 1:-1], shifted[..., 1:-1, 1:-1], atol=1e-6)


def test_hold_adds_the_neighbouring_transitions_relative_errors_to_the_training_assignment_only():
    lam = _lam(hold=0.5, max_share=1.0)
    errors = torch.tensor([[[1.0, 5.0], [1.5, 1.0], [1.0, 5.0]]])  # (1 clip, 3 transitions, 2 heads)
    relative = errors / errors.mean(dim=-1, keepdim=True)
    held = lam._held(errors)
    assert torch.allclose(held[0, 0], relative[0, 0] + 0.5 * relative[0, 1])  # one neighbour at the clip's edge
    assert torch.allclose(held[0, 1], relative[0, 1] + 0.5 * (relative[0, 0] + relative[0, 2]) / 2)
    assert held[0, 1].argmin() == 0 and errors[0, 1].argmin() == 1  # the middle one joins its neighbours' head
    frames = torch.rand(2, 5, 3, 16, 16) * 2 - 1
    plain = _lam(max_share=1.0)  # the same weights (same seed): inference does not see the neighbours
    assert torch.equal(lam.eval().infer_actions(frames), plain.eval().infer_actions(frames))


def test_a_still_past_shows_the_history_x_t_repeated_in_training_only():
    frames = (torch.rand(2, 3, 3, 16, 16) * 2 - 1).requires_grad_(True)
    still = _lam(still_history=1.0).train()
    loss = still.training_loss(frames)[0]
    loss.backward()
    assert frames.grad[:, 0].abs().sum() == 0  # x_1 -> x_2 is the only transition; its past x_0 is hidden
    repeated = frames.detach().clone()
    repeated[:, 0] = repeated[:, 1]
    plain = _lam().train()  # the same weights (same seed), shown the still past directly
    assert torch.allclose(loss, plain.training_loss(repeated)[0])
    with torch.no_grad():  # validation and inference see the real past
        assert torch.equal(still.eval().training_loss(frames)[0], plain.eval().training_loss(frames)[0])
        assert torch.equal(still.infer_actions(frames), plain.infer_actions(frames))


def test_capped_assignment_gives_every_head_a_share_of_the_transitions_it_predicts_best():
    lam = _lam(max_share=0.25).train()
    errors = torch.tensor([[0.1, 0.5, 0.6, 0.7]] * 6 + [[0.1, 0.11, 0.9, 0.2]] * 2, dtype=torch.float)
    winners = lam._capped_winners(errors)  # head 0 is best everywhere; two transitions each at most
    assert winners.bincount(minlength=4).tolist() == [2, 2, 2, 2]
    # the clear cases choose first (heads 0, 1, 2 in their order of preference); the two that head 0 barely wins
    # come last and go to the best head with room: head 3, their third choice, before head 2, their last
    assert sorted(winners[:6].tolist()) == [0, 0, 1, 1, 2, 2] and winners[6:].tolist() == [3, 3]
    frames = torch.rand(4, 3, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert lam.training_loss(frames)[1]["top_code_share"] <= 0.25
        assert torch.equal(lam.eval().infer_actions(frames), lam._errors(*[t.flatten(0, 1) for t in lam._histories(frames)])
                           .argmin(dim=1).view(4, -1))  # inference is the plain best head


def test_heads_that_see_their_place_tell_the_same_content_apart_by_where_it_is():
    frames = torch.zeros(1, 3, 3, 64, 64)  # a blank screen: every cell looks the same
    for position in (False, True):
        lam = _lam(image_size=64, heads_see_position=position).eval()
        with torch.no_grad():
            features = lam.present(frames[:, 2:])  # (1, C, 16, 16)
        # two cells whose view does not reach the screen's edge (and of the same parity on the net's half-size grid):
        # only a net that reads its place tells them apart
        assert bool((features[..., 6, 6] - features[..., 8, 8]).abs().max() > 1e-4) == position
        assert lam.predict_next(frames[:, 1:]).shape == (1, lam.num_actions, 3, 16, 16)


def test_a_shifting_head_draws_a_sprite_stepping_a_pixel_exactly():
    lam = _lam(effect="shift", resolution="smooth", align_shift=0, history_frames=1).eval()
    with torch.no_grad():  # the history's path adds nothing; head h moves every cell's content by its own offset
        lam.passive.weight.zero_()
        lam.passive.bias.zero_()
        lam.heads.weight.zero_()
        bias = lam.heads.bias.view(lam.num_actions, len(lam.offsets)).fill_(-30.0)
        for head, offset in enumerate([(0, 0), (0, 1), (0, -1), (1, 0)]):  # none, right, left, down
            bias[head, lam.offsets.index(offset)] = 30.0
    frames = torch.full((1, 3, 3, 16, 16), -1.0)
    for t, (y, x) in enumerate([(6, 6), (6, 7), (7, 7)]):  # a 2x2 sprite steps right one pixel, then down one
        frames[0, t, :, y:y + 2, x:x + 2] = 1.0
    assert lam.infer_actions(frames).tolist() == [[1, 3]]
    errors = lam._errors(frames[:, :1], frames[:, 1])  # (1, A): head 1 draws the step exactly
    assert errors[0, 1] < 1e-10 < errors[0, 0]


def test_the_inverse_model_names_codes_once_trained_and_the_heads_until_then():
    lam = _lam(inverse=True).eval()
    frames = torch.rand(2, 5, 3, 16, 16) * 2 - 1
    assert not lam.reads_by_inverse and torch.equal(lam.infer_actions(frames), lam.head_actions(frames))
    lam.inverse_trained.fill_(True)
    inputs = lam.transitions(frames)  # (B (T-1), 12, H, W): x_t-1, x_t, x_t+1, x_t+1 - x_t
    assert inputs.shape == (8, 12, 16, 16)
    assert torch.equal(inputs[0, :3], frames[0, 0]) and torch.equal(inputs[1, :3], frames[0, 0])  # x_0 before x_0
    assert torch.equal(inputs[2, :3], frames[0, 1]) and torch.equal(inputs[2, 6:9], frames[0, 3])
    by_inverse = lam.inverse(inputs).argmax(dim=1).view(2, 4)
    assert torch.equal(lam.infer_actions(frames), by_inverse)
    assert lam.frames_before == 1 == _lam(history_frames=1, inverse=True).frames_before
    assert _lam(history_frames=1, inverse=False).frames_before == 0


def test_the_inverse_model_is_saved_with_its_flag_and_a_lam_without_it_has_neither():
    trained = _lam(inverse=True)
    trained.inverse_trained.fill_(True)
    state = trained.state_dict()
    assert state["inverse_trained"].item() and any(k.startswith("inverse.") for k in state)
    loaded = _lam(inverse=True)
    loaded.load_state_dict(state)
    assert loaded.reads_by_inverse
    assert not any(k.startswith("inverse") for k in _lam(inverse=False).state_dict())  # older files still load
    assert not any(p.requires_grad for p in loaded.inverse.parameters())  # the heads' optimizer leaves it alone


PLAYER = (170, 255, 90)


def _with_player(frames: torch.Tensor, clip: int, frame: int, y: int, x: int) -> None:
    frames[clip, frame, :, y:y + 2, x:x + 2] = torch.tensor(PLAYER).view(3, 1, 1) / 127.5 - 1


def test_focus_scores_the_heads_only_near_the_players_colour():
    lam = _lam(focus=list(PLAYER), align_shift=0).eval()  # the camera's alignment reads the whole frame
    frames = torch.full((1, 3, 3, 16, 16), -1.0)  # (B, T, 3, H, W): a dark screen
    _with_player(frames, 0, 1, 2, 2)
    _with_player(frames, 0, 2, 2, 3)  # the player steps a pixel right in the top-left corner
    cells = lam.focus_cells(frames[:, 1], frames[:, 2])  # (1, 1, 4, 4): 4 px cells; the player reaches cell 1
    assert cells[0, 0].tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    history, target = frames[:, :2], frames[:, 2]
    far = target.clone()
    far[:, :, 12:16, 12:16] = 0.5  # a spark in the far corner, which no head is scored on
    assert torch.equal(lam._errors(history, target), lam._errors(history, far))
    plain = _lam(align_shift=0).eval()
    assert not torch.equal(plain._errors(history, target), plain._errors(history, far))


def test_focus_scores_the_whole_frame_where_the_player_is_absent_and_the_inverse_sees_only_near_it():
    lam = _lam(focus=list(PLAYER)).eval()
    frames = torch.rand(1, 3, 3, 16, 16) * 0.5 - 1  # dim noise, nowhere near the player's colour
    assert lam.focus_cells(frames[:, 1], frames[:, 2]).eq(1).all()
    _with_player(frames, 0, 1, 9, 9)
    inputs = lam.inverse_input(frames[:, 0], frames[:, 1], frames[:, 2])  # (1, 12, H, W)
    seen = inputs.abs().sum(dim=1)[0] > 0
    assert seen[4:16, 4:16].all() and not seen[:4].any() and not seen[:, :4].any()  # cells within one of the player


def test_focus_must_be_a_colour():
    import pytest
    from nanogenie.config import with_overrides
    from nanogenie.errors import UserError

    assert with_overrides(preset("tiny"), ["lam.focus=[170,255,90]"]).lam.focus == [170, 255, 90]
    with pytest.raises(UserError, match="lam focus"):
        with_overrides(preset("tiny"), ["lam.focus=[300,0,0]"])
