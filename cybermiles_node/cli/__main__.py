"""``python -m cybermiles_node.cli``: the same as the ``cmnode`` command."""
from cybermiles_node.cli.main import main

main()
