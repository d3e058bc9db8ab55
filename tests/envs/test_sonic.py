import numpy as np
import pytest

from nanogenie.envs import make_env
from nanogenie.envs.sonic import DOWN, IDLE, JUMP, LEFT, MAX_STEPS, RIGHT, RIGHT_JUMP
from nanogenie.envs.sonic_level import PIT


def play(seed: int, actions: list[int], size: int = 64) -> list[np.ndarray]:
    env = make_env("sonic", size)
    frames = [env.reset(seed)]
    for action in actions:
        frames.append(env.step(action))
    return frames


def started(seed: int = 5, warmup: list[int] | None = None):
    """An env a few steps into an episode, away from the level's left edge so the camera scrolls."""
    env = make_env("sonic")
    env.reset(seed)
    for action in warmup or [RIGHT] * 8 + [IDLE] * 6:
        env.step(action)
    return env


def after(seed: int, action: int, steps: int):
    env = started(seed)
    for _ in range(steps):
        frame = env.step(action)
    return env, frame


@pytest.mark.parametrize("size", [64, 48, 96])
def test_frames_are_square_rgb_uint8(size):
    for frame in play(0, [RIGHT, JUMP, DOWN], size):
        assert frame.shape == (size, size, 3) and frame.dtype == np.uint8


def test_same_seed_same_frames_and_different_seeds_differ():
    actions = [RIGHT] * 10 + [RIGHT_JUMP] * 5 + [DOWN] * 5 + [LEFT] * 5
    first, again, other = play(3, actions), play(3, actions), play(4, actions)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_left_right_idle_differ_within_two_frames_and_move_the_hero():
    idle_env, idle = after(5, IDLE, 2)
    left_env, left = after(5, LEFT, 2)
    right_env, right = after(5, RIGHT, 2)
    assert not np.array_equal(idle, left) and not np.array_equal(idle, right) and not np.array_equal(left, right)
    assert left_env.x < idle_env.x < right_env.x
    assert left_env.facing == -1 and right_env.facing == 1


def test_facing_shows_after_one_frame():
    _, left = after(5, LEFT, 1)
    _, right = after(5, RIGHT, 1)
    assert not np.array_equal(left, right)


def test_jump_leaves_the_ground_and_lands_again():
    env = started()
    ground = env.y
    env.step(JUMP)
    assert env.y < ground - 3 and not env.on_ground
    for _ in range(20):
        env.step(IDLE)
    assert env.on_ground


def test_down_rolls_into_a_ball_sprite():
    idle_env, idle = after(5, IDLE, 1)
    roll_env, roll = after(5, DOWN, 1)
    assert roll_env.rolling and not idle_env.rolling
    assert not np.array_equal(idle, roll)


def test_rolling_keeps_speed_longer_than_running():
    runner = started(warmup=[RIGHT] * 10)
    roller = started(warmup=[RIGHT] * 10 + [DOWN])
    for _ in range(3):
        runner.step(IDLE)
        roller.step(IDLE)
    assert roller.rolling and abs(roller.vx) > abs(runner.vx)


def put_hero_next_to_enemy(env, gap: float):
    enemy = next(e for e in env.level.enemies if e.alive)
    enemy.speed = 0.0  # hold it still so the test controls the contact
    env.x = enemy.x - gap
    env.y = env.level.height_at(env.x)
    env.vx, env.vy, env.on_ground = 0.0, 0.0, True
    return enemy


def test_touching_an_enemy_on_foot_ends_the_episode():
    env = started()
    put_hero_next_to_enemy(env, gap=9.0)
    for _ in range(6):
        env.step(RIGHT)
        if env.done:
            break
    assert env.done and env.t < MAX_STEPS


def test_rolling_into_an_enemy_destroys_it():
    env = started()
    enemy = put_hero_next_to_enemy(env, gap=12.0)
    env.vx = 4.0
    for _ in range(6):
        env.step(DOWN)
    assert not enemy.alive and not env.done


def test_falling_into_a_pit_ends_the_episode():
    env = started()
    pit_start = int(np.argmax(env.level.surface >= PIT))
    env.x, env.y = pit_start + 5.0, 60.0
    env.on_ground, env.vx = False, 0.0
    for _ in range(10):
        env.step(IDLE)
        if env.done:
            break
    assert env.done


def test_rings_disappear_when_collected():
    env = started()
    env.x, env.y = env.level.ring_x[0], env.level.ring_y[0] + 2
    env.on_ground, env.vy = False, 0.0
    env.step(IDLE)
    assert env.rings_collected >= 1 and not env.ring_alive[0]


def test_episode_ends_at_the_length_cap_and_step_after_done_is_refused():
    env = make_env("sonic")
    env.reset(1)
    while not env.done:
        env.step(IDLE)  # standing still on the flat start: nothing can kill the hero
    assert env.t == MAX_STEPS
    with pytest.raises(RuntimeError):
        env.step(IDLE)
