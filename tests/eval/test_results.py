"""The README's results table is generated from the shipped worlds' world.json, and must match it."""

import json
import shutil
from pathlib import Path

import pytest

from nanogenie.errors import UserError
from nanogenie.eval.results import BEGIN, END, main, replace_between_markers, results_table
from nanogenie.world import SHIPPED_WORLDS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_commands_output():
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert shown == results_table(), "run `python -m nanogenie.eval.results --write README.md`"


def test_the_table_reads_each_worlds_figures(tmp_path):
    shutil.copytree(SHIPPED_WORLDS / "pong", tmp_path / "pong", ignore=shutil.ignore_patterns("*.safetensors"))
    meta = json.loads((tmp_path / "pong" / "world.json").read_text())
    meta["eval"]["control_accuracy"], meta["eval"]["control_accuracy_se"] = 0.8123, 0.031
    meta["eval"]["lam_nmi"] = None  # a world trained without true actions
    meta["eval"]["delta_t_psnr"], meta["eval"]["delta_t_psnr_se"] = 1.234, 0.41
    (tmp_path / "pong" / "world.json").write_text(json.dumps(meta))
    table = results_table(tmp_path).splitlines()
    assert table[0] == "| figure | pong |"
    assert "| control_accuracy (chance 0.5) | 0.81 ± 0.03 |" in table
    assert "| delta_t_psnr | 1.23 ± 0.41 dB |" in table
    assert "| lam_nmi | n/a |" in table


def test_write_replaces_only_the_table(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"before\n{BEGIN}\nstale\n{END}\nafter\n")
    assert main(["--write", str(page)]) == 0
    assert page.read_text() == f"before\n{BEGIN}\n{results_table()}\n{END}\nafter\n"
    with pytest.raises(UserError, match="markers"):
        replace_between_markers("no markers here", "table")
