"""The shop's articles load, state the policies the bot enforces, and bad files fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.knowledge.articles import ArticleError, load_articles
from bot.settings import Settings

KB_DIR = Path(__file__).resolve().parents[3] / "knowledge_base"

ARTICLE_IDS = {
    "returns-policy", "refund-timeline", "shipping-times", "delivery-delays",
    "delay-compensation", "damaged-or-wrong-item", "fresh-produce-guarantee",
    "order-cancellation", "address-change", "payment-methods", "invoices",
    "contactless-delivery", "data-privacy", "contact-support", "exchanges",
    "international-shipping",
    # issue 21: what a real shop's help centre has besides
    "lockdown-deliveries", "pre-sale-orders", "price-protection", "coupons-and-vouchers",
    "membership", "warranty-and-repairs", "gift-orders", "out-of-stock",
    "cold-chain-packaging", "bulk-orders", "account-and-login", "order-status",
    "changing-an-order", "split-shipments", "missed-delivery", "product-authenticity",
    "notifications", "reviews-and-feedback", "fresh-food-storage", "delivery-time-slots",
    "large-item-delivery", "purchase-limits", "product-recalls", "packaging",
    "prices-and-taxes",
}  # fmt: skip

GOOD = "---\nid: {id}\ntitle: A title\ntags: [one, two]\n---\nThe answer. Second sentence.\n"


@pytest.fixture(scope="module")
def articles():
    return {article.id: article for article in load_articles(KB_DIR)}


def test_the_knowledge_base_has_exactly_the_published_ids(articles):
    assert set(articles) == ARTICLE_IDS


def test_every_answer_is_a_short_quotable_paragraph(articles):
    for article in articles.values():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", article.answer) if s]
        assert 2 <= len(sentences) <= 4, article.id
        assert "\n" not in article.answer and not article.answer.startswith("#")
        assert article.tags and article.title


@pytest.mark.parametrize(
    ("article_id", "facts"),
    [
        ("returns-policy", ["7 days of delivery", "unused and complete", "48 hours"]),
        ("fresh-produce-guarantee", ["48 hours of delivery", "photos"]),
        ("refund-timeline", ["1 working day", "3–5 working days", "3–7 working days", "wallet"]),
        ("delay-compensation", ["more than 2 days", "CNY 10", "more than 5 days", "shipping fee"]),
        ("order-cancellation", ["until it has been shipped", "returns policy"]),
        ("address-change", ["until it is shipped", "redirect"]),
        ("damaged-or-wrong-item", ["our responsibility", "refund", "replacement"]),
    ],
)
def test_answers_state_the_rules_the_bot_enforces(articles, article_id, facts):
    for fact in facts:
        assert fact in articles[article_id].answer, (article_id, fact)


def test_contact_details_match_the_settings(articles):
    contact = Settings().support_contact
    email = re.search(r"\S+@\S+\.\w+", contact)
    phone = re.search(r"\d{3}-\d{3}-\d{4}", contact)
    assert email and phone
    answer = articles["contact-support"].answer
    assert email.group(0) in answer and phone.group(0) in answer


def _write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Just text, no front matter.\n", "missing front matter"),
        ("---\nid: broken\ntitle: T\ntags: [a]\nBody.\n", "not closed"),
        ("---\nid: broken\ntitle: [unclosed\n---\nBody.\n", "invalid YAML"),
        ("---\n- a list\n---\nBody.\n", "mapping"),
        ("---\ntitle: T\ntags: [a]\n---\nBody.\n", "missing 'id'"),
        ("---\nid: broken\ntags: [a]\n---\nBody.\n", "missing 'title'"),
        ("---\nid: broken\ntitle: '  '\ntags: [a]\n---\nBody.\n", "'title' must be"),
        ("---\nid: broken\ntitle: T\n---\nBody.\n", "missing 'tags'"),
        ("---\nid: broken\ntitle: T\ntags: returns\n---\nBody.\n", "non-empty list"),
        ("---\nid: broken\ntitle: T\ntags: []\n---\nBody.\n", "non-empty list"),
        ("---\nid: broken\ntitle: T\ntags: [a, 3]\n---\nBody.\n", "every tag"),
        ("---\nid: other-name\ntitle: T\ntags: [a]\n---\nBody.\n", "does not match the file"),
        ("---\nid: 7\ntitle: T\ntags: [a]\n---\nBody.\n", "'id' must be"),
        ("---\nid: broken\ntitle: T\ntags: [a]\n---\n\n  \n", "body is empty"),
        ("---\nid: broken\ntitle: T\ntags: [a]\n---\n## Heading\nText.\n", "not a heading"),
        (b"---\nid: broken\ntitle: \xff\xfe\ntags: [a]\n---\nBody.\n", "UTF-8"),
    ],
)
def test_a_malformed_article_names_the_file_and_the_reason(tmp_path, text, reason):
    _write(tmp_path, "fine.md", GOOD.format(id="fine"))
    _write(tmp_path, "broken.md", text)
    with pytest.raises(ArticleError) as caught:
        load_articles(tmp_path)
    assert "broken.md" in str(caught.value)
    assert reason in str(caught.value)


def test_an_id_with_capitals_or_spaces_is_refused(tmp_path):
    _write(tmp_path, "Bad Id.md", GOOD.format(id="Bad Id"))
    with pytest.raises(ArticleError, match=r"Bad Id\.md.*lower-case"):
        load_articles(tmp_path)


def test_a_duplicate_id_in_a_sub_folder_names_both_files(tmp_path):
    _write(tmp_path, "returns.md", GOOD.format(id="returns"))
    _write(tmp_path, "archive/returns.md", GOOD.format(id="returns"))
    with pytest.raises(ArticleError, match="duplicate id 'returns'") as caught:
        load_articles(tmp_path)
    assert str(Path("archive") / "returns.md") in str(caught.value)


def test_an_empty_or_missing_directory_is_an_error(tmp_path):
    with pytest.raises(ArticleError, match=r"no \.md articles"):
        load_articles(tmp_path)
    with pytest.raises(ArticleError, match="does not exist"):
        load_articles(tmp_path / "nowhere")


def test_the_answer_is_the_first_paragraph_joined_into_one_line(tmp_path):
    text = "---\nid: joined\ntitle: T\ntags: [a]\n---\n\nFirst line\nsecond line.\n\n## More\nx\n"
    _write(tmp_path, "joined.md", text)
    (article,) = load_articles(tmp_path)
    assert article.answer == "First line second line."
    assert article.tags == ("a",)
    assert article.body.startswith("First line")


def test_windows_line_endings_and_a_byte_order_mark_are_accepted(tmp_path):
    text = "\ufeff" + GOOD.format(id="crlf").replace("\n", "\r\n")
    _write(tmp_path, "crlf.md", text)
    (article,) = load_articles(tmp_path)
    assert article.id == "crlf" and article.answer == "The answer. Second sentence."


def test_every_article_has_short_sections_that_each_answer_one_question(articles):
    assert len(articles) >= 40
    for article in articles.values():
        intro, *sections = article.sections
        assert intro.heading == "" and intro.text.startswith(article.answer), article.id
        assert sections, f"{article.id} has no sections"
        for section in sections:
            assert section.heading and section.text, (article.id, section.heading)
            assert len(section.text) <= 600, (article.id, section.heading)
            assert not section.text.startswith("#"), (article.id, section.heading)


@pytest.mark.parametrize(
    ("article_id", "facts"),
    [
        ("coupons-and-vouchers", ["minimum spend", "expiry date"]),
        ("price-protection", ["within 7 days of your payment", "shop wallet"]),
        ("warranty-and-repairs", ["within 15 days of delivery", "manufacturer's warranty"]),
        ("lockdown-deliveries", ["delay compensation", "full refund"]),
        ("order-status", ["pending payment", "out for delivery"]),
    ],
)
def test_new_answers_agree_with_the_rules_the_bot_enforces(articles, article_id, facts):
    for fact in facts:
        assert fact in articles[article_id].answer, (article_id, fact)


def test_sections_keep_list_items_on_their_own_lines(tmp_path):
    text = GOOD.format(id="lists") + "\n## What to bring\n\n- Your order\n  number.\n- Photos.\n"
    _write(tmp_path, "lists.md", text)
    (article,) = load_articles(tmp_path)
    assert [s.heading for s in article.sections] == ["", "What to bring"]
    assert article.sections[0].text == "The answer. Second sentence."
    assert article.sections[1].text == "- Your order number.\n- Photos."


def test_an_empty_section_names_the_file_and_the_heading(tmp_path):
    _write(tmp_path, "hollow.md", GOOD.format(id="hollow") + "\n## Nothing here\n\n## Next\nx\n")
    with pytest.raises(ArticleError, match=r"hollow\.md.*'Nothing here' is empty"):
        load_articles(tmp_path)
