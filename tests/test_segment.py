import os
import subprocess
import sys
from pathlib import Path

import pytest

from newstag.model import segment
from newstag.model.normalize import normalize
from newstag.model.segment import tokenize

ROOT = Path(__file__).resolve().parent.parent


def test_domain_words_stay_whole():
    tokens = tokenize("市人大常委会组织人大代表视察温暖工程和换热站,巡察组进驻")
    for word in ("人大常委会", "人大代表", "温暖工程", "换热站", "巡察组"):
        assert word in tokens


def test_single_character_words_are_kept_and_punctuation_dropped():
    tokens = tokenize("暖气热不热,室温多少度?")
    assert "热" in tokens
    assert "," not in tokens and "?" not in tokens


def test_numbers_become_one_token():
    assert tokenize("投资2.5亿元,完成80%") == ["投资", "0", "亿元", "完成", "0"]


def test_cache_lives_in_our_folder_not_tmp(tmp_path):
    cache = tmp_path / "c"
    # jieba's own cache (jieba-rs has none)
    env = dict(os.environ, NEWSTAG_CACHE_DIR=str(cache), TMPDIR=str(tmp_path / "tmp"), NEWSTAG_SEGMENTER="jieba")
    (tmp_path / "tmp").mkdir()
    code = "from newstag.model.segment import tokenize; tokenize('供热')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert any(p.name.startswith("jieba") for p in cache.iterdir())
    assert not any((tmp_path / "tmp").iterdir())


def test_jieba_rs_cuts_as_jieba_does():
    """Both engines give the same tokens on every labelled paragraph (numbers folded as
    tokenize folds them, and as printed), so the model does not depend on the engine."""
    pytest.importorskip("rjieba")
    from newstag.training.labels import read_labels

    jieba_cut = segment._jieba_tokenizer().lcut
    rust_cut = segment.RustTokenizer().lcut
    texts = [normalize(t) for t in read_labels(ROOT / "labels.csv").texts]
    texts += [segment._NUMBER.sub("0", t) for t in texts] + ["iPhone15Pro发布会", "㐀㐁测试", "COVID-19疫情"]
    differ = [t for t in texts if rust_cut(t, HMM=False) != jieba_cut(t, HMM=False)]
    assert not differ, differ[:3]
