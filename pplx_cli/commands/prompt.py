"""Reading the prompt: PROMPT words, stdin, or both."""

import sys

from pplx_cli.errors import UsageError


def read_stdin(what: str = "prompt") -> str:
    """All of stdin as text: UTF-8 (else a usage error naming ``what``), a byte-order mark
    some editors write dropped."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise UsageError(f"the {what} on stdin is not valid UTF-8 (byte {e.start})") from None


def read_prompt(words, stdin: bool = True) -> str:
    """PROMPT words joined by spaces; ``-`` or no words with piped stdin: stdin; words and piped stdin: both.

    A terminal on stdin is never read. An empty prompt is a usage error.
    """
    piped = stdin and (not sys.stdin.isatty() if sys.stdin else False)
    if list(words) == ["-"]:
        if not piped:
            raise UsageError("'-' reads the prompt from stdin, but stdin is a terminal")
        prompt = read_stdin()
    elif not words:
        prompt = read_stdin() if piped else ""
    else:
        prompt = " ".join(words)
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError:  # argv bytes that are not UTF-8 arrive as lone surrogates
            raise UsageError("the PROMPT arguments are not valid UTF-8") from None
        if piped:
            extra = read_stdin()
            if extra.strip():
                prompt = f"{prompt}\n\n{extra}"
    if not prompt.strip():
        raise UsageError("no prompt: give it as arguments or on stdin (see pplx ask --help)")
    return prompt
