"""The Hub push (cards/push.py) against a local Hub stand-in: the plan, gating first, one commit, the tag,
no-op re-push, token redaction and offline failure. huggingface_hub's own HfApi does every request."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import socket
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from huggingface_hub import DatasetCard, DatasetCardData
from support.fake_hub import FakeHub
from support.tiny_release import write_release
from support.tiny_xstest import write_xstest

from cards.config import ReleaseConfig, load_release_config
from cards.push import PushError, TokenRedactor, plan_push, redact_secret, resolve_token, run_push
from safedrift.core.errors import ConfigError, DataError

TOKEN = "hf_TestTokenNeverPrinted0123456789"
VERSION = "1.2.0"
ORG = "testorg"
BENIGN, SORRY, XSTEST = "Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"
NAMES = (BENIGN, SORRY, XSTEST)


def _card(name: str, splits: list[str], sorry: bool, gating_terms: bool = True,
          license_: str = "apache-2.0", source_datasets: tuple[str, ...] = ("original",)) -> str:
    extra = {}
    if sorry and gating_terms:
        extra = {"extra_gated_prompt": "Agree to the SORRY-Bench terms of use before access.",
                 "extra_gated_fields": {"Name": "text", "I agree to the terms": "checkbox"}}
    data = DatasetCardData(
        pretty_name=name, language=["en", "pt"], license="other" if sorry else license_,
        multilinguality="translation", annotations_creators=["machine-generated"],
        source_datasets=["sorry-bench/sorry-bench-202503"] if sorry else list(source_datasets),
        task_categories=["text-generation"], size_categories="n<1K", version=VERSION,
        configs=[{"config_name": lang, "data_files": [{"split": s, "path": f"data/{lang}/{s}-*.parquet"}
                                                      for s in splits]} for lang in ("en", "pt")],
        **extra,
    )
    body = f"# {name}\n\n```python\nload_dataset(\"{ORG}/{name}\", \"pt\")\n```\n"
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def _config(root: Path, **hub) -> ReleaseConfig:
    return ReleaseConfig.model_validate({
        "name": "tiny", "version": VERSION, "languages": ["en", "pt"], "output_dir": str(root),
        "benign": {"sources": [{"name": "sample", "path": "unused.jsonl"}]}, "hub": {"org": ORG, **hub},
    })


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def release(tmp_path, isolated_home, monkeypatch) -> Path:
    """The tiny release (three datasets) with complete cards (gated for SORRY) and qa/report.json, as
    `make release` writes."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    # huggingface_hub read these at import: no stored login from the real home, online for the stand-in,
    # and no telemetry fetch of its agent registry from huggingface.co.
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(_detect_agent, "_registry", {"standardEnvVars": [], "harnesses": {}}, raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    root = tmp_path / "release"
    benign, sorry = write_release(root)
    xstest = write_xstest(root)
    (benign / "README.md").write_text(_card(BENIGN, ["train", "test"], sorry=False), encoding="utf-8")
    (sorry / "README.md").write_text(_card(SORRY, ["test"], sorry=True), encoding="utf-8")
    (xstest / "README.md").write_text(_card(XSTEST, ["test"], sorry=False, license_="cc-by-4.0",
                                            source_datasets=("extended|walledai/XSTest",)), encoding="utf-8")
    for folder in (benign, sorry, xstest):
        (folder / "qa").mkdir()
        (folder / "qa" / "report.json").write_text(json.dumps({"version": VERSION}), encoding="utf-8")
    return root


def _local_files(folder: Path) -> dict[str, tuple[int, str]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dry_run_prints_every_file_and_sends_nothing(release):
    out: list[str] = []
    with FakeHub(TOKEN) as hub:
        results = run_push(_config(release, endpoint=hub.url), echo=out.append)
    text = "\n".join(out)
    assert results == [] and hub.requests == []
    for name in NAMES:
        files = _local_files(release / name)
        assert len(files) == (6 if name == BENIGN else 4)  # 4 or 2 parquet shards + README + qa report
        for path, (size, sha) in files.items():
            assert f"  {path}  {size} bytes  sha256:{sha}" in text
    assert f"dataset repo {ORG}/{BENIGN}: private=False gated=no tag={VERSION}" in text
    assert f"dataset repo {ORG}/{SORRY}: private=False gated=manual tag={VERSION}" in text
    assert f"dataset repo {ORG}/{XSTEST}: private=False gated=no tag={VERSION}" in text
    assert text.count("dataset repo ") == 3
    assert "token: HF_TOKEN" in text and TOKEN not in text
    assert "dry run: nothing was sent" in text


def test_push_gates_first_commits_every_file_and_tags(release):
    out: list[str] = []
    with FakeHub(TOKEN) as hub:
        results = run_push(_config(release, endpoint=hub.url, gated="auto"), yes=True, echo=out.append)
    assert [r.repo_id for r in results] == [f"{ORG}/{BENIGN}", f"{ORG}/{SORRY}", f"{ORG}/{XSTEST}"]
    assert all(r.new_commit for r in results)
    for name in NAMES:
        repo = hub.repos[f"{ORG}/{name}"]
        [payload] = hub.commit_payloads(f"{ORG}/{name}")
        sent = {item["value"]["path"]: base64.b64decode(item["value"]["content"]) for item in payload
                if item["key"] == "file"}
        assert {p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in sent.items()} == _local_files(release / name)
        assert payload[0] == {"key": "header", "value": {"summary": f"Release {VERSION}",
                                                         "description": payload[0]["value"]["description"]}}
        assert repo.tags == {VERSION: repo.head} and len(repo.commits) == 1
        assert f"{hub.url}/datasets/{ORG}/{name}/commit/{repo.head}" in "\n".join(out)
    sorry, benign, xstest = (hub.repos[f"{ORG}/{n}"] for n in (SORRY, BENIGN, XSTEST))
    assert sorry.gated == "auto" and benign.gated is False and xstest.gated is False
    # only the gated dataset's repository gets a settings call
    assert [r.path for r in hub.calls("PUT")] == [f"/api/datasets/{ORG}/{SORRY}/settings"]
    paths = [(r.method, r.path) for r in hub.requests]
    settings = paths.index(("PUT", f"/api/datasets/{ORG}/{SORRY}/settings"))
    assert hub.requests[settings].body == {"gated": "auto"}
    first_upload = min(i for i, (m, p) in enumerate(paths) if "/preupload/" in p or "/commit/" in p)
    assert settings < first_upload
    # the gating was read back from the Hub between the settings call and any upload
    assert ("GET", f"/api/datasets/{ORG}/{SORRY}") in paths[settings:first_upload]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in hub.requests)


def test_ungated_sorry_repo_is_refused_before_any_upload(release):
    before = _snapshot(release)
    with FakeHub(TOKEN, honour_gating=False) as hub, pytest.raises(PushError) as err:
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
    assert f"{ORG}/{SORRY} is not gated on the Hub" in str(err.value)
    assert not hub.calls(contains="/preupload/") and not hub.calls(contains="/commit/")
    assert not hub.calls(contains="/api/validate-yaml") and not hub.calls(contains="/tag/")
    assert all(not repo.files for repo in hub.repos.values())
    assert _snapshot(release) == before


def test_card_without_gating_terms_is_refused_even_in_a_dry_run(release):
    (release / SORRY / "README.md").write_text(_card(SORRY, ["test"], sorry=True, gating_terms=False))
    with FakeHub(TOKEN) as hub, pytest.raises(PushError, match="lacks extra_gated_prompt"):
        run_push(_config(release, endpoint=hub.url), echo=lambda _: None)
    assert hub.requests == []


def test_placeholder_org_in_card_is_refused(release):
    readme = release / BENIGN / "README.md"
    readme.write_text(readme.read_text().replace(f"{ORG}/", "<org>/"), encoding="utf-8")
    with pytest.raises(PushError, match="is a local card"):
        plan_push(_config(release))


def test_local_card_is_refused(release):
    from cards.card import LOCAL_BANNER

    readme = release / BENIGN / "README.md"
    readme.write_text(readme.read_text() + "\n" + LOCAL_BANNER + "\n", encoding="utf-8")
    with pytest.raises(PushError, match="built without an org"):
        plan_push(_config(release))


def test_card_built_for_another_org_is_refused(release):
    with pytest.raises(PushError, match=f"built for another repository than someone-else/{BENIGN}"):
        plan_push(_config(release), org="someone-else")


def test_version_mismatch_between_release_and_config_is_refused(release):
    cfg = _config(release).model_copy(update={"version": "2.0.0"})
    with pytest.raises(DataError, match="built as version 1.2.0 .* config says 2.0.0"):
        plan_push(cfg)


def test_unchanged_release_second_push_makes_no_commit(release):
    out: list[str] = []
    with FakeHub(TOKEN) as hub:
        cfg = _config(release, endpoint=hub.url)
        run_push(cfg, yes=True, echo=out.append)
        heads = {rid: (repo.head, dict(repo.tags)) for rid, repo in hub.repos.items()}
        n = len(hub.requests)
        again = run_push(cfg, yes=True, echo=out.append)
    second = hub.requests[n:]
    assert [r.new_commit for r in again] == [False, False, False]
    assert not [r for r in second if "/commit/" in r.path or "/preupload/" in r.path or "/tag/" in r.path]
    assert {rid: (repo.head, repo.tags) for rid, repo in hub.repos.items()} == heads
    assert "unchanged, no commit" in out[-1]


def test_changed_release_under_an_existing_tag_is_refused_and_stale_files_are_deleted(release):
    with FakeHub(TOKEN) as hub:
        extra = release / BENIGN / "notes.txt"
        extra.write_text("first release only\n", encoding="utf-8")
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
        extra.unlink()
        n = len(hub.requests)
        with pytest.raises(PushError, match=f"already has tag {VERSION}.*bump `version`"):
            run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
        assert not [r for r in hub.requests[n:] if "/commit/" in r.path]
        # a new version: the file the release no longer has is deleted in the same commit
        for folder in (release / name for name in NAMES):
            for path in (folder / "README.md", folder / "qa" / "report.json"):
                path.write_text(path.read_text().replace(VERSION, "1.3.0"), encoding="utf-8")
        cfg = _config(release, endpoint=hub.url).model_copy(update={"version": "1.3.0"})
        run_push(cfg, yes=True, echo=lambda _: None)
    payload = hub.commit_payloads(f"{ORG}/{BENIGN}")[-1]
    assert {"key": "deletedFile", "value": {"path": "notes.txt"}} in payload
    repo = hub.repos[f"{ORG}/{BENIGN}"]
    assert "notes.txt" not in repo.files and set(repo.tags) == {VERSION, "1.3.0"}
    assert repo.tags[VERSION] == repo.commits[0] and repo.tags["1.3.0"] == repo.head


def test_token_never_appears_in_logs_output_or_errors(release, caplog, capfd):
    hf_logger = logging.getLogger("huggingface_hub")
    old_level = hf_logger.level
    hf_logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    out: list[str] = []
    try:
        # echo_token: the stand-in quotes the Authorization header in a warning and in the commit refusal
        with FakeHub(TOKEN, echo_token=True) as hub, pytest.raises(PushError) as err:
            run_push(_config(release, endpoint=hub.url), yes=True, echo=out.append)
    finally:
        hf_logger.setLevel(old_level)
    captured = capfd.readouterr()
    messages = [rec.getMessage() for rec in caplog.records]
    assert any("metadata checked for Bearer ***" in m for m in messages)  # the echoed token, scrubbed
    assert any("Request" in m and "/api/repos/create" in m for m in messages)  # DEBUG lines were captured
    assert "write access denied for Bearer ***" in str(err.value)
    assert str(err.value).count("\n") == 0 and err.value.__context__ is None and err.value.__cause__ is None
    for text in [str(err.value), caplog.text, *messages, captured.out, captured.err, *out]:
        assert TOKEN not in text
    # the filter is gone afterwards and does not swallow records
    logging.getLogger("cards.test").warning("plain %s", "record")
    assert caplog.records[-1].getMessage() == "plain record"


def test_redactor_scrubs_message_arguments_and_tracebacks(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    with redact_secret(TOKEN):
        logging.getLogger("huggingface_hub.hf_api").debug("header Bearer %s sent", TOKEN)
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logging.getLogger("some.library").exception("failed")
    assert caplog.records[-2].getMessage() == "header Bearer *** sent"
    assert TOKEN not in caplog.text and "bad token ***" in caplog.text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s b", (TOKEN,), None)
    assert TokenRedactor([TOKEN]).filter(record) and record.getMessage() == "a *** b"


def test_offline_push_fails_in_one_sentence_and_leaves_the_release_intact(release, monkeypatch):
    before = _snapshot(release)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with FakeHub(TOKEN) as hub, pytest.raises(PushError) as err:
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
    message = str(err.value)
    assert message.startswith("cannot push while the Hub is offline") and "\n" not in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert hub.requests == [] and _snapshot(release) == before


def test_unreachable_endpoint_fails_in_one_sentence(release):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _snapshot(release)
    with pytest.raises(PushError) as err:
        run_push(_config(release, endpoint=f"http://127.0.0.1:{port}"), yes=True, echo=lambda _: None)
    message = str(err.value)
    assert message.startswith(f"creating {ORG}/{BENIGN} failed: cannot reach the Hub at http://127.0.0.1:{port}")
    assert "\n" not in message and TOKEN not in message
    assert _snapshot(release) == before


def test_token_from_the_stored_login_when_hf_token_is_unset(release, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN")
    Path(constants.HF_TOKEN_PATH).parent.mkdir(parents=True)
    Path(constants.HF_TOKEN_PATH).write_text(TOKEN)
    assert resolve_token() == TOKEN
    with FakeHub(TOKEN) as hub:
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
    assert hub.requests and all(r.authorization == f"Bearer {TOKEN}" for r in hub.requests)


def test_private_repositories_are_created_and_verified_private(release):
    with FakeHub(TOKEN) as hub:
        run_push(_config(release, endpoint=hub.url, private=True), yes=True, echo=lambda _: None)
    creates = [r.body for r in hub.calls("POST", "/api/repos/create")]
    assert [c["visibility"] for c in creates] == ["private", "private", "private"]
    assert hub.calls("PUT", f"/{SORRY}/settings")[0].body == {"gated": "manual", "visibility": "private"}
    assert all(repo.private for repo in hub.repos.values())


def test_a_release_file_holding_the_token_is_refused(release):
    report = release / BENIGN / "qa" / "report.json"
    report.write_text(json.dumps({"version": VERSION, "note": TOKEN}), encoding="utf-8")
    with FakeHub(TOKEN) as hub, pytest.raises(PushError) as err:
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
    assert str(err.value) == (f"{BENIGN}/qa/report.json contains the Hub token; remove it and rebuild the release "
                              "before pushing.")
    assert hub.requests == []


def test_missing_token_names_both_sources(release, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PushError, match=r"set HF_TOKEN or log in once with `hf auth login`"):
        resolve_token()
    with FakeHub(TOKEN) as hub, pytest.raises(PushError, match="HF_TOKEN"):
        run_push(_config(release, endpoint=hub.url), yes=True, echo=lambda _: None)
    assert hub.requests == []


def test_hub_config_section_and_missing_org(tmp_path, release):
    path = tmp_path / "cfg.yaml"
    base = {"languages": ["pt"], "benign": {"sources": [{"name": "sample", "path": "x.jsonl"}]}}
    path.write_text(yaml.safe_dump({**base, "hub": {"org": "me", "private": True, "gated": "auto",
                                                    "endpoint": "http://hub.local"}}))
    hub = load_release_config(path).hub
    assert (hub.org, hub.private, hub.gated, hub.endpoint) == ("me", True, "auto", "http://hub.local")
    path.write_text(yaml.safe_dump({**base, "hub": {"gated": "no"}}))
    with pytest.raises(ConfigError, match="hub.gated"):
        load_release_config(path)
    cfg = _config(release).model_copy(update={"hub": _config(release).hub.model_copy(update={"org": None})})
    with pytest.raises(ConfigError, match="pass --hub-org ORG"):
        plan_push(cfg)
    assert plan_push(cfg, ORG)[0].repo_id == f"{ORG}/{BENIGN}"


def test_cli_dry_run_then_push(release, tmp_path, isolated_env):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({"version": VERSION, "languages": ["en", "pt"], "output_dir": str(release),
                                      "benign": {"sources": [{"name": "sample", "path": "x.jsonl"}]}}))
    with FakeHub(TOKEN) as hub:
        # HF_ENDPOINT (huggingface_hub's default endpoint) is the stand-in: nothing can reach huggingface.co
        env = {**isolated_env, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN, "HF_ENDPOINT": hub.url}
        dry = run_cli(["safedrift", "push", str(config), "--hub-org", ORG, "--dry-run"], env, timeout=300)
        assert dry.returncode == 0, dry.stderr[-2000:]
        assert hub.requests == []
        real = run_cli(["safedrift", "push", str(config), "--hub-org", ORG], env, timeout=300)
    assert real.returncode == 0, real.stderr[-2000:]
    assert "README.md" in dry.stdout and "dry run: nothing was sent" in dry.stdout
    for name in NAMES:
        assert f"{ORG}/{name}: {hub.url}/datasets/{ORG}/{name}/commit/{hub.repos[f'{ORG}/{name}'].head}" in real.stdout
    assert hub.repos[f"{ORG}/{SORRY}"].gated == "manual"
    assert TOKEN not in dry.stdout + dry.stderr + real.stdout + real.stderr
