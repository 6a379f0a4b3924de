from validation.cli import entry

entry()
