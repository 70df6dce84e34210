"""One module per API dialect, each turning that API's events and bodies into the pieces
:mod:`pplx_cli.pieces` defines: ``agent`` (the Agent API) and ``chat`` (legacy chat completions)."""
