"""The docs: the generated config reference lists every key of every config model and is current, the site
builds strictly (its link check), and the README and pages keep the facts users look for."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from safedrift import reference

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _rows(text: str) -> set[str]:
    """The keys of every table row (`| `key` | ...`) of a generated page."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))


def _listed(page: reference.Page, text: str) -> set[str]:
    """Every dotted key the page documents, a repeated section's keys counted under each place it stands."""
    rows = _rows(text)
    same = dict(re.findall(r"^## `([^`]+)`\n\nThe same keys as \[`([^`]+)`\]", text, flags=re.M))
    listed = set(rows)
    for at, first in same.items():
        listed |= {f"{at}.{key[len(first) + 1:]}" for key in rows if key.startswith(first + ".")}
    return listed


@pytest.mark.parametrize("page", reference.pages(), ids=lambda p: p.file)
def test_every_field_of_every_config_model_is_in_the_reference(page):
    text = reference.render(page)
    wanted = {prefix + name for prefix, _, name, _ in reference.field_paths(page.model)}
    assert len(wanted) > 60  # the walk reached the nested sections
    missing = wanted - _listed(page, text)
    assert not missing, f"{page.file} lacks {sorted(missing)}"


def test_the_committed_reference_is_current():
    for name, text in reference.expected_files().items():
        path = DOCS / "reference" / name
        assert path.exists(), f"{path} missing: run `make docs`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is out of date: run `make docs`"
    assert reference.main(["--check"]) == 0


def _yaml_keys(data, model, prefix="") -> set[str]:
    """Dotted reference keys of a config file's values, walked with the model (list items -> [], dict keys -> *)."""
    out = set()
    for key, value in data.items():
        info = model.model_fields[key]
        out.add(prefix + key)
        for suffix, sub in reference.nested_models(info.annotation):
            items = (value if suffix.startswith("[]") else value.values() if suffix.startswith(".*") else [value])
            for item in items or []:
                if isinstance(item, dict):
                    out |= _yaml_keys(item, sub, f"{prefix}{key}{suffix}.")
            break
    return out


@pytest.mark.parametrize("kind", ["release", "bench"])
def test_every_key_of_every_shipped_config_is_documented(kind):
    page = next(p for p in reference.pages() if p.file.startswith(kind))
    listed = _listed(page, reference.render(page))
    files = sorted((ROOT / "configs" / kind).glob("*.yaml"))
    assert files
    used = set().union(*(_yaml_keys(yaml.safe_load(f.read_text()), page.model) for f in files))
    assert {"datasets.train_limit", "datasets.sorry_limit", "datasets.require_qa_pass", "judge.answers_in"} <= used \
        or kind == "release"
    assert used - listed == set()


def test_keys_the_issue_found_undocumented_have_descriptions():
    text = reference.render(reference.pages()[1])
    for key in ("datasets.train_limit", "datasets.sorry_limit", "datasets.require_qa_pass", "judge.answers_in"):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{key}` |"))
        assert row.rstrip(" |").split("|")[-1].strip(), f"{key} has no description"


def test_results_schema_is_the_results_models_json_schema():
    import json

    from bench_runner.report.schema import Results

    schema = json.loads((DOCS / "reference" / "results.schema.json").read_text())
    assert schema["title"] == "Results"
    assert set(schema["properties"]) == set(Results.model_fields)


def test_mkdocs_builds_strictly_and_a_broken_link_fails_it(tmp_path):
    pytest.importorskip("mkdocs")
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict"]  # not -q: it hides the warnings strict counts
    ok = subprocess.run([*mkdocs, "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "site" / "evaluator" / "index.html").exists()
    # The link check: a copy of the docs with one link to a missing anchor and one to a missing page fails.
    copy = tmp_path / "copy"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    for broken in ("[x](evaluator.md#no-such-section)", "[x](no-such-page.md)"):
        page = copy / "docs" / "consumer.md"
        page.write_text((DOCS / "consumer.md").read_text() + f"\n{broken}\n")
        bad = subprocess.run([*mkdocs, "-f", str(copy / "mkdocs.yml"), "-d", str(tmp_path / "bad")],
                             capture_output=True, text=True)
        assert bad.returncode != 0 and ("no-such" in bad.stderr), bad.stderr


def test_readme_is_short_and_its_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
    for command in ("make release", "make test", 'pip install -e ".[bench]"', "git+https://"):
        assert command in text
    assert "pip install 'safedrift[" not in text  # not on an index: only the checkout and git URL forms


def test_docs_name_every_figure_and_say_wilson_for_rates():
    from bench_runner.report.figures import FIGURES

    evaluator = (DOCS / "evaluator.md").read_text(encoding="utf-8")
    assert not [f for f in FIGURES if f"`{f}`" not in evaluator]
    assert "Wilson" in evaluator
    everything = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *DOCS.glob("*.md")])
    assert not re.search(r"\bissue \d+", everything)
    assert "pip install 'safedrift[" not in everything
