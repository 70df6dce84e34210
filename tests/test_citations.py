"""Citation markers and numbered sources: pure functions, exact strings, and a property."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pplx_cli.dialects.citations import CitationStripper, source_lines, source_links, strip_citations


def test_markers_and_the_blanks_before_them_go():
    assert strip_citations("TypeScript adds types.[1] It compiles [2][3] to JS [web:0].") == \
        "TypeScript adds types. It compiles to JS."
    assert strip_citations("no markers, [a] [1a] [web:] [ 1] a[-1]") == "no markers, [a] [1a] [web:] [ 1] a[-1]"


def test_fenced_code_is_left_alone():
    text = "See [1]:\n```python\nx = items[1]  # [2]\n```\nafter [4] x\n  ```\nstill code[5]\n  ```\nend[6]"
    assert strip_citations(text) == "See:\n```python\nx = items[1]  # [2]\n```\nafter x\n  ```\nstill code[5]\n  ```\nend"


def test_an_unfinished_marker_at_the_end_is_text():
    stripper = CitationStripper()
    assert stripper.feed("see [1") == "see"
    assert stripper.flush() == " [1"


PIECES = st.lists(st.sampled_from(["word", " ", "[", "]", "1", "12", "web:", "[3]", "[web:4]", ".", "\n", "```", "`", "\t", "a"]),
                  max_size=40)


@settings(max_examples=300, deadline=None)
@given(PIECES, st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_any_split_strips_like_the_whole(pieces, cuts):
    text = "".join(pieces)
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    stripper = CitationStripper()
    out = "".join(stripper.feed(text[a:b]) for a, b in zip(bounds, bounds[1:])) + stripper.flush()
    assert out == strip_citations(text)


def test_agent_sources_are_listed_under_their_ids_then_fetched_pages():
    meta = {"api": "agent", "search_results": [{"id": 3, "url": "https://c", "title": "C\nline"}, {"id": 11, "url": "https://k"},
                                               {"id": 12, "title": "no url"}],
            "fetch_url_results": [{"url": "https://f", "title": "F"}]}
    assert source_lines(meta) == ["[3] C line <https://c>", "[11] https://k", "[page 1] F <https://f>"]


def test_beside_search_results_web_n_is_the_result_with_id_n_never_a_fetched_page():
    # the shape of recorded medium-effort runs that searched and fetched: the text cites
    # search results by id as [web:11], [web:1] and [1]; the fetched pages are not markers
    meta = {"api": "agent", "search_results": [{"id": 1, "url": "https://one"}, {"id": 11, "url": "https://eleven"}],
            "fetch_url_results": [{"url": "https://page-a"}, {"url": "https://page-b"}]}
    assert source_links(meta) == {"1": "https://one", "web:1": "https://one", "11": "https://eleven",
                                  "web:11": "https://eleven"}
    assert source_lines(meta)[2:] == ["[page 1] https://page-a", "[page 2] https://page-b"]


def test_a_fetch_only_answer_cites_pages_as_web_n_from_zero():
    meta = {"api": "agent", "search_results": [], "fetch_url_results": [{"url": "https://a", "title": "A"}, {"url": "https://b"}]}
    assert source_lines(meta) == ["[web:0] A <https://a>", "[web:1] https://b"]
    assert source_links(meta) == {"web:0": "https://a", "web:1": "https://b"}


def test_only_http_urls_become_links():
    meta = {"api": "agent", "search_results": [{"id": 1, "url": "javascript:alert(1)"}, {"id": 2, "url": "file:///etc/passwd"},
                                               {"id": 3, "url": "HTTPS://ok.example"}]}
    assert source_links(meta) == {"3": "HTTPS://ok.example", "web:3": "HTTPS://ok.example"}
    assert source_lines(meta)[:2] == ["[1] javascript:alert(1)", "[2] file:///etc/passwd"]


def test_chat_sources_are_numbered_by_position_in_citations():
    meta = {"api": "chat", "citations": ["https://a", "https://b"], "search_results": [{"url": "https://b", "title": "B"}]}
    assert source_lines(meta) == ["[1] https://a", "[2] B <https://b>"]


def test_a_url_of_the_wrong_type_beside_finance_results_is_left_out():
    """Found by tests/test_shapes.py: a search result whose URL is a list made the finance
    sources' de-duplication fail (a list is no set member); it is left out like any entry
    without a URL, and the finance URLs are listed."""
    from pplx_cli.dialects.citations import source_lines

    meta = {"api": "agent", "search_results": [{"id": 1, "url": ["https://a.example"], "title": "A"},
                                               {"id": 2, "url": "https://b.example", "title": "B"}],
            "finance_results": [{"sources": ["https://b.example", "https://f.example"]}]}
    assert source_lines(meta) == ["[2] B <https://b.example>", "[finance 1] https://f.example"]
