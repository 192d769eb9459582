from newstag.model.normalize import normalize, to_simplified


def test_full_width_forms_fold_to_one_form():
    assert normalize("ＡＢＣ１２３，（测试）") == "ABC123,(测试)"


def test_traditional_folds_to_simplified():
    assert to_simplified("供熱管網與換熱站") == "供热管网与换热站"


def test_jump_markers_are_removed():
    assert normalize("（上接第1版）市住建局介绍") == "市住建局介绍"
    assert normalize("工程进展顺利(下转第三版)") == "工程进展顺利"


def test_lead_credit_is_removed_but_the_news_kept():
    assert normalize("本报讯（记者 耿欣 通讯员 付诗涵）今年以来，市人大常委会") == "今年以来,市人大常委会"


def test_trailing_credit_is_removed():
    assert normalize("活动圆满结束。（王英）") == "活动圆满结束。"
    assert normalize("发放补助。(记者梅刚)") == "发放补助。"


def test_paragraph_breaks_survive_and_blank_lines_go():
    assert normalize("标题\n\n  第一段  \r\n第二 段") == "标题\n第一段\n第二段"


def test_space_between_latin_words_is_kept():
    assert normalize("5G  network 建设") == "5G network 建设"
