"""A served judge (judge.base_url) is verified before any request: the model the server says it serves under the
judge's name (/v1/models: `id`, and vLLM's `root`, the weights it loaded) must be the configured judge.model, and
so must its revision where the server exposes one (a `revision` field, or a Hugging Face cache snapshot path in
`root`, .../models--org--name/snapshots/<commit>). A mismatch is an error; what was found is recorded in the judge's
description. A name alone proves nothing: any model can be served as "judge"."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from safedrift.core.errors import ConfigError

if TYPE_CHECKING:
    from bench_runner.config import ModelConfig
    from bench_runner.serving.server import ServerClient

_SNAPSHOT = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<commit>[0-9a-f]{7,40})")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def served_entry(models: list[dict], served_name: str | None, url: str) -> dict:
    """The /v1/models entry of the judge: the one named `served_name`, or the server's one base model."""
    ids = [str(m.get("id")) for m in models]
    if served_name is not None:
        entry = next((m for m in models if str(m.get("id")) == served_name), None)
    else:
        bases = [m for m in models if not m.get("parent")]
        entry = bases[0] if len(bases) == 1 else None
    if entry is None:
        raise ConfigError(f"the judge server at {url} serves no single judge model named "
                          f"{served_name or '(its only base model)'!r}; it has {', '.join(map(repr, ids)) or 'none'}: "
                          "set judge.served_name to the judge's name there.")
    return entry


def found_identity(entry: dict) -> dict:
    """What the server says about the model: its id, root, and the Hub id and revision read from them."""
    root = str(entry.get("root") or entry.get("id") or "")
    snapshot = _SNAPSHOT.search(root)
    hub_id = f"{snapshot['org']}/{snapshot['name']}" if snapshot else (root if _HUB_ID.match(root) else None)
    revision = entry.get("revision") or (snapshot["commit"] if snapshot else None)
    return {"id": str(entry.get("id")), "root": root, "hub_id": hub_id,
            "revision": str(revision) if revision else None}


def _expected(model: ModelConfig) -> tuple[str, str]:
    """(what the configured judge is, how it is compared): a Hub id, or a local folder's / GGUF file's name."""
    if model.hub_id:
        return model.hub_id, "hub id"
    where = model.local_dir or model.gguf_file or model.label
    return PurePosixPath(str(where).rstrip("/")).name, "folder or file name"


def verify(found: dict, model: ModelConfig, url: str) -> dict:
    """`found` (found_identity) against the configured judge; the record of the check, or a one-sentence error."""
    expected, by = _expected(model)
    root_name = PurePosixPath(found["root"].rstrip("/")).name
    if by == "hub id":
        same = (found["hub_id"] or "").lower() == expected.lower() or (
            found["hub_id"] is None and root_name.lower() == expected.split("/")[-1].lower())
    else:
        same = root_name == expected
    revision = model.revision if model.hub_id else None
    if not same:
        fix = f"vllm serve {expected}" + (f" --revision {revision}" if revision else "")
        raise ConfigError(f"the judge server at {url} serves {found['id']!r} from {found['root']!r}, not the "
                          f"configured judge.model {expected!r}: start it with `{fix} --served-model-name "
                          f"{found['id']}` or fix judge.model.")
    if revision and found["revision"] and not (revision.startswith(found["revision"])
                                               or found["revision"].startswith(revision)):
        raise ConfigError(f"the judge server at {url} serves {expected!r} at revision {found['revision']}, not the "
                          f"configured {revision}: serve that commit (--revision {revision}) or fix "
                          "judge.model.revision.")
    checked = "checked" if revision and found["revision"] else "not exposed by the server" if revision else "unpinned"
    return {**found, "matched_by": by, "revision_check": checked}


def verify_served_judge(client: ServerClient, model: ModelConfig, served_name: str | None) -> dict:
    """Ask the server which model it serves as the judge and compare it with judge.model (see the module)."""
    return verify(found_identity(served_entry(client.models(), served_name, client.url)), model, client.url)
