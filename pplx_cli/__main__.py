"""Allow ``python -m pplx_cli``."""

from pplx_cli.cli import main

main()
