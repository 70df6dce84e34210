"""``pplx verify``'s report, as lines of ``(style, text)`` spans for
:meth:`pplx_cli.output.stdio.Channel.styled` (which makes every text safe and writes the
styles only on a terminal), and as JSON Lines.

Per claim: its number and text; per source its label, verdict, title and host, and why
(what the page lacks, why it could not be read, the judge's reason); then the excerpt,
quoted, the words it shares with the claim emphasised. On a terminal the lines are wrapped
to its width and an excerpt is cut to :data:`EXCERPT_LINES` lines; elsewhere each is one
line and an excerpt at most :data:`EXCERPT_CHARS` characters, around its first match.
"""

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from pplx_cli.errors import redact

#: Each verdict's colour (SGR): green for what checks out, yellow half, red not, magenta unread.
STYLES = {"found": "32", "supported": "32", "weak": "33", "partly": "33", "not found": "31", "not addressed": "31",
          "contradicted": "1;31", "unreachable": "35"}
EMPHASIS = "1"
EXCERPT_LINES = 3
EXCERPT_CHARS = 240
_SPACES = re.compile(r"( +)")


class Layout(NamedTuple):
    """Where the report goes: ``width`` to wrap to (None: no wrapping, a pipe) and whether
    it is a terminal (text from the network is made one line and its controls shown)."""

    width: object = None
    terminal: bool = False


def _safe(text: str, layout: Layout) -> str:
    from pplx_cli.output.terminal import neutralise_line

    text = redact(" ".join((text or "").split()))
    return neutralise_line(text) if layout.terminal else text


def claim_lines(result: dict, layout: Layout) -> list:
    """The lines of one checked claim."""
    records = result["records"]
    head = f"{result['n']}. "
    lines = _wrap([("", head), ("", _safe(records[0]["claim"], layout))], layout.width, len(head))
    for record in records:
        label = f"   [{_safe(record['label'], layout)}] "
        spans = [("", label), (STYLES.get(record["verdict"], ""), record["verdict"])]
        where = _where(record, layout)
        if where:
            spans.append(("", f" · {where}"))
        if record["reason"]:
            spans.append(("", f" · {_safe(record['reason'], layout)}"))
        lines += _wrap(spans, layout.width, len(label))
        if record["excerpt"]:
            lines += _excerpt(record["claim"], record["excerpt"], layout, " " * len(label))
    return lines


def _where(record: dict, layout: Layout) -> str:
    """A source as the report names it: its title and host, or its URL."""
    url = record["url"]
    if not url:
        return ""
    host = urlsplit(url).hostname or url
    title = record["title"]
    return _safe(f"{title} ({host})" if title else url, layout)


def _excerpt(claim: str, excerpt: str, layout: Layout, indent: str) -> list:
    """The excerpt quoted, its matching words emphasised, shortened to a few lines."""
    from pplx_cli.dialects.evidence import match_spans

    text = _safe(excerpt, layout)
    room = EXCERPT_CHARS if layout.width is None else EXCERPT_LINES * max(layout.width - len(indent) - 2, 20)
    spans = match_spans(claim, text)
    start = 0
    if len(text) > room:
        first = spans[0][0] if spans else 0
        start = max(0, min(first - room // 4, len(text) - room))
        start = start if start == 0 else text.find(" ", start) + 1 or start
    end = min(len(text), start + room)
    if end < len(text) and " " in text[start:end]:
        end = text.rfind(" ", start, end)
    pieces, at = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        pieces += [("", text[at:s]), (EMPHASIS, text[s:e])]
        at = e
    pieces.append(("", text[at:end]))
    quoted = [("", indent + "“" + ("…" if start else ""))] + pieces + [("", ("…" if end < len(text) else "") + "”")]
    lines = _wrap(quoted, layout.width, len(indent) + 1)
    if len(lines) > EXCERPT_LINES:
        lines = lines[:EXCERPT_LINES]
        lines[-1] = lines[-1] + [("", " …”")]
    return lines


def _wrap(spans: list, width, indent: int) -> list:
    """``spans`` as lines of at most ``width`` terminal columns, words kept whole (one
    longer than a line has it to itself), continuation lines indented by ``indent``; with no
    width, one line."""
    from pplx_cli.output.terminal import cells

    if width is None:
        return [_merged([s for s in spans if s[1]])]
    words, word = [], []
    for style, text in spans:
        for part in _SPACES.split(text):
            if not part:
                continue
            if part.startswith(" "):
                if word:
                    words.append(word)
                word = []
                if not words:  # leading blanks (an indent) belong to the first word
                    word = [("", part)]
            else:
                word.append((style, part))
    if word:
        words.append(word)
    lines, line, used = [], [], 0
    for word in words:
        size = sum(cells(t) for _, t in word)
        if line and used + 1 + size > width:
            lines.append(line)
            line, used = [("", " " * indent)], indent
        elif line:
            line.append(("", " "))
            used += 1
        line += word
        used += size
    if line:
        lines.append(line)
    return [_merged(line) for line in lines]


def _merged(line: list) -> list:
    """A line's spans with neighbours of one style joined (a blank between two emphasised
    words takes their style): one escape sequence a run, not one a word."""
    out = []
    for i, (style, text) in enumerate(line):
        if not style and text.isspace() and 0 < i < len(line) - 1 and line[i - 1][0] and line[i - 1][0] == line[i + 1][0]:
            style = line[i - 1][0]
        if out and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + text)
        else:
            out.append((style, text))
    return out


def uncited_lines(plan, listed: bool, layout: Layout) -> list:
    """How many units cite nothing, and with ``listed`` each of them."""
    if not plan.uncited:
        return []
    count = (f"{len(plan.uncited)} of {plan.sentences} sentence{'s' if plan.sentences != 1 else ''} "
             f"cite{'s' if len(plan.uncited) == 1 else ''} nothing")
    if not listed:
        return [[("", count + " (--uncited lists them)")]]
    lines = [[("", count + ":")]]
    for unit in plan.uncited:
        lines += _wrap([("", "   - "), ("", _safe(unit.text, layout))], layout.width, 5)
    return lines


def summary(results: list, plan, cost, *, interrupted: bool = False) -> str:
    """``18 claims · 14 found · 2 weak · 1 not found · 1 unreachable · $0.0040``: claims per
    verdict, and the judge's cost when there was one."""
    from pplx_cli.dialects.evidence import tally
    from pplx_cli.numbers import dollars

    total = len(plan.claims)
    noun = "claim" if total == 1 else "claims"
    parts = [f"{len(results)} of {total} {noun} checked (interrupted)" if interrupted or len(results) < total
             else f"{total} {noun}"]
    parts += [f"{n} {verdict}" for verdict, n in tally([r["verdict"] for r in results]).items()]
    if cost is not None:
        parts.append(dollars(cost))
    return " · ".join(parts)


def summary_spans(line: str) -> list:
    """The summary line as spans: each verdict's count in its colour."""
    spans = []
    for i, part in enumerate(line.split(" · ")):
        verdict = part.split(" ", 1)[1] if " " in part else ""
        spans += ([("", " · ")] if i else []) + [(STYLES.get(verdict, "") if part[:1].isdigit() else "", part)]
    return spans


def json_lines(result: dict) -> list:
    """A checked claim as JSON Lines, one record per source."""
    from pplx_cli import jsonsafe

    return [jsonsafe.dumps(record, ensure_ascii=False) for record in result["records"]]


def uncited_json(plan) -> list:
    """The units that cite nothing as JSON Lines (verdict ``uncited``)."""
    from pplx_cli import jsonsafe

    return [jsonsafe.dumps({"claim": u.text, "position": {"n": None, "start": u.start, "end": u.end}, "kind": u.kind,
                            "label": None, "url": None, "title": None, "status": None, "verdict": "uncited",
                            "score": None, "excerpt": None, "reason": "cites nothing"}, ensure_ascii=False)
            for u in plan.uncited]


def plain(lines: list) -> str:
    """Lines of spans as plain text (for the history)."""
    return "".join("".join(text for _, text in line) + "\n" for line in lines)
