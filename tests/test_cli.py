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
