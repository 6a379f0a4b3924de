from cards.cli import entry

entry()
