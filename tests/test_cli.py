import json

import joblib
import pytest
from click.testing import CliRunner

from newstag.cli import main
from newstag.model import load_model

# Small synthetic training set: 6 articles per topic and 6 of none, two paragraphs each.
PLACES = ["新城区", "回民区", "玉泉区", "赛罕区", "托克托县", "武川县"]
TEMPLATES = {
    "heating": ["{p}换热站完成检修,供热管网打压试验合格。", "{p}供热公司开通热线,入户测温室温达标。"],
    "people_congress": ["{p}人大常委会召开会议审议条例草案。", "{p}人大代表视察并提出代表建议。"],
    "culture_tourism": ["{p}景区推出文旅活动,接待游客人数增长。", "{p}非遗展演和民俗演出吸引游客。"],
    "inspection": ["{p}巡察组进驻并召开巡察动员会。", "{p}巡察反馈会指出问题,要求整改。"],
    "": ["{p}小麦收割进度过半,农机服务到位。", "{p}新建道路通车,公交线路调整。"],
}


def small_rows():
    rows = []
    for topic, templates in TEMPLATES.items():
        for i, place in enumerate(PLACES):
            for j, tpl in enumerate(templates):
                rows.append((tpl.format(p=place), topic, "authored", f"{topic or 'none'}-{i}"))
    return rows


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def trained(runner, labels_factory, tmp_path):
    labels = labels_factory(small_rows())
    out = tmp_path / "m.joblib"
    result = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return labels, out, result


def test_train_prints_tables_and_writes_model(trained):
    labels, out, result = trained
    assert "Cross-validated, paragraph level" in result.output
    assert "Cross-validated, article level" in result.output
    assert "heating" in result.output and "macro" in result.output
    model = load_model(out)
    assert model.meta_["n_paragraphs"] == 60
    assert set(model.meta_["thresholds"]) == {"heating", "people_congress", "culture_tourism", "inspection"}


def test_train_rejects_unknown_topic_and_writes_nothing(runner, labels_factory, tmp_path):
    labels = labels_factory(small_rows() + [("某某文字。", "heatingg", "authored", "x")])
    out = tmp_path / "m.joblib"
    result = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out)])
    assert result.exit_code != 0
    assert "row 61" in result.output and "closest declared topic: 'heating'" in result.output
    assert "no model written" in result.output
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []


def test_train_refuses_to_replace_a_better_model(runner, trained):
    labels, out, _ = trained
    payload = joblib.load(out)
    payload["meta"]["cv"]["article"]["macro"]["f1"] = 1.5  # an existing model far better than any new one
    joblib.dump(payload, out)
    before = out.read_bytes()
    result = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out)])
    assert result.exit_code != 0 and "--force" in result.output
    assert out.read_bytes() == before
    forced = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert load_model(out).meta_["cv"]["article"]["macro"]["f1"] <= 1.0


def test_classify_file_prints_labels_scores_evidence(runner, trained, tmp_path):
    _, out, _ = trained
    article = tmp_path / "a.txt"
    article.write_text("城区供热准备就绪\n\n玉泉区换热站完成检修,供热管网打压试验合格。\n\n热线开通。\n", encoding="utf-8")
    result = runner.invoke(main, ["classify", str(article), "--model", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["labels"] == ["heating"]
    assert set(data["scores"]) == {"heating", "people_congress", "culture_tourism", "inspection"}
    ev = data["evidence"]["heating"]
    assert ev["paragraphs"][0]["index"] == 0 and "换热站" in ev["paragraphs"][0]["text"]
    assert ev["terms"]


def test_classify_jsonl_streams_in_order_and_reports_bad_lines(runner, trained):
    _, out, _ = trained
    lines = [
        json.dumps({"id": "a", "text": "标题\n赛罕区巡察组进驻并召开巡察动员会。"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": "标题\n新城区人大常委会召开会议审议条例草案。"}, ensure_ascii=False),
    ]
    result = runner.invoke(main, ["classify", "--jsonl", "--model", str(out)], input="\n".join(lines) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["a", 2, "c", "d"]
    assert records[0]["labels"] == ["inspection"] and records[3]["labels"] == ["people_congress"]
    assert "error" in records[1] and records[1]["line"] == 2
    assert "'text'" in records[2]["error"]
    assert result.exit_code == 1


def test_classify_with_a_file_that_is_not_a_model(runner, tmp_path):
    junk = tmp_path / "junk.joblib"
    junk.write_text("hello")
    result = runner.invoke(main, ["classify", "-", "--model", str(junk)], input="标题\n正文。")
    assert result.exit_code == 1
    assert "not a newstag model file" in result.output
    assert "Traceback" not in result.output


def test_classify_jsonl_reports_a_line_that_is_not_utf8(runner, trained):
    _, out, _ = trained
    good = json.dumps({"id": "ok", "text": "标题\n赛罕区巡察组进驻并召开巡察动员会。"}, ensure_ascii=False).encode()
    bad = '{"id": "x", "text": "供热"}'.encode("gbk")
    result = runner.invoke(main, ["classify", "--jsonl", "--model", str(out)], input=bad + b"\n" + good + b"\n")
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["line"] == 1 and "utf-8" in first["error"]
    assert second["id"] == "ok" and second["labels"] == ["inspection"]
