import warnings

import joblib
import pytest

from newstag.model import ModelFileError, ModelVersionWarning, TopicModel, load_model, save_model
from newstag.model.store import read_payload

TOPICS = ["heating", "people_congress"]
TEXTS = ["换热站投用,室温达标。", "供热管网改造完成。", "常委会会议审议条例草案。", "人大代表视察。", "小麦丰收。"]
Y = [[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]]


@pytest.fixture(scope="module")
def tiny():
    return TopicModel(TOPICS).fit(TEXTS, Y)


def test_round_trip_keeps_predictions_and_meta(tiny, tmp_path):
    path = save_model(tiny, {"version": "v1"}, tmp_path / "m.joblib")
    loaded = load_model(path)
    assert loaded.meta_["version"] == "v1"
    assert "scikit-learn" in loaded.meta_["versions"]
    assert (loaded.predict_paragraphs(TEXTS) == tiny.predict_paragraphs(TEXTS)).all()


def test_save_leaves_no_temporary_file_and_replaces_atomically(tiny, tmp_path):
    path = tmp_path / "m.joblib"
    save_model(tiny, {"version": "v1"}, path)
    save_model(tiny, {"version": "v2"}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.joblib"]
    assert load_model(path).meta_["version"] == "v2"


def test_failed_save_keeps_the_old_model(tiny, tmp_path):
    path = save_model(tiny, {"version": "v1"}, tmp_path / "m.joblib")
    with pytest.raises(Exception):
        save_model(lambda: None, {"version": "v2"}, path)  # a lambda does not pickle
    assert load_model(path).meta_["version"] == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["m.joblib"]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nope.joblib")


def test_random_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "junk.joblib"
    path.write_bytes(b"this is not a pickle at all")
    with pytest.raises(ModelFileError, match="not a newstag model file"):
        load_model(path)


def test_other_joblib_content_is_not_a_model(tmp_path):
    path = tmp_path / "other.joblib"
    joblib.dump({"weights": [1, 2, 3]}, path)
    with pytest.raises(ModelFileError, match="not a newstag model file"):
        load_model(path)


def test_other_library_versions_warn_naming_both(tiny, tmp_path):
    path = save_model(tiny, {"version": "v1"}, tmp_path / "m.joblib")
    payload = joblib.load(path)
    payload["meta"]["versions"]["scikit-learn"] = "0.24.2"
    joblib.dump(payload, path)
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.24\.2 \(running \d"):
        read_payload(path)


def test_same_versions_load_silently(tiny, tmp_path):
    path = save_model(tiny, {"version": "v1"}, tmp_path / "m.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)


def test_saved_model_is_readable_like_any_file_not_private(tiny, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        path = save_model(tiny, {"version": "v1"}, tmp_path / "m.joblib")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
