"""Every byte pplx writes to stdout and stderr: the answer writer, Markdown rendering, terminal
neutralising, diagnostics, the standard streams themselves.

May import: the base modules, wire and dialects (the piece kinds, citations).
"""
