"""safedrift's core: what every stage stands on (errors, files, languages, registries, configs, logging,
dataset specs). The `safedrift` command (safedrift.cli) and the release pipeline (safedrift.release) sit
above the four stages; nothing in the core imports a stage."""

__version__ = "0.1.0"
