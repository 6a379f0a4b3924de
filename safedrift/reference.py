"""The config reference, generated from the pydantic models so a new key cannot go undocumented: every key of a
release config (cards.config.ReleaseConfig, composing the builders' and validation's sections) and of a bench
config (bench_runner.config.RunConfig) with its type, default and description, as Markdown under
docs/reference/, and the JSON Schema of results.json (bench_runner.report.schema.Results).

A field's description is its `Field(description=...)`, else the comment written above it or beside it in the
model's source (the config modules document their keys in comments), else the model's docstring line is all
there is. `python -m safedrift.reference --write` (run by `make docs`) rewrites the pages;
`--check` exits 1 when a committed page is not what the models give (tests/test_docs_reference.py checks too).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference"


@dataclass(frozen=True)
class Page:
    file: str
    title: str
    intro: str
    model: type[BaseModel]


def pages() -> list[Page]:
    from bench_runner.config import RunConfig
    from cards.config import ReleaseConfig

    return [
        Page("release-config.md", "Release config reference",
             "Every key of a release config (`configs/release/*.yaml`; `safedrift release|build|qa|publish|push`), "
             "from `cards/config.py` `ReleaseConfig`, which composes `safedrift/core/config.py` `ReleaseBase`, "
             "`builders/config.py` and `validation/config.py`.", ReleaseConfig),
        Page("bench-config.md", "Bench config reference",
             "Every key of a bench config (`configs/bench/*.yaml`; `safedrift bench`), from `bench_runner/config.py` "
             "`RunConfig`.", RunConfig),
    ]


# --- descriptions from the source -------------------------------------------------------------------------

@cache
def _source_comments(cls: type) -> dict[str, str]:
    """field name -> the comment block above its assignment plus the comment on its line(s), in `cls`'s body."""
    try:
        lines, _ = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return {}
    source = textwrap.dedent("".join(lines))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    src_lines = source.splitlines()
    out: dict[str, str] = {}
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        i = node.lineno - 2
        while i >= 0 and src_lines[i].strip().startswith("#"):
            above.insert(0, src_lines[i].strip().lstrip("#").strip())
            i -= 1
        beside = [m.group(1).strip() for ln in src_lines[node.lineno - 1:(node.end_lineno or node.lineno)]
                  if (m := re.search(r"(?<![\"'\w])#\s?(.*)$", _strip_strings(ln)))]
        text = " ".join(x for x in [*above, *beside] if x)
        if text:
            out[node.target.id] = text
    return out


def _strip_strings(line: str) -> str:
    """The line with string literals blanked, so a '#' inside a string is not read as a comment."""
    return re.sub(r"\"[^\"]*\"|'[^']*'", lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', line)


def description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if info.description:
        return info.description
    for cls in model.__mro__:
        if name in getattr(cls, "__annotations__", {}):
            return _source_comments(cls).get(name, "")
    return ""


# --- types and defaults -----------------------------------------------------------------------------------

def type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is list:
        return f"list[{type_text(args[0])}]" if args else "list"
    if origin is dict:
        return f"dict[{type_text(args[0])}, {type_text(args[1])}]" if args else "dict"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "(the keys below)"
    return json.dumps(value, default=str)


def constraints(info: FieldInfo) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "min length", "pattern": "pattern"}
    out = []
    for meta in info.metadata:
        for attr, word in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{word} {value}")
    return ", ".join(out)


def nested_models(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """(path suffix, model) for the models a field holds: X or X | None -> "", list[X] -> "[]",
    dict[str, X] -> ".*" (any key)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "", annotation
        return
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args:
        for suffix, model in nested_models(args[0]):
            yield "[]" + suffix, model
    elif origin is dict and len(args) == 2:
        for suffix, model in nested_models(args[1]):
            yield ".*" + suffix, model
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from nested_models(arg)


# --- the walk and the page --------------------------------------------------------------------------------

def field_paths(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type[BaseModel], str, FieldInfo]]:
    """(section path, model, field name, field info) for every field, depth first."""
    for name, info in model.model_fields.items():
        yield prefix, model, name, info
        for suffix, sub in nested_models(info.annotation):
            yield from field_paths(sub, f"{prefix}{name}{suffix}.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(title: str) -> str:
    """The id mkdocs' toc extension gives a heading (Python-Markdown's slugify)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", title).strip().lower())


def _section_of(model: type[BaseModel], name: str, info: FieldInfo, prefix: str) -> str:
    """A field holding a section: where its keys are listed, and the section's own summary."""
    subs = list(nested_models(info.annotation))
    if not subs:
        return ""
    suffix, sub = subs[0]
    title = f"{prefix}{name}{suffix}"
    doc = (inspect.getdoc(sub) or "").split("\n\n")[0] if sub.__doc__ else ""
    return f"[the keys of `{title}`](#{_anchor(title)})" + (f": {' '.join(doc.split())}" if doc else "")


def render(page: Page) -> str:
    sections: dict[str, tuple[type[BaseModel], list[tuple[str, FieldInfo]]]] = {}
    for prefix, model, name, info in field_paths(page.model):
        sections.setdefault(prefix, (model, []))[1].append((name, info))
    out = [f"# {page.title}", "", "<!-- generated by `python -m safedrift.reference --write` (make docs); do not edit -->",
           "", page.intro + " Unknown keys are errors.", ""]
    first_at: dict[type[BaseModel], str] = {}
    for prefix, (model, fields) in sections.items():
        title = prefix.rstrip(".") or "top level"
        out += [f"## `{title}`" if prefix else f"## {title}", ""]
        if model in first_at:  # the same model at a second place (judge.model, judge.refusal_model, ...)
            out += [f"The same keys as [`{first_at[model]}`](#{_anchor(first_at[model])}), under `{title}.`.", ""]
            continue
        first_at[model] = title
        doc = inspect.getdoc(model) if model.__doc__ else ""
        if doc:
            out += [" ".join(doc.split()), ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for name, info in fields:
            kind = type_text(info.annotation)
            bounds = constraints(info)
            text = " ".join(x for x in (description(model, name, info), _section_of(model, name, info, prefix)) if x)
            out.append(f"| `{prefix}{name}` | {_cell(kind + (f' ({bounds})' if bounds else ''))} | "
                       f"`{_cell(default_text(info))}` | {_cell(text)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def undocumented(model: type[BaseModel]) -> list[str]:
    """Dotted keys with neither a description nor a comment (sections, which link to their keys, left out)."""
    seen: set[tuple[type, str]] = set()
    out = []
    for prefix, owner, name, info in field_paths(model):
        if (owner, name) in seen:
            continue
        seen.add((owner, name))
        if not description(owner, name, info) and not list(nested_models(info.annotation)):
            out.append(prefix + name)
    return out


def results_schema() -> str:
    from bench_runner.report.schema import Results

    schema = Results.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$comment": "generated from bench_runner/report/schema.py (python -m safedrift.reference --write)",
              **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """file name under docs/reference/ -> its generated text."""
    files = {p.file: render(p) for p in pages()}
    files["results.schema.json"] = results_schema()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safedrift.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/reference/ from the models")
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed page is out of date")
    parser.add_argument("--missing", action="store_true", help="list the keys that have no description")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder of the pages (default: docs/reference)")
    args = parser.parse_args(argv)
    if args.missing:
        for page in pages():
            print(f"{page.file}: {' '.join(undocumented(page.model)) or '-'}")
        return 0
    stale = []
    for name, text in expected_files().items():
        path = args.out / name
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path}")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    if stale:
        print(f"out of date: {', '.join(stale)}; run `make docs` (python -m safedrift.reference --write).",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
