import torch

from nanogenie.config import preset
from nanogenie.models.lam import LatentActionModel


def _lam():
    torch.manual_seed(0)
    return LatentActionModel(preset("tiny").lam)


def test_shapes_and_action_range():
    lam = _lam().eval()
    frames = torch.rand(3, 4, 3, 16, 16) * 2 - 1
    actions = lam.infer_actions(frames)
    assert actions.shape == (3, 3) and actions.dtype == torch.long
    assert actions.min() >= 0 and actions.max() < lam.num_actions == 4
    loss, metrics = lam.train().training_loss(frames)
    assert loss.ndim == 0 and 0 < metrics["code_usage"] <= 1 and "psnr" in metrics


def test_action_of_a_transition_ignores_later_frames():
    lam = _lam().eval()
    frames = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    changed = frames.clone()
    changed[:, 3] = torch.rand_like(changed[:, 3])
    codes, codes_changed = lam.action_codes(frames), lam.action_codes(changed)
    assert torch.equal(codes[:, :2], codes_changed[:, :2])


def _with_live_conditioning(lam):
    for block in lam.decoder.blocks:  # zero-initialised AdaLN: give it weights as training would
        torch.nn.init.normal_(block.adaln.weight, std=0.1)
    return lam


def test_decoder_sees_the_next_frame_only_through_the_action():
    lam = _with_live_conditioning(_lam()).train()  # training mode: input masking on, as in training
    frames = (torch.rand(2, 4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    codes = lam.action_codes(frames)
    predicted = lam.predict_next(frames[:, :-1], codes.detach())  # the action's path cut
    predicted[:, 1].sum().backward()
    assert frames.grad[:, 2:].abs().sum() == 0  # no path from x_2, x_3 to the prediction of x_2
    assert frames.grad[:, 1].abs().sum() > 0  # x_1 (the frame before) is used
    assert frames.grad[:, 0].abs().sum() > 0  # and the history before it (velocities need no code)
    # and with the action's path kept, x_2 does reach the prediction: through a_1 only
    frames.grad = None
    lam.predict_next(frames[:, :-1], lam.action_codes(frames))[:, 1].sum().backward()
    assert frames.grad[:, 2].abs().sum() > 0


def test_prediction_depends_on_the_action():
    lam = _with_live_conditioning(_lam()).eval()
    frames = torch.rand(1, 2, 3, 16, 16) * 2 - 1
    codes = lam.fsq.indices_to_codes(torch.tensor([[0], [3]]))  # two different actions
    predicted = lam.predict_next(frames[:, :1].expand(2, -1, -1, -1, -1), codes)
    assert not torch.allclose(predicted[0], predicted[1], atol=1e-4)


def test_usage_term_spreads_codes():
    lam = _lam()
    frames = torch.rand(8, 4, 3, 16, 16) * 2 - 1
    optimizer = torch.optim.AdamW(lam.parameters(), lr=3e-3)
    for _ in range(15):
        loss, metrics = lam.training_loss(frames)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert metrics["code_usage"] >= 0.75, metrics  # >= 3 of 4 codes used within the batch
