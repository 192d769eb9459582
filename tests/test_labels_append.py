"""Adding rows to labels.csv: validation, no duplicates, and concurrent writers."""
import csv
import multiprocessing
import shutil
from pathlib import Path

import pytest

from newstag.training.labels import LabelsError, append_rows, labelled_keys, read_labels

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def labels(tmp_path):
    """A copy of the project's labels.csv and topics.csv in tmp_path; returns the labels path."""
    shutil.copy(ROOT / "labels.csv", tmp_path / "labels.csv")
    shutil.copy(ROOT / "topics.csv", tmp_path / "topics.csv")
    return tmp_path / "labels.csv"


def _rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_append_adds_rows_with_provenance_and_keeps_old_rows(labels):
    before = labels.read_bytes()
    result = append_rows(labels, [{"text": "城南热源厂三号锅炉完成检修，本周起向换热站试供热水。", "labels": "heating",
                                   "source": "p.txt:3-4", "labelled_by": "王编辑", "labelled_on": "2026-12-01"}])
    assert result.added == 1 and result.skipped == []
    rows = _rows(labels)
    assert rows[-1]["labels"] == "heating" and rows[-1]["labelled_by"] == "王编辑"
    assert len(rows) == len(_rows(ROOT / "labels.csv")) + 1
    # the old rows are unchanged apart from the new (empty) provenance columns
    assert [r["text"] for r in rows[:-1]] == [r["text"] for r in _rows(ROOT / "labels.csv")]
    assert labels.read_bytes() != before
    read_labels(labels)  # still a valid labels.csv


def test_append_skips_a_paragraph_already_labelled(labels):
    first = _rows(labels)[0]
    result = append_rows(labels, [{"text": first["text"], "labels": "", "source": "again"}])
    assert result.added == 0 and result.skipped == [(0, "already in labels.csv")]
    assert labels.read_bytes() == (ROOT / "labels.csv").read_bytes()


def test_append_refuses_an_undeclared_topic_and_writes_nothing(labels):
    with pytest.raises(LabelsError) as exc:
        append_rows(labels, [{"text": "新的一段。", "labels": "heatingg", "source": "x"}])
    assert "new row 1, field labels: unknown topic 'heatingg'" in str(exc.value)
    assert "closest declared topic: 'heating'" in str(exc.value)
    assert labels.read_bytes() == (ROOT / "labels.csv").read_bytes()


def _append_many(args):
    path, worker, n = args
    for i in range(n):
        append_rows(path, [{"text": f"并发写入测试段落，写入者{worker}，第{i}条。", "labels": "", "source": f"w{worker}",
                            "labelled_by": f"w{worker}"}])


def test_concurrent_writers_lose_and_interleave_nothing(labels):
    n_workers, n = 4, 15
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n_workers) as pool:
        pool.map(_append_many, [(str(labels), w, n) for w in range(n_workers)])
    rows = _rows(labels)
    new = [r for r in rows if r["source"].startswith("w")]
    assert len(new) == n_workers * n
    assert {r["text"] for r in new} == {f"并发写入测试段落，写入者{w}，第{i}条。" for w in range(n_workers) for i in range(n)}
    assert all(r["labelled_by"] == r["source"] for r in new)  # no row mixes two writers' fields
    assert len(labelled_keys(labels)) == len(rows)
