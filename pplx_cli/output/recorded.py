"""What the history recorded, written out again: a conversation as Markdown (``pplx log
export``, ``/save`` in ``pplx chat``), and one answer replayed through an
:class:`~pplx_cli.output.writer.AnswerWriter` as it was first printed (``pplx log show``, a
background answer announced in ``pplx chat``). Pure over the records they are given
(decoded, as :func:`~pplx_cli.store.history.decode_record` gives them): nothing is read here.
"""

from pplx_cli.dialects.pieces import META, REASONING, TEXT, Piece


def conversation_markdown(cid: str, records) -> str:
    """A conversation's exchanges as one Markdown document: a heading, then each question,
    its answer (or why there is none) and its sources under the labels the answer's markers use."""
    from pplx_cli.dialects.citations import source_lines

    parts = [f"# Conversation {cid}\n"]
    for r in records:
        meta = r["meta"] if isinstance(r["meta"], dict) else {}
        parts.append(f"## {r['time'][:19].replace('T', ' ')} UTC · {r['model'] or '-'}\n\n**Q:** {r['prompt'].strip()}\n\n"
                     f"{r['answer'].strip() or '*(no answer' + (': ' + r['error'] if r['error'] else '') + ')*'}\n")
        sources = source_lines(meta)  # under the labels the answer's markers use, as --sources lists them
        if sources:
            parts.append("Sources:\n\n" + "".join(f"- {line}\n" for line in sources))
    return "\n".join(parts)


def replay(writer, *, answer: str, reasoning: str = None, meta: dict = None, exit_status=0):
    """Write a recorded answer through ``writer`` and close it, as the command that recorded
    it printed it: reasoning, text, then sources and metadata (the error, if any, in the
    metadata; a run the service ended, exit 1, still lists its sources)."""
    if reasoning:
        writer.write(Piece(REASONING, reasoning))
    if answer:
        writer.write(Piece(TEXT, answer))
    meta = dict(meta) if isinstance(meta, dict) else {}  # a hand-edited record may hold text there
    error = meta.pop("error", None)
    meta.pop("reasoning", None)
    writer.write(Piece(META, meta))
    writer.close(error=error, ended=exit_status == 1)
