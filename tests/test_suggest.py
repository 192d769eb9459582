"""`newstag suggest` and `newstag train --add`: the suggestion CSV, its picks, and taking
the filled CSV back into labels.csv."""
import csv
import datetime
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from newstag.cli import main
from newstag.model.normalize import normalize
from newstag.model.pages import split_page
from newstag.model.store import save_model
from newstag.training.labels import LabelsError, labelled_keys
from newstag.training.suggest import (
    SUGGEST_COLUMNS,
    NEAR_DUP_JACCARD,
    read_filled,
    read_suggestions,
    shingles,
    write_suggestions,
)

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "examples" / "archive"
TOPICS = ["heating", "people_congress", "culture_tourism", "inspection"]
KEPT_PAGE = "000_abd0a3a3191919be.txt"  # its rows stay in the test's labels.csv
N = 24


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _jaccard(a, b):
    sa, sb = shingles(normalize(a)), shingles(normalize(b))
    return len(sa & sb) / len(sa | sb)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A labels.csv holding a third of the authored rows and page 000's rows (so the other
    four pages have paragraphs to suggest), topics.csv beside it, and an archive: the
    five example pages plus one file that does not decode."""
    root = tmp_path_factory.mktemp("suggest")
    rows = _rows(ROOT / "labels.csv")
    # a third of the authored articles keep the one training run of this module short
    authored = sorted({r["article"] for r in rows if r["source"] == "authored"})[::3]
    kept = [r for r in rows if r["article"] in set(authored) or r["source"].startswith(KEPT_PAGE)]
    with open(root / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(kept)
    shutil.copy(ROOT / "topics.csv", root / "topics.csv")
    archive = root / "archive"
    shutil.copytree(ARCHIVE, archive)
    (archive / "bad.txt").write_bytes(b"\xe4\xbe\x9b\x00\x00binary")
    return root


@pytest.fixture(scope="module")
def suggested(work):
    """One `newstag suggest` run over the archive: (result, CSV path)."""
    out = work / "suggestions.csv"
    result = CliRunner().invoke(main, ["suggest", str(work / "archive"), "-n", str(N), "-o", str(out),
                                       "--labels", str(work / "labels.csv"), "--workers", "1"])
    return result, out


def test_suggest_writes_the_exact_columns_for_excel(suggested):
    result, out = suggested
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    with open(out, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == list(SUGGEST_COLUMNS)
    rows = read_suggestions(out)
    assert 0 < len(rows) <= N
    for r in rows:
        assert r["labels"] == ""
        scores = dict(part.split("=") for part in r["scores"].split(";"))
        assert list(scores) == TOPICS and all(re.fullmatch(r"[01]\.\d\d", v) for v in scores.values())
        guess = [t for t in r["guess"].split(";") if t]
        assert all(t in TOPICS for t in guess)
        assert guess == [t for t in TOPICS if t in guess], "topics in topics.csv order, as in labels.csv"
        assert re.fullmatch(r".+\.txt:\d+-\d+", r["source"]) and re.fullmatch(r".+\.txt#\d+", r["article"])
        assert r["reason"]


def test_source_article_and_neighbours_point_at_the_page(suggested):
    _, out = suggested
    for r in read_suggestions(out):
        name, lines = r["source"].rsplit(":", 1)
        first, last = map(int, lines.split("-"))
        page = Path(name).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        printed = page.split("\n")[first - 1:last]
        assert all(line.strip()[-10:] in r["text"] for line in printed if line.strip())  # jump markers are dropped
        file, index = r["article"].rsplit("#", 1)
        assert file == name
        art = split_page(page)[int(index)]
        assert art.title == r["article_title"]
        i = [p.strip() for p in art.paragraphs].index(r["text"])
        assert r["before"] == (art.paragraphs[i - 1].strip() if i > 0 else "")
        assert r["after"] == (art.paragraphs[i + 1].strip() if i + 1 < len(art.paragraphs) else "")


def test_no_row_already_labelled_and_no_near_duplicates(suggested, work):
    _, out = suggested
    rows = read_suggestions(out)
    labelled = labelled_keys(work / "labels.csv")
    for r in rows:
        assert normalize(r["text"]) not in labelled
        assert KEPT_PAGE not in r["source"], "page 000 is labelled in full"
        assert len(normalize(r["text"])) >= 15 and "\t" not in r["text"]
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            assert _jaccard(a["text"], b["text"]) < NEAR_DUP_JACCARD
    # nor near-copies of labelled rows (page 002 reprints page 000's inspection article)
    known = [shingles(t) for t in labelled]
    for r in rows:
        sa = shingles(normalize(r["text"]))
        assert all(len(sa & sb) / len(sa | sb) < NEAR_DUP_JACCARD for sb in known)


def test_picks_are_spread_over_files_and_topics(suggested):
    _, out = suggested
    rows = read_suggestions(out)
    files = {r["source"].rsplit(":", 1)[0] for r in rows}
    assert len(files) >= 3
    topics = {t for r in rows for t in TOPICS if t in r["reason"]}
    assert len(topics) >= 3, [r["reason"] for r in rows]


def test_an_undecodable_file_is_reported_and_the_rest_written(suggested):
    result, out = suggested
    assert result.exit_code == 1
    assert re.search(r"bad\.txt: undecodable: NUL byte", result.stderr), result.stderr
    assert "1 file(s) failed" in result.stderr
    assert out.is_file()


# --------------------------------------------------------------------------- train --add


def _fill(rows):
    """Fill the labels as a person would: the model's guess, 'none' where it has none;
    rows 3 and 5 left blank; one row names who labelled it."""
    filled = []
    for i, r in enumerate(rows, start=1):
        r = dict(r)
        r["labels"] = "" if i in (3, 5) else (r["guess"] or "none")
        r["labelled_by"] = "李编辑" if i == 1 else ""
        filled.append(r)
    return filled


def _write(path, rows, columns):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def added(work, suggested):
    """The suggestions filled and taken back by one `newstag train --add` run."""
    _, out = suggested
    rows = _fill(read_suggestions(out))
    filled = _write(work / "filled.csv", rows, list(SUGGEST_COLUMNS) + ["labelled_by"])
    before = _rows(work / "labels.csv")
    model = work / "model.joblib"
    result = CliRunner().invoke(main, ["train", "--labels", str(work / "labels.csv"), "--add", str(filled),
                                       "--out", str(model)])
    return result, rows, before, model


def test_train_add_appends_the_labelled_rows_with_provenance(added, work):
    result, rows, before, model = added
    assert result.exit_code == 0, result.output
    assert model.is_file()
    after = _rows(work / "labels.csv")
    labelled = [r for i, r in enumerate(rows, start=1) if i not in (3, 5)]
    assert len(after) == len(before) + len(labelled)
    assert f"added {len(labelled)} row(s)" in result.stdout and "skipped 2 row(s) left blank" in result.stdout
    new = after[len(before):]
    today = datetime.date.today().isoformat()
    for r, given in zip(new, labelled):
        assert r["text"] == given["text"].strip()
        assert r["source"] == given["source"] and r["article"] == given["article"]
        assert r["labelled_on"] == today and r["labelled_by"]
        assert r["labels"] == ("" if given["labels"] == "none" else given["labels"])
    assert new[0]["labelled_by"] == "李编辑"
    assert any(r["labels"] == "" for r in new) and any(r["labels"] for r in new)
    blank = {rows[2]["text"], rows[4]["text"]}
    assert not blank & {r["text"] for r in after}
    assert [r["text"] for r in after[:len(before)]] == [r["text"] for r in before]


def test_train_add_refuses_an_unknown_topic_and_writes_nothing(work, tmp_path):
    rows = [{"text": "城南热源厂三号锅炉完成检修，本周起向换热站试供热水。", "labels": "heating", "source": "p.txt:3-3",
             "article": "p.txt#0"},
            {"text": "市政协委员围绕营商环境开展专题调研，形成调研报告。", "labels": "none", "source": "p.txt:5-5",
             "article": "p.txt#0"},
            {"text": "文化旅游节开幕，景区接待游客三万人次。", "labels": "cultur_tourism", "source": "p.txt:7-7",
             "article": "p.txt#1"}]
    path = tmp_path / "suggestions.csv"
    write_suggestions(rows, path)
    labels = work / "labels.csv"
    before = labels.read_bytes()
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(main, ["train", "--labels", str(labels), "--add", str(path), "--out", str(model)])
    assert result.exit_code != 0
    assert f"{path}: row 3 (line 4), field labels: unknown topic 'cultur_tourism'" in result.stderr
    assert "closest declared topic: 'culture_tourism'" in result.stderr
    assert labels.read_bytes() == before and not model.exists()


def test_read_filled_checks_conflicts_none_and_blank(tmp_path):
    old = "市人大常委会召开第十二次会议，审议物业管理条例草案。"
    rows = [
        {"text": old, "labels": "heating", "source": "a.txt:1-1"},  # conflicts with labels.csv
        {"text": "新的一段文字，讲的是换热站检修与管网打压。", "labels": "heating", "source": "a.txt:3-3"},
        {"text": "新的一段文字，讲的是换热站检修与管网打压。", "labels": "none", "source": "a.txt:9-9"},  # conflicts with row 2
        {"text": "一段没有标注的文字，留给下一轮。", "labels": "", "source": "a.txt:5-5"},
        {"text": "一段写了无又写了供热的文字内容。", "labels": "none;heating", "source": "a.txt:7-7"},
        {"text": old, "labels": "people_congress", "source": "a.txt:1-1"},  # already there, same labels
    ]
    path = tmp_path / "s.csv"
    write_suggestions(rows, path)
    with pytest.raises(LabelsError) as exc:
        read_filled(path, TOPICS, {normalize(old): "people_congress"})
    problems = exc.value.problems
    assert len(problems) == 3, problems
    assert problems[0].startswith(f"{path}: row 1 (line 2), field labels: the same paragraph is in labels.csv")
    assert problems[1].startswith(f"{path}: row 3 (line 4), field labels: the same paragraph as {path}: row 2")
    assert problems[2].startswith(f"{path}: row 5 (line 6), field labels:")
    good = [rows[1], rows[3], rows[5], {"text": "另一段新文字，讲的是别的事情。", "labels": "NONE", "source": "b.txt:2-2"}]
    write_suggestions(good, path)
    filled = read_filled(path, TOPICS, {normalize(old): "people_congress"}, labelled_by="tester",
                         today=datetime.date(2026, 12, 1))
    assert filled.blank == 1 and filled.repeated == 1
    assert [(r["labels"], r["labelled_by"], r["labelled_on"]) for r in filled.rows] == [
        ("heating", "tester", "2026-12-01"), ("", "tester", "2026-12-01")]


def test_read_suggestions_names_the_file_and_the_missing_column(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("text,labels\n一段,heating\n", encoding="utf-8")
    with pytest.raises(LabelsError) as exc:
        read_suggestions(path)
    assert f"{path}: missing column(s) guess, scores, source" in str(exc.value)
    with pytest.raises(LabelsError, match="missing column"):
        read_filled(path, TOPICS)


def test_refused_training_after_add_says_the_rows_stay(runner_small):
    result, labels, before_rows = runner_small
    assert result.exit_code != 0
    assert "1 new row(s) were added to" in result.stderr and "--force" in result.stderr
    assert len(_rows(labels)) == before_rows + 1


@pytest.fixture
def runner_small(tmp_path, labels_factory):
    """A small labels.csv, a model file claiming an unbeatable CV score, and one
    `train --add` run against it (refused)."""
    from test_cli import small_rows

    from newstag.model.classifier import TopicModel
    from newstag.training.train import DEFAULT_PARAMS

    rows = small_rows()
    labels = labels_factory(rows)
    out = tmp_path / "m.joblib"
    fitted = TopicModel(TOPICS, **DEFAULT_PARAMS).fit([r[0] for r in rows], [[int(r[1] == t) for t in TOPICS] for r in rows])
    unbeatable = {t: {"f1": 2.0} for t in TOPICS + ["macro"]}
    save_model(fitted, {"topics": TOPICS, "cv": {"article": unbeatable}}, out)
    path = tmp_path / "s.csv"
    write_suggestions([{"text": "清水河县换热站完成检修，供热管网打压试验合格。", "labels": "heating",
                        "source": "p.txt:1-1", "article": "p.txt#0"}], path)
    n = len(_rows(labels))
    result = CliRunner().invoke(main, ["train", "--labels", str(labels), "--add", str(path), "--out", str(out)])
    return result, labels, n
