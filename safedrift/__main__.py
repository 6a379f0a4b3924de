"""`python -m safedrift` is the `safedrift` command."""
from safedrift.cli import entry

entry()
