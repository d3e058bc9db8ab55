from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nanogenie.eval.control import HOLD, accuracy_and_error, held_controls, keymap_codes, played


def test_each_true_control_gets_its_main_chords_latent_action(tmp_path):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('idle = 3\n[bindings]\nleft = 1\nspace = 5\nup = 6\n')
    names = ["idle", "left", "right", "jump"]
    assert keymap_codes(keymap, names) == {0: 3, 1: 1, 3: 5}  # right has no binding: not scored


def test_accuracy_pools_the_pairs_and_its_error_measures_the_spread_over_states():
    same = np.array([[3, 6]] * 40, dtype=float)  # every state alike: no spread
    assert accuracy_and_error(same) == (0.5, 0.0)
    split = np.array([[6, 6]] * 20 + [[0, 6]] * 20, dtype=float)  # states all right or all wrong
    accuracy, error = accuracy_and_error(split)
    assert accuracy == 0.5
    assert error == pytest.approx(0.5 / np.sqrt(40), rel=0.15)  # a proportion's standard error over 40 states
    assert accuracy_and_error(np.array([[2, 6], [0, 0]], dtype=float))[0] == pytest.approx(1 / 3, abs=1e-4)


def test_nothing_scored_gives_no_figures():
    assert accuracy_and_error(np.zeros((5, 2))) == (None, None)
    assert accuracy_and_error(np.zeros((0, 2))) == (None, None)


class _EndsAfter:
    """A simulator whose episode ends at its `length`-th step."""

    def __init__(self, length: int):
        self.length, self.t, self.done = length, 0, False

    def step(self, action: int) -> np.ndarray:
        assert not self.done, "stepped past the episode's end"
        self.t += 1
        self.done = self.t >= self.length
        return np.full((4, 4, 3), self.t, np.uint8)


def test_a_state_whose_episode_ends_inside_the_keys_gives_no_frames():
    """Held-out states near an episode's end (sonic a few steps from a pit) are skipped, not stepped past
    the end: `played` and `held_controls` say None there, and leave the state as it was."""
    env = _EndsAfter(length=HOLD)
    assert [f[0, 0, 0] for f in played(env, [0] * HOLD)] == list(range(1, HOLD + 1))
    assert played(env, [0] * (HOLD + 1)) is None
    assert held_controls(_EndsAfter(length=HOLD - 1), [0, 1]) is None
    assert len(held_controls(env, [0, 1])) == 2 and env.t == 0 and not env.done


def _fake_control(monkeypatch) -> tuple[object, list]:
    """control_accuracy over a fake two-key simulator and world whose frame for each key is that key's true
    frame (every pair right), recording each call: ("simulator", hold) and ("world", hold, seed). Returns
    (the world, the calls)."""
    from types import SimpleNamespace

    import torch

    from nanogenie.eval import control

    truth = [np.full((4, 4, 3), value, np.uint8) for value in (0, 255)]
    calls = []

    def held_codes(world, context, codes, device, seed, hold):
        calls.append(("world", hold, seed))
        return torch.from_numpy(np.stack(truth)).permute(0, 3, 1, 2).float() / 127.5 - 1  # each control's own frame

    def held_controls(env, controls, hold):
        calls.append(("simulator", hold))
        return truth

    monkeypatch.setattr(control, "make_env", lambda name, size: SimpleNamespace(action_names=["left", "right"]))
    monkeypatch.setattr(control, "keymap_owned", lambda path, names: {0: (0,), 1: (1,)})
    monkeypatch.setattr(control, "held_out_state", lambda env, rng: [truth[0]])
    monkeypatch.setattr(control, "held_controls", held_controls)
    monkeypatch.setattr(control, "held_codes", held_codes)
    return SimpleNamespace(config=SimpleNamespace(tokenizer=SimpleNamespace(image_size=4))), calls


def test_each_held_out_state_draws_its_own_sampling_noise(monkeypatch):
    """One noise draw shared by every state would move all their results together, which the bootstrap over
    states cannot see; each state gets its own seed, the same on every run."""
    from nanogenie.eval import control

    world, calls = _fake_control(monkeypatch)
    assert control.control_accuracy(world, "pong", None, "cpu", states=5, seed=3) == (1.0, 0.0)
    first = [call[2] for call in calls if call[0] == "world"]
    assert len(set(first)) == 5
    calls.clear()
    control.control_accuracy(world, "pong", None, "cpu", states=5, seed=3)
    assert [call[2] for call in calls if call[0] == "world"] == first  # the same noise on every run of one seed
    assert control.sampling_seed(4, 0) not in first


def test_a_long_hold_holds_the_key_on_both_sides(monkeypatch):
    """`eval --hold N`: the simulator and the world both hold each key N frames, so a world whose held key (or
    no key) stops doing what the game does after a few frames is caught."""
    from nanogenie.eval import control

    world, calls = _fake_control(monkeypatch)
    control.control_accuracy(world, "pong", None, "cpu", states=2, seed=0, hold=32)
    assert [call[:2] for call in calls] == [("simulator", 32), ("world", 32)] * 2
    calls.clear()
    control.control_accuracy(world, "pong", None, "cpu", states=1, seed=0)
    assert [call[:2] for call in calls] == [("simulator", HOLD), ("world", HOLD)]


def test_a_key_that_owns_several_codes_plays_the_one_the_lam_reads_else_its_first():
    from nanogenie.eval.evaluate import KeysHeld

    lam = SimpleNamespace(cfg=SimpleNamespace(history_frames=2),
                          infer_actions=lambda frames: torch.tensor([[0, 0, 3], [0, 0, 3], [0, 0, 6]]))
    keys = KeysHeld([[(1,), (1, 3)], [(2,), (2, 5)], [(4,), (4, 5)]])
    played = keys.played(lam, torch.zeros(3, 5, 3, 4, 4), torch.tensor([1, 2, 4]), step=1)
    assert played.tolist() == [3, 2, 4] and keys.any_split and not KeysHeld([[(1,), (2,)]]).any_split


def test_keys_of_one_code_each_generate_what_plain_codes_do(tmp_path):
    from nanogenie.config import preset
    from nanogenie.eval.evaluate import KeysHeld, generate_after_context
    from nanogenie.world import load_world
    from world_helpers import save_random_world

    torch.manual_seed(0)
    prompt = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    world = load_world(save_random_world(tmp_path / "w", preset("tiny"), prompt, fps=10))
    tokens = world.tokenizer.encode(torch.from_numpy(prompt[None]).permute(0, 1, 4, 2, 3).float() / 127.5 - 1)
    tokens = tokens[:, :4].expand(2, -1, -1).contiguous()
    actions = torch.tensor([[0, 1, 2, 3, 3, 3], [1, 1, 1, 0, 2, 1]])
    plain = generate_after_context(world, tokens, actions, 3, seed=5)
    context = torch.from_numpy(prompt[None, :4]).permute(0, 1, 4, 2, 3).float() / 127.5 - 1  # (1, 4, 3, H, W)
    keys = KeysHeld([[(int(a),) for a in row[3:]] for row in actions], context)
    assert torch.equal(generate_after_context(world, tokens, actions, 3, seed=5, keys=keys), plain)

    every = KeysHeld([[tuple(range(world.num_actions))] * 3] * 2, context)  # whatever the LAM reads, the key owns
    played = []
    every.played = lambda *args, read=every.played: played.append(read(*args)) or played[-1]
    made = generate_after_context(world, tokens, actions, 3, seed=5, keys=every)
    frames = torch.cat((context.expand(2, -1, -1, -1, -1), made), dim=1)  # (2, 7, 3, H, W) as the LAM saw them
    reads = world.lam.infer_actions(frames)  # (2, 6): transition t -> t+1
    assert [p.tolist() for p in played] == [reads[:, 3].tolist(), reads[:, 4].tolist()]  # after frames 4 and 5
