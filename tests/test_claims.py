"""pplx verify's pure parts: an answer cut into claims (dialects/claims.py), the model-free
verdict rule (dialects/evidence.py) and the judge's answer read (dialects/judge.py)."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from pplx_cli.dialects.claims import units
from pplx_cli.dialects.evidence import best_evidence, match_spans, tally, terms, weigh
from pplx_cli.dialects.judge import build_judge_body, read_judgement
from pplx_cli.errors import StreamError


def shown(text):
    return [(u.kind, u.text, u.markers) for u in units(text)]


# ---- claims ----


def test_sentences_keep_the_markers_before_and_after_their_period():
    assert shown("Canberra is the capital [1]. It was chosen in 1908.[2][web:3] Nothing here.") == [
        ("sentence", "Canberra is the capital.", ("1",)), ("sentence", "It was chosen in 1908.", ("2", "web:3")),
        ("sentence", "Nothing here.", ())]


@pytest.mark.parametrize("text", [
    "Growth was 3.2% in the U.S. market, e.g. in Ohio [1].",
    "Dr. Smith and J. Doe wrote it [1].",
    "It grew (by a lot.) and then stopped [1].",
    "Version 2.0.1 shipped [1].",
])
def test_abbreviations_initials_decimals_and_lower_case_do_not_end_a_sentence(text):
    assert len(units(text)) == 1


def test_markdown_blocks():
    text = ("# Title [1]\n## Plain\n\nA paragraph\nover two lines [2].\n\n- an item [3]\n  continued.\n1. numbered [4]\n\n"
            "> quoted [5]\n> more.\n\n| Name | Value |\n|:--|--:|\n| GDP | 3.2% [6] |\n| Debt | 90% |\n\n"
            "```python\nx = a[7]\n```\n~~~\ny[8]\n~~~\n")
    assert shown(text) == [
        ("heading", "Title", ("1",)), ("sentence", "A paragraph over two lines.", ("2",)),
        ("item", "an item continued.", ("3",)), ("item", "numbered", ("4",)), ("sentence", "quoted more.", ("5",)),
        ("cell", "GDP: 3.2%", ("6",))]


def test_inline_markdown_is_read_as_text():
    assert shown("**Bold** and `code` and [a link](https://x.example/) and _it_ [1].") == [
        ("sentence", "Bold and code and a link and it.", ("1",))]


def test_the_position_is_the_claim_as_written():
    text = "Intro.\n\n- one [1]\n- two\n  three [2]."
    for unit in units(text):
        assert text[unit.start:unit.end].startswith(unit.text.split()[0])
    assert [text[u.start:u.end] for u in units(text)] == ["Intro.", "one [1]", "two\n  three [2]."]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list("ab .!?[]1|#-*>`\n") + ["[1]", "[web:2]", "```", "A", "1."]), max_size=40).map("".join))
def test_units_are_in_order_inside_the_text_and_carry_their_markers(text):
    at = 0
    for unit in units(text):
        assert at <= unit.start < unit.end <= len(text)
        at = unit.end
        for marker in unit.markers:
            assert f"[{marker}]" in text[unit.start:unit.end]


# ---- the rule ----


def test_terms_numbers_dates_names_and_content_words():
    assert [(t.kind, t.key, t.shown) for t in terms("Growth was 3.2% in March 2019 at NASA, 1,000 iPhones and Paris's rivers.")] == [
        ("word", "growth", "Growth"), ("number", "3.2%", "3.2%"), ("date", "month 3", "March"), ("number", "2019", "2019"),
        ("name", "nasa", "NASA"), ("number", "1000", "1,000"), ("name", "iphone", "iPhones"), ("name", "paris", "Paris's"),
        ("word", "river", "rivers")]


@pytest.mark.parametrize("passage, verdict", [
    ("Growth was 3.2% in 2019 in Ohio.", "found"),
    ("Growth was 3.2 percent in 2019 in Ohio.", "found"),
    ("Growth was 32% in 2019 in Ohio.", "weak"),  # the number is the claim
    ("Growth was 3.2% in 2018 in Ohio.", "weak"),
    ("Growth was 3.2% in 2019.", "weak"),  # a name missing
    ("Ohio is a state.", "not found"),
    ("", "not found"),
])
def test_the_verdict_rule(passage, verdict):
    assert best_evidence("Growth was 3.2% in 2019 in Ohio.", [passage]).verdict == verdict


def test_found_needs_more_than_half_of_the_other_content_words():
    claim = terms("Ohio exports corn wheat soybeans beef")  # one name-free claim: five content words (Ohio is first)
    assert weigh(claim, "ohio exports corn")[0] == "weak"
    assert weigh(claim, "ohio exports corn wheat")[0] == "found"


def test_a_bare_number_matches_a_percentage_but_not_the_other_way():
    assert weigh(terms("It rose 32 points"), "It rose 32% points")[0] == "found"
    assert weigh(terms("It rose 32% overall"), "It rose 32 points overall")[0] == "weak"


def test_the_best_passage_and_the_words_it_shares():
    evidence = best_evidence("The tower is 330 metres tall.", ["Nothing.", "The tower is  330\nmetres tall.", "Tower."])
    assert evidence == ("found", 1.0, "The tower is 330 metres tall.", ())
    assert match_spans("The tower is 330 metres tall.", "A 330 m tower; 3300 metres") == [(2, 5), (8, 13), (20, 26)]


def test_tally_orders_verdicts_best_first_and_unreachable_last():
    assert list(tally(["unreachable", "weak", "found", "weak"]).items()) == [("found", 1), ("weak", 2), ("unreachable", 1)]
    assert list(tally(["unreachable", "contradicted", "supported"])) == ["supported", "contradicted", "unreachable"]


# ---- the judge ----


def judge_response(text, status="completed"):
    return {"id": "resp_1", "object": "response", "status": status, "model": "perplexity/sonar", "error": None,
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}],
            "usage": {"input_tokens": 5, "output_tokens": 5, "cost": {"total_cost": 0.0002}}}


def test_judge_body_and_answer():
    body = build_judge_body("anthropic/claude-sonnet-4-5", "A claim.", [("1", ["a passage"])])
    assert body["model"] == "anthropic/claude-sonnet-4-5" and body["max_output_tokens"] > 0 and body["stream"] is False
    assert json.loads(body["input"]) == {"claim": "A claim.", "sources": [{"source": "1", "passages": ["a passage"]}]}
    answer = {"verdicts": [{"source": "[1]", "verdict": "partly", "reason": "says\nhalf"},
                           {"source": "1", "verdict": "supported", "reason": "again"},
                           {"source": "2", "verdict": "maybe", "reason": "bad"}]}
    assert read_judgement(judge_response(json.dumps(answer))) == ({"1": ("partly", "says half")}, 0.0002)
    with pytest.raises(StreamError):
        read_judgement(judge_response("not json"))
