"""What the two court games (pong, paddle) share: a ball that bounces off the top and bottom walls and off the
faces of paddles, and rectangles placed by their centres. World units, y down, as every simulator."""

from __future__ import annotations

import numpy as np

from nanogenie.envs.base import Env, fill_rect


def off_walls(y: float, vy: float, low: float, high: float) -> tuple[float, float]:
    """A ball's new height y and vertical speed vy, mirrored back inside [low, high] if it went past a wall."""
    if y < low or y > high:
        return 2 * (low if y < low else high) - y, -vy
    return y, vy


def paddle_hit(x0: float, x1: float, y1: float, vx: float, face: float, paddle_y: float, heading: int,
               reach: float) -> float | None:
    """Where a ball going from x0 to x1 (at height y1 there) meets a paddle whose face is at x = `face` and which it
    reaches when moving towards `heading` (+1 right, -1 left): -1..1 across the paddle (its centre paddle_y, `reach`
    from the centre to the farthest hit), or None if the ball does not cross the face this step or passes it by."""
    if heading * vx > 0 and heading * x0 <= heading * face < heading * x1:
        offset = (y1 - paddle_y) / reach
        if abs(offset) <= 1:
            return offset
    return None


def centred_rect(env: Env, frame: np.ndarray, cx: float, cy: float, w: float, h: float,
                 colour: tuple[int, int, int]) -> None:
    """Fill a w x h rectangle centred on (cx, cy), all in world units, at least one pixel each way."""
    fill_rect(frame, env.px(cx - w / 2), env.px(cy - h / 2), max(env.px(w), 1), max(env.px(h), 1), colour)
