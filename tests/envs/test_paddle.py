import pytest

from nanogenie.envs import make_env, paddle
from nanogenie.envs.paddle import DOWN, FRICTION, IDLE, PLAYER_COLOUR, PUSH, UP

from frame_helpers import colour_box


def test_the_paddle_is_one_pixel_wide_and_four_tall_and_the_ball_one_pixel():
    env = make_env("paddle")
    frame = env.reset(0)
    assert colour_box(frame, PLAYER_COLOUR)[2:] == (1, 4)
    ball = (frame == paddle.BALL_COLOUR).all(axis=-1)
    assert ball.sum() == 1


def test_a_key_pushes_the_paddle_and_its_speed_carries_over():
    env = make_env("paddle")
    env.reset(1)
    env.player_y, env.player_v = 32.0, 0.0
    env.step(DOWN)
    assert env.player_v == pytest.approx(PUSH) and env.player_y == pytest.approx(32 + PUSH)
    env.step(IDLE)  # no key: the paddle keeps moving, slower
    assert env.player_v == pytest.approx(FRICTION * PUSH) and env.player_y == pytest.approx(32 + PUSH * (1 + FRICTION))
    env.step(UP)  # against the motion, a key first brakes
    assert env.player_v == pytest.approx(FRICTION * FRICTION * PUSH - PUSH)


def test_one_frame_of_a_key_moves_the_paddle_a_pixel_from_where_it_was_heading():
    frames = {}
    for action in (IDLE, UP, DOWN):
        env = make_env("paddle")
        env.reset(2)
        env.player_y, env.player_v = 30.0, 1.5
        frames[action] = colour_box(env.step(action), PLAYER_COLOUR)[1]
    assert frames[UP] == frames[IDLE] - 1 and frames[DOWN] == frames[IDLE] + 1


def test_the_walls_stop_the_paddle():
    env = make_env("paddle")
    env.reset(3)
    for _ in range(40):
        env.step(UP)
    assert env.player_v == 0 and colour_box(env._render(), PLAYER_COLOUR)[1] == env.px(paddle.WALL)


def test_the_ball_and_the_computer_move_while_the_player_idles():
    env = make_env("paddle")
    env.reset(4)
    balls, computers = set(), set()
    for _ in range(100):
        env.step(IDLE)
        assert 0 <= env.ball_x <= 64 and paddle.WALL <= env.ball_y <= 64 - paddle.WALL
        balls.add((round(env.ball_x), round(env.ball_y)))
        computers.add(round(env.computer_y))
    assert len(balls) > 50 and len(computers) > 5
