"""pplx: a Unix-style command-line client for the Perplexity API.

The package is built in layers; a module imports only from its own layer and the layers
below it (tests/test_layers.py reads the imports and keeps this true), so one layer can be
changed without reading the ones above it. Lowest first:

1. ``errors jsonsafe numbers choices``: exit codes and exceptions, JSON that any shape
   cannot break, numbers from the network, the typed values commands hand down.
2. ``wire``: HTTP, response bodies, TLS, keep-alive, server-sent event framing.
3. ``dialects``: events and bodies of each API into typed pieces; request bodies; citations.
4. ``output``: every byte for stdout and stderr: the answer writer, rendering, terminals.
5. ``store``: settings, the key, caches, the SQLite history.
6. ``runs``: an exchange, background runs, a batch, the platform calls.
7. ``commands``: one module per command family: click parameters into typed values, once.
8. ``cli __main__``: the command group, ``main()``, errors into exit statuses.
"""

__version__ = "0.2.0"

#: The layers, lowest first (see the docstring): names of modules and folders under pplx_cli.
LAYERS = ("errors jsonsafe numbers choices", "wire", "dialects", "output", "store", "runs", "commands", "cli __main__")
