"""Reading reports: decoding, cleaning with an offset map, normalisation, segmentation, sections, metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from govtargets import documents
from govtargets.documents import (
    MAX_BYTES,
    Document,
    DocumentError,
    document_from_text,
    expand_inputs,
    normalize,
    read_file,
    region_level,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "seeds"
CORPUS = ROOT / "data" / "corpus"
FIXTURES = Path(__file__).parent / "fixtures" / "documents"


def seed(prefix: str) -> Document:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    (doc,) = read_file(path)
    return doc


def corpus_line(name: str, **fields: object) -> dict[str, object]:
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if all(record.get(k) == v for k, v in fields.items()):
            return record
    raise AssertionError(f"no line with {fields} in {name}")


def national(year: int) -> Document:
    record = corpus_line("national_reports.jsonl", year=year)
    return document_from_text(str(record["text"]), f"national#{year}", title=str(record["title"]), year=year)


def sentence_with(doc: Document, fragment: str) -> documents.Sentence:
    for sentence in doc.sentences:
        if fragment in sentence.text:
            return sentence
    raise AssertionError(f"no sentence contains {fragment!r}")


def assert_offset_map(doc: Document) -> None:
    """Every cleaned character comes from the source; sentences map back exactly or minus deletions."""
    assert len(doc.offsets) == len(doc.text) + 1
    assert len(doc.norm) == len(doc.text)
    for i, ch in enumerate(doc.text):
        assert doc.source[doc.offsets[i]] == ch
    assert all(b > a for a, b in zip(doc.offsets, doc.offsets[1:], strict=False))
    for sentence in doc.sentences:
        assert doc.text[sentence.start:sentence.end] == sentence.text
        assert doc.norm[sentence.start:sentence.end] == sentence.norm
        assert sentence.text == sentence.text.strip()
        start, end = doc.to_source(sentence.start, sentence.end)
        covered = doc.source[start:end]
        if covered != sentence.text:
            # Only a repaired page break, collapsed whitespace or invisible characters were removed.
            kept = set(doc.offsets[sentence.start:sentence.end])
            removed = "".join(doc.source[i] for i in range(start, end) if i not in kept)
            assert re.fullmatch(r"[\s\d、\u200b\ufeff]+", removed), removed
            assert "".join(doc.source[i] for i in sorted(kept)) == sentence.text


# --------------------------------------------------------------------------------------------
# Offsets, normalisation, full-width, emoji, traditional


def test_offsets_with_fullwidth_emoji_traditional_and_indentation() -> None:
    source = "\ufeff\u3000\u3000地區生產總值增長７．５％左右😀；\r\n\u200b新增就業２萬人以上。\r\n"
    doc = document_from_text(source)
    assert doc.text == "地區生產總值增長７．５％左右😀；\n新增就業２萬人以上。"
    assert doc.norm == "地区生产总值增长7.5%左右😀；\n新增就业2万人以上。"
    first, second = doc.sentences
    assert doc.text[first.start:first.end] == "地區生產總值增長７．５％左右😀；"
    assert first.norm == "地区生产总值增长7.5%左右😀；"
    assert doc.text[second.start:second.end] == "新增就業２萬人以上。"
    # Spans inside the sentence map to the same characters of the source.
    value = doc.text.index("７．５")
    s, e = doc.to_source(value, value + 3)
    assert source[s:e] == "７．５"
    emoji = doc.text.index("😀")
    s, e = doc.to_source(emoji, emoji + 1)
    assert source[s:e] == "😀"
    s, e = doc.to_source(second.start, second.end)
    assert source[s:e] == "新增就業２萬人以上。"
    assert doc.paragraphs == [(first.start, first.end), (second.start, second.end)]
    assert [x.paragraph for x in doc.sentences] == [0, 1]
    assert_offset_map(doc)


def test_to_source_empty_and_invalid_spans() -> None:
    doc = document_from_text("  地区生产总值增长7%。")
    assert doc.to_source(0, 0) == (2, 2)
    assert doc.to_source(len(doc.text), len(doc.text)) == (len(doc.source), len(doc.source))
    with pytest.raises(ValueError):
        doc.to_source(3, 2)
    with pytest.raises(ValueError):
        doc.to_source(0, len(doc.text) + 1)


def test_normalize_maps_char_by_char() -> None:
    text = "ＧＤＰ增长６．５％，２，２００亿元\u3000於\xa0鄂城區。（一）“两个”：、"
    norm = normalize(text)
    assert len(norm) == len(text)
    assert norm == "GDP增长6.5%，2,200亿元 于 鄂城区。（一）“两个”：、"


def test_whitespace_runs_collapse_and_lines_strip() -> None:
    source = "  总投资   50  亿元的项目开工。  \n\n\n   实际使用外资1.1亿美元。\t"
    doc = document_from_text(source)
    assert doc.text == "总投资 50 亿元的项目开工。\n实际使用外资1.1亿美元。"
    sentence = doc.sentences[0]
    assert doc.text[sentence.start:sentence.end] == "总投资 50 亿元的项目开工。"
    s, e = doc.to_source(sentence.start, sentence.end)
    assert source[s:e] == "总投资   50  亿元的项目开工。"
    assert_offset_map(doc)


# --------------------------------------------------------------------------------------------
# Sentences and paragraphs


def split(text: str) -> list[str]:
    return [s.text for s in document_from_text(text).sentences]


def test_sentence_ends_and_brackets() -> None:
    assert split("地区生产总值增长5.3%以上;一般公共预算收入增长6%左右!城镇新增就业2万人?好") == [
        "地区生产总值增长5.3%以上;", "一般公共预算收入增长6%左右!", "城镇新增就业2万人?", "好"]
    assert split("他强调：“要抓好落实。要确保完成。”今年继续推进。") == [
        "他强调：“要抓好落实。要确保完成。”", "今年继续推进。"]
    assert split("完成地区生产总值760亿元（含港务区。下同）、增长5.6%。全年新增就业。") == [
        "完成地区生产总值760亿元（含港务区。下同）、增长5.6%。", "全年新增就业。"]
    assert split("推动「一网通办；全覆盖」落地。《条例；办法》出台。") == [
        "推动「一网通办；全覆盖」落地。", "《条例；办法》出台。"]
    assert split('争创国家"义务教育优质均衡发展区。"建设学校8所。') == [
        '争创国家"义务教育优质均衡发展区。"', "建设学校8所。"]
    assert split("好不好？！是的。。下一句") == ["好不好？！", "是的。。", "下一句"]


def test_unbalanced_brackets_do_not_swallow_sentences() -> None:
    # Web copies lose closing quotes: “ must not join the rest of the paragraph into one sentence.
    assert split("依托“6.18、院地合作等平台,推动成果转化。全年扶持10个工程。继续实施“四绿工程建设。") == [
        "依托“6.18、院地合作等平台,推动成果转化。", "全年扶持10个工程。", "继续实施“四绿工程建设。"]
    long_quote = "“" + "甲" * 310 + "。乙”丙。"
    assert len(split(long_quote)) == 2
    # A quote never spans a line break.
    assert split("继续实施“四绿工程。\n全年完成造林”1.68万亩。") == [
        "继续实施“四绿工程。", "全年完成造林”1.68万亩。"]


def test_sentences_end_at_line_breaks_and_drop_empty_pieces() -> None:
    doc = document_from_text("一、始终坚持项目引领\n  聚力开展招商引资。 \n。；\n")
    assert [s.text for s in doc.sentences] == ["一、始终坚持项目引领", "聚力开展招商引资。"]
    for sentence in doc.sentences:
        assert doc.text[sentence.start:sentence.end] == sentence.text


def test_flattened_paragraphs_split_after_full_stop_gaps() -> None:
    doc = document_from_text("分别增长12%以上。 一、着力开展工业经济 进一步完善园区配套。上半年完成规划。")
    assert [doc.text[a:b] for a, b in doc.paragraphs] == [
        "分别增长12%以上。", "一、着力开展工业经济 进一步完善园区配套。上半年完成规划。"]
    assert [s.paragraph for s in doc.sentences] == [0, 1, 1]


# --------------------------------------------------------------------------------------------
# Cleaning: boilerplate, page breaks, soft line breaks


@pytest.mark.parametrize("prefix", ["000", "001", "003"])
def test_seed_site_boilerplate_is_removed(prefix: str) -> None:
    doc = seed(prefix)
    junks = ("导航菜单", "本文仅代表作者观点", "本文地址", "留言与评论", "验证码", "网站地图", "pp电子娱乐",
             "博县网")
    for junk in junks:
        assert junk not in doc.text
    assert doc.text.endswith("。")
    assert_offset_map(doc)


def test_seed_000_text_and_metadata() -> None:
    doc = seed("000")
    assert doc.text.startswith("(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)\n此外,人武、气象")
    assert doc.text.endswith("年内三个主导、四个先导产业产值分别增长18%、30%以上。")
    assert doc.meta.title == "(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)"
    meta = doc.meta
    assert (meta.region, meta.level, meta.year, meta.date) == ("宿迁市宿城区", "区", 2023, "2023-01-03")
    # The indentation of every paragraph is gone from the text but not from the source.
    paragraph = doc.text[doc.paragraphs[1][0]:doc.paragraphs[1][1]]
    assert paragraph.startswith("此外")
    s, _ = doc.to_source(*doc.paragraphs[1])
    assert doc.source[s - 2:s] == "  "


def test_seed_003_december_report_is_for_the_next_year() -> None:
    doc = seed("003")
    assert doc.meta.title == "(安徽省)安庆市大观区人民政府工作报告(2021年12月29日)"
    assert (doc.meta.region, doc.meta.level, doc.meta.date) == ("安庆市大观区", "区", "2021-12-29")
    assert doc.meta.year == 2022
    assert sentence_with(doc, "三、2022年重点工作任务").section == "plan"
    assert sentence_with(doc, "地区生产总值增长8.5%左右").section == "plan"
    # The five-year outlook before the plan (到2026年…) is not the coming year's plan.
    assert sentence_with(doc, "到2026年").section is None


def test_report_year_is_the_date_year_unless_the_plan_names_the_next_year() -> None:
    plan = "\n\n二、2023年主要任务\n\n地区生产总值增长6%。"
    late = document_from_text("某市人民政府工作报告(2022年12月30日)" + plan)
    assert (late.meta.year, late.meta.date) == (2023, "2022-12-30")
    usual = document_from_text("某市人民政府工作报告(2023年1月5日)" + plan)
    assert (usual.meta.year, usual.meta.date) == (2023, "2023-01-05")
    undated = document_from_text("二、2023年主要任务\n\n地区生产总值增长6%。")
    assert (undated.meta.year, undated.meta.date) == (2023, None)
    reviewed = document_from_text("一、2022年工作回顾\n\n地区生产总值增长3%。")
    assert reviewed.meta.year == 2023
    cn_date = document_from_text("政府工作报告\n——二〇二三年一月十一日在区第二届人民代表大会会议上\n正文。")
    assert cn_date.meta.date == "2023-01-11"


def test_seed_004_page_break_repair() -> None:
    doc = seed("004")
    text = doc.text
    assert text.startswith("区府重点任务实施方案 2023年全区经济社会开展的主要预期目标是。")
    repairs = ("进一步完善园区水、电、气、路", "进一步加大对中小企业的扶持力度", "有效整合工程、人脉、信息",
               "优化信贷资金投向结构,加大对产业升级", "力争村级农民健身点", "木兰溪流域水环境综合整治,")
    for repaired in repairs:
        assert repaired in text
    assert not re.search(r"(^|\n)\d+、", text)
    # Genuine list items survive.
    for item in ("一、着力开展工业经济", "二、着力稳固三产优势", "七、着力加强政府自身建设"):
        assert item in text
    # The trailing "内容总结(1)…(2)…" of the sharing site is gone.
    assert "内容总结" not in text
    assert text.endswith("树立清正廉洁的政府形象。")
    start = text.index("进一步完善园区")
    s, e = doc.to_source(start, start + len("进一步完善"))
    assert doc.source[s:e] == "进一步完\n2、善"
    assert doc.source[s:e].replace("\n2、", "") == text[start:start + 5]
    assert doc.meta.year == 2023
    assert all(sentence.section == "plan" for sentence in doc.sentences)
    assert_offset_map(doc)


def test_page_numbers_across_blank_lines_are_repaired() -> None:
    body = "推进重点项目建设，确保全年完成投资任务，" * 6
    source = (f"1、{body}进一步完\n\n2、善园区配套。{body}加快\n\n3、建设。{body}全面完成。"
              "\n\n4、一、加强政府建设。")
    doc = document_from_text(source)
    assert "进一步完善园区配套。" in doc.text and "加快建设。" in doc.text
    assert doc.text.split("\n") == [f"{body}进一步完善园区配套。{body}加快建设。{body}全面完成。",
                                    "一、加强政府建设。"]
    start = doc.text.index("加快建设")
    s, e = doc.to_source(start, start + 4)
    assert source[s:e] == "加快\n\n3、建设"
    assert_offset_map(doc)


def test_genuine_numbered_lists_are_not_page_breaks() -> None:
    items = "1、加快工业发展，推进园区建设。\n2、做强现代服务业。\n3、提升城市品质。"
    assert document_from_text(items).text == items
    headings = "1、工业经济\n2、现代农业\n3、服务业发展"
    assert document_from_text(headings).text == headings
    long_items = "\n".join(f"{n}、" + "推进重点项目建设，" * 14 + "确保完成。" for n in (1, 2, 3))
    assert document_from_text(long_items).text == long_items


def test_soft_line_breaks_from_wiki_links_and_pdf_wraps_are_joined() -> None:
    wiki = ("各位代表：\n\n国内生产总值达到74.4\n\u200b\n万亿元，增长6.7%。\n\n"
            "我国第一部《\n国防法\n》颁布。\n\n"
            "细颗粒物（PM\n2.5\n）浓度下降。\n\n一、2016年工作回顾\n\n过去一年。")
    doc = document_from_text(wiki)
    assert doc.text.split("\n") == [
        "各位代表：", "国内生产总值达到74.4万亿元，增长6.7%。", "我国第一部《国防法》颁布。",
        "细颗粒物（PM2.5）浓度下降。", "一、2016年工作回顾", "过去一年。"]
    assert_offset_map(doc)
    wrapped = "\n".join([
        "今年工作的主要预期目标是：地区生产总值增长7%左右，一般公共",
        "预算收入增长5%，固定资产投资增长10%，社会消费品零售总额增",
        "长7%，实际使用外资1.1亿美元。",
        "一、始终坚持项目引领",
        "把项目作为推进高质量发展的生命线，强化服务保障，推动项目早",
        "签约、早开工。",
    ])
    doc = document_from_text(wrapped)
    assert doc.text.split("\n") == [
        "今年工作的主要预期目标是：地区生产总值增长7%左右，一般公共预算收入增长5%，固定资产投资增长10%，"
        "社会消费品零售总额增长7%，实际使用外资1.1亿美元。",
        "一、始终坚持项目引领",
        "把项目作为推进高质量发展的生命线，强化服务保障，推动项目早签约、早开工。"]


def test_only_boilerplate_is_an_error() -> None:
    with pytest.raises(DocumentError, match="no report text left"):
        document_from_text("导航菜单\n网站地图\n")
    with pytest.raises(DocumentError, match=r"^<text>: no text$"):
        document_from_text(" \n\u3000")


def test_local_excerpts_traditional_and_placeholders() -> None:
    record = corpus_line("local_excerpts.jsonl", id="local-09")
    doc = document_from_text(str(record["text"]), "local-09", region=str(record["region"]), year=2023)
    sentence = sentence_with(doc, "鄂城區經濟社會發展主要預期目標是")
    assert sentence.norm.startswith("2023年,鄂城区经济社会发展主要预期目标是")
    assert sentence.section == "plan"
    fragment = "財政總收入達到20億元"
    start = doc.text.index(fragment)
    assert doc.text[start:start + len(fragment)] == fragment
    assert doc.norm[start:start + len(fragment)] == "财政总收入达到20亿元"
    record = corpus_line("local_excerpts.jsonl", id="local-01")
    doc = document_from_text(str(record["text"]))
    assert "启动新建XX开放大学" in doc.text
    assert_offset_map(doc)


# --------------------------------------------------------------------------------------------
# Sections


@pytest.mark.parametrize(("year", "review_head", "plan_head", "actual", "target"), [
    (2017, "一、2016年工作回顾", "二、2017年工作总体部署", "国内生产总值达到74.4万亿元",
     "国内生产总值增长6.5%左右"),
    (2019, "一、2018年工作回顾", "二、2019年经济社会发展总体要求和政策取向", "国内生产总值增长6.6%",
     "国内生产总值增长6%－6.5%"),
    (2023, "一、过去一年和五年工作回顾", "二、对今年政府工作的建议", "国内生产总值增长3%",
     "国内生产总值增长5%左右"),
])
def test_sections_on_national_reports(year: int, review_head: str, plan_head: str, actual: str,
                                      target: str) -> None:
    doc = national(year)
    assert (doc.meta.region, doc.meta.level, doc.meta.year) == ("全国", "全国", year)
    assert sentence_with(doc, review_head).section == "review"
    assert sentence_with(doc, plan_head).section == "plan"
    assert sentence_with(doc, actual).section == "review"
    assert sentence_with(doc, target).section == "plan"
    assert doc.sentences[0].section is None  # 各位代表 / the title: before any heading
    # Review first, then plan: inside the plan only a paragraph that opens by looking back
    # (过去一年，国防和军队改革取得重大突破…) reports results.
    first_plan = [s.section for s in doc.sentences].index("plan")
    for sentence in doc.sentences[first_plan:]:
        if sentence.section == "review":
            opening = doc.text[doc.paragraphs[sentence.paragraph][0] :][:6]
            assert opening.startswith(("过去一年", "过去的一年", "一年来", "去年")), sentence.text
    assert "本作品是中华人民共和国的" not in doc.text


def test_sections_five_year_chapter_and_unlabelled_chapters() -> None:
    doc = national(2021)
    assert sentence_with(doc, "二、“十三五”时期发展成就和“十四五”时期主要目标任务").section is None
    assert sentence_with(doc, "三、2021年重点工作").section == "plan"
    old = national(1999)
    assert sentence_with(old, "一、1998年工作回顾").section == "review"
    # The next chapter after the review is not review any more, even without a telling heading.
    assert sentence_with(old, "二、继续扩大内需和实施积极的财政政策").section is None


def test_sections_on_seeds() -> None:
    doc = seed("000")
    assert sentence_with(doc, "这一年的工作实践中").section == "review"
    assert sentence_with(doc, "关于2023年工作任务").section == "plan"
    assert sentence_with(doc, "今年工作的主要预期目标是").section == "plan"
    assert sentence_with(doc, "此外,人武、气象").section is None
    doc = seed("001")
    assert sentence_with(doc, "一年来,全区人民武装").section == "review"
    assert sentence_with(doc, "2023年主要任务").section == "plan"
    assert sentence_with(doc, "地区生产总值增长5.3%以上").section == "plan"
    assert all(s.section == "plan" for s in seed("002").sentences)


def test_a_look_back_paragraph_inside_the_plan_is_review_then_the_plan_resumes() -> None:
    text = ("二、2023年主要任务\n\n过去一年，国防建设取得进展。\n\n新的一年，要继续推进。\n\n"
            "引导金融机构增加制造业中长期贷款。")
    doc = document_from_text(text)
    assert [s.section for s in doc.sentences] == ["plan", "review", "plan", "plan"]


def test_the_years_work_heading_opens_the_plan() -> None:
    doc = national(2011)
    assert sentence_with(doc, "三、2011年的工作").section == "plan"
    # "过去一年，我们的各项工作取得了很大成绩。…国内生产总值增长10.3%": last year's results.
    assert sentence_with(doc, "国内生产总值增长10.3%").section == "review"


# --------------------------------------------------------------------------------------------
# Metadata


def test_region_level() -> None:
    assert region_level("宿迁市宿城区") == "区"
    assert region_level("漾濞县") == "县"
    assert region_level("福建省") == "省"
    assert region_level("上海市") == "省"
    assert region_level("芜湖市") == "市"
    assert region_level("广西壮族自治区") == "省"
    assert region_level("某镇") == "镇"
    assert region_level("全国") == "全国"
    assert region_level("某地") is None


def test_title_region_parsing() -> None:
    doc = document_from_text("上海市青浦区区政府工作报告（节选）\n推进学校建设。")
    assert (doc.meta.region, doc.meta.level) == ("上海市青浦区", "区")
    doc = document_from_text("鄂州市鄂城區人民政府工作報告\n推進學校建設。")
    assert (doc.meta.region, doc.meta.level) == ("鄂州市鄂城区", "区")
    assert doc.meta.title == "鄂州市鄂城區人民政府工作報告"
    doc = document_from_text("政府工作报告\n——2023年3月5日在第十四届全国人民代表大会第一次会议上\n"
                             "国务院总理　李克强\n各位代表：")
    assert (doc.meta.region, doc.meta.level) == ("全国", "全国")
    assert (doc.meta.date, doc.meta.year) == ("2023-03-05", 2023)


# --------------------------------------------------------------------------------------------
# Encodings and bad inputs

TRADITIONAL = str(corpus_line("local_excerpts.jsonl", id="local-09")["text"])
SIMPLIFIED = str(corpus_line("local_excerpts.jsonl", id="local-07")["text"])


@pytest.mark.parametrize(("codec", "text"), [
    ("utf-8", SIMPLIFIED), ("utf-8-sig", SIMPLIFIED), ("gb18030", SIMPLIFIED), ("gbk", SIMPLIFIED),
    ("gb18030", TRADITIONAL), ("utf-16", SIMPLIFIED), ("utf-16-le-bom", TRADITIONAL),
    ("utf-16-be-bom", SIMPLIFIED), ("big5", TRADITIONAL),
])
def test_encodings(tmp_path: Path, codec: str, text: str) -> None:
    if codec == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif codec == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(codec)
    path = tmp_path / "report.txt"
    path.write_bytes(data)
    (doc,) = read_file(path)
    assert doc.source == text
    assert doc.path == str(path)
    assert_offset_map(doc)


def error_for(path: Path) -> str:
    with pytest.raises(DocumentError) as info:
        read_file(path, display="shown.txt")
    assert str(info.value) == f"shown.txt: {info.value.reason}"
    assert info.value.path == "shown.txt"
    return info.value.reason


def test_bad_text_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"")
    assert error_for(path) == "empty file"
    path.write_bytes(b" \r\n\t\xe3\x80\x80\n")
    assert error_for(path) == "file contains only whitespace"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    assert error_for(path) == "binary file (contains NUL bytes)"
    path.write_bytes("今年地区生产总值增长".encode() + "增長百分之七左右".encode("big5") + b"\xff\xfe\xfa")
    assert error_for(path).startswith("cannot decode reliably (tried utf-8, gb18030")
    path.write_bytes(b"\x01\x02\x03\x04 abc \x05\x06\x07\x08\x0e\x0f")
    assert error_for(path) == "binary or non-text content (control characters)"
    path.write_bytes(b"\xff\xfe\x00\xd8")  # UTF-16 BOM followed by a lone surrogate
    assert error_for(path) == "invalid utf-16 text after its byte-order mark"
    path.write_text("地区生产总值增长7%。", encoding="utf-8")
    monkeypatch.setattr(documents, "MAX_BYTES", 10)
    assert error_for(path) == f"file too large ({path.stat().st_size} bytes; limit 10)"
    monkeypatch.setattr(documents, "MAX_BYTES", MAX_BYTES)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert error_for(path) == "cannot read file (permission denied)"


def test_missing_directory_and_unsupported(tmp_path: Path) -> None:
    assert error_for(tmp_path / "missing.txt") == "no such file"
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert error_for(folder) == "is a directory"
    other = tmp_path / "report.doc"
    other.write_bytes(b"x")
    assert error_for(other).startswith("unsupported file type '.doc' (supported: .txt, .html")


def test_containers_without_text(tmp_path: Path) -> None:
    html = tmp_path / "empty.html"
    html.write_text("<html><head><title>标题</title></head><body><nav>首页</nav>"
                    "<script>var a='文字';</script></body></html>", encoding="utf-8")
    assert error_for(html) == "no text found in HTML"
    empty_docx = tmp_path / "empty.docx"
    docx.Document().save(str(empty_docx))
    assert error_for(empty_docx) == "no text found in DOCX"
    blank_pdf = tmp_path / "blank.pdf"
    pdf = canvas.Canvas(str(blank_pdf))
    pdf.showPage()
    pdf.save()
    assert error_for(blank_pdf) == "no text found in PDF (scanned images?)"
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert error_for(broken).startswith("not a readable .docx file")
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.4 garbage")
    assert error_for(broken_pdf).startswith("not a readable PDF")


# --------------------------------------------------------------------------------------------
# File types


def test_html(tmp_path: Path) -> None:
    path = tmp_path / "report.htm"
    path.write_text(
        "<!DOCTYPE html><html><head><title>报告_某网站</title><style>p{color:red}</style></head><body>"
        "<header>网站首页 | 新闻中心</header><nav><a href='/'>首页</a></nav>"
        "<div><h1>(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)</h1>"
        "<p>&nbsp;&nbsp;今年工作的主要预期目标是：地区生产总值增长<b>7%</b>左右，\n一般公共预算收入增长5%。</p>"
        "<p>新增就业2万人<br>城镇登记失业率3%以内</p>"
        "<table><tr><td>指标</td><td>目标</td></tr><tr><td>固定资产投资</td><td>增长10%</td></tr></table>"
        "<!-- 注释 --><script>var x = '脚本';</script></div><footer>版权所有 © 2023</footer></body></html>",
        encoding="gb18030")
    (doc,) = read_file(path)
    assert doc.source.split("\n") == [
        "(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)",
        "今年工作的主要预期目标是：地区生产总值增长7%左右，一般公共预算收入增长5%。",
        "新增就业2万人", "城镇登记失业率3%以内", "指标\t目标", "固定资产投资\t增长10%"]
    assert doc.text == doc.source
    assert (doc.meta.region, doc.meta.date) == ("宿迁市宿城区", "2023-01-03")
    assert sentence_with(doc, "地区生产总值增长7%左右").section == "plan"


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    document = docx.Document()
    document.add_paragraph("(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)")
    document.add_paragraph("")
    document.add_paragraph("今年工作的主要预期目标是：地区生产总值增长７％左右。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).text = "目标"
    table.cell(1, 0).text = "實際使用外資"
    table.cell(1, 1).text = "1.1亿美元"
    document.add_paragraph("聚力推进项目建设。")
    document.save(str(path))
    (doc,) = read_file(path)
    assert doc.source.split("\n") == [
        "(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)",
        "今年工作的主要预期目标是：地区生产总值增长７％左右。",
        "指标\t目标", "實際使用外資\t1.1亿美元", "聚力推进项目建设。"]
    sentence = sentence_with(doc, "地区生产总值")
    assert sentence.norm.endswith("增长7%左右。")
    cell = doc.text.index("實際使用外資")
    assert doc.norm[cell:cell + 6] == "实际使用外资"
    assert doc.meta.year == 2023
    assert_offset_map(doc)


def make_pdf(path: Path, pages: list[list[str]]) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("STSong-Light", 12)
        for k, line in enumerate(lines):
            pdf.drawString(72, 760 - 18 * k, line)
        pdf.showPage()
    pdf.save()


def test_pdf_chinese_text(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    make_pdf(path, [["宿迁市宿城区人民政府工作报告", "今年工作的主要预期目标是：地区生产总值增长7%左右。"],
                    ["- 2 -", "城镇新增就业2万人以上。"]])
    (doc,) = read_file(path)
    title, target = "宿迁市宿城区人民政府工作报告", "今年工作的主要预期目标是：地区生产总值增长7%左右。"
    assert doc.source.split("\n") == [title, target, "- 2 -", "城镇新增就业2万人以上。"]
    # The page footer is dropped from the text.
    assert doc.text.split("\n") == [title, target, "城镇新增就业2万人以上。"]
    assert (doc.meta.region, doc.meta.level) == ("宿迁市宿城区", "区")
    assert sentence_with(doc, "地区生产总值").section == "plan"


def test_jsonl_fields_take_precedence(tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    lines = [
        {"id": "a-1", "region": "某区", "year": 2024, "title": "某区区人民政府工作计划（节选）",
         "text": "(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)\n地区生产总值增长7%左右。"},
        {"year": "2019", "title": "2019年中华人民共和国国务院政府工作报告",
         "text": "各位代表：\n国内生产总值增长6.6%。"},
        {"id": "", "text": "(江苏省)宿迁市宿城区人民政府工作报告(2023年1月3日)\n地区生产总值增长7%左右。"},
    ]
    content = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n"
    path.write_text(content, encoding="utf-8")
    first, second, third = read_file(path, display="in.jsonl")
    assert first.path == "in.jsonl#a-1"
    assert (first.meta.title, first.meta.region, first.meta.level, first.meta.year) == (
        "某区区人民政府工作计划（节选）", "某区", "区", 2024)
    assert first.meta.date == "2023-01-03"  # not given by the line: parsed from the text
    assert second.path == "in.jsonl#2"
    assert (second.meta.region, second.meta.level, second.meta.year) == ("全国", "全国", 2019)
    assert third.path == "in.jsonl#3"
    assert (third.meta.region, third.meta.level, third.meta.year) == ("宿迁市宿城区", "区", 2023)
    assert first.source == lines[0]["text"]


def test_jsonl_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "正文。"}\n{not json}\n', encoding="utf-8")
    assert error_for(path).startswith("line 2: invalid JSON")
    path.write_text('{"id": 1, "body": "正文。"}\n', encoding="utf-8")
    assert error_for(path) == "line 1: no 'text' string field"
    path.write_text('{"id": "x", "text": "  "}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"bad\.jsonl#x: no text"):
        read_file(path, display="bad.jsonl")


def test_corpus_files_read_completely() -> None:
    local = read_file(CORPUS / "local_excerpts.jsonl", display="local_excerpts.jsonl")
    assert [d.path for d in local][:2] == ["local_excerpts.jsonl#local-01", "local_excerpts.jsonl#local-02"]
    assert len(local) == 15
    assert local[1].meta.year == 2023 and local[1].meta.region == "昆明市官渡区"
    assert local[10].meta.year is None  # no year anywhere
    for doc in local:
        assert_offset_map(doc)


# --------------------------------------------------------------------------------------------
# Inputs


def test_expand_inputs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / ".hidden").mkdir()
    for name in ("a/x.txt", "a/b/y.HTML", "a/b/z.pdf", "a/notes.md", "a/.hidden/h.txt", "w.jsonl", "v.docx"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    inputs = ["a", "*.jsonl", "a/x.txt", "missing.txt", "a/notes.md", "nothing*.pdf"]
    files, errors = expand_inputs([str(tmp_path / item) for item in inputs])
    relative = [f.relative_to(tmp_path).as_posix() for f in files]
    assert relative == ["a/b/y.HTML", "a/b/z.pdf", "a/x.txt", "w.jsonl"]
    assert [(Path(e.path).name, e.reason.split(" (")[0]) for e in errors] == [
        ("missing.txt", "no such file or directory"), ("notes.md", "unsupported file type '.md'"),
        ("nothing*.pdf", "no supported files match this pattern")]
    files, errors = expand_inputs([str(tmp_path / "**" / "*.txt")])
    assert [f.name for f in files] == ["x.txt"] and errors == []


def test_committed_fixture_gbk_crlf_fullwidth() -> None:
    (doc,) = read_file(FIXTURES / "county_gbk_crlf.txt", display="county.txt")
    assert "\r" not in doc.text and "导航菜单" not in doc.text and "验证码" not in doc.text
    meta = doc.meta
    assert (meta.region, meta.level, meta.year, meta.date) == ("某县", "县", 2024, "2024-01-08")
    value = sentence_with(doc, "地区生产总值完成")
    assert value.norm == "过去一年，全县地区生产总值完成46.1亿元，同比增长5.2%；"
    assert value.section == "review"
    start = doc.text.index("４６．１亿元")
    s, e = doc.to_source(start, start + 6)
    assert doc.source[s:e] == "４６．１亿元"
    assert sentence_with(doc, "主要预期目标").section == "plan"
    assert_offset_map(doc)


def test_committed_fixture_html() -> None:
    (doc,) = read_file(FIXTURES / "city_report.html")
    assert "首页" not in doc.text and "主办单位" not in doc.text
    assert (doc.meta.title, doc.meta.region, doc.meta.level, doc.meta.date) == (
        "某市人民政府工作报告", "某市", "市", "2023-01-10")
    assert [s.section for s in doc.sentences] == [None, None, "review", "review", "plan", "plan", "plan"]
    assert doc.sentences[3].text == "全市地区生产总值增长4.1%，一般公共预算收入完成120亿元。"
