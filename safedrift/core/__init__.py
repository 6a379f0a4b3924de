"""The ground floor every stage stands on: errors, atomic files and manifests, languages, one lazy registry,
one strict YAML loader, logging/progress, the Hub release layout and a DatasetSpec per dataset. Nothing here
imports anything else of the project (an import-linter contract says so)."""
