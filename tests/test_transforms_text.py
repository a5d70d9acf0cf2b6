"""clean_weibo_text: HTML, normalization, repost chains and Weibo tokens on real-looking posts."""

import random
import re

import pytest

from transforms.weibo_text import (
    SPAN_KINDS,
    CleanText,
    RepostLink,
    clean_weibo_text,
    iter_spans,
    normalize_text,
)


def test_repost_chain_splits_own_words_from_earlier_links() -> None:
    clean = clean_weibo_text("说得太对了！//@茶友小王:桂花拿铁也不错//@山海茶饮官方微博:转发微博")
    assert clean.own_text == "说得太对了!"
    assert clean.chain == (
        RepostLink(screen_name="茶友小王", text="桂花拿铁也不错"),
        RepostLink(screen_name="山海茶饮官方微博", text="转发微博"),
    )
    assert clean.text == "说得太对了!//@茶友小王:桂花拿铁也不错//@山海茶饮官方微博:转发微博"


def test_repost_chain_with_full_width_colon_and_spaces() -> None:
    clean = clean_weibo_text("同感 //@茶友小王： 冷萃茉莉yyds //@Tea_Lover-2024：排队两小时")
    assert clean.own_text == "同感"
    assert clean.chain == (
        RepostLink(screen_name="茶友小王", text="冷萃茉莉yyds"),
        RepostLink(screen_name="Tea_Lover-2024", text="排队两小时"),
    )


def test_pure_repost_has_empty_own_text() -> None:
    clean = clean_weibo_text("//@极光手机:#极光X5发布会# 今晚七点见")
    assert clean.own_text == ""
    assert clean.chain == (RepostLink(screen_name="极光手机", text="#极光X5发布会# 今晚七点见"),)
    # Tokens come from the author's own words only.
    assert clean.topics == ()


def test_tokens_inside_the_chain_are_not_own_tokens() -> None:
    clean = clean_weibo_text("冲[哈哈] #山海会员日# //@山海茶饮官方微博:#山海会员日# 买一送一[哈哈]")
    assert clean.topics == ("#山海会员日#",)
    assert clean.emoticons == ("[哈哈]",)


def test_double_slash_without_a_nickname_is_not_a_chain() -> None:
    clean = clean_weibo_text("价格对比：线下//@ 线上，差不多")
    assert clean.chain == ()
    assert clean.own_text == "价格对比:线下//@ 线上,差不多"


def test_emoticons_from_img_alt_and_plain_brackets_keep_repeats() -> None:
    raw = (
        '太好喝了<img class="face" src="//h5.sinaimg.cn/m/emoticon/icon/default/d_haha.png" alt="[哈哈]">'
        "[哈哈]<img alt='[赞]' src='x.png'/>[doge]"
    )
    clean = clean_weibo_text(raw)
    assert clean.text == "太好喝了[哈哈][哈哈][赞][doge]"
    assert clean.emoticons == ("[哈哈]", "[哈哈]", "[赞]", "[doge]")


def test_img_without_emoticon_alt_is_dropped() -> None:
    clean = clean_weibo_text('看图<img src="https://wx1.sinaimg.cn/large/abc.jpg" alt="图片">就懂了')
    assert clean.text == "看图就懂了"
    assert clean.emoticons == ()


def test_bracket_text_that_is_not_an_emoticon() -> None:
    clean = clean_weibo_text("【新品上市】[这不是一个表情因为太长了] [ ]")
    assert clean.emoticons == ()


def test_topics_and_mentions_in_order_with_repeats() -> None:
    clean = clean_weibo_text(
        "#山海茶饮新品# 云雾乌龙上线啦@山海茶饮官方微博 @茶友小王，快来！#山海茶饮新品# @山海茶饮官方微博:"
    )
    assert clean.topics == ("#山海茶饮新品#", "#山海茶饮新品#")
    assert clean.mentions == ("@山海茶饮官方微博", "@茶友小王", "@山海茶饮官方微博")


def test_mention_rules() -> None:
    clean = clean_weibo_text("联系 kefu@shanhai.com 或@Tea_Lover-2024。也可以找@极光手机客服")
    # An e-mail address is not a mention; a nickname ends at punctuation.
    assert clean.mentions == ("@Tea_Lover-2024", "@极光手机客服")


def test_anchor_for_web_link_becomes_its_url() -> None:
    raw = (
        '活动详情<a href="http://t.cn/A6xYz12b" target="_blank">'
        '<img class="icon-link" src="//h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web.png">'
        "网页链接</a>，速来"
    )
    clean = clean_weibo_text(raw)
    assert clean.text == "活动详情 http://t.cn/A6xYz12b ,速来"
    assert clean.links == ("http://t.cn/A6xYz12b",)


def test_anchor_for_topic_and_mention_becomes_the_label() -> None:
    raw = (
        '<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23%E6%96%B0%E5%93%81%23">'
        '<span class="surl-text">#山海茶饮新品#</span></a> 感谢'
        "<a href='/n/山海茶饮官方微博'>@山海茶饮官方微博</a> 的推荐"
    )
    clean = clean_weibo_text(raw)
    assert clean.text == "#山海茶饮新品# 感谢@山海茶饮官方微博 的推荐"
    assert clean.topics == ("#山海茶饮新品#",)
    assert clean.mentions == ("@山海茶饮官方微博",)
    assert clean.links == ()


def test_anchor_with_relative_href_keeps_label_and_href_entities_are_unescaped() -> None:
    clean = clean_weibo_text(
        '<a href="/p/100808abc">山海茶饮超话</a> '
        '<a href="https://shop.example.cn/item?id=12&amp;from=weibo">网页链接</a>'
    )
    assert clean.text == "山海茶饮超话 https://shop.example.cn/item?id=12&from=weibo"
    assert clean.links == ("https://shop.example.cn/item?id=12&from=weibo",)


def test_entities_are_unescaped_after_tags_so_they_stay_text() -> None:
    clean = clean_weibo_text("&lt;b&gt;不是标签&lt;/b&gt; 买一送一 &amp; 第二杯半价&nbsp;&quot;限时&quot;")
    assert clean.text == '<b>不是标签</b> 买一送一 & 第二杯半价 "限时"'


def test_other_tags_are_stripped_and_breaks_become_spaces() -> None:
    clean = clean_weibo_text("<span class='x'>冷萃茉莉</span>上新<br/>门店<br>同步 a < b")
    assert clean.text == "冷萃茉莉上新 门店 同步 a < b"


def test_full_width_forms_and_ideographic_space_become_half_width() -> None:
    clean = clean_weibo_text("极光Ｘ５　到手！价格：３９９９元（含税）＃极光Ｘ５开箱＃＠极光手机")
    assert clean.text == "极光X5 到手!价格:3999元(含税)#极光X5开箱#@极光手机"
    assert clean.topics == ("#极光X5开箱#",)
    assert clean.mentions == ("@极光手机",)


def test_chinese_punctuation_outside_the_full_width_block_is_kept() -> None:
    clean = clean_weibo_text("好喝。真的、很好喝【推荐】")
    assert clean.text == "好喝。真的、很好喝【推荐】"


def test_whitespace_is_collapsed_and_zero_width_characters_removed() -> None:
    clean = clean_weibo_text("  云雾\u200b乌龙\n\n\t真的\u3000\u3000好喝\ufeff  \u00a0 ")
    assert clean.text == "云雾乌龙 真的 好喝"


def test_long_text_tail_is_just_a_link() -> None:
    raw = (
        "山海茶饮秋季新品桂花拿铁今天正式上线，全国门店同步开售，会员日当天第二杯半价，"
        "还有限定周边杯套等你来拿...全文： http://m.weibo.cn/1234567890/4230000000000001"
    )
    clean = clean_weibo_text(raw)
    assert clean.own_text == (
        "山海茶饮秋季新品桂花拿铁今天正式上线,全国门店同步开售,会员日当天第二杯半价,"
        "还有限定周边杯套等你来拿...全文: http://m.weibo.cn/1234567890/4230000000000001"
    )
    assert clean.links == ("http://m.weibo.cn/1234567890/4230000000000001",)
    assert clean.chain == ()


def test_truncated_chain_link_without_colon() -> None:
    clean = clean_weibo_text("哈哈哈//@茶友小王 ...全文： http://m.weibo.cn/1234567890/4230000000000002")
    assert clean.chain == (
        RepostLink(screen_name="茶友小王", text="...全文: http://m.weibo.cn/1234567890/4230000000000002"),
    )


def test_link_ends_before_sentence_punctuation_and_emoticons() -> None:
    clean = clean_weibo_text("戳这里http://t.cn/A6xYz12b[哈哈] 或者 https://weibo.com/u/123?from=a. 谢谢")
    assert clean.links == ("http://t.cn/A6xYz12b", "https://weibo.com/u/123?from=a")
    assert clean.emoticons == ("[哈哈]",)


def test_empty_text() -> None:
    assert clean_weibo_text("") == CleanText(text="", own_text="")
    assert clean_weibo_text("  \u200b ") == CleanText(text="", own_text="")


def test_repost_without_words_is_just_filler_text() -> None:
    assert clean_weibo_text("转发微博") == CleanText(text="转发微博", own_text="转发微博")


def test_iter_spans_round_trips_the_text() -> None:
    text = "#新品#好喝@茶友小王 [哈哈]http://t.cn/A6xYz12b"
    spans = list(iter_spans(text))
    assert spans == [
        ("topic", "#新品#"),
        ("text", "好喝"),
        ("mention", "@茶友小王"),
        ("text", " "),
        ("emoticon", "[哈哈]"),
        ("link", "http://t.cn/A6xYz12b"),
    ]
    assert "".join(value for _, value in spans) == text


def test_span_tuples_match_iter_spans_on_overlapping_candidates() -> None:
    # clean_weibo_text finds spans with its own scan; iter_spans' named-group regex is the reference.
    texts = [
        "见http://t.cn/A6#话题#@某人[哈哈] #话题里有@人和[表情]# a@b.cn @开头[赞][赞]",
        "@一 @二@三 x@不是 _@也不是 -@是 #不闭合 #[哈哈]# [太长的不是一个表情啊] https://a.cn/[嘻嘻]",
        "@" + "长" * 40 + " ##空话题## #有 空格# http://",
    ]
    for text in texts:
        clean = clean_weibo_text(text)
        spans = list(iter_spans(clean.own_text))
        found = {kind: tuple(value for k, value in spans if k == kind) for kind in SPAN_KINDS}
        assert (clean.links, clean.topics, clean.mentions, clean.emoticons) == (
            found["link"],
            found["topic"],
            found["mention"],
            found["emoticon"],
        )


def test_normalization_matches_translate_then_whitespace_collapse() -> None:
    # Every character the cleaner translates or drops, and every whitespace character, in one string.
    codes = [*range(0xFF01, 0xFF5F), 0x3000, 0x200B, 0x200D, 0x2060, 0xFEFF]
    translated = "".join(map(chr, codes))
    whitespace = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
    text = f" {whitespace}a{translated}，！？：b {whitespace}c{whitespace}"
    table = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    table.update({0x3000: 0x20, **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))})
    assert normalize_text(text) == re.sub(r"\s+", " ", text.translate(table)).strip()


def test_normalization_on_random_text() -> None:
    table = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    table.update({0x3000: 0x20, **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))})
    pool = "a好，！？：\uff21\uff5e\u3000\u200b\ufeff \t\n\r\x1c\x85\u2028😂𠀀é"
    rng = random.Random(20261123)
    for _ in range(20_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
        assert normalize_text(text) == re.sub(r"\s+", " ", text.translate(table)).strip(), repr(text)


def test_chain_markers_and_separators() -> None:
    clean = clean_weibo_text("好///@甲 : : 乙//@丙//@丁:// @戊 //@" + "己" * 35 + "末尾")
    assert clean.own_text == "好/"
    assert clean.chain == (
        RepostLink(screen_name="甲", text=": 乙"),
        RepostLink(screen_name="丙", text=""),
        RepostLink(screen_name="丁", text="// @戊"),
        RepostLink(screen_name="己" * 30, text="己" * 5 + "末尾"),
    )


def test_new_frozen_builds_what_the_constructor_builds() -> None:
    import dataclasses
    import pickle

    from transforms.sentiment import Sentiment
    from transforms.weibo_text import RepostLink, new_frozen

    for built, constructed in (
        (new_frozen(Sentiment, {"score": 0.5, "label": "positive"}), Sentiment(0.5, "positive")),
        (new_frozen(RepostLink, {"screen_name": "某人", "text": "好"}), RepostLink("某人", "好")),
    ):
        assert built == constructed and hash(built) == hash(constructed) and repr(built) == repr(constructed)
        assert pickle.loads(pickle.dumps(built)) == constructed
        assert dataclasses.asdict(built) == dataclasses.asdict(constructed)
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.text = "改"  # type: ignore[misc]
