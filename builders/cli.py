"""`python -m builders`: build the datasets, or run the whole release (build -> QA -> publish)."""

from __future__ import annotations

import argparse

from builders.config import load_release_config
from builders.errors import run_cli


def _config(args):
    cfg = load_release_config(args.config)
    overrides = {k: getattr(args, k) for k in ("work_dir", "output_dir") if getattr(args, k, None)}
    return cfg.model_copy(update=overrides) if overrides else cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m builders", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in [("release", "build, QA and write the local Hub-layout release"),
                        ("build", "sources -> translation -> per-language rows in the work dir")]:
        p = sub.add_parser(name, help=help_)
        p.add_argument("config", help="release config YAML, e.g. configs/release/sample.yaml")
        p.add_argument("--work-dir", dest="work_dir", help="override the config's work_dir")
        p.add_argument("--output-dir", dest="output_dir", help="override the config's output_dir")
        if name == "release":
            p.add_argument("--push", action="store_true",
                           help="after the local release, show the Hub push plan (dry run; add --yes to send)")
            p.add_argument("--hub-org", dest="hub_org", help="Hub org/user (overrides hub.org); also named in the cards")
            p.add_argument("--yes", action="store_true", help="with --push: really push to the Hub")
    p = sub.add_parser("install-argos", help="install argos packages from local .argosmodel files or the index")
    p.add_argument("files", nargs="*", help="local .argosmodel files (works offline)")
    p.add_argument("--pair", action="append", default=[], metavar="SRC-TGT",
                   help="download from the Argos index, e.g. --pair en-de --pair de-en (needs network)")
    p.add_argument("--packages-dir", help="argos packages folder (default: argostranslate's own)")
    p = sub.add_parser("engines", help="list translation engines and the language pairs they can do now")
    args = parser.parse_args(argv)

    if args.command == "install-argos":
        from builders.engines.argos import install_argos_package, install_from_index

        if not args.files and not args.pair:
            parser.error("install-argos needs .argosmodel files or --pair SRC-TGT")
        for f in args.files:
            print(install_argos_package(f, args.packages_dir))
        for pair in args.pair:
            src, _, tgt = pair.partition("-")
            print(install_from_index(src, tgt, args.packages_dir))
        return 0
    if args.command == "engines":
        return _list_engines()

    cfg = _config(args)
    org = getattr(args, "hub_org", None) or cfg.hub.org
    if args.command == "release":  # push mistakes surface before the long build, not after it
        if args.yes and not args.push:
            parser.error("--yes only pushes together with --push")
        if args.push and not org:
            parser.error("--push needs --hub-org ORG (make: HUB_ORG=ORG) or hub.org in the config")
        if args.push and args.yes:
            from cards.push import preflight

            preflight()
    from builders.build import run_build

    run_build(cfg)
    if args.command == "release":
        from cards.release import run_publish
        from validation.qa import run_qa

        run_qa(cfg)
        for name, path in run_publish(cfg, hub_org=org).items():
            print(f"{name}: {path}")
        if args.push:
            from cards.push import run_push

            run_push(cfg, org=org, yes=args.yes)
    return 0


def _list_engines() -> int:
    from builders.engines import engine_names, get_engine
    from builders.languages import LANGUAGES, SOURCE_LANGUAGE

    for name in engine_names():
        try:
            eng = get_engine(name)
        except Exception as exc:  # noqa: BLE001 - report and keep listing
            print(f"{name}: unavailable ({exc})")
            continue
        pairs = [c for c in LANGUAGES if c != SOURCE_LANGUAGE and eng.supports(SOURCE_LANGUAGE, c)]
        print(f"{name}: en -> {', '.join(pairs)}" if pairs else f"{name}: no en -> L model available")
    return 0


def entry() -> None:
    raise SystemExit(run_cli(main))
