import subprocess
import sys

import pytest

from nanogenie.cli import build_parser, main


def test_help_lists_every_subcommand():
    text = build_parser().format_help()
    for command in ("data", "train", "eval", "play", "bench"):
        assert command in text


def test_console_script_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "nanogenie.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "play" in out.stdout


def test_bad_flag_value_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "generate", "--env", "pong", "--frames", "-3", "--out", "x.h5"])
    assert exit_info.value.code == 2
    assert "expected a number > 0" in capsys.readouterr().err


def test_a_bad_flag_ends_with_one_line_that_says_where_to_look(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "import", "clip.mp4", "--out", "x.h5", "--size", "100000"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2 and "frame size from 8 to 1024" in last
    assert last.endswith("see `nanogenie data import --help`")
