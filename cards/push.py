"""Push the release folders to the Hugging Face Hub safely; a dry run (the printed plan) unless asked.

Order of a real push, so nothing gated leaks and a failure leaves nothing half-done:
1. local checks for every dataset (card metadata, gating terms, `load_dataset` on the folder);
2. create every repository and gate the SORRY-Bench-derived ones, verified through the repo info;
3. only then one commit per repository (every file; remote files the release no longer has are deleted)
   and a tag with the release version. An unchanged release makes no commit and keeps its tag.
The token never reaches logs, printed output or errors: see `redact_secret`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cards.card import LOCAL_BANNER
from cards.config import ReleaseConfig
from safedrift.core.errors import ConfigError, DataError, SafedriftError
from safedrift.core.files import crash_point
from safedrift.core.hub import card_layout, hub_offline

REPO_TYPE = "dataset"
REDACTED = "***"
# The card of a release built without an org names this placeholder in its usage example.
ORG_PLACEHOLDER = "<org>/"
# Files the Hub itself manages; never deleted as "stale".
HUB_MANAGED = {".gitattributes"}


class PushError(SafedriftError):
    """A push was refused or failed; nothing after the failing step was sent."""


@dataclass
class RepoPlan:
    """What one repository will receive; `operations` are huggingface_hub's own objects (used once)."""

    name: str
    repo_id: str
    folder: Path
    version: str
    private: bool
    gated: str | None  # "manual"/"auto" for SORRY-Bench-derived data, None for public data
    operations: list  # list[CommitOperationAdd]

    @property
    def files(self) -> list[tuple[str, int, str]]:
        """(path in repo, size, sha256) per file, from each operation's upload_info."""
        return [(op.path_in_repo, op.upload_info.size, op.upload_info.sha256.hex()) for op in self.operations]


@dataclass
class PushResult:
    repo_id: str
    commit_url: str
    commit: str
    new_commit: bool
    tag: str


# -- token handling -----------------------------------------------------------------------------------------

def resolve_token() -> str:
    """HF_TOKEN first, then huggingface_hub's stored login (`hf auth login`)."""
    from huggingface_hub import get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise PushError("no Hugging Face token found: set HF_TOKEN or log in once with `hf auth login` "
                        "(huggingface_hub's stored login).")
    return token


def token_source() -> str:
    """Where a token would come from, for the dry run; never the token itself."""
    from huggingface_hub import get_token

    if os.environ.get("HF_TOKEN"):
        return "HF_TOKEN"
    return "huggingface_hub stored login" if get_token() else "none (set HF_TOKEN or run `hf auth login`)"


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class TokenRedactor(logging.Filter):
    """Rewrites a log record so no secret survives in its message, arguments or traceback text."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still scrubbed as far as possible
            message = str(record.msg)
        record.msg, record.args = scrub(message, self.secrets), ()
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.secrets)
        return True


@contextmanager
def redact_secret(secret: str) -> Iterator[TokenRedactor]:
    """Scrub `secret` from every log record while pushing.

    The filter sits on the root, huggingface_hub and py.warnings loggers and on all their handlers (a logger's
    own filter does not see records propagated from child loggers); a record factory also scrubs records at
    creation, for handlers added elsewhere. Warnings (e.g. the Hub's metadata warnings) are routed into
    logging meanwhile, so they pass the same filter.
    """
    redactor = TokenRedactor([secret])
    loggers = [logging.getLogger(), logging.getLogger("huggingface_hub"), logging.getLogger("py.warnings")]
    targets = [*loggers, *{h for lg in loggers for h in lg.handlers}]
    for target in targets:
        target.addFilter(redactor)
    old_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = old_factory(*args, **kwargs)
        redactor.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    logging.captureWarnings(True)
    try:
        yield redactor
    finally:
        logging.captureWarnings(False)
        logging.setLogRecordFactory(old_factory)
        for target in targets:
            target.removeFilter(redactor)


# -- local checks and the plan -------------------------------------------------------------------------------

def gated_data(card, name: str) -> bool:
    """A gated dataset's data in the card (tags, source_datasets) or its tag in the repository's name or
    pretty_name (e.g. SORRY-Bench): pushed gated only."""
    from cards.card import gated_spec_of
    from safedrift.core.specs import SPECS

    names = [name, card.data.get("pretty_name") or ""]
    tags = [s.gating.tag for s in SPECS.values() if s.gating is not None]
    return gated_spec_of(card) is not None or any(t in n.lower().replace("_", "-") for n in names for t in tags)


def check_card(card, folder: Path) -> dict[str, set[str]]:
    """Validate the card offline (the Hub's validate-yaml needs the network); return config -> splits."""
    from cards.card import validate_card

    validate_card(card, folder)
    return card_layout(card.data.to_dict())


def check_folder(folder: Path, name: str, repo_id: str | None = None) -> bool:
    """Everything that must hold before a byte of this folder leaves the machine; True if it must be gated."""
    from huggingface_hub import DatasetCard

    from cards.release import check_loadable

    readme = folder / "README.md"
    if not readme.is_file():
        raise DataError(f"no release at {folder} (README.md missing); build it first with `make release`.")
    card = DatasetCard.load(readme)
    gated = gated_data(card, name)
    if gated and not (card.data.get("extra_gated_prompt") and card.data.get("extra_gated_fields")):
        raise PushError(f"{name} holds data that may only be published gated but its card lacks extra_gated_prompt / "
                        "extra_gated_fields, so it is never pushed; rebuild the release with `make release`.")
    if LOCAL_BANNER in card.text or ORG_PLACEHOLDER in card.text:
        raise PushError(f"the card of {name} is a local card (built without an org); rebuild with the org "
                        "(`safedrift release CONFIG --hub-org ORG`) so it names the Hub repository.")
    if repo_id is not None and f'"{repo_id}"' not in card.text:
        raise PushError(f"the card of {name} was built for another repository than {repo_id} (its load_dataset "
                        "example and citation name it); rebuild with `safedrift release CONFIG "
                        f"--hub-org {repo_id.split('/')[0]}`.")
    splits = check_card(card, folder)
    check_loadable(folder, list(splits), splits)
    return gated


def release_version(folder: Path, configured: str) -> str:
    """The version the folder was built as (card metadata, qa/report.json): it must be the config's."""
    from validation.release_folder import stated_versions

    for where, version in stated_versions(folder).items():
        if version != configured:
            raise DataError(f"{folder.name} was built as version {version} ({where}) but the config says "
                            f"{configured}; rebuild the release with `make release`.")
    return configured


def plan_push(cfg: ReleaseConfig, org: str | None = None, *, private: bool | None = None,
              release_dir: str | Path | None = None) -> list[RepoPlan]:
    """Check every release folder locally and list what each repository would receive; sends nothing."""
    from huggingface_hub import CommitOperationAdd

    from safedrift.core.log import track

    org = org or cfg.hub.org
    if not org:
        raise ConfigError("no Hub org to push to: pass --hub-org ORG (HUB_ORG=… for make) or set hub.org in "
                          "the release config.")
    root = Path(release_dir) if release_dir is not None else cfg.output_path
    plans = []
    for name in (cfg.published_name(spec) for spec in cfg.specs()):
        folder = root / name
        gated = check_folder(folder, name, f"{org}/{name}")
        version = release_version(folder, cfg.version)
        paths = sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder)))
        ops = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
               for p in paths]
        for op in track(ops, desc=f"sha256 {name}", unit="file"):
            op.upload_info.sha256  # noqa: B018 - hash now, so the plan shows what will be sent
        plans.append(RepoPlan(name=name, repo_id=f"{org}/{name}", folder=folder, version=version,
                              private=cfg.hub.private if private is None else private,
                              gated=cfg.hub.gated if gated else None, operations=ops))
    return plans


def _hidden(rel: Path) -> bool:
    # Staging folders, editor and OS files are never part of a release.
    return any(part.startswith(".") for part in rel.parts)


def format_plan(plans: list[RepoPlan], endpoint: str | None, token_from: str) -> str:
    from huggingface_hub import constants

    lines = [f"Hub: {endpoint or constants.ENDPOINT}; token: {token_from}"]
    for plan in plans:
        access = f"gated={plan.gated}" if plan.gated else "gated=no"
        total = sum(size for _, size, _ in plan.files)
        lines.append(f"dataset repo {plan.repo_id}: private={plan.private} {access} tag={plan.version} "
                     f"({len(plan.files)} files, {total} bytes)")
        lines += [f"  {path}  {size} bytes  sha256:{sha}" for path, size, sha in plan.files]
    return "\n".join(lines)


# -- the push itself -----------------------------------------------------------------------------------------

def preflight(endpoint: str | None = None, *, reach: bool = False) -> str:
    """What a real push needs before anything else: online, a token; with `reach` (before a long build) also
    that the Hub answers and takes the token (one whoami call)."""
    if hub_offline():
        raise PushError("cannot push while the Hub is offline (HF_HUB_OFFLINE is set): unset HF_HUB_OFFLINE "
                        "and rerun; nothing was sent and the local release is unchanged.")
    token = resolve_token()
    if reach:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint, token=token)
        failure = None
        with redact_secret(token):
            try:
                api.whoami()
            except Exception as exc:  # noqa: BLE001 - one sentence below, token scrubbed
                failure = _explain(exc, "checking the token with the Hub", api.endpoint)
        if failure is not None:
            raise PushError(scrub(f"{failure.rstrip('.')}; nothing was built or sent.", [token]))
    return token


def push_plans(plans: list[RepoPlan], *, token: str, endpoint: str | None = None,
               echo: Callable[[str], None] = print) -> list[PushResult]:
    """Send the plans to the Hub; every failure is one PushError sentence with the token scrubbed out."""
    from huggingface_hub import HfApi

    preflight()
    for plan in plans:
        _refuse_secret_in_files(plan, token)
    api = HfApi(endpoint=endpoint, token=token)
    step = "starting the push"
    failure = None
    results: list[PushResult] = []
    with redact_secret(token):
        try:
            for plan in plans:  # every repository exists and is gated before any file is uploaded
                step = f"creating {plan.repo_id}"
                api.create_repo(plan.repo_id, repo_type=REPO_TYPE, private=plan.private, exist_ok=True)
                step = f"setting access on {plan.repo_id}"
                _secure(api, plan)
            crash_point("push-created")
            for plan in plans:
                step = f"committing to {plan.repo_id}"
                result = _commit_and_tag(api, plan)
                results.append(result)
                crash_point("push-committed")  # after the first repository: a push cut between two
                state = "new commit" if result.new_commit else "unchanged, no commit"
                echo(f"{plan.repo_id}: {result.commit_url} ({state}; tag {result.tag})")
        except SafedriftError as exc:
            failure = str(exc)
        except Exception as exc:  # noqa: BLE001 - turned into one sentence below, token scrubbed
            failure = _explain(exc, step, api.endpoint)
    if failure is not None:
        # Raised outside the except blocks, so no chained exception carries the unscrubbed original.
        raise PushError(scrub(failure, [token]))
    return results


def _explain(exc: Exception, step: str, endpoint: str) -> str:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    # huggingface_hub's HTTP client (httpx2 in 2.x, httpx in 1.x, requests before): its transport errors
    # mean the endpoint was not reached.
    transport: tuple[type[BaseException], ...] = (ConnectionError,)
    for module in ("httpx2", "httpx", "requests"):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        transport += (getattr(mod, "TransportError", None) or mod.exceptions.ConnectionError,)

    if isinstance(exc, OfflineModeIsEnabled):
        return (f"{step} failed: the Hub is offline (HF_HUB_OFFLINE is set); unset it and rerun, the local "
                "release is unchanged.")
    if isinstance(exc, transport):
        return (f"{step} failed: cannot reach the Hub at {endpoint} ({type(exc).__name__}); check the network "
                "or hub.endpoint and rerun, the local release is unchanged.")
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "an error"
        said = " ".join((exc.server_message or first).split()).rstrip(".")
        return f"{step} failed: the Hub answered {status} ({said}); check the token's write access and the org."
    return f"{step} failed: {type(exc).__name__}: {first.rstrip('.')}."


def _refuse_secret_in_files(plan: RepoPlan, token: str) -> None:
    needle = token.encode()
    for op in plan.operations:
        with open(op.path_or_fileobj, "rb") as fh:
            if needle in fh.read():
                raise PushError(f"{plan.name}/{op.path_in_repo} contains the Hub token; remove it and rebuild "
                                "the release before pushing.")


def _secure(api, plan: RepoPlan) -> None:
    """Gate (and make private) as configured, then read the settings back: the Hub's word, not ours."""
    if not plan.gated and not plan.private:
        return
    api.update_repo_settings(plan.repo_id, repo_type=REPO_TYPE, gated=plan.gated or None,
                             private=True if plan.private else None)
    info = api.dataset_info(plan.repo_id)
    if plan.gated and info.gated not in ("manual", "auto"):
        raise PushError(f"{plan.repo_id} is not gated on the Hub (gated={info.gated!r}) after asking for "
                        f"gated={plan.gated!r}, so SORRY-Bench-derived data is not uploaded; enable access "
                        "requests in the repository settings and rerun.")
    if plan.private and not info.private:
        raise PushError(f"{plan.repo_id} is still public after asking for a private repository, so nothing was "
                        "uploaded; make it private in the repository settings and rerun.")


def _same(remote, path: Path) -> bool:
    from huggingface_hub.utils.sha import git_hash

    from safedrift.core.files import sha256_file

    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == sha256_file(path)
    return remote.blob_id == git_hash(path.read_bytes())


def _commit_and_tag(api, plan: RepoPlan) -> PushResult:
    from huggingface_hub import CommitOperationDelete
    from huggingface_hub.hf_api import RepoFile

    refs = api.list_repo_refs(plan.repo_id, repo_type=REPO_TYPE)
    head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
    tag = next((t for t in refs.tags if t.name == plan.version), None)
    remote = {}
    if head is not None:
        remote = {f.path: f for f in api.list_repo_tree(plan.repo_id, repo_type=REPO_TYPE, recursive=True)
                  if isinstance(f, RepoFile)}
    local = {op.path_in_repo: Path(op.path_or_fileobj) for op in plan.operations}
    stale = sorted(p for p in remote if p not in local and p not in HUB_MANAGED)
    unchanged = not stale and all(_same(remote.get(p), path) for p, path in local.items())
    if tag is not None and not (unchanged and tag.target_commit == head):
        raise PushError(f"{plan.repo_id} already has tag {plan.version} on a different state than this release; "
                        "tags are never moved, so bump `version` in the release config and rebuild.")
    base = f"{api.endpoint}/{REPO_TYPE}s/{plan.repo_id}/commit"
    if unchanged:
        # No call at all: huggingface_hub would also drop a no-op commit, but only after preupload requests.
        commit, new = head, False
    else:
        deletes = [CommitOperationDelete(path_in_repo=p) for p in stale]
        info = api.create_commit(plan.repo_id, [*plan.operations, *deletes], repo_type=REPO_TYPE,
                                 commit_message=f"Release {plan.version}",
                                 commit_description=f"{len(local)} files from the safedrift release "
                                                    f"{plan.name}; {len(stale)} stale files removed.")
        commit, new = info.oid, info.oid != head
    if tag is None:
        api.create_tag(plan.repo_id, tag=plan.version, revision=commit, repo_type=REPO_TYPE,
                       tag_message=f"{plan.name} {plan.version}")
    return PushResult(repo_id=plan.repo_id, commit_url=f"{base}/{commit}", commit=str(commit), new_commit=new,
                      tag=plan.version)


def run_push(cfg: ReleaseConfig, *, org: str | None = None, yes: bool = False, endpoint: str | None = None,
             private: bool | None = None, release_dir: str | Path | None = None,
             echo: Callable[[str], None] = print) -> list[PushResult]:
    """Dry run (print the plan, send nothing) unless `yes`; then push. CLI values override `cfg.hub`."""
    endpoint = endpoint or cfg.hub.endpoint
    plans = plan_push(cfg, org, private=private, release_dir=release_dir)
    if not yes:
        echo(format_plan(plans, endpoint, token_source()))
        echo("dry run: nothing was sent; run without --dry-run (make: PUSH=1) to push.")
        return []
    token = preflight()
    echo(scrub(format_plan(plans, endpoint, token_source()), [token]))
    return push_plans(plans, token=token, endpoint=endpoint, echo=echo)
