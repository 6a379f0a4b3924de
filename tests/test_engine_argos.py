"""The argos engine on a tiny real package: install through argostranslate, translate through CTranslate2."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import zipfile

import pytest
from support.tiny_argos import build_tiny_argosmodel

from builders.engines import get_engine
from builders.engines.argos import install_argos_package, install_from_index, installed_packages
from safedrift.core.errors import ConfigError, DataError, SafedriftError

pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture
def packages_dir(tmp_path):
    path = tmp_path / "argos-packages"
    install_argos_package(build_tiny_argosmodel(tmp_path / "dl", "en", "de"), path)
    return path


def _engine(packages_dir, **options):
    return get_engine("argos", packages_dir=packages_dir, beam_size=2, max_decoding_length=16, **options)


def test_package_is_installed_through_argostranslate(packages_dir):
    import argostranslate.package

    found = argostranslate.package.get_installed_packages(path=[packages_dir])
    assert [(p.from_code, p.to_code, p.package_version) for p in found] == [("en", "de", "1.0")]
    assert (packages_dir / "translate-en_de-1_0" / "model" / "model.bin").is_file()
    assert (packages_dir / "translate-en_de-1_0" / "sentencepiece.model").is_file()


def test_engine_translates_every_segment(packages_dir):
    engine = _engine(packages_dir)
    assert engine.supports("en", "de") and not engine.supports("en", "fr") and not engine.supports("de", "en")
    assert engine.model_id("en", "de") == "translate-en_de-1.0"
    segments = ["Hello world.", "", "The river runs past the old mill.", "  ", "你好，世界"]
    out = engine.translate_batch(segments, "en", "de")
    assert len(out) == len(segments)
    assert all(isinstance(s, str) for s in out)
    assert out[1] == "" and out[3] == "  "
    assert out[0] and out[2] and out[0] != segments[0]
    # CTranslate2 sorts and re-batches by tokens internally: a tiny token budget gives the same outputs.
    assert _engine(packages_dir, max_batch_tokens=8).translate_batch(segments, "en", "de") == out


def test_highest_installed_version_wins_and_target_prefix_is_honoured(tmp_path):
    import ctranslate2
    import sentencepiece

    packages = tmp_path / "pk"
    install_argos_package(build_tiny_argosmodel(tmp_path / "dl", "en", "de", version="1.0"), packages)
    # eos_bias=0: without it this random model stops right after the prefix token.
    install_argos_package(
        build_tiny_argosmodel(
            tmp_path / "dl", "en", "de", version="1.10", target_prefix="__de__", eos_bias=0.0
        ),
        packages,
    )
    engine = _engine(packages)
    assert engine.model_id("en", "de") == "translate-en_de-1.10"
    texts = ["Hello world.", "Keep the answer short."]
    out = engine.translate_batch(texts, "en", "de")

    pkg_dir = packages / "translate-en_de-1_10"
    sp = sentencepiece.SentencePieceProcessor(model_file=str(pkg_dir / "sentencepiece.model"))
    raw = ctranslate2.Translator(str(pkg_dir / "model"), compute_type="auto").translate_batch(
        [sp.encode(t, out_type=str) for t in texts],
        target_prefix=[["__de__"]] * 2,
        beam_size=2,
        max_decoding_length=16,
        length_penalty=0.2,
        replace_unknowns=True,
    )
    hyps = [r.hypotheses[0] for r in raw]
    assert all(h[0] == "__de__" and len(h) > 1 for h in hyps)
    assert out == [sp.decode_pieces(h[1:]).strip() for h in hyps]
    assert all(o and "__de__" not in o for o in out)


def test_missing_pair_and_missing_dir_are_clear(tmp_path, packages_dir):
    engine = _engine(packages_dir)
    with pytest.raises(ConfigError, match="no Argos package for en->fr is installed; install one with"):
        engine.translate_batch(["Hello."], "en", "fr")
    assert not _engine(tmp_path / "does-not-exist").supports("en", "de")
    assert installed_packages(tmp_path / "does-not-exist") == []


def test_bad_package_files_are_data_errors(tmp_path):
    not_zip = tmp_path / "x.argosmodel"
    not_zip.write_text("hello")
    with pytest.raises(DataError, match="not an .argosmodel file"):
        install_argos_package(not_zip, tmp_path / "pk")
    no_meta = tmp_path / "y.argosmodel"
    with zipfile.ZipFile(no_meta, "w") as zf:
        zf.writestr("pkg/readme.txt", "no metadata")
    with pytest.raises(DataError, match="one top folder with metadata.json"):
        install_argos_package(no_meta, tmp_path / "pk")
    with pytest.raises(DataError, match="not found"):
        install_argos_package(tmp_path / "missing.argosmodel", tmp_path / "pk")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_install_from_index_offline_names_the_local_file_alternative(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/index.json"  # nothing listens there
    with pytest.raises(SafedriftError, match=r"unreachable .*safedrift install-argos FILE"):
        install_from_index("en", "de", packages_dir=tmp_path / "pk", index_url=url, timeout=2)
    assert not (tmp_path / "pk").exists()


@pytest.fixture
def local_index(tmp_path):
    """A package index served over HTTP from 127.0.0.1, in argos' index.json format."""
    root = tmp_path / "index"
    root.mkdir()
    model = build_tiny_argosmodel(root, "en", "de", version="2.0")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with zipfile.ZipFile(model) as zf:
        metadata = json.loads(zf.read("translate-en_de-2_0/metadata.json"))
    metadata["links"] = [f"{base}/{model.name}"]
    (root / "index.json").write_text(json.dumps([metadata]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{base}/index.json"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_install_from_index_downloads_and_installs(tmp_path, local_index):
    packages = tmp_path / "pk"
    installed = install_from_index("en", "de", packages_dir=packages, index_url=local_index)
    assert installed == packages / "translate-en_de-2_0"
    engine = _engine(packages)
    assert engine.model_id("en", "de") == "translate-en_de-2.0"
    assert len(engine.translate_batch(["Hello world."], "en", "de")) == 1
    with pytest.raises(ConfigError, match="has no en->fr package"):
        install_from_index("en", "fr", packages_dir=packages, index_url=local_index)


def test_thread_layout_for_this_machine(monkeypatch, packages_dir):
    from builders.engines import ctranslate

    for cores, layout in [(1, (1, 1)), (2, (2, 1)), (4, (4, 1)), (8, (2, 4)), (16, (4, 4))]:
        monkeypatch.setattr(ctranslate, "available_cores", lambda cores=cores: cores)
        assert ctranslate.thread_layout("cpu", None, None) == layout
    assert ctranslate.thread_layout("cpu", 3, None) == (3, 4)  # explicit values are kept
    assert ctranslate.thread_layout("cpu", None, 2) == (8, 2)
    assert ctranslate.thread_layout("cuda", None, None) == (1, 0)
    monkeypatch.setattr(ctranslate, "available_cores", lambda: 2)
    engine = _engine(packages_dir)
    assert (engine.inter_threads, engine.intra_threads, engine.max_batch_tokens) == (2, 1, 2048)
    explicit = _engine(packages_dir, inter_threads=1, intra_threads=2)
    assert (explicit.inter_threads, explicit.intra_threads) == (1, 2)
