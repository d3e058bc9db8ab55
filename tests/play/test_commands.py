import json
import os
import re
import signal

import pytest

from nanogenie.cli import main
from nanogenie.errors import UserError
from nanogenie.play.commands import parse_actions


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_headless_run_records_the_scripted_actions(fake_world, decode, tmp_path, capsys):
    video = tmp_path / "x.mp4"
    code, out, _ = run(["play", "--world", "fake", "--headless", "--frames", "10", "--actions", "3x4,1",
                        "--record", str(video), "--scale", "2", "--seed", "5"], capsys)
    assert code == 0 and "played 10 frames" in out
    log = json.loads(video.with_suffix(".json").read_text())
    first = log["events"][0]
    assert first == {"frame": 0, "reset": True, "crc": first["crc"], "digest": first["digest"]}
    assert [e["action"] for e in log["events"][1:]] == [3, 3, 3, 3, 1, 3, 3, 3, 3]
    assert (log["world"], log["seed"], log["device"], log["steps"], log["temperature"], log["decode"]) == \
        ("fake", 5, "cpu", 4, 1.0, "sampled")
    frames = decode(video)
    assert len(frames) == 10 and frames[0].shape == (32, 32, 3)


@pytest.mark.parametrize("window", [False, True], ids=["headless", "window"])
def test_replay_reproduces_the_recorded_actions_and_frames(fake_world, tmp_path, capsys, window):
    first = tmp_path / "first.mp4"
    assert main(["play", "--world", "fake", "--headless", "--frames", "25", "--record", str(first),
                 "--seed", "3"]) == 0
    again = tmp_path / "again.mp4"
    argv = ["play", "--replay", str(first.with_suffix(".json")), "--record", str(again), "--fps", "100"]
    code, out, _ = run(argv + ([] if window else ["--headless"]), capsys)
    assert code == 0
    recorded = json.loads(first.with_suffix(".json").read_text())
    replayed = json.loads(again.with_suffix(".json").read_text())
    assert fake_world.loaded[-1] == "fake" and replayed["seed"] == 3  # the log's world and seed
    assert replayed["events"] == recorded["events"]  # same actions, resets and frame CRCs
    if not window:
        assert "reproduced all 25 recorded frames exactly" in out
    else:  # the window says on closing what its HUD showed
        assert re.search(r"window: [0-9.]+ frames/s over the last \d+ frames shown, [0-9.]+ model ms/frame", out)


def test_replay_decodes_as_the_recording_did(fake_world, tmp_path, capsys):
    video = tmp_path / "x.mp4"
    assert main(["play", "--world", "fake", "--headless", "--frames", "3", "--record", str(video),
                 "--decode", "expected"]) == 0
    assert fake_world.engines[-1].choices.decode == "expected"
    assert json.loads(video.with_suffix(".json").read_text())["decode"] == "expected"
    assert main(["play", "--replay", str(video.with_suffix(".json")), "--headless"]) == 0
    assert fake_world.engines[-1].choices.decode == "expected"


def test_replay_tells_rounding_from_different_frames(fake_world, tmp_path, capsys):
    """A recording replayed where float arithmetic rounds a few pixel values the other way is reproduced
    up to rounding; a frame with other content is a difference, named by its index."""
    video = tmp_path / "x.mp4"
    assert main(["play", "--world", "fake", "--headless", "--frames", "12", "--record", str(video)]) == 0
    capsys.readouterr()
    log_path = video.with_suffix(".json")
    log = json.loads(log_path.read_text())

    def replay_with(events):
        log_path.write_text(json.dumps({**log, "events": events}))
        return run(["play", "--replay", str(log_path), "--headless"], capsys)[1]

    def frame(events, i, **changes):
        return events[:i] + [{**events[i], **changes}] + events[i + 1:]

    rounded = frame(log["events"], 5, crc=0)  # the frame's bytes differ, its cell means do not
    assert "reproduced all 12 recorded frames up to rounding (1 differ" in replay_with(rounded)
    one_level = bytes(min(b + 1, 255) for b in bytes.fromhex(log["events"][7]["digest"])).hex()
    assert "up to rounding (2 differ" in replay_with(frame(rounded, 7, crc=0, digest=one_level))
    two_levels = bytes((b + 2) % 256 for b in bytes.fromhex(log["events"][7]["digest"])).hex()
    assert "differs from the recording from frame 7 (1 of 12" in replay_with(frame(rounded, 7, crc=0, digest=two_levels))
    no_digest = frame(log["events"], 3, crc=0)
    del no_digest[3]["digest"]  # a log from before digests: the CRC is all there is to go by
    assert "differs from the recording from frame 3" in replay_with(no_digest)


def test_random_actions_are_seeded_sticky_and_in_range():
    a, b = parse_actions("random", 200, 8, seed=1), parse_actions("random", 200, 8, seed=1)
    assert a == b != parse_actions("random", 200, 8, seed=2)
    assert set(a) <= set(range(8)) and len(set(a)) > 3
    assert sum(x == y for x, y in zip(a, a[1:])) > 100  # holds, not noise


def test_action_lists_and_runs_are_cycled():
    assert parse_actions("0,3,3,5", 6, 8, 0) == [0, 3, 3, 5, 0, 3]
    assert parse_actions("3x2, 0x1", 7, 8, 0) == [3, 3, 0, 3, 3, 0, 3]


@pytest.mark.parametrize("spec", ["8", "1,x", "2x0", "left"])
def test_bad_action_scripts_are_user_errors(spec):
    with pytest.raises(UserError, match="--actions"):
        parse_actions(spec, 5, 8, 0)


def test_unknown_world_exits_2_with_one_line(capsys, tmp_path):
    code, _, err = run(["play", "--world", "no-such-world", "--headless", "--frames", "2"], capsys)
    assert code == 2 and err.count("\n") == 1 and "unknown world 'no-such-world'" in err


def test_no_display_without_headless_says_use_headless(capsys, monkeypatch, fake_world):
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code, _, err = run(["play", "--world", "fake"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--headless" in err
    assert fake_world.loaded == []  # nothing loaded before the check


def test_bad_replay_log_and_record_path_are_user_errors(fake_world, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "events": [{"frame": 0, "action": "jump"}]}')
    code, _, err = run(["play", "--replay", str(bad), "--headless"], capsys)
    assert code == 2 and str(bad) in err
    code, _, err = run(["play", "--world", "fake", "--headless", "--record", str(tmp_path / "x.avi")], capsys)
    assert code == 2 and ".mp4" in err


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_termination_signal_finalises_the_headless_recording(fake_world, decode, tmp_path, capsys, signame):
    signum = getattr(signal, signame)
    fake_world.on_step = lambda step: os.kill(os.getpid(), signum) if step == 20 else None
    before = signal.getsignal(signum)
    video = tmp_path / "cut.mp4"
    code, _, err = run(["play", "--world", "fake", "--headless", "--frames", "100000", "--record", str(video)], capsys)
    assert code == 128 + signum and err.strip() == f"nanogenie: interrupted ({signame})"
    log = json.loads(video.with_suffix(".json").read_text())
    assert 20 <= log["frames"] < 100 and len(decode(video)) == log["frames"]
    assert signal.getsignal(signum) is before  # the command put the previous handler back


@pytest.mark.parametrize("field, value", [("seed", "abc"), ("seed", -1), ("steps", "four"), ("temperature", "hot"),
                                          ("temperature", float("inf")), ("decode", "mean")])
def test_damaged_replay_log_values_are_one_line(fake_world, tmp_path, capsys, field, value):
    log = tmp_path / "damaged.json"
    log.write_text(json.dumps({"format": 1, "events": [{"frame": 0, "reset": True}], field: value}))
    code, _, err = run(["play", "--replay", str(log), "--headless"], capsys)
    assert code == 2 and err.count("\n") == 1 and f"`{field}`" in err


@pytest.mark.parametrize("flags", [["--seed", "-1"], ["--seed", str(2**70)], ["--temperature", "nan"],
                                   ["--temperature", "inf"], ["--temperature", "-1"], ["--decode", "mean"]])
def test_out_of_range_flags_are_refused_by_the_parser(fake_world, capsys, flags):
    with pytest.raises(SystemExit) as exit_info:
        main(["play", "--world", "fake", "--headless", "--frames", "2", *flags])
    assert exit_info.value.code == 2 and flags[0] in capsys.readouterr().err


def test_a_huge_repeat_count_is_cut_to_the_script():
    assert parse_actions("1x99999999999,2", 5, 3, 0) == [1, 1, 1, 1, 1]
