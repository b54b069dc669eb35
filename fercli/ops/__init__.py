"""One module per verb. These know nothing of typer/rich: they take frozen option objects
and return results; the CLI renders them."""
