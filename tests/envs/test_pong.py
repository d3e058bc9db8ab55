import numpy as np
import pytest

from nanogenie.envs import make_env
from nanogenie.envs.pong import DOWN, IDLE, MAX_STEPS, POINTS_PER_EPISODE, UP


def play(seed: int, actions: list[int], size: int = 64) -> list[np.ndarray]:
    env = make_env("pong", size)
    return [env.reset(seed)] + [env.step(a) for a in actions]


@pytest.mark.parametrize("size", [64, 32])
def test_frames_are_square_rgb_uint8(size):
    for frame in play(0, [UP, DOWN, IDLE], size):
        assert frame.shape == (size, size, 3) and frame.dtype == np.uint8


def test_same_seed_same_frames_and_different_seeds_differ():
    actions = [UP] * 5 + [DOWN] * 20 + [IDLE] * 20
    first, again, other = play(7, actions), play(7, actions), play(8, actions)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_up_and_down_move_the_player_paddle_visibly():
    results = {}
    for action in (IDLE, UP, DOWN):
        env = make_env("pong")
        env.reset(0)
        frame = env.step(action)
        results[action] = (env.player_y, frame)
    assert results[UP][0] < results[IDLE][0] < results[DOWN][0]
    frames = [results[a][1] for a in (IDLE, UP, DOWN)]
    assert not np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[0], frames[2])


def test_ball_bounces_off_a_paddle():
    env = make_env("pong")
    env.reset(0)
    env.wait, env.vx, env.vy = 0, 2.0, 0.0
    env.ball_x, env.ball_y, env.player_y = 50.0, 32.0, 32.0
    for _ in range(5):
        env.step(IDLE)
    assert env.vx < 0 and env.player_score == env.computer_score == 0


def test_points_reset_the_ball_and_end_the_episode():
    env = make_env("pong")
    env.reset(2)
    while not env.done:
        env.step(UP)  # hiding in the top corner loses most rallies
    assert env.player_score + env.computer_score == POINTS_PER_EPISODE or env.t == MAX_STEPS
    assert env.computer_score > 0 and env.ball_x == 32.0
