"""Tests for newstag.model.pages: splitting a page text export into its articles.

The first tests compare the split of the five sample pages with the hand-checked reference
in tests/data/reference_split.json; the others compose small pages, one artefact each.
"""
import json
from pathlib import Path

import pytest

from newstag.model.pages import PageDecodeError, decode_page, split_page

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "examples" / "archive"
REFERENCE = json.loads((HERE / "data" / "reference_split.json").read_text(encoding="utf-8"))

# Articles whose (title, lines) must match the reference exactly, per page.  These are the
# counts reached (all of them); lower one only with a note on why.
FLOORS = {
    "000_abd0a3a3191919be.txt": 9,
    "001_df55c92e11fa0b87.txt": 5,
    "002_2713e03913a5aa39.txt": 8,
    "003_799e9759ce517eb5.txt": 12,
    "004_a4783f7c51050e56.txt": 6,
}
# Reference articles (page, index) the splitter is known to miss; none at present.
KNOWN_MISSES: set[tuple[str, int]] = set()


def page(*blocks: str) -> str:
    """A page export: the blocks separated by blank lines, so block k starts on line 2k+1
    (a block may hold several lines, e.g. table rows)."""
    return "\n\n".join(blocks) + "\n"


def spans(articles):
    return [(a.title, a.lines) for a in articles]


def split_sample(name):
    return split_page(decode_page((PAGES / name).read_bytes()))


def mismatches(name):
    """Reference articles of page ``name`` not recovered exactly: {(name, index): what
    the reference says and what was found over the same lines}."""
    found = {(a.title, a.lines) for a in split_sample(name)}
    missed = {}
    for ref in REFERENCE[name]:
        if (ref["title"], tuple(ref["lines"])) not in found:
            near = [f for f in found if f[1][0] <= ref["lines"][1] and ref["lines"][0] <= f[1][1]]
            missed[name, ref["index"]] = f"{name}#{ref['index']} {ref['title']!r} {ref['lines']} -- found {near}"
    return missed


# --- against the reference --------------------------------------------------------------


def test_reference_covers_the_sample_pages():
    assert sorted(REFERENCE) == sorted(p.name for p in PAGES.glob("*.txt"))
    assert set(FLOORS) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_reference_recovery_reaches_floor(name):
    missed = mismatches(name)
    exact = len(REFERENCE[name]) - len(missed)
    assert exact >= FLOORS[name], f"{exact}/{len(REFERENCE[name])} exact; missed:\n" + "\n".join(missed.values())


def test_reference_mismatches_are_only_the_known_ones():
    missed = {key: message for name in sorted(REFERENCE) for key, message in mismatches(name).items()}
    unexpected = [message for key, message in missed.items() if key not in KNOWN_MISSES]
    assert not unexpected, "articles not recovered exactly:\n" + "\n".join(unexpected)


def test_reference_lines_point_at_printed_lines():
    for name, articles in REFERENCE.items():
        lines = (PAGES / name).read_text(encoding="utf-8").split("\n")
        assert [a["index"] for a in articles] == list(range(len(articles)))
        for a in articles:
            first, last = a["lines"]
            assert lines[first - 1].strip() and lines[last - 1].strip(), (name, a)


# --- headlines ----------------------------------------------------------------------------


def test_kicker_and_title_are_joined_with_a_space():
    text = page("青年发展型城市", "主题宣讲交流活动举行", "本报讯(记者 吕会生)10月18日,宣讲交流活动举行。")
    assert spans(split_page(text)) == [("青年发展型城市 主题宣讲交流活动举行", (1, 5))]


def test_kicker_ending_in_a_colon_is_joined_without_a_space():
    text = page("讨思浩村:", "文明新风浸润美丽乡村", "本报讯(记者 刘沙沙)走进讨思浩村,文化墙绘满了内容。")
    assert split_page(text)[0].title == "讨思浩村:文明新风浸润美丽乡村"


def test_dash_subtitle_is_part_of_the_title_and_byline_no_paragraph():
    text = page("激活“神经末梢” 擦亮幸福底色", "——观摩侧记", "●本报记者 孙岳龙", "9月13日,推进会召开。")
    [article] = split_page(text)
    assert (article.title, article.lines) == ("激活“神经末梢” 擦亮幸福底色 ——观摩侧记", (1, 7))
    assert article.paragraphs == ["9月13日,推进会召开。"]


def test_subhead_does_not_start_an_article():
    text = page(
        "呼和浩特：精准“开方”解决供热顽疾",
        "(上接第1版)市住建局介绍,燃煤锅炉将全部淘汰。",
        "智慧供热实现有效监管",
        "邱磊介绍,平台实时监测管网运行数据。",
    )
    [article] = split_page(text)
    assert article.lines == (1, 7)
    assert article.paragraphs == ["市住建局介绍,燃煤锅炉将全部淘汰。", "邱磊介绍,平台实时监测管网运行数据。"]


def test_dated_lead_under_a_headline_starts_an_article():
    text = page(
        "呼和浩特：精准“开方”解决供热顽疾",
        "(上接第1版)市住建局介绍,燃煤锅炉将全部淘汰。",
        "十三届市委第六轮巡察完成进驻",
        "按照市委统一安排部署,截至8月27日,6个巡察组完成进驻工作。",
    )
    assert spans(split_page(text)) == [("呼和浩特：精准“开方”解决供热顽疾", (1, 3)), ("十三届市委第六轮巡察完成进驻", (5, 7))]


# --- paragraphs ---------------------------------------------------------------------------


def test_paragraph_cut_by_a_column_break_is_joined():
    text = page(
        "青城外籍人士参访活动举办",
        "本报讯(记者 王璐)10月18日,参访活动举办。",
        "活动中,外籍人士参观了蒙草种业中心、伊和现代智慧健康谷、昭君博物院,体验了非遗手工制作,领略了青",
        "城的市容市貌。",
    )
    [article] = split_page(text)
    assert article.paragraphs[1] == (
        "活动中,外籍人士参观了蒙草种业中心、伊和现代智慧健康谷、昭君博物院,体验了非遗手工制作,领略了青城的市容市貌。"
    )
    assert article.paragraph_lines[1] == (5, 7)


@pytest.mark.parametrize(
    "fragment, rest",
    [
        ("座谈中,双方结合自身工作实际,", "分别就如何提高新闻编辑的职业素养进行深入交流。"),  # ends in a comma
        ("市人大常委会主任王会全说:“今年,我", "们共收集到意见建议21条。”"),  # open quote
        ("在蒙草种业中心,外籍友人对可", "以踩踏的草坪很感兴趣,纷纷合影留念。"),  # opens like a sentence
        ("制定禁牧休牧条例,对禁牧管理体", "制、禁牧休牧区域划分作出明确规定。"),  # clause of a preposition
    ],
    ids=["trailing-comma", "open-quote", "sentence-opener", "preposition-clause"],
)
def test_short_cut_fragment_is_not_taken_for_a_subhead(fragment, rest):
    text = page("采编业务交流座谈会举行", "本报讯(实习记者 吴香凝)10月18日,座谈会举行。", fragment, rest)
    [article] = split_page(text)
    assert article.paragraphs[1] == fragment + rest


def test_banner_inside_a_cut_paragraph_is_dropped():
    text = page(
        "以有力有效监督推动全会精神贯彻落实",
        "●本报实习记者 吴香凝",
        "“市纪检监察机关全体党员干部要把思想和行动统一到全会精神上来,锐意进取、真抓实干,以有力有效",
        "学习贯彻党的二十届三中全会精神",
        "的监督将改革进行到底。”",
        "李淑清表示,要原原本本学。",
    )
    [article] = split_page(text)
    assert article.lines == (1, 11)
    assert article.paragraphs[0].endswith("以有力有效的监督将改革进行到底。”")
    assert article.paragraph_lines == [(5, 9), (11, 11)]


def test_table_rows_stay_with_their_article():
    rows = "组别\t组长\t被巡察单位\n第一巡察组\t王雁麟\t市委网信办\n\t\t市中级人民法院"
    text = page(
        "十三届市委第六轮巡察完成进驻",
        "按照市委统一安排部署,截至8月27日,6个巡察组完成进驻工作。",
        "十三届市委第六轮巡察进驻一览表",
        rows,
        "备注:受理信访时间截止到2024年10月26日",
        "截至8月底",
        "全市通过“一卡通”发放补贴资金",
        "本报讯(记者 宋向华)截至8月底,全市累计发放补贴资金。",
    )
    first, second = split_page(text)
    assert first.lines == (1, 11)
    assert first.paragraphs[-1] == rows + "\n备注:受理信访时间截止到2024年10月26日"
    assert first.paragraph_lines[-1] == (7, 11)
    assert (second.title, second.lines) == ("截至8月底 全市通过“一卡通”发放补贴资金", (13, 17))


# --- credits, labels, banners, markers ------------------------------------------------------


@pytest.mark.parametrize("credit", ["(王英)", "■本报实习记者 刘艳霞/文 记者 刘清羽/图"], ids=["name-in-brackets", "square-credit"])
def test_credit_line_closes_an_article(credit):
    text = page(
        "让供热暖身更暖心",
        "随着全市供热工作的正式开启,供热管家也进入工作状态。",
        credit,
        "最大限度减小施工影响",
        "敷设地下供热管网势必破路施工,或多或少影响了市民出行。",
    )
    articles = split_page(text)
    assert spans(articles) == [("让供热暖身更暖心", (1, 5)), ("最大限度减小施工影响", (7, 9))]
    assert articles[0].paragraphs == ["随着全市供热工作的正式开启,供热管家也进入工作状态。"]


def test_column_label_belongs_to_no_article():
    text = page(
        "发挥好智慧供热与供热管家作用",
        "让供热暖身更暖心",
        "城市供热是民生大事,这样的做法值得点赞。",
        "(王英)",
        "短评",
        "首府启动合成生物技术 与产业高质量发展战略研究",
        "本报讯(记者 武子暄)10月16日,战略研究启动。",
    )
    assert spans(split_page(text)) == [
        ("发挥好智慧供热与供热管家作用 让供热暖身更暖心", (1, 7)),
        ("首府启动合成生物技术 与产业高质量发展战略研究", (11, 13)),
    ]


def test_section_banners_belong_to_no_article():
    text = page("首府精神文明创建", "文明村镇在行动", "讨思浩村:", "文明新风浸润美丽乡村", "本报讯(记者 刘沙沙)走进讨思浩村,文化墙绘满了内容。")
    assert spans(split_page(text)) == [("讨思浩村:文明新风浸润美丽乡村", (5, 9))]


def test_slogan_at_the_page_end_belongs_to_no_article():
    text = page("讲座开展", "本报讯(记者 吕会生)近日,心理健康教育讲座开展。", "关心和爱护未成年人健康成长 人人有责")
    assert spans(split_page(text)) == [("讲座开展", (1, 3))]


@pytest.mark.parametrize(
    "blocks",
    [("(上接第1版)同时,启动实施15个市级科技“突围”项目。",), ("(上接第1版)", "同时,启动实施15个市级科技“突围”项目。")],
    ids=["marker-opens-paragraph", "marker-on-own-line"],
)
def test_jump_from_marker_is_not_in_the_text(blocks):
    [article] = split_page(page("科技“突围”“突”出硬核实力", *blocks))
    assert article.paragraphs == ["同时,启动实施15个市级科技“突围”项目。"]
    assert article.lines == (1, 1 + 2 * len(blocks))


def test_jump_to_marker_is_not_in_the_text_and_ends_the_paragraph():
    text = page("温暖工程项目建设拉满“进度条”", "本报讯 工程进展顺利,各项工作有序推进(下转第3版)")
    [article] = split_page(text)
    assert article.paragraphs == ["本报讯 工程进展顺利,各项工作有序推进"]


# --- interrupted articles -------------------------------------------------------------------


def test_headline_printed_again_continues_the_earlier_article():
    text = page(
        "“人才强市25条”正式发布",
        "(上接第1版)实施“青城创梦”计划,提供贴息贷款。",
        "走近人民群众身边 走进人民群众心里",
        "(上接第1版)充分尊重代表、真诚服务代表,始终是人大常委会的工作准则。小到一处垃圾如何处理,一条路什么时候修好,大",
        "“人才强市25条”同时明确健全人才服务体系。",
        "走近人民群众身边 走进人民群众心里",
        "到推动解决产业发展困难等问题,代表们履职意识更强。",
    )
    talent, deputies = split_page(text)
    assert spans([talent, deputies]) == [
        ("“人才强市25条”正式发布", (1, 9)),
        ("走近人民群众身边 走进人民群众心里", (5, 13)),
    ]
    assert talent.paragraph_lines == [(3, 3), (9, 9)]
    assert deputies.paragraphs[0].endswith("大到推动解决产业发展困难等问题,代表们履职意识更强。")


def test_text_without_a_headline_is_an_untitled_record():
    text = page("开鲁县政务服务中心办理业务更加便捷。", "1号牧场开工", "本报讯 6月9日,牧场开工。")
    assert spans(split_page(text)) == [("", (1, 1)), ("1号牧场开工", (3, 5))]


# --- web listings ---------------------------------------------------------------------------

LISTING = page(
    "• 呼伦贝尔:携手创建全国文明城市",
    "    夏日傍晚,不少市民在伊敏河畔散步消夏。",
    "    上下同心一张蓝图绘到底",
    "    全国文明城市是评价城市整体文明水平的最高荣誉。(记者梁亮)",
    "    2022-06-27",
    "  • 内蒙古“缓降返补”政策助企纾困",
    "    记者从自治区人社厅获悉,今年实施了社保费缓降返补政策。",
    "    2022-06-24",
    "  • 首 页  上一页   66 67 68  下一页    尾 页  ",
    "    版权声明:版权所有,未经授权,请勿转载或建立镜像,违者依法必究。",
)


def test_listing_items_run_from_bullet_to_date_line():
    assert spans(split_page(LISTING)) == [
        ("呼伦贝尔:携手创建全国文明城市", (1, 9)),
        ("内蒙古“缓降返补”政策助企纾困", (11, 15)),
    ]


def test_listing_subhead_is_not_a_paragraph():
    first = split_page(LISTING)[0]
    assert first.paragraphs == ["夏日傍晚,不少市民在伊敏河畔散步消夏。", "全国文明城市是评价城市整体文明水平的最高荣誉。(记者梁亮)"]


def test_listing_pagination_and_copyright_belong_to_no_article():
    assert max(a.lines[1] for a in split_page(LISTING)) == 15


# --- decoding -------------------------------------------------------------------------------

SAMPLE = page("市人大常委会：", "打好履职“组合拳”", "本报讯(记者 耿欣)今年以来,市人大常委会开展视察。")


def test_crlf_page_splits_like_lf_page():
    crlf = split_page(SAMPLE.replace("\n", "\r\n"))
    assert [(a.title, a.lines, a.paragraphs) for a in crlf] == [(a.title, a.lines, a.paragraphs) for a in split_page(SAMPLE)]
    assert decode_page(SAMPLE.replace("\n", "\r\n").encode("utf-8")) == SAMPLE


def test_gb18030_bytes_are_decoded():
    data = SAMPLE.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode_page(data) == SAMPLE


def test_utf8_bom_is_dropped():
    assert decode_page(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")) == SAMPLE
    assert split_page("\ufeff" + SAMPLE)[0].title == "市人大常委会：打好履职“组合拳”"


@pytest.mark.parametrize(
    "data, reason",
    [(b"abc\xff\x80", "neither UTF-8"), ("供热".encode("utf-16"), "UTF-16"), (b"a\x00b", "NUL byte")],
    ids=["invalid-bytes", "utf-16", "nul"],
)
def test_undecodable_bytes_raise_page_decode_error_naming_the_reason(data, reason):
    with pytest.raises(PageDecodeError) as info:
        decode_page(data)
    assert isinstance(info.value, UnicodeDecodeError)
    assert reason in info.value.reason
