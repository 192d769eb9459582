"""A fifth topic end to end, with no code change: a line in topics.csv (education,教育),
rows that carry it, `newstag train` — and the topic is in `newstag classify`, the
service's /labels and /classify, the labelling page /label, `newstag tag` and
`newstag diff`.

The rows: tests/data/fifth_topic_rows.csv, 43 paragraphs of education news in 10
articles written for this test, plus the paragraphs of labels.csv that are plainly
education news and were labelled none for want of the topic (what an editor adding the
topic would relabel).  One training run for the module, over a copy of the shipped
model, so `newstag train` shows the new topic beside the old ones.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from newstag.cli import main
from newstag.diffcmd import diff
from newstag.model import load_model
from newstag.model.store import DEFAULT_MODEL_PATH

ROOT = Path(__file__).resolve().parent.parent
ROWS = Path(__file__).resolve().parent / "data" / "fifth_topic_rows.csv"
#: Articles of labels.csv labelled none that are education news through and through.
RELABEL = {"ct-147", "ct-149", "ct-150", "ct-151", "heat-a159", "heat-a160", "heat-a209"}

# A new education article (none of its paragraphs is in the rows), and a page with it
# and a heating article, as a page export prints them.
ARTICLE_TITLE = "武川县寄宿制学校迎来新学期"
ARTICLE_BODY = [
    "今年秋季学期，武川县第二寄宿制小学完成宿舍楼改造，新增床位300张，全县农牧区的一至六年级学生可以在校住宿，"
    "周末由校车统一接送回家。",
    "学校为每个宿舍配备了生活老师，晚饭后安排一小时自习，由各班班主任轮流值班辅导作业。县教育局还为寄宿学生每天"
    "补助伙食费，保证一日三餐营养搭配。",
    "校长韩志刚说，学校今年新招聘了8名青年教师，开齐了音乐、美术和科学课，周三下午开设围棋、舞蹈等社团活动，"
    "让农村孩子也能享受到丰富的课程。",
]
PAGE = "\n\n".join([
    ARTICLE_TITLE,
    "本报讯(记者 高原)" + ARTICLE_BODY[0],
    *ARTICLE_BODY[1:],
    "首府换热站检修全部完成",
    "本报讯(记者 李明)记者从市城管局获悉，全市换热站检修工作已全部完成，供热管网打压试验合格，各热力公司将于"
    "10月15日前按时开栓供热。",
    "市热力公司开通24小时服务热线，入冬后将组织供热管家入户测温，室温不达标的小区逐户排查原因。",
]) + "\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """labels.csv and topics.csv with the fifth topic, in a folder of their own."""
    folder = tmp_path_factory.mktemp("fifth")
    with open(ROOT / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["article"] in RELABEL:
            assert row["labels"] == "", row
            row["labels"] = "education"
    with open(ROWS, encoding="utf-8", newline="") as fh:
        new = list(csv.DictReader(fh))
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + new)
    topics = (ROOT / "topics.csv").read_text(encoding="utf-8").rstrip("\n") + "\neducation,教育\n"
    (folder / "topics.csv").write_text(topics, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def trained(folder):
    """``(model path, output of newstag train)``: the shipped model's copy replaced by
    one trained with the fifth topic, with no --force: the regression rule compares
    the topics both models have."""
    out = folder / "model.joblib"
    shutil.copy(DEFAULT_MODEL_PATH, out)
    result = CliRunner().invoke(main, ["train", "--labels", str(folder / "labels.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def model_path(trained):
    return trained[0]


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "pages" / "page.txt"
    path.parent.mkdir()
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_the_rows_are_many_and_varied():
    with open(ROWS, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 40 and len({r["article"] for r in rows}) >= 8
    assert {r["labels"] for r in rows} == {"education"} and {r["source"] for r in rows} == {"authored"}
    assert len({r["text"] for r in rows}) == len(rows)
    with open(ROOT / "labels.csv", encoding="utf-8", newline="") as fh:
        known = {r["text"] for r in csv.DictReader(fh)}
    assert not known & {r["text"] for r in rows}
    assert not any(p in r["text"] for p in ARTICLE_BODY for r in rows)  # the test article is new


def test_train_shows_the_new_topic_beside_the_old_ones(trained, folder):
    _, output = trained
    model = load_model(trained[0])
    assert model.topics[-1] == "education" and model.display_names["education"] == "教育"
    n = model.meta_["paragraphs_per_topic"]["education"]
    assert n == 43 + 9
    table = output.split("What the new rows did", 1)[1]
    line = next(x for x in table.splitlines() if x.startswith("education"))
    cv = model.meta_["cv"]["article"]["education"]["f1"]
    assert f"- → {n}" in line and f"- → {cv:.3f}" in line
    assert line.rstrip().endswith("- → -")  # the evaluation set has no education article
    assert 'eval F1 "-": the evaluation set has no article of education' in table
    shipped = load_model(DEFAULT_MODEL_PATH).meta_["paragraphs_per_topic"]
    for t in ("heating", "people_congress", "culture_tourism", "inspection"):
        row = next(x for x in table.splitlines() if x.startswith(t))
        assert f"{shipped[t]} → {model.meta_['paragraphs_per_topic'][t]}" in row


def test_classify_lists_education_with_a_score(model_path, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("\n".join([ARTICLE_TITLE, *ARTICLE_BODY]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["classify", str(article), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["labels"] == ["education"]
    assert data["scores"]["education"] >= load_model(model_path).thresholds["education"]
    assert list(data["scores"]) == ["heating", "people_congress", "culture_tourism", "inspection", "education"]
    assert data["evidence"]["education"]["paragraphs"] and data["evidence"]["education"]["terms"]
    # the shipped model knows no such topic
    shipped = CliRunner().invoke(main, ["classify", str(article)])
    assert "education" not in json.loads(shipped.stdout)["scores"]


def test_service_lists_and_tags_education(model_path):
    from newstag.service import create_app

    app = create_app({"NEWSTAG_MODEL": str(model_path), "NEWSTAG_RELOAD_INTERVAL": 0, "TESTING": True})
    client = app.test_client()
    labels = client.get("/labels").get_json()
    assert {"name": "education", "display": "教育"} in labels["topics"]
    assert labels["model"] == load_model(model_path).meta_["version"]
    got = client.post("/classify", json={"text": "\n".join([ARTICLE_TITLE, *ARTICLE_BODY])}).get_json()
    assert got["labels"] == ["education"]
    assert "education" in client.get("/model").get_json()["thresholds"]


def test_fifth_topic_in_label_page(model_path, folder, tmp_path):
    """/label (service/label.py): the topic is offered with its keys, and an answer with
    it lands in labels.csv, which then trains."""
    from newstag.service import create_app
    from newstag.training.suggest import SUGGEST_COLUMNS
    from newstag.training.labels import read_labels

    work = tmp_path / "labelling"
    work.mkdir()
    shutil.copy(folder / "labels.csv", work / "labels.csv")
    shutil.copy(folder / "topics.csv", work / "topics.csv")
    model = load_model(model_path)
    text = ARTICLE_BODY[2]
    scores = model.tag_article("标题\n" + text, evidence=False)["scores"]
    with open(work / "queue.csv", "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUGGEST_COLUMNS)
        writer.writeheader()
        writer.writerow({"text": text, "labels": "", "guess": "education",
                         "scores": ";".join(f"{t}={s}" for t, s in scores.items()),
                         "source": "page.txt:7-7", "article_title": ARTICLE_TITLE, "article": "page.txt#0",
                         "reason": "uncertain", "before": ARTICLE_BODY[1], "after": ""})
    token = "fifth-topic-token"
    app = create_app({"NEWSTAG_MODEL": str(model_path), "NEWSTAG_RELOAD_INTERVAL": 0, "TESTING": True,
                      "NEWSTAG_LABELLING": True, "NEWSTAG_LABELLING_TOKEN": token,
                      "NEWSTAG_LABEL_QUEUE": str(work / "queue.csv"), "NEWSTAG_LABELS": str(work / "labels.csv")})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    html = client.get("/label").get_data(as_text=True)
    assert 'data-topic="education"' in html and "教育" in html
    state = client.get("/label/api/state", headers=auth).get_json()
    assert state["topics"][-1]["name"] == "education" and state["topics"][-1]["display"] == "教育"
    assert state["topics"][-1]["digit"] == "5"
    item = client.post("/label/api/next", json={"name": "测试编辑"}, headers=auth).get_json()["item"]
    assert item["text"] == text and item["guess"] == ["education"]
    assert item["scores"]["education"] == pytest.approx(scores["education"])
    answer = client.post("/label/api/answer", json={"id": item["id"], "labels": ["education"], "name": "测试编辑"},
                         headers=auth)
    assert answer.status_code == 200, answer.get_json()
    labelset = read_labels(work / "labels.csv")
    assert labelset.texts[-1] == text and labelset.Y[-1].tolist() == [0, 0, 0, 0, 1]


def test_tag_gives_education_records(model_path, page):
    result = CliRunner().invoke(main, ["tag", str(page), "--model", str(model_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"] for r in records] == [ARTICLE_TITLE, "首府换热站检修全部完成"]
    assert records[0]["labels"] == ["education"] and records[1]["labels"] == ["heating"]
    assert "education" in records[1]["scores"]
    assert "教育 (education) 1" in result.stderr


def test_diff_shows_education_gained(model_path, page):
    result = CliRunner().invoke(diff, [str(DEFAULT_MODEL_PATH), str(model_path), str(page), str(ROOT / "examples" / "archive"),
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "topics only in the new model: 教育 education" in out
    block = out[out.index(f"] {page}#0 "):]
    block = block[:block.index("\n\n")]
    assert f"    {ARTICLE_TITLE}\n" in block and "tags:   (none) → 教育 education" in block
    assert re.search(r"education - → [01]\.\d\d \(gained\)", block)
    assert "gained 教育 education, evidence of the new model" in block and "terms:" in block
    line = next(x for x in out[out.index("Summary:"):].splitlines() if x.startswith("教育 education"))
    assert line.split()[2:] == ["-", "1", "+1", "-0"]
    jsonl = CliRunner().invoke(diff, [str(DEFAULT_MODEL_PATH), str(model_path), str(page), "--format", "jsonl",
                                      "--workers", "1"])
    lines = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert lines[0]["gained"] == ["education"] and lines[0]["old_scores"].get("education") is None
    assert lines[-1]["summary"]["topics"]["education"]["gained"] == 1
