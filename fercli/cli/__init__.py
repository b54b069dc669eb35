"""The ``fer`` command line: typer + rich over :mod:`fercli.ops`. Nothing imports this."""
