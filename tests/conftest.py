import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TOPICS = [("heating", "供热"), ("people_congress", "人大"), ("culture_tourism", "文旅"), ("inspection", "巡察")]


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    """Keep jieba's cache for the test run in a folder of the run's own."""
    import os

    os.environ["NEWSTAG_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def shipped_model():
    from newstag.model import load_model

    return load_model()


def write_labels(folder: Path, rows, topics=TOPICS, header=("text", "labels", "source", "article")):
    """Write a labels.csv (rows: tuples in ``header`` order) and topics.csv into ``folder``;
    return the labels.csv path."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "topics.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "display"])
        w.writerows(topics)
    path = folder / "labels.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def labels_factory(tmp_path):
    def make(rows, **kw):
        return write_labels(tmp_path / "data", rows, **kw)

    return make
