import os
import subprocess
import sys

from newstag.model.segment import tokenize


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
    env = dict(os.environ, NEWSTAG_CACHE_DIR=str(cache), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code = "from newstag.model.segment import tokenize; tokenize('供热')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert any(p.name.startswith("jieba") for p in cache.iterdir())
    assert not any((tmp_path / "tmp").iterdir())
