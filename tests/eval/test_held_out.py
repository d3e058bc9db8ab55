"""One definition of held-out data: a file's test split, never the training spans."""

import numpy as np
import pytest

from nanogenie.data import load_dataset, write_dataset
from nanogenie.errors import UserError
from nanogenie.eval.held_out import held_out_of_file, held_out_spans


@pytest.fixture
def clip_file(tmp_path):
    frames = np.zeros((60, 16, 16, 3), np.uint8)
    write_dataset(tmp_path / "clip.h5", frames, None, np.array([20, 40, 60]))
    return load_dataset(tmp_path / "clip.h5")


def test_an_empty_test_split_is_an_error_not_the_training_spans():
    assert held_out_spans({"train": [[0, 10]], "test": [[10, 20]]}, "x.h5") == [(10, 20)]
    with pytest.raises(UserError, match="x.h5 has no held-out"):
        held_out_spans({"train": [[0, 10]], "val": [], "test": []}, "x.h5")


def test_eval_on_the_training_file_measures_only_its_test_split(clip_file):
    trained = {"path": clip_file.path, "splits": {"train": [[0, 20], [40, 60]], "test": [[20, 40]]}}
    spans, said = held_out_of_file(clip_file, trained)
    assert spans == [(20, 40)] and "test split" in said
    with pytest.raises(UserError, match="no held-out"):
        held_out_of_file(clip_file, {**trained, "splits": {"train": [[0, 60]], "test": []}})


def test_eval_on_another_file_measures_all_of_it_and_says_so(clip_file):
    spans, said = held_out_of_file(clip_file, {"path": "/elsewhere/other.h5", "source": "video other.mp4",
                                               "frames": 999})
    assert spans == clip_file.episodes() and said.startswith("all 3 episodes of") and "did not train on" in said
