"""`python -m builders build CONFIG`: the build stage alone (sources -> translations in the work dir);
also `engines` and `install-argos`. The whole release is `safedrift release CONFIG`."""

from __future__ import annotations

import argparse

from safedrift.core.errors import run_cli
from safedrift.core.overrides import add_set_argument


def add_build_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="release config YAML, e.g. configs/release/sample.yaml")
    p.add_argument("--work-dir", dest="work_dir", help="override the config's work_dir")
    p.add_argument("--output-dir", dest="output_dir", help="override the config's output_dir")
    add_set_argument(p, "translation.select=auto")


def add_install_argos_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", help="local .argosmodel files (works offline)")
    p.add_argument("--pair", action="append", default=[], metavar="SRC-TGT",
                   help="download from the Argos index, e.g. --pair en-de --pair de-en (needs network)")
    p.add_argument("--packages-dir", help="argos packages folder (default: argostranslate's own)")


def overrides(args: argparse.Namespace) -> dict:
    """The config keys the command line replaces: --work-dir, --output-dir and every --set KEY=VALUE."""
    from safedrift.core.overrides import parse_sets

    given = {k: v for k in ("work_dir", "output_dir") if (v := getattr(args, k, None))}
    return {**given, **parse_sets(getattr(args, "sets", None))}


def install_argos(args: argparse.Namespace) -> int:
    from builders.engines.argos import install_argos_package, install_from_index
    from safedrift.core.errors import ConfigError

    if not args.files and not args.pair:
        raise ConfigError("install-argos needs .argosmodel files or --pair SRC-TGT.")
    for f in args.files:
        print(install_argos_package(f, args.packages_dir))
    for pair in args.pair:
        src, _, tgt = pair.partition("-")
        print(install_from_index(src, tgt, args.packages_dir))
    return 0


def list_engines() -> int:
    from builders.engines import engine_names, get_engine
    from safedrift.core.languages import LANGUAGES, SOURCE_LANGUAGE

    for name in engine_names():
        try:
            eng = get_engine(name)
        except Exception as exc:  # noqa: BLE001 - report and keep listing
            print(f"{name}: unavailable ({exc})")
            continue
        others = [c for c in LANGUAGES if c != SOURCE_LANGUAGE]
        pairs = [c for c in others if eng.supports(SOURCE_LANGUAGE, c)]
        if pairs:
            print(f"{name}: en -> {', '.join(pairs)}")
        else:
            print(f"{name}: no en -> L model available; {eng.install_hint(SOURCE_LANGUAGE, others[0])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m builders", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_build_arguments(sub.add_parser("build", help="sources -> translation -> per-language rows in the work dir"))
    add_install_argos_arguments(sub.add_parser("install-argos", help="install argos packages (.argosmodel files "
                                                                     "or the index)"))
    sub.add_parser("engines", help="list translation engines and the language pairs they can do now")
    args = parser.parse_args(argv)
    if args.command == "install-argos":
        return install_argos(args)
    if args.command == "engines":
        return list_engines()
    from builders.build import run_build
    from builders.config import load_build_config
    from safedrift.core.errors import disk_errors
    from safedrift.core.files import work_lock

    cfg = load_build_config(args.config, overrides(args))
    with work_lock(cfg.work_path), disk_errors(cfg.work_path):  # as `safedrift build` (safedrift.release.build)
        print(run_build(cfg))
    return 0


def entry() -> None:
    raise SystemExit(run_cli(main))
