import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.data import load_dataset
from nanogenie.envs import ENVS, StickyPolicy, bricks, dungeon, firefly, make_env, paddle, rollout
from nanogenie.errors import UserError


def run_lengths(actions: np.ndarray) -> np.ndarray:
    change = np.flatnonzero(np.diff(actions)) + 1
    return np.diff(np.concatenate([[0], change, [len(actions)]]))


def test_sticky_policy_holds_actions_and_uses_every_action():
    policy = StickyPolicy(7, np.random.default_rng(0), min_hold=2, max_hold=12)
    actions = np.array([policy.act() for _ in range(5000)])
    runs = run_lengths(actions)[:-1]  # the last run may be cut short
    assert runs.min() >= 2 and runs.mean() > 4
    counts = np.bincount(actions, minlength=7)
    assert counts.min() > 300


def test_sticky_policy_weights_bias_the_choice():
    policy = StickyPolicy(3, np.random.default_rng(0), weights=[1.0, 0.0, 3.0])
    counts = np.bincount([policy.act() for _ in range(4000)], minlength=3)
    assert counts[1] == 0 and counts[2] > 2 * counts[0] > 0


def test_sticky_policy_rejects_bad_weights():
    with pytest.raises(ValueError):
        StickyPolicy(3, np.random.default_rng(0), weights=[1.0, 2.0])


@pytest.mark.parametrize("name", sorted(ENVS))
def test_rollout_invariants(name):
    n = 1500
    frames, actions, ends = rollout(name, n, size=32, seed=1)
    assert frames.shape == (n, 32, 32, 3) and frames.dtype == np.uint8
    assert actions.shape == (n,) and actions.dtype == np.int16
    assert ends.dtype == np.int64 and ends[-1] == n and len(ends) >= 2
    assert (np.diff(ends) > 0).all() and ends[0] > 0
    assert np.array_equal(np.flatnonzero(actions == -1), ends - 1)
    taken = actions[actions >= 0]
    assert taken.max() < len(make_env(name).action_names)
    assert len(np.unique(taken)) == len(make_env(name).action_names)


def test_rollout_episodes_start_from_a_reset_and_are_deterministic():
    frames, actions, ends = rollout("pong", 800, seed=3)
    again, again_actions, again_ends = rollout("pong", 800, seed=3)
    other, _, _ = rollout("pong", 800, seed=4)
    assert np.array_equal(frames, again) and np.array_equal(actions, again_actions)
    assert np.array_equal(ends, again_ends) and not np.array_equal(frames, other)
    # every pong episode starts with a fresh score: no pips under the top wall
    for start in np.concatenate([[0], ends[:-1]]):
        assert frames[start, 4:7].max() < 200


def test_rollout_shows_the_env_after_each_frame_without_changing_the_frames():
    seen = []
    frames, actions, ends = rollout("dungeon", 300, seed=2, policy="random",
                                    observe=lambda env: seen.append((env.hero_x, env.hero_y, env.t)))
    plain, plain_actions, _ = rollout("dungeon", 300, seed=2, policy="random")
    assert np.array_equal(frames, plain) and np.array_equal(actions, plain_actions)
    assert len(seen) == 300
    starts = set(np.concatenate([[0], ends[:-1]]).tolist())
    assert all((t == 0) == (i in starts) for i, (_, _, t) in enumerate(seen))  # a reset, then one step per frame
    x, y = np.array([s[0] for s in seen]), np.array([s[1] for s in seen])
    hero = np.all(frames == dungeon.HERO_PALETTE["H"], axis=-1)  # the hero's colour is its own
    for i in (0, 1, 150, 299):  # the state read is the one the frame was drawn from
        rows, cols = np.nonzero(hero[i])
        assert (cols.min(), rows.min()) == (x[i], y[i])


def test_rollout_cuts_the_last_episode_to_the_exact_length(capsys):
    frames, actions, ends = rollout("sonic", 5, seed=0, progress=True)
    assert len(frames) == 5 and list(ends) == [5] and list(actions[-1:]) == [-1]
    assert "sonic" in capsys.readouterr().err  # the progress bar went to stderr


def test_unknown_env_and_bad_inputs_raise_user_errors():
    with pytest.raises(UserError, match="pong.*sonic"):
        make_env("zelda")
    with pytest.raises(UserError, match="size"):
        make_env("sonic", size=4)
    with pytest.raises(UserError, match="at least 1"):
        rollout("pong", 0)
    with pytest.raises(UserError, match="sticky, random"):
        rollout("pong", 10, policy="greedy")
    env = make_env("pong")
    env.reset(0)
    with pytest.raises(UserError, match="out of range"):
        env.step(3)


def _frames(name: str, seed: int, actions: list[int], size: int = 64) -> list[np.ndarray]:
    env = make_env(name, size)
    return [env.reset(seed)] + [env.step(a) for a in actions]


MEASUREMENT_WORLDS = [firefly, dungeon, paddle, bricks]
ACTION_NAMES = {"firefly": ["idle", "up", "down", "left", "right"], "dungeon": ["idle", "up", "down", "left", "right"],
                "paddle": ["idle", "up", "down"], "bricks": ["idle", "left", "right"]}


@pytest.mark.parametrize("module", MEASUREMENT_WORLDS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
@pytest.mark.parametrize("size", [64, 32])
def test_a_measurement_world_draws_square_frames_the_same_for_a_seed(module, size):
    name = module.__name__.rsplit(".", 1)[1]
    last = make_env(name).num_actions - 1
    actions = [1] * 5 + [last] * 20 + [0] * 20  # two keys held, then idle
    first, again, other = _frames(name, 7, actions, size), _frames(name, 7, actions, size), _frames(name, 8, actions, size)
    assert all(frame.shape == (size, size, 3) and frame.dtype == np.uint8 for frame in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])  # another seed, another scene from the first frame


@pytest.mark.parametrize("module", MEASUREMENT_WORLDS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_a_measurement_world_ends_at_max_steps_and_generates_data_with_its_actions(module, tmp_path):
    env = make_env(module.__name__.rsplit(".", 1)[1], 32)
    env.reset(0)
    for t in range(module.MAX_STEPS):
        assert not env.done
        env.step(t % env.num_actions)
    assert env.done and env.t == module.MAX_STEPS
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    out, frames = tmp_path / "world.h5", module.MAX_STEPS + 50
    assert main(["data", "generate", "--env", env.name, "--frames", str(frames), "--size", "32", "--out", str(out)]) == 0
    data = load_dataset(out)
    assert data.frames.shape == (frames, 32, 32, 3) and data.action_names == ACTION_NAMES[env.name]
    assert list(data.episode_ends) == [module.MAX_STEPS + 1, frames]
    assert set(np.unique(np.delete(data.actions, data.episode_ends - 1))) == set(range(env.num_actions))
