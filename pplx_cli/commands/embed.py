"""``pplx embed``: texts to embeddings (the Embeddings API), as JSON Lines of numbers."""

import sys

import click

from pplx_cli.commands import platform_call, platform_writer
from pplx_cli.errors import StreamError, UsageError
from pplx_cli.output.messages import warn
from pplx_cli.commands.options import CONTEXT, connection_options, meta_options


def _complete_model(ctx, param, incomplete):
    from pplx_cli.runs.platform import CONTEXTUAL_MODELS, EMBEDDING_MODELS

    return [m for m in EMBEDDING_MODELS + CONTEXTUAL_MODELS if m.startswith(incomplete)]


@click.command(context_settings=CONTEXT)
@click.argument("texts", nargs=-1, metavar="[TEXT]...")
@click.option("--model", metavar="ID", shell_complete=_complete_model,
              help="pplx-embed-v1-0.6b or pplx-embed-v1-4b (--contextual: pplx-embed-context-v1-0.6b or -4b). [default: the 0.6b]")
@click.option("--dimensions", type=click.IntRange(128, 2560), metavar="N",
              help="Numbers per embedding: 128 to 1024 (0.6b) or 2560 (4b). [default: the model's all]")
@click.option("--encoding", type=click.Choice(["int8", "binary"]), default="int8", show_default=True,
              help="int8: one signed byte a dimension; binary: one bit a dimension (0 or 1).")
@click.option("--null", "-0", "null", is_flag=True, help="Texts on stdin are separated by NUL, not newlines.")
@click.option("--contextual", is_flag=True,
              help="Documents separated by blank lines, one chunk a line: each chunk embedded in its document's context.")
@meta_options
@click.option("--no-log", is_flag=True, help="Do not record this in the history.")
@connection_options
def embed(texts, model, dimensions, encoding, null, contextual, no_log, **p):
    """Embed texts as JSON Lines of numbers (the Embeddings API).

    One JSON line per text, {"index": N, "embedding": [numbers...]}, in input order. Texts are the arguments, or one per line on stdin (--null: NUL-separated); an empty
    one is a usage error naming its line, and nothing is sent. Requests hold at most 512
    texts and 120,000 bytes each, sent one after another; a failed request is retried as
    for ask. Usage and cost go to stderr as metadata and into the history.

    \b
    Examples:
      pplx embed "first text" "second text"
      cut -f2 notes.tsv | pplx embed --dimensions 256 > vectors.jsonl
      pplx embed --contextual < chapters.txt | jq -c '[.document, .chunk]'
    """
    from pplx_cli.runs.platform import CONTEXTUAL_MODELS, EMBEDDING_MODELS, split_inputs

    if p.get("meta_path") and p.get("no_meta"):
        raise UsageError("--meta FILE and --no-meta contradict each other")
    if encoding == "binary" and dimensions and dimensions % 8:
        raise UsageError("--encoding binary needs --dimensions to be a multiple of 8")
    if texts:
        for n, text in enumerate(texts, 1):
            if not text.strip():
                raise UsageError(f"argument {n} is empty (the API refuses empty texts)")
        items = [[t] for t in texts] if contextual else list(texts)
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no text: give it as arguments or one per line on stdin")
        items = split_inputs(sys.stdin.buffer.read(), null=null, contextual=contextual)
        if not items:
            raise UsageError("no text on stdin")
    model = model or (CONTEXTUAL_MODELS if contextual else EMBEDDING_MODELS)[0]
    call, settings = platform_call("embed", p, no_log=no_log)
    writer = platform_writer(p, settings)
    options = {"model": model, "encoding_format": f"base64_{encoding}"}
    if dimensions:
        options["dimensions"] = dimensions

    from pplx_cli.runs.platform import recorded

    count = len(items) if not contextual else sum(len(d) for d in items)
    prompt = f"{count} text{'s' if count != 1 else ''}: " + (items[0] if not contextual else items[0][0])[:200]
    def work():
        import itertools

        answers = _answers(call, items, options, contextual)
        first = next(answers)  # sent before anything is written: a first failure writes no metadata, as for ask
        writer.render(_pieces(call, writer, itertools.chain([first], answers), options, contextual))

    recorded(call, writer, work, prompt=prompt, model=lambda: model, warn=warn)


def _answers(call, items, options, contextual):
    """``(start, batch, answer)`` for each request, sent one after another within the API's limits."""
    from pplx_cli.runs.platform import (CONTEXTUAL_PATH, EMBEDDINGS_PATH, MAX_CHUNKS, MAX_DOCUMENTS, MAX_INPUTS,
                                   MAX_REQUEST_BYTES, iter_batches)

    if contextual:
        batches = iter_batches(items, len, max_items=MAX_DOCUMENTS, max_size=MAX_CHUNKS)
    else:
        batches = iter_batches(items, lambda t: len(t.encode("utf-8")), max_items=MAX_INPUTS, max_size=MAX_REQUEST_BYTES)
    for start, batch in batches:
        yield start, batch, call.post(CONTEXTUAL_PATH if contextual else EMBEDDINGS_PATH, {"input": batch, **options})


def _pieces(call, writer, answers, options, contextual):
    """Write each answer's embeddings as they are decoded; the metadata (usage summed over
    the requests) last. Each line is what ``jsonsafe.dumps`` gives for its dict, formatted
    here: every value is an int (the vector is JSON already, see embedding_json)."""
    from pplx_cli.dialects.pieces import META, Piece
    from pplx_cli.dialects.embeddings import embedding_json
    from pplx_cli.runs.platform import FULL_DIMENSIONS

    encoding = options["encoding_format"]
    # how many numbers each vector must have: what was asked for, else the model's full size
    dimensions = options.get("dimensions") or FULL_DIMENSIONS.get(options["model"])
    usage, written, model = {}, 0, options["model"]
    index = 0
    for start, batch, obj in answers:
        model = obj.get("model") if isinstance(obj.get("model"), str) else model
        data = obj.get("data")
        if not isinstance(data, list) or len(data) != len(batch):
            raise StreamError(f"the Embeddings API answered {len(data) if isinstance(data, list) else 'no'} embeddings "
                              f"for {len(batch)} inputs")
        lines = []
        for d, entry in enumerate(_in_order(data)):
            if contextual:
                chunks = entry.get("data") if isinstance(entry, dict) else None
                if not isinstance(chunks, list) or len(chunks) != len(batch[d]):
                    raise StreamError(f"a contextualized embedding has {len(chunks) if isinstance(chunks, list) else 'no'} "
                                      f"chunks for the {len(batch[d])} of its document")
                for c, chunk in enumerate(_in_order(chunks)):
                    vector = embedding_json(chunk.get("embedding") if isinstance(chunk, dict) else None, encoding, dimensions)
                    lines.append(b'{"index": %d, "document": %d, "chunk": %d, "embedding": %b}\n' % (index, start + d, c, vector))
                    index += 1
            else:
                vector = embedding_json(entry.get("embedding") if isinstance(entry, dict) else None, encoding, dimensions)
                lines.append(b'{"index": %d, "embedding": %b}\n' % (start + d, vector))
        writer.emit(b"".join(lines))
        written += len(lines)
        _add_usage(usage, obj.get("usage"))
    yield Piece(META, {"kind": "embed", "model": model, "requests": call.requests, "embeddings": written,
                       "usage": usage, **call.headers_meta})


def _in_order(entries: list) -> list:
    """Entries by their ``index`` (the API sends them in any order): as they came when none
    has one; StreamError when the indexes are not each of 0..N-1 once (a vector paired with
    the wrong text is worse than none)."""
    from pplx_cli.numbers import whole

    given = [e.get("index") for e in entries if isinstance(e, dict) and "index" in e]
    if not given:
        return list(entries)
    indexes = [whole(e.get("index")) if isinstance(e, dict) else None for e in entries]
    if sorted(i for i in indexes if i is not None) != list(range(len(entries))):
        raise StreamError(f"the Embeddings API's indexes {_shown(given)} do not number its {len(entries)} answers "
                          "0 to N-1 once each: the vectors cannot be paired with the texts")
    ordered = [None] * len(entries)  # each of 0..N-1 once (checked above): a place for every entry
    for entry, i in zip(entries, indexes):
        ordered[i] = entry
    return ordered


def _shown(values) -> str:
    from pplx_cli.jsonsafe import as_text

    return as_text(values[:10], 60)


def _add_usage(total: dict, usage):
    """Sum the requests' usage: tokens and cost."""
    from pplx_cli.numbers import nonnegative, whole

    if not isinstance(usage, dict):
        return
    for key in ("prompt_tokens", "total_tokens"):
        if whole(usage.get(key)) is not None:
            total[key] = total.get(key, 0) + usage[key]
    cost = usage.get("cost")
    if isinstance(cost, dict):
        mine = total.setdefault("cost", {})
        for key, value in cost.items():
            if nonnegative(value) is not None:  # a negative cost is none
                mine[key] = round(mine.get(key, 0) + nonnegative(value), 10)
            elif isinstance(value, str):
                mine[key] = value
