"""What a page's passage says of a claim, without any model: the verdict rule of
``pplx verify``. Pure functions, no I/O.

A claim's terms are its numbers, dates and names (required) and its other content words.
A number is its digits as written, thousands commas dropped and a percent sign (or
"percent") kept with it: ``3.2%`` is not ``32%``, and ``32%`` needs a ``32%`` (a bare ``32``
in the claim matches either). A date is a number (a year, a day) or a month's name. A name
is a capitalised word that is not the claim's first word, or a word in capitals
(``NASA``), or one with a capital inside (``iPhone``). The other content words are the
words of three letters or more that are not common function words. Words compare in lower
case, a plural ``s`` (or ``ies``) and a possessive ``'s`` ignored.

A passage is ``found`` when it has every number, date and name of the claim and more than
half of its other content words; ``weak`` when it has at least half of all the terms; else
``not found``. Its score is the share of the terms it has. The best passage of a page is
the one with the best verdict, then the best score (the first, the API's most relevant, of
equal ones).
"""

import re
from typing import NamedTuple

#: The rule's verdicts, best first; ``unreachable``: the page could not be read.
VERDICTS = ("found", "weak", "not found", "unreachable")
#: A judge's verdicts (``pplx verify --judge``), best first.
JUDGEMENTS = ("supported", "partly", "contradicted", "not addressed", "unreachable")
#: What counts as a claim that checks out.
GOOD = ("found", "supported")

_TOKEN = re.compile(r"(?P<num>\d+(?:[.,]\d+)*)(?P<pct>[ \t]?(?:%|percent\b|per cent\b))?"
                    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
MONTHS = {name: n for n, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), 1) for name in names}
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves may might must shall can't cannot it's that's there's according
also although among around however including many much per since via whether yet one two three first second new
""".split())


class Term(NamedTuple):
    """One thing a passage must say: ``kind`` (``number``, ``date``, ``name``, ``word``), the
    ``key`` it is compared by, and the word as the claim shows it."""

    kind: str
    key: str
    shown: str


class Evidence(NamedTuple):
    """A page's best passage on a claim: its verdict, score (0 to 1; None when the claim
    has no terms), the passage (blanks collapsed; "" when the page gave none) and the terms
    it lacks, as the claim shows them."""

    verdict: str
    score: object
    excerpt: str
    missing: tuple


def terms(claim: str) -> list:
    """The terms of a claim (see the module's docstring), each once, in order."""
    out, seen, first = [], set(), True
    for m in _TOKEN.finditer(claim):
        if m.group("num"):
            key = _number(m.group("num"))
            term = Term("number", key + ("%" if m.group("pct") else ""), m.group().strip())
        else:
            word = m.group("word")
            lower = word.lower()
            if lower in MONTHS and word[0].isupper():
                term = Term("date", f"month {MONTHS[lower]}", word)
            elif _is_name(word, first) and lower not in STOPWORDS:
                term = Term("name", _stem(word), word)
            elif lower not in STOPWORDS and len(lower) >= 3:
                term = Term("word", _stem(word), word)
            else:
                term = None
            first = False
        if term is not None and (term.kind, term.key) not in seen:
            seen.add((term.kind, term.key))
            out.append(term)
    return out


def _is_name(word: str, first: bool) -> bool:
    if len(word) > 1 and word.isupper():
        return True
    if any(c.isupper() for c in word[1:]):
        return True
    return word[0].isupper() and not first


def _number(digits: str) -> str:
    return digits.replace(",", "") if _THOUSANDS.fullmatch(digits) else digits


def _stem(word: str) -> str:
    """A word as compared: lower case, a possessive 's and a plural s taken off."""
    word = re.sub(r"['’]s$", "", word.lower())
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _keys(passage: str) -> set:
    """What a passage says, as term keys: numbers (with and without their percent sign),
    months and stemmed words."""
    keys = set()
    for m in _TOKEN.finditer(passage):
        if m.group("num"):
            number = _number(m.group("num"))
            keys.add(("number", number))
            if m.group("pct"):
                keys.add(("number", number + "%"))
        else:
            lower = m.group("word").lower()
            if lower in MONTHS:
                keys.add(("date", f"month {MONTHS[lower]}"))
            stem = _stem(lower)
            keys.add(("name", stem))
            keys.add(("word", stem))
    return keys


def weigh(claim_terms: list, passage: str):
    """``(verdict, score, missing)`` of one passage on a claim's terms."""
    if not claim_terms:
        return "weak", None, ()
    said = _keys(passage)
    has = [(t.kind, t.key) in said for t in claim_terms]
    required = [h for t, h in zip(claim_terms, has) if t.kind != "word"]
    content = [h for t, h in zip(claim_terms, has) if t.kind == "word"]
    score = round(sum(has) / len(has), 2)
    if all(required) and (not content or 2 * sum(content) > len(content)):
        verdict = "found"
    elif 2 * sum(has) >= len(has):
        verdict = "weak"
    else:
        verdict = "not found"
    missing = [t.shown for t, h in zip(claim_terms, has) if not h and t.kind != "word"]
    missing += [t.shown for t, h in zip(claim_terms, has) if not h and t.kind == "word"]
    return verdict, score, tuple(missing)


def best_evidence(claim: str, passages: list) -> Evidence:
    """The best of a page's passages on ``claim`` (see the module's docstring)."""
    claim_terms = terms(claim)
    best = None
    for passage in passages:
        text = " ".join(passage.split())
        if not text:
            continue
        verdict, score, missing = weigh(claim_terms, text)
        rank = (-VERDICTS.index(verdict), score or 0)
        if best is None or rank > best[0]:
            best = (rank, Evidence(verdict, score, text, missing))
    if best is None:
        return Evidence("not found", 0.0 if claim_terms else None, "", tuple(t.shown for t in claim_terms))
    return best[1]


def match_spans(claim: str, excerpt: str) -> list:
    """``(start, end)`` of the words and numbers of ``excerpt`` that are terms of ``claim``
    (what a terminal emphasises)."""
    wanted = {(t.kind, t.key) for t in terms(claim)}
    numbers = {key for kind, key in wanted if kind == "number"}
    spans = []
    for m in _TOKEN.finditer(excerpt):
        if m.group("num"):
            number = _number(m.group("num"))
            hit = number in numbers or (m.group("pct") and number + "%" in numbers)
        else:
            lower = m.group("word").lower()
            stem = _stem(lower)
            hit = (("date", f"month {MONTHS.get(lower)}") in wanted or ("name", stem) in wanted
                   or ("word", stem) in wanted)
        if hit:
            spans.append((m.start(), m.end()))
    return spans


def rank(verdict: str) -> int:
    """A verdict's place, best first, among the rule's and the judge's (a claim's verdict is
    its best source's)."""
    order = JUDGEMENTS if verdict in JUDGEMENTS else VERDICTS
    return order.index(verdict) if verdict in order else len(order)


def tally(verdicts) -> dict:
    """How many of each verdict, best first, ``unreachable`` last (only the verdicts seen)."""
    counts = {}
    for verdict in verdicts:
        counts[verdict] = counts.get(verdict, 0) + 1
    return {v: counts[v] for v in VERDICTS[:-1] + JUDGEMENTS if v in counts}
