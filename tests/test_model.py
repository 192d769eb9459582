"""Behaviour of the shipped model on whole articles."""
import pickle

import numpy as np
import opencc
import pytest

from newstag.model.classifier import TopicModel, combine_scores
from newstag.training.evaluate import read_eval_set

HEATING_ARTICLE = (
    "首府供热管网改造进入收尾阶段\n"
    "本报讯(记者 张三)记者从市城管局获悉,今年我市共改造老旧供热管网120公里,新建换热站36座,"
    "10月15日前全部完工,确保按时开栓。\n"
    "市热力公司负责人介绍,今冬将对5万户热用户入户测温,室温不达标的小区由供热管家上门排查。"
)


def test_a_traditional_copy_gets_the_same_tags(shipped_model):
    s2t = opencc.OpenCC("s2t")
    for article in read_eval_set()[:40]:
        simplified = shipped_model.tag_article(article.text)
        traditional = shipped_model.tag_article(s2t.convert(article.text))
        assert traditional["labels"] == simplified["labels"], article.id
        assert traditional["scores"] == pytest.approx(simplified["scores"], abs=1e-6), article.id


def test_heating_article_is_tagged_with_evidence(shipped_model):
    result = shipped_model.tag_article(HEATING_ARTICLE)
    assert result["labels"] == ["heating"]
    evidence = result["evidence"]["heating"]
    assert evidence["paragraphs"] and all(p["score"] > 0 for p in evidence["paragraphs"])
    assert any(t["term"] in {"供热", "换热站", "管网", "室温", "开栓", "热用户", "供热管网"} for t in evidence["terms"])


def test_article_without_topic_gets_no_tag(shipped_model):
    text = "全市秋粮收获过半\n截至10月20日,全市秋粮已收获186万亩,玉米收获进度快于去年同期。农机部门组织农机手跨区作业。"
    assert shipped_model.tag_article(text)["labels"] == []


def test_fitted_model_pickles_with_its_tokenizer(shipped_model):
    clone = pickle.loads(pickle.dumps(shipped_model))
    texts = ["换热站检修完成。", "常委会会议表决通过条例。"]
    assert np.array_equal(clone.predict_paragraphs(texts), shipped_model.predict_paragraphs(texts))


def test_scores_are_probabilities_for_every_topic(shipped_model):
    scores = shipped_model.tag_article(HEATING_ARTICLE)["scores"]
    assert set(scores) == set(shipped_model.topics)
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_combine_methods():
    probs = np.array([[0.9, 0.1], [0.3, 0.5]])
    whole = np.array([0.5, 0.2])
    assert combine_scores(probs, whole, "max").tolist() == [0.9, 0.5]
    assert combine_scores(probs, whole, "whole").tolist() == [0.5, 0.2]
    assert combine_scores(probs, whole, "mean").tolist() == pytest.approx([0.6, 0.3])
    assert combine_scores(probs, whole, "blend").tolist() == pytest.approx([0.7, 0.35])


@pytest.mark.parametrize(
    "params, message",
    [({"combine": "median"}, "combine='median'"), ({"C": -1}, "C=-1"), ({"thresholds": {"heating": 1.5}}, "thresholds")],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        TopicModel(["heating"], **params).fit(["供热。", "小麦。"], [[1], [0]])
