import pytest

from newstag.training.labels import LabelsError, read_labels

OK_ROWS = [
    ("今冬供热管网改造完成,换热站全部投用。", "heating", "authored", "a1"),
    ("市人大常委会召开会议,审议条例草案。", "people_congress", "authored", "a2"),
    ("景区接待游客12万人次。", "culture_tourism;heating", "authored", "a3"),
    ("巡察组进驻市城管局。", "inspection", "authored", "a4"),
    ("全市小麦喜获丰收。", "", "authored", "a5"),
]


def problems_of(path):
    with pytest.raises(LabelsError) as info:
        read_labels(path)
    return info.value.problems


def test_valid_file_reads_into_a_matrix(labels_factory):
    ls = read_labels(labels_factory(OK_ROWS))
    assert ls.topic_names == ["heating", "people_congress", "culture_tourism", "inspection"]
    assert ls.Y.tolist()[2] == [1, 0, 1, 0]
    assert ls.Y.tolist()[4] == [0, 0, 0, 0]
    assert ls.groups == ["a1", "a2", "a3", "a4", "a5"]
    assert ls.display_names["heating"] == "供热"


def test_unknown_topic_names_row_and_closest_topic(labels_factory):
    rows = OK_ROWS + [("某段文字。", "heatingg", "authored", "a6")]
    (problem,) = problems_of(labels_factory(rows))
    assert "row 6" in problem and "field labels" in problem
    assert "'heatingg'" in problem and "closest declared topic: 'heating'" in problem


def test_missing_column_is_named(labels_factory):
    path = labels_factory([(r[0], r[1]) for r in OK_ROWS], header=("text", "labels"))
    (problem,) = problems_of(path)
    assert "missing column(s) source" in problem


def test_empty_text_names_row(labels_factory):
    (problem,) = problems_of(labels_factory(OK_ROWS + [("  ", "heating", "authored", "a7")]))
    assert "row 6" in problem and "field text: empty" in problem


def test_conflicting_labels_for_one_paragraph_name_both_rows(labels_factory):
    rows = OK_ROWS + [(OK_ROWS[0][0], "inspection", "authored", "a8")]
    (problem,) = problems_of(labels_factory(rows))
    assert "row 6" in problem and "row 1" in problem and "other labels" in problem


def test_exact_repeat_is_used_once_with_a_warning(labels_factory):
    ls = read_labels(labels_factory(OK_ROWS + [OK_ROWS[1]]))
    assert len(ls.texts) == 5
    assert any("repeats row 2" in w for w in ls.warnings)


def test_bad_encoding_names_line(labels_factory, tmp_path):
    path = labels_factory(OK_ROWS)
    path.write_bytes(path.read_bytes() + "最后一行,heating,authored,a9\n".encode("gbk"))
    (problem,) = problems_of(path)
    assert "line 7" in problem and "not valid UTF-8" in problem


def test_every_problem_is_reported_at_once(labels_factory):
    rows = OK_ROWS + [("", "heating", "authored", "x"), ("文字。", "tourism", "authored", "y")]
    assert len(problems_of(labels_factory(rows))) == 2


def test_a_fifth_topic_is_a_line_in_the_table(labels_factory):
    topics = [("heating", "供热"), ("people_congress", "人大"), ("culture_tourism", "文旅"),
              ("inspection", "巡察"), ("education", "教育")]
    rows = OK_ROWS + [("全市中小学开学。", "education", "authored", "e1")]
    ls = read_labels(labels_factory(rows, topics=topics))
    assert ls.topic_names[-1] == "education" and ls.Y[-1].tolist() == [0, 0, 0, 0, 1]
