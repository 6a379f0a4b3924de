"""The argos engine: installed Argos Translate packages, run through CTranslate2 over the whole batch.

argostranslate's own translate() goes one paragraph at a time, re-splits sentences with MiniSBD/stanza and
batches 32 tokens at a time. We only use its package API (find and install packages) and then load the
package's CTranslate2 model (`<package>/model`) and SentencePiece model ourselves, so one translate_batch
call sees every segment with token-based batching. Segments arrive already split by builders.segments.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from builders.engines.ctranslate import DEFAULT_BATCH_TOKENS, thread_layout
from safedrift.core.errors import ConfigError, DataError, SafedriftError, missing_extra
from safedrift.core.languages import LANGUAGES

DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"

# argostranslate reads its settings (packages dir, index URL) once, at import; we patch those module
# globals for the duration of one call, one call at a time.
_SETTINGS_LOCK = threading.RLock()


def _argos_package_module():
    try:
        import argostranslate.package as package
    except ImportError:
        raise missing_extra("argostranslate", "argos") from None
    return package


@contextlib.contextmanager
def _argos_settings(**overrides) -> Iterator[Any]:
    package = _argos_package_module()
    settings = package.settings
    with _SETTINGS_LOCK:
        saved = {name: getattr(settings, name) for name in overrides}
        try:
            for name, value in overrides.items():
                setattr(settings, name, value)
            yield settings
        finally:
            for name, value in saved.items():
                setattr(settings, name, value)


def default_packages_dirs() -> list[Path]:
    """Where argostranslate looks for packages: $ARGOS_PACKAGES_DIR, settings.json, or its data dir."""
    return list(_argos_package_module().settings.package_dirs)


def _packages_dirs(packages_dir: str | os.PathLike | None) -> list[Path]:
    return [Path(packages_dir)] if packages_dir is not None else default_packages_dirs()


def installed_packages(packages_dir: str | os.PathLike | None = None) -> list:
    """argostranslate Package objects installed in packages_dir (or argos' default dirs)."""
    package = _argos_package_module()
    dirs = [d for d in _packages_dirs(packages_dir) if d.is_dir()]
    try:
        return package.get_installed_packages(path=dirs)
    except FileNotFoundError as exc:
        raise DataError(
            f"a folder in {', '.join(map(str, dirs))} is not an Argos package ({exc}); remove it."
        ) from None


def install_argos_package(path: str | os.PathLike, packages_dir: str | os.PathLike | None = None) -> Path:
    """Install a local .argosmodel file (offline) and return the installed package folder."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Argos package file not found: {path}.")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an .argosmodel file (a zip archive); download it again.")
    with zipfile.ZipFile(path) as zf:
        tops = {name.split("/", 1)[0] for name in zf.namelist() if name.strip("/")}
        if len(tops) != 1 or f"{next(iter(tops))}/metadata.json" not in zf.namelist():
            raise DataError(f"{path} is not an Argos package: expected one top folder with metadata.json.")
    target_dir = _packages_dirs(packages_dir)[0]
    target_dir.mkdir(parents=True, exist_ok=True)
    package = _argos_package_module()
    with _argos_settings(package_data_dir=target_dir):
        package.install_from_path(path)
    return target_dir / tops.pop()


def _index_url(index_url: str | None) -> str:
    if index_url:
        return index_url
    if os.environ.get("ARGOS_PACKAGE_INDEX"):
        return os.environ["ARGOS_PACKAGE_INDEX"].rstrip("/") + "/index.json"
    return DEFAULT_INDEX_URL


def install_from_index(
    source: str,
    target: str,
    packages_dir: str | os.PathLike | None = None,
    index_url: str | None = None,
    timeout: float = 5.0,
) -> Path:
    """Download the Argos package for source->target from the index and install it."""
    from_code, to_code = _code(source), _code(target)
    url = _index_url(index_url)
    offline = (
        f"download translate-{from_code}_{to_code}.argosmodel on a connected machine and install it with "
        "`safedrift install-argos FILE`."
    )
    # Checked first: offline, argostranslate's get_available_packages() recurses for ~50 s and then dies
    # with RecursionError.
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            pass
    except urllib.error.HTTPError as exc:  # the server answered: reachable, unless there is no index
        if exc.code == 404:
            raise SafedriftError(f"there is no Argos package index at {url} (HTTP 404); {offline}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SafedriftError(f"the Argos package index {url} is unreachable ({reason}); {offline}") from None
    package = _argos_package_module()
    with tempfile.TemporaryDirectory(prefix="safedrift-argos-") as tmp:
        with _argos_settings(
            remote_package_index=url, local_package_index=Path(tmp) / "index.json", downloads_dir=Path(tmp)
        ) as settings:
            package.update_package_index()
            if not Path(settings.local_package_index).exists():
                raise SafedriftError(f"could not download the Argos package index {url}; {offline}")
            candidates = [
                p
                for p in package.get_available_packages()
                if p.type == "translate" and p.from_code == from_code and p.to_code == to_code
            ]
            if not candidates:
                raise ConfigError(
                    f"the Argos index {url} has no {source}->{target} package; pick another engine."
                )
            best = max(candidates, key=lambda p: _version_key(p.package_version))
            try:
                downloaded = best.download()
            except Exception as exc:  # argostranslate raises bare Exception on a failed download
                raise SafedriftError(
                    f"downloading the Argos {source}->{target} package failed ({exc}); {offline}"
                ) from None
        return install_argos_package(downloaded, packages_dir)


class ArgosEngine:
    name = "argos"
    package = "argostranslate"
    card_note = ("the Argos Translate models are small CTranslate2 transformers trained on OPUS data; quality "
                 "varies a lot by language and is lowest for low-resource pairs.")

    def __init__(
        self,
        packages_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        beam_size: int = 4,
        max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
        inter_threads: int | None = None,
        intra_threads: int | None = None,
        compute_type: str = "auto",
        max_decoding_length: int = 512,
    ):
        self.packages_dir = Path(packages_dir) if packages_dir is not None else None
        self.device = device
        self.beam_size = beam_size
        self.max_batch_tokens = max_batch_tokens
        # None: the layout for this machine (builders.engines.ctranslate.thread_layout).
        self.inter_threads, self.intra_threads = thread_layout(device, inter_threads, intra_threads)
        self.compute_type = compute_type
        self.max_decoding_length = max_decoding_length
        self._loaded: dict[tuple[str, str], tuple[object, object, object]] = {}
        self._lock = threading.Lock()

    def _package(self, source: str, target: str):
        from_code, to_code = _code(source), _code(target)
        found = [
            p
            for p in installed_packages(self.packages_dir)
            if p.type == "translate" and p.from_code == from_code and p.to_code == to_code
        ]
        return max(found, key=lambda p: _version_key(p.package_version)) if found else None

    def _require_package(self, source: str, target: str):
        pkg = self._package(source, target)
        if pkg is None:
            raise ConfigError(
                f"no Argos package for {source}->{target} is installed; {self.install_hint(source, target)}"
            )
        return pkg

    def model_id(self, source: str, target: str) -> str:
        pkg = self._require_package(source, target)
        code = pkg.code or f"translate-{pkg.from_code}_{pkg.to_code}"
        return f"{code}-{pkg.package_version}"

    def supports(self, source: str, target: str) -> bool:
        return self._package(source, target) is not None

    def install_hint(self, source: str, target: str) -> str:
        dest = f" --packages-dir {self.packages_dir}" if self.packages_dir else ""
        return (
            f"install one with `safedrift install-argos --pair {source}-{target}{dest}` when online, "
            f"or offline from a local translate-{_code(source)}_{_code(target)}.argosmodel file with "
            f"`safedrift install-argos FILE{dest}`."
        )

    def _load(self, source: str, target: str):
        with self._lock:
            if (source, target) not in self._loaded:
                try:
                    import ctranslate2
                    import sentencepiece
                except ImportError:
                    raise missing_extra("ctranslate2/sentencepiece", "argos") from None
                pkg = self._require_package(source, target)
                sp_path = Path(pkg.package_path) / "sentencepiece.model"
                if not sp_path.is_file():
                    raise ConfigError(
                        f"Argos package {pkg.package_path} has no sentencepiece.model (BPE packages are not "
                        "supported by this engine); install a newer package for the pair."
                    )
                translator = ctranslate2.Translator(
                    str(Path(pkg.package_path) / "model"),
                    device=self.device,
                    inter_threads=self.inter_threads,
                    intra_threads=self.intra_threads,
                    compute_type=self.compute_type,
                )
                sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
                self._loaded[(source, target)] = (pkg, translator, sp)
            return self._loaded[(source, target)]

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        out = list(segments)
        todo = [i for i, s in enumerate(segments) if s.strip()]
        if not todo:
            return out
        pkg, translator, sp = self._load(source, target)
        tokens = [sp.encode(segments[i], out_type=str) for i in todo]
        prefix = pkg.target_prefix or None
        results = translator.translate_batch(
            tokens,
            target_prefix=[[prefix]] * len(tokens) if prefix else None,
            max_batch_size=self.max_batch_tokens,
            batch_type="tokens",
            beam_size=self.beam_size,
            max_decoding_length=self.max_decoding_length,
            replace_unknowns=True,
            length_penalty=0.2,  # argostranslate's value
        )
        for i, result in zip(todo, results, strict=True):
            hyp = list(result.hypotheses[0])
            if prefix and hyp and hyp[0] == prefix:
                hyp = hyp[1:]
            # Not argostranslate's decode: it also turns "_" into " ", which would break identifiers and the
            # _N_ sentinels of builders.segments.
            out[i] = sp.decode_pieces(hyp).strip()
        return out


def _version_key(version: str):
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)


def _code(code: str) -> str:
    lang = LANGUAGES.get(code)
    return lang.engine_code("argos") if lang else code
