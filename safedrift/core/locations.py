"""Where things are, found in one place: the configs and data shipped inside the package, the user's cache,
and the source checkout the package runs from (when it runs from one).

Nothing else in the project computes a location from `__file__` or assumes the working directory is the
checkout. A relative path in a config belongs to the user and is taken from the working folder, where outputs
(release/, runs/, build/) go; only an input that is not there and names a file shipped with the package
(data/sample/benign.jsonl) is read from the package, so a shipped config runs from an empty folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from safedrift.core.errors import ConfigError
from safedrift.core.registry import did_you_mean

# The `safedrift` package folder.
PACKAGE = Path(__file__).resolve().parents[1]
# safedrift/shipped/configs and safedrift/shipped/data are symbolic links to the repository's configs/ and
# data/, which stay at the root where the layout puts them. An editable install (and the source tree) reads
# the repository's files through the links; building a wheel copies the files they hold that pyproject.toml
# lists as package data, so an installed wheel finds the same files at the same place. One path for both.
SHIPPED = PACKAGE / "shipped"
# The commands whose CONFIG may be a shipped config's name: configs/<kind>/<name>.yaml.
CONFIG_KINDS = ("release", "bench")


def shipped_configs(kind: str) -> dict[str, Path]:
    """name -> file of the configs shipped for a command (`release` or `bench`)."""
    if kind not in CONFIG_KINDS:
        raise ValueError(f"no shipped configs of kind {kind!r}; kinds: {', '.join(CONFIG_KINDS)}")
    return {p.stem: p for p in sorted((SHIPPED / "configs" / kind).glob("*.yaml"))}


def config_path(value: str, kind: str) -> Path:
    """A command's CONFIG argument: an existing file as given, else the shipped config of that name
    (`safedrift release sample` is configs/release/sample.yaml, wherever the package is installed)."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    shipped = shipped_configs(kind)
    if value in shipped:
        return shipped[value]
    if path.suffix or len(path.parts) > 1:
        return path  # a path, not a name: the config loader says it is not there
    raise ConfigError(f"{value!r} is neither a config file nor a shipped {kind} config;{did_you_mean(value, shipped)} "
                      f"give a YAML file's path or one of: {', '.join(shipped) or 'none shipped'}.")


def input_path(value: str | os.PathLike) -> Path:
    """An input file named in a config: as given (a relative path from the working folder); a relative path
    that is not there but is a file shipped with the package (data/sample/...) is the shipped file."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists() or ".." in path.parts:
        return path
    shipped = SHIPPED / path
    return shipped if shipped.is_file() else path


def sample_data() -> Path:
    """The demo data written for the toolkit (data/sample), as shipped with the package."""
    return SHIPPED / "data" / "sample"


def cache_dir() -> Path:
    """The user's cache (downloaded model wheels, unpacked and dequantized models, file hashes):
    $SAFEDRIFT_CACHE, else $XDG_CACHE_HOME/safedrift, else ~/.cache/safedrift. Read at each call, so a changed
    environment (a test's isolated home) applies."""
    if env := os.environ.get("SAFEDRIFT_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "safedrift"


def source_checkout() -> Path | None:
    """The source checkout the package is imported from (an editable install, or the tree itself on sys.path);
    None for an installed wheel, which has no pyproject.toml beside its package."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() else None


def side_venv_root() -> Path:
    """Where the environments `make comet-env` and `make vllm-env` create (.venv-comet, .venv-vllm) are looked
    for when a config names them by a relative path that is not under the working folder: the source checkout,
    else (an installed wheel) the working folder."""
    return source_checkout() or Path.cwd()


def side_venv_python(value: str) -> Path:
    """A side environment's python named in a config: absolute, or relative to the working folder when there,
    else relative to side_venv_root()."""
    path = Path(value).expanduser()
    # abspath, not resolve(): a venv's python is a symlink, and resolving it would leave the venv.
    if path.is_absolute() or path.exists():
        return Path(os.path.abspath(path))
    return side_venv_root() / path


# --- `safedrift configs`: the shipped configs listed and copied --------------------------------------------

# A config's first comment lines name the command that runs it; these begin such a line (or its continuation).
_COMMAND_STARTS = ("make ", "python ", "safedrift ", ".venv/", "(or:", "(same as")


def config_description(path: Path, width: int = 90) -> str:
    """A shipped config's one-line description: the first sentence of its opening comment, after the command
    line, cut to `width` characters."""
    paragraphs: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text:
            paragraphs.append([])
        elif not text.startswith(_COMMAND_STARTS):
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])  # a command after prose ends the paragraph
    prose = next((" ".join(p) for p in paragraphs if p), "")
    sentence = prose.split(". ")[0].rstrip(".")
    if len(sentence) > width:
        sentence = sentence[: width - 1].rsplit(" ", 1)[0] + "…"
    return sentence


def find_shipped_config(name: str) -> tuple[str, Path]:
    """`kind/name` (release/sample) or a name shipped for one kind only -> (kind/name, file)."""
    every = {f"{kind}/{stem}": path for kind in CONFIG_KINDS for stem, path in shipped_configs(kind).items()}
    if name in every:
        return name, every[name]
    matches = [full for full in every if full.partition("/")[2] == name]
    if len(matches) == 1:
        return matches[0], every[matches[0]]
    if matches:
        raise ConfigError(f"{name!r} is shipped as {' and '.join(matches)}; name one of them.")
    raise ConfigError(f"no shipped config {name!r};{did_you_mean(name, every)} `safedrift configs` lists them.")


def copy_shipped_config(name: str, dest: str | os.PathLike) -> Path:
    """Copy a shipped config to `dest` (a file, or an existing folder to copy it into) to edit; never overwrites."""
    full, src = find_shipped_config(name)
    target = Path(dest).expanduser()
    if target.is_dir():
        target = target / src.name
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another destination or remove it first.")
    if target.suffix not in {".yaml", ".yml"}:
        raise ConfigError(f"{target}: a config's file name ends in .yaml; name it e.g. {target.name}.yaml.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    return target
