"""`newstag diff` (training/diff.py, newstag/diffcmd.py) and what `newstag train` prints
about the model it replaces (training/train.py: the before -> after comparison).

One model is trained for the whole module, by `newstag train` itself, on a copy of
labels.csv where culture_tourism is no longer a topic (its rows become none) and the
paragraphs of two 文明城市 articles of the sample pages are relabelled: it must lose
文旅 and gain 巡察/供热 on the example archive."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import joblib
import pytest
from click.testing import CliRunner

from newstag.archive import find_files, read_page
from newstag.cli import main
from newstag.diffcmd import diff
from newstag.model import load_model
from newstag.model.store import DEFAULT_MODEL_PATH
from newstag.model.tagging import tag_page
from newstag.training import diff as modeldiff
from newstag.training.evaluate import EVAL_SET, evaluate_model, read_eval_set

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "examples" / "archive"
RELABEL = {
    "003_799e9759ce517eb5.txt#0": "inspection;heating",
    "003_799e9759ce517eb5.txt#3": "inspection",
}
NEW_TOPICS = [("heating", "供热"), ("people_congress", "人大"), ("inspection", "巡察")]


def write_flipped_labels(folder: Path) -> Path:
    with open(ROOT / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        labels = [t for t in row["labels"].split(";") if t and t != "culture_tourism"]
        row["labels"] = RELABEL.get(row["article"], ";".join(labels))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(folder / "topics.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("name", "display"), *NEW_TOPICS])
    return folder / "labels.csv"


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    """``(model path, output of newstag train)``: trained over a copy of the shipped model."""
    folder = tmp_path_factory.mktemp("flipped")
    labels = write_flipped_labels(folder)
    out = folder / "model.joblib"
    shutil.copy(DEFAULT_MODEL_PATH, out)
    result = CliRunner().invoke(main, ["train", "--labels", str(labels), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def models(flipped):
    return load_model(DEFAULT_MODEL_PATH), load_model(flipped[0])


def run_diff(*args):
    return CliRunner().invoke(diff, [str(a) for a in args])


def jsonl(text):
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert "summary" in lines[-1] and all("summary" not in x for x in lines[:-1])
    return lines[:-1], lines[-1]["summary"]


# -- newstag train: before -> after ----------------------------------------------------------------

def comparison_rows(output):
    """Return ``{first cell: line}`` of the comparison table printed by `newstag train`."""
    lines = output.split("What the new rows did", 1)[1].splitlines()
    return {line.split()[0]: line for line in lines[1:] if line.strip() and not line.startswith("note")}


def test_train_prints_rows_cv_and_eval_f1_before_and_after(flipped):
    _, output = flipped
    old = load_model(DEFAULT_MODEL_PATH).meta_
    new = load_model(flipped[0]).meta_
    assert f"What the new rows did: before = {flipped[0]} (version {old['version']})" in output
    rows = comparison_rows(output)
    for t in ("heating", "people_congress", "inspection"):
        assert f"{old['paragraphs_per_topic'][t]} → {new['paragraphs_per_topic'][t]}" in rows[t]
        assert f"{old['cv']['article'][t]['f1']:.3f} → {new['cv']['article'][t]['f1']:.3f}" in rows[t]
    assert new["paragraphs_per_topic"]["inspection"] > old["paragraphs_per_topic"]["inspection"]
    assert f"(+{new['paragraphs_per_topic']['inspection'] - old['paragraphs_per_topic']['inspection']})" in rows["inspection"]
    # a topic the new model dropped: before only
    assert f"{old['paragraphs_per_topic']['culture_tourism']} → -" in rows["culture_tourism"]
    assert f"{old['cv']['article']['culture_tourism']['f1']:.3f} → -" in rows["culture_tourism"]
    assert f"{old['n_paragraphs']} → {new['n_paragraphs']}" in rows["macro"]
    # F1 on the evaluation set, measured now for both models (none for the topic the new one lacks)
    articles = read_eval_set(EVAL_SET)
    old_eval, _ = evaluate_model(load_model(DEFAULT_MODEL_PATH), articles)
    new_eval, _ = evaluate_model(load_model(flipped[0]), articles)
    assert rows["culture_tourism"].rstrip().endswith(f"{old_eval['culture_tourism']['f1']:.3f} → -")
    for t in ("heating", "people_congress", "inspection"):
        assert rows[t].count("→") == 3
        assert f"{old_eval[t]['f1']:.3f} → {new_eval[t]['f1']:.3f}" in rows[t].split("  ")[-1]
    old_macro = sum(old_eval[t]["f1"] for t in ("heating", "people_congress", "inspection")) / 3
    assert rows["macro"].rstrip().split("  ")[-1].strip().startswith(f"{old_macro:.3f} → {new_eval['macro']['f1']:.3f}")
    assert "note: the models' topics differ" in output
    assert f"eval macro-F1 over heating, people_congress, inspection (eval_articles.jsonl, {len(articles)} articles)" in output


def test_new_model_meta_keeps_what_the_next_comparison_needs(flipped):
    from newstag.training.labels import read_labels

    meta = load_model(flipped[0]).meta_
    assert isinstance(meta["cv"], dict) and meta["cv"]["article"]["macro"]["f1"] > 0.8
    labelset = read_labels(flipped[0].parent / "labels.csv")
    assert meta["paragraphs_untagged"] == int((labelset.Y.sum(axis=1) == 0).sum()) > 0
    before = load_model(DEFAULT_MODEL_PATH).meta_.get("paragraphs_untagged", "?")  # "?": not in older models
    assert f"{before} → {meta['paragraphs_untagged']}" in comparison_rows(flipped[1])["(no"]


SMALL = {
    "heating": ["{p}换热站完成检修,供热管网打压试验合格。", "{p}供热公司开通热线,入户测温室温达标。"],
    "people_congress": ["{p}人大常委会召开会议审议条例草案。", "{p}人大代表视察并提出代表建议。"],
    "culture_tourism": ["{p}景区推出文旅活动,接待游客人数增长。", "{p}非遗展演和民俗演出吸引游客。"],
    "inspection": ["{p}巡察组进驻并召开巡察动员会。", "{p}巡察反馈会指出问题,要求整改。"],
    "": ["{p}小麦收割进度过半,农机服务到位。", "{p}新建道路通车,公交线路调整。"],
}


def test_refusal_prints_the_comparison_and_reads_cv_stored_as_a_string(labels_factory, tmp_path):
    places = ["新城区", "回民区", "玉泉区", "赛罕区", "托克托县", "武川县"]
    rows = [(tpl.format(p=p), topic, "authored", f"{topic or 'none'}-{i}")
            for topic, tpls in SMALL.items() for i, p in enumerate(places) for tpl in tpls]
    labels = labels_factory(rows)
    out = tmp_path / "m.joblib"
    runner = CliRunner()
    first = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "What the new rows did: no model before" in first.output
    assert "- → 12" in comparison_rows(first.output)["heating"]  # rows: none before, 12 now
    for as_string in (False, True):
        payload = joblib.load(out)
        cv = payload["meta"]["cv"] if isinstance(payload["meta"]["cv"], dict) else json.loads(payload["meta"]["cv"])
        cv["article"]["macro"]["f1"] = 1.5
        cv["article"]["heating"]["f1"] = 0.25
        payload["meta"]["cv"] = json.dumps(cv) if as_string else cv
        joblib.dump(payload, out)
        before = out.read_bytes()
        result = runner.invoke(main, ["train", "--labels", str(labels), "--out", str(out)])
        assert result.exit_code == 1 and "--force" in result.output
        assert out.read_bytes() == before
        assert "What the new rows did" in result.output
        assert "1.500 → " in comparison_rows(result.output)["macro"]
        assert "0.250 → " in comparison_rows(result.output)["heating"]
        assert "Traceback" not in result.output


# -- newstag diff on the example archive -------------------------------------------------------------

@pytest.fixture(scope="module")
def independent(models):
    """Every article of the archive tagged with each model separately (as `newstag tag`
    does): ``[(old record, new record)]`` in archive order."""
    old, new = models
    pairs = []
    for src in find_files([str(ARCHIVE)]):
        text, _, _ = read_page(src.path)
        for a, b in zip(tag_page(old, text, src.name), tag_page(new, text, src.name), strict=True):
            assert (a["index"], a["title"]) == (b["index"], b["title"])
            pairs.append((a, b))
    return pairs


def changed(pairs):
    return {(a["file"], a["index"]): (a, b) for a, b in pairs if set(a["labels"]) != set(b["labels"])}


def tagged(pairs, topic, side=0):
    return sum(topic in p[side]["labels"] for p in pairs)


def test_diff_lists_exactly_the_articles_whose_tags_differ(independent, flipped):
    result = run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--format", "jsonl", "--workers", "1")
    assert result.exit_code == 0, result.output
    changes, summary = jsonl(result.stdout)
    expected = changed(independent)
    assert len(expected) >= 4
    assert {(c["file"], c["index"]) for c in changes} == set(expected)
    assert len(changes) == len(expected)
    gained, lost = {}, {}
    for c in changes:
        a, b = expected[(c["file"], c["index"])]
        assert c["old_labels"] == a["labels"] and c["new_labels"] == b["labels"]
        assert c["old_scores"] == a["scores"] and c["new_scores"] == b["scores"]
        assert set(c["gained"]) == set(b["labels"]) - set(a["labels"])
        assert set(c["lost"]) == set(a["labels"]) - set(b["labels"])
        assert c["title"] == a["title"] and c["lines"] == a["lines"]
        assert set(c["evidence"]["gained"]) == set(c["gained"]) and set(c["evidence"]["lost"]) == set(c["lost"])
        for ev in list(c["evidence"]["gained"].values()) + list(c["evidence"]["lost"].values()):
            assert ev["paragraphs"] and ev["terms"]
        for t in c["gained"]:
            gained[t] = gained.get(t, 0) + 1
        for t in c["lost"]:
            lost[t] = lost.get(t, 0) + 1
    # every culture_tourism tag of the old model is lost: the new model has no such topic
    n_ct = tagged(independent, "culture_tourism")
    assert n_ct >= 1 and lost["culture_tourism"] == n_ct and gained.get("inspection", 0) >= 2
    # biggest first: most flipped tags, then the largest sum of score moves
    keys = [(-(len(c["gained"]) + len(c["lost"])), -c["change"]) for c in changes]
    assert keys == sorted(keys)
    for c in changes:
        topics = set(c["old_scores"]) | set(c["new_scores"])
        size = sum(abs(c["new_scores"].get(t, 0) - c["old_scores"].get(t, 0)) for t in topics)
        assert c["change"] == pytest.approx(size, abs=1e-3)
    # the summary
    assert summary["files"] == 5 and summary["articles"] == len(independent) >= 40
    assert summary["changed"] == len(expected)
    assert summary["failed_files"] == []
    for t, s in summary["topics"].items():
        assert (s["gained"], s["lost"]) == (gained.get(t, 0), lost.get(t, 0)), t
    ct = summary["topics"]["culture_tourism"]
    assert ct["in_old"] and not ct["in_new"] and ct["tagged_old"] == n_ct and ct["tagged_new"] == 0
    insp = summary["topics"]["inspection"]
    assert insp["tagged_new"] - insp["tagged_old"] == insp["gained"] - insp["lost"]


def test_diff_text_is_readable_and_agrees_with_jsonl(flipped, independent):
    text = run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--workers", "1")
    assert text.exit_code == 0, text.output
    changes, summary = jsonl(run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--format", "jsonl",
                                      "--workers", "1").stdout)
    out = text.stdout
    # the articles, biggest change first, each with its tags, scores and evidence
    positions = [out.index(f"{c['file']}#{c['index']} ") for c in changes]
    assert positions == sorted(positions)
    first = changes[0]
    block = out[positions[0]:positions[1]]
    assert f"[1] {first['file']}#{first['index']}" in out and first["title"] in block
    assert "tags:" in block and "→" in block and "scores:" in block
    assert "evidence of the new model" in block or "evidence of the old model" in block
    assert "terms:" in block and "¶" in block
    assert "lost 文旅 culture_tourism, evidence of the old model" in out
    assert "gained 巡察 inspection, evidence of the new model" in out
    # then the summary
    tail = out[out.index("Summary:"):]
    assert f"{len(independent)} article(s) in 5 file(s) compared, {summary['changed']} with other tags" in tail
    assert "topics only in the old model: 文旅 culture_tourism" in tail
    ct_line = next(line for line in tail.splitlines() if line.startswith("文旅 culture_tourism"))
    n_ct = tagged(independent, "culture_tourism")
    assert ct_line.split()[2:] == [str(n_ct), "-", "+0", f"-{n_ct}"]


def test_two_workers_give_the_same_output_as_one(flipped):
    one = run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--format", "jsonl", "--workers", "1")
    two = run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--format", "jsonl", "--workers", "2")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_identical_models_have_no_changes():
    result = run_diff(DEFAULT_MODEL_PATH, DEFAULT_MODEL_PATH, ARCHIVE, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "No article has other tags." in result.stdout
    assert "article(s) in 5 file(s) compared, 0 with other tags" in result.stdout
    changes, summary = jsonl(run_diff(DEFAULT_MODEL_PATH, DEFAULT_MODEL_PATH, ARCHIVE, "--format", "jsonl",
                                      "--workers", "1").stdout)
    assert changes == [] and summary["changed"] == 0
    assert all(s["gained"] == s["lost"] == 0 and s["tagged_old"] == s["tagged_new"] for s in summary["topics"].values())


@pytest.mark.parametrize("which", [0, 1])
def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path, which):
    junk = tmp_path / "junk.joblib"
    junk.write_text("hello")
    args = [DEFAULT_MODEL_PATH, DEFAULT_MODEL_PATH]
    args[which] = junk
    result = run_diff(*args, ARCHIVE)
    assert result.exit_code == 1
    assert f"{junk}: not a newstag model file" in result.output and "Traceback" not in result.output
    missing = run_diff(DEFAULT_MODEL_PATH, tmp_path / "nowhere.joblib", ARCHIVE)
    assert missing.exit_code == 1 and "no such model file" in missing.output and "Traceback" not in missing.output


def test_undecodable_and_empty_files_are_reported_and_the_rest_compared(flipped, independent, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(ARCHIVE / "000_abd0a3a3191919be.txt", folder / "a.txt")
    (folder / "b.txt").write_bytes(b"\xff\xfe\x80\x81 not a page \x80")
    (folder / "c.txt").write_bytes(b"")
    result = run_diff(DEFAULT_MODEL_PATH, flipped[0], folder, "--format", "jsonl", "--workers", "1")
    assert result.exit_code == 1
    assert f"{folder / 'b.txt'}: undecodable" in result.stderr
    assert f"{folder / 'c.txt'}: empty file" in result.stderr
    changes, summary = jsonl(result.stdout)
    page = [p for p in independent if p[0]["file"].endswith("000_abd0a3a3191919be.txt")]
    assert summary["files"] == 1 and summary["articles"] == len(page)
    assert [f["file"] for f in summary["failed_files"]] == [str(folder / "b.txt"), str(folder / "c.txt")]
    assert changes  # the old model's 文旅 tags on this page are lost
    assert {c["index"] for c in changes} == {a["index"] for a, _ in changed(page).values()}
    text = run_diff(DEFAULT_MODEL_PATH, flipped[0], folder, "--workers", "1")
    assert text.exit_code == 1 and "failed files (2):" in text.stdout and "Traceback" not in text.output


def test_output_file_is_written_whole_and_only_at_the_end(flipped, independent, tmp_path):
    out = tmp_path / "sub" / "diff.jsonl"
    result = run_diff(DEFAULT_MODEL_PATH, flipped[0], ARCHIVE, "--format", "jsonl", "-o", out, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # records went to the file; the summary to standard error
    assert "Summary:" in result.stderr
    changes, summary = jsonl(out.read_text(encoding="utf-8"))
    assert changes and summary["articles"] == len(independent)
    assert [p.name for p in out.parent.iterdir()] == ["diff.jsonl"]  # no temporary file left


# -- the pure functions, on models that answer what they are told -------------------------------------

class FakeModel:
    """Answers ``tag_split`` from a table ``{title: (labels, scores)}``; counts evidence calls."""

    def __init__(self, topics, table):
        self.topics = topics
        self.display_names = {t: t.upper() for t in topics}
        self.table = table
        self.evidence_for = []

    def tag_split(self, split, evidence=True, n_terms=6):
        out = []
        for title, paragraphs in split:
            labels, scores = self.table[title]
            r = {"labels": list(labels), "scores": {t: scores.get(t, 0.0) for t in self.topics}}
            if evidence:
                self.evidence_for.append(title)
                r["evidence"] = {t: {"paragraphs": [{"index": 0, "score": 0.9, "text": paragraphs[0]}],
                                     "terms": [{"term": title, "weight": 1.0}]} for t in labels}
            out.append(r)
        return out


def test_compare_split_with_a_topic_only_in_the_new_model():
    old = FakeModel(["a", "b"], {
        "same": (["a"], {"a": 0.9}),
        "moved": (["a"], {"a": 0.9, "b": 0.1}),
        "gain-c": (["a"], {"a": 0.8}),
        "lose-b-gain-c": (["b"], {"b": 0.7}),
        "lose-a": (["a"], {"a": 0.6}),
    })
    new = FakeModel(["a", "b", "c"], {
        "same": (["a"], {"a": 0.9}),
        "moved": (["a"], {"a": 0.6, "b": 0.4}),  # scores move, tags do not: no change
        "gain-c": (["a", "c"], {"a": 0.8, "c": 0.95}),
        "lose-b-gain-c": (["c"], {"b": 0.2, "c": 0.7}),
        "lose-a": ([], {"a": 0.4}),
    })
    split = [(title, [f"{title} 正文"]) for title in old.table]
    result = modeldiff.compare_split(old, new, split)
    assert result.articles == 5
    changes = {split[i][0]: c for i, c in result.changes}
    assert set(changes) == {"gain-c", "lose-b-gain-c", "lose-a"}
    assert changes["gain-c"]["gained"] == ["c"] and changes["gain-c"]["lost"] == []
    assert changes["gain-c"]["change"] == pytest.approx(0.95)
    assert (changes["lose-b-gain-c"]["gained"], changes["lose-b-gain-c"]["lost"]) == (["c"], ["b"])
    assert changes["lose-b-gain-c"]["change"] == pytest.approx(0.5 + 0.7)
    assert changes["lose-a"]["lost"] == ["a"] and changes["lose-a"]["change"] == pytest.approx(0.2)
    # evidence: the new model's for a gained tag, the old one's for a lost tag; only for changed articles
    assert changes["lose-b-gain-c"]["evidence"]["gained"]["c"]["terms"][0]["term"] == "lose-b-gain-c"
    assert set(changes["lose-b-gain-c"]["evidence"]["lost"]) == {"b"}
    assert sorted(old.evidence_for) == sorted(new.evidence_for) == sorted(changes)
    assert result.tagged_old == {"a": 4, "b": 1} and result.tagged_new == {"a": 3, "c": 2}
    ordered = modeldiff.sort_changes([c for _, c in result.changes])
    assert [c["change"] for c in ordered] == pytest.approx([1.2, 0.95, 0.2])

    summary = modeldiff.DiffSummary(old.topics, new.topics, {"c": "丙"})
    summary.add(result)
    d = summary.to_dict()
    assert (d["articles"], d["changed"]) == (5, 3)
    assert d["topics"]["c"] == {"display": "丙", "in_old": False, "in_new": True, "tagged_old": 0,
                                "tagged_new": 2, "gained": 2, "lost": 0}
    assert (d["topics"]["a"]["lost"], d["topics"]["b"]["lost"]) == (1, 1)
    text = summary.text()
    assert "topics only in the new model: 丙 c" in text
    c_line = next(line for line in text.splitlines() if line.startswith("丙 c"))
    assert c_line.split()[2:] == ["-", "2", "+2", "-0"]


def test_sort_puts_more_flips_before_bigger_score_moves():
    changes = [
        {"gained": ["a"], "lost": [], "change": 1.9},
        {"gained": ["a"], "lost": ["b"], "change": 0.3},
        {"gained": [], "lost": ["b"], "change": 1.95},
    ]
    assert [c["change"] for c in modeldiff.sort_changes(changes)] == [0.3, 1.95, 1.9]


def test_article_change_is_none_when_the_tags_are_the_same_in_another_order():
    a = {"labels": ["x", "y"], "scores": {"x": 0.9, "y": 0.8}}
    b = {"labels": ["y", "x"], "scores": {"x": 0.7, "y": 0.95}}
    assert modeldiff.article_change(a, b, ["x", "y"]) is None


def test_comparison_without_an_evaluation_set_or_with_an_odd_one(models, tmp_path):
    from newstag.training.train import compare_models

    old, new = models

    def lines(comparison):
        text = comparison.text()
        return text, comparison_rows(text)

    text, rows = lines(compare_models(DEFAULT_MODEL_PATH, new, new.meta_, eval_path=tmp_path / "nowhere.jsonl"))
    assert f"no evaluation set at {tmp_path / 'nowhere.jsonl'}" in text
    n_heating = new.meta_["paragraphs_per_topic"]["heating"]
    n_before = old.meta_["paragraphs_per_topic"]["heating"]
    assert rows["heating"].rstrip().endswith("- → -") and f"{n_before} → {n_heating}" in rows["heating"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    text, rows = lines(compare_models(DEFAULT_MODEL_PATH, new, new.meta_, eval_path=bad))
    assert "evaluation set not usable" in text and "line 1" in text

    # a set with one heating article and one of a topic neither model has
    odd = tmp_path / "odd.jsonl"
    odd.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "h", "title": "首府换热站检修完成", "paragraphs": ["全市换热站检修完成,供热管网打压试验合格,10月15日前按时开栓供热。"],
         "labels": ["heating"], "kind": "plain"},
        {"id": "s", "title": "全民健身运动会开幕", "paragraphs": ["市全民健身运动会开幕,设足球、篮球、田径等12个大项。"],
         "labels": ["sports"], "kind": "plain"},
    ]) + "\n", encoding="utf-8")
    text, rows = lines(compare_models(DEFAULT_MODEL_PATH, new, new.meta_, eval_path=odd))
    assert "1.000 → 1.000" in rows["heating"]
    assert rows["inspection"].rstrip().endswith("- → -")
    assert 'the evaluation set has no article of people_congress, inspection, culture_tourism' in text
    assert "eval macro-F1 over heating (odd.jsonl, 2 articles)" in text

    junk = tmp_path / "junk.joblib"
    junk.write_text("hello")
    text, rows = lines(compare_models(junk, new, new.meta_, eval_path=None))
    assert "What the new rows did: no model before" in text and "is not a readable model" in text
    assert f"- → {n_heating}" in rows["heating"] and "no evaluation set given" in text
