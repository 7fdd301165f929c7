"""normalize_status on the recorded Mastodon responses (tests/data/mastodon)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aggregator.collectors.mastodon.normalize import html_to_text, normalize_status
from aggregator.models import id_order, newer_id
from tests.fakes.mastodon import load_body


def status(name: str, index: int = 0) -> dict:
    body = load_body(name)
    return body[index] if isinstance(body, list) else body


def test_reblog_becomes_the_original_with_a_boost() -> None:
    wrapper = status("statuses_reblog_of_private.json")
    post = normalize_status(wrapper)

    original = wrapper["reblog"]
    assert post.key == original["uri"] and post.remote_id == original["id"]
    assert post.text == "bwooh! secret"
    (boost,) = post.boosts
    assert boost.remote_id == wrapper["id"]
    assert boost.booster.key == "mastodonpy_test@localhost"
    assert boost.created_at == datetime(2026, 8, 1, 13, 53, 54, 233000, tzinfo=UTC)
    assert json.loads(post.raw) == wrapper  # the wrapper is archived, nothing lost


def test_invisible_and_ellipsis_spans_read_as_in_the_web_ui() -> None:
    post = normalize_status(status("statuses_get_card.json"))

    assert post.text == ("soundcloud.com/wakarangirl/pop… link to soundcloud that should "
                         "generate a card")
    assert post.links == (
        "https://soundcloud.com/wakarangirl/popstars-dj-wakaran-girl-khard-bass-flex-1",)


def test_entities_are_decoded_once() -> None:
    assert normalize_status(status("timelines_list.json", 1)).text == (
        "you can't say that on television")
    rendered = html_to_text("<p>A &amp; B &lt;3 &amp;lt; &#39;q&#39; &quot;x&quot;</p>")
    assert rendered.text == "A & B <3 &lt; 'q' \"x\""


def test_paragraphs_line_breaks_mentions_and_hashtag_case() -> None:
    post = normalize_status(status("statuses_get_remote_emoji_spoiler_gifv_filtered.json"))

    assert post.text == ("@halcy you're a doo-doo head\n\nedit: editing this to have the "
                         "maximum amount of fields filled :trans_heart: #ThisIsAHashtag")
    assert post.hashtags == ("ThisIsAHashtag",)  # tags[].name says "thisisahashtag"
    assert post.mentions == ("halcy@icosahedron.website",)
    assert post.links == ()  # mention and hashtag links are not external links
    assert post.spoiler == "test post for mastodon.py stuff"
    assert post.sensitive is True
    assert post.media[0].kind == "gifv"
    assert post.edited_at is not None and post.edited_at.tzinfo is not None


def test_zero_width_space_in_display_name_is_kept_as_data() -> None:
    post = normalize_status(status("statuses_get_remote_emoji_spoiler_gifv_filtered.json"))
    assert post.author.display_name == "halcy\u200b :icosahedron:"
    assert post.author.key == "halcy@icosahedron.website"


def test_local_acct_gets_its_domain_and_remote_keeps_its_own() -> None:
    local = normalize_status(status("timelines_list.json"))
    assert local.author.key == local.author.handle == "admin@localhost"
    remote = normalize_status(status("statuses_get_media_audio_private_reply.json"))
    assert remote.author.key == "halcy@icosahedron.website"
    # A reply to a mentioned account resolves to that account's acct with its domain.
    assert remote.reply_to_author == "halcy@mastodon.social"
    assert remote.mentions == ("halcy@mastodon.social",)


def test_reply_and_quote() -> None:
    post = normalize_status(status("statuses_create_reply_with_quote.json"))
    quoted = status("statuses_create_reply_with_quote.json")["quote"]["quoted_status"]

    assert post.quote_of == quoted["uri"]
    assert post.reply_to_id == "117020583129611179"
    assert post.reply_to_author == "mastodonpy_test@localhost"  # a reply to oneself
    assert post.text == "@mastodonpy_test yoooo check this out"  # RE: line hidden


def test_mastodon_4_5_quote_of_a_remote_post() -> None:
    post = normalize_status(status("statuses_get_quote.json"))
    assert post.quote_of is not None and post.quote_of.startswith("https://bsky.brid.gy/")
    assert "RE:" not in post.text
    assert post.author.key == "h4lcy.bsky.social@bsky.brid.gy"


def test_media_alt_text_and_created_at() -> None:
    post = normalize_status(status("statuses_get_media_video.json"))
    assert post.media and post.media[0].kind == "video" and post.media[0].url
    post = normalize_status(status("statuses_get_basic.json"))
    assert post.created_at == datetime(2026, 8, 1, 13, 53, 15, 378000, tzinfo=UTC)
    assert post.key.endswith("/statuses/117020583223442465")
    assert post.raw == json.dumps(status("statuses_get_basic.json"), separators=(",", ":"),
                                  ensure_ascii=False)


def test_ids_above_2_53_compare_numerically() -> None:
    a, b = "117020583223442465", "117020583223442466"  # both above 2^53, float-equal
    assert float(a) == float(b)
    assert id_order(a) < id_order(b) and newer_id(a, b) == b
    assert id_order("99999") < id_order("100000")  # string order would say the opposite
    assert max(["9", "10", "117020583223442465"], key=id_order) == "117020583223442465"


@pytest.mark.parametrize("drop", ["account", "created_at", "uri", "url", "tags", "mentions",
                                  "media_attachments", "edited_at", "quote", "card",
                                  "content", "language", "spoiler_text", "sensitive"])
def test_missing_keys_are_tolerated(drop: str) -> None:
    data = status("statuses_get_remote_emoji_spoiler_gifv_filtered.json")
    del data[drop]
    post = normalize_status(data)
    assert post.remote_id == data["id"]
    assert post.key  # uri, else url, else id
    assert post.created_at.tzinfo is not None


def test_old_server_and_edit_history_shapes() -> None:
    for s in load_body("accounts_statuses_old_server_link_since_id.json"):
        assert normalize_status(s).text.startswith("Toot number")
    for edit in load_body("statuses_history.json"):  # no id, no url
        assert normalize_status(edit).author.key == "halcy@icosahedron.website"


def test_nulls_where_strings_are_expected() -> None:
    data = status("timelines_list.json")
    data.update(content=None, spoiler_text=None, language=None, in_reply_to_id=None,
                account={"acct": None, "url": None, "display_name": None, "note": None})
    post = normalize_status(data)
    assert post.text == "" and post.spoiler == "" and post.lang is None
    assert post.author.key == "" and post.author.display_name == ""


def test_scripts_styles_and_stray_markup_vanish() -> None:
    html = ('<p>before<script>alert("x")</script><style>p{}</style> after</p>'
            '<p>a<br>b<br/>c</p><!-- note --><p>x < y</p>')
    assert html_to_text(html).text == "before after\n\na\nb\nc\n\nx < y"


def test_lists_and_blockquotes_keep_their_lines() -> None:
    html = "<p>Steps:</p><ol><li>wash</li><li>rinse</li></ol><blockquote><p>quoted</p></blockquote>"
    assert html_to_text(html).text == "Steps:\n\nwash\nrinse\n\nquoted"


def test_plain_text_content_from_other_servers() -> None:
    assert html_to_text("fish &amp; chips").text == "fish & chips"
    assert html_to_text("").text == ""
