"""``python -m fercli`` is ``fer``."""

from .cli.app import main

main()
