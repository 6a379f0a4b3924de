"""The `safedrift` command as a user meets it: --version, the shipped configs listed and copied, --set overrides
(validated with the file, recorded), `bench --help` naming every form, shell completion, one dispatch table."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from safedrift.cli import COMMANDS, build_parser, main
from safedrift.core.errors import ConfigError
from safedrift.core.locations import config_path, shipped_configs
from safedrift.core.overrides import apply_overrides, parse_sets


def test_version_is_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"safedrift {version('safedrift')}"


def test_configs_lists_every_shipped_config_with_its_description(capsys):
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line.split(None, 1)[1] for line in lines if line.startswith(("bench/", "release/"))}
    expected = {f"{kind}/{name}" for kind in ("release", "bench") for name in shipped_configs(kind)}
    assert set(listed) == expected and "bench/sample" in listed and "release/full" in listed
    # the first sentence after the command line, never the command itself
    assert listed["bench/sample"].startswith("The embedded default: SmolLM2-135M-Instruct")
    assert listed["release/full"].startswith("The full release:")
    assert not any(d.startswith(("make ", "python ", "#")) for d in listed.values())
    assert all(len(d) <= 90 for d in listed.values())


def test_configs_cp_copies_a_shipped_config_to_edit(tmp_path, capsys):
    dest = tmp_path / "mine.yaml"
    assert main(["configs", "cp", "bench/sample", str(dest)]) == 0
    assert dest.read_text() == config_path("sample", "bench").read_text()
    assert f"safedrift bench {dest}" in capsys.readouterr().out
    # a folder: the file keeps its name; a name shipped for one kind only needs no kind
    folder = tmp_path / "cfgs"
    folder.mkdir()
    assert main(["configs", "cp", "sample-vllm", str(folder)]) == 0
    assert (folder / "sample-vllm.yaml").read_text() == config_path("sample-vllm", "bench").read_text()
    with pytest.raises(ConfigError, match="already exists"):
        main(["configs", "cp", "bench/sample", str(dest)])
    with pytest.raises(ConfigError, match="shipped as release/sample and bench/sample"):
        main(["configs", "cp", "sample", str(tmp_path / "x.yaml")])
    with pytest.raises(ConfigError, match="did you mean 'bench/sample'"):
        main(["configs", "cp", "bench/sampel", str(tmp_path / "y.yaml")])


def test_bench_help_names_every_form_and_tool(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for form in ("safedrift bench CONFIG", "safedrift bench --check CONFIG", "safedrift bench STAGE CONFIG",
                 "safedrift bench TOOL ARGS...", "finetune, generate, judge, metrics, report", "compare ",
                 "--set KEY=VALUE", "--strict"):
        assert form in out, form


def test_completion_script_names_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--print-completion", "bash"])
    assert exc.value.code == 0
    script = capsys.readouterr().out
    assert "complete" in script and "_shtab_safedrift" in script
    for name in ("release", "bench", "configs", "--strict", "--set"):
        assert name in script, name


def test_one_dispatch_table_holds_every_subcommand():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(COMMANDS)


def test_set_parses_yaml_values_and_dotted_keys():
    sets = parse_sets(["training.lr=1.0e-4", "eval_languages=[en, pt]", "tracking.comet=off", "run_id=x=y"])
    assert sets == {"training.lr": 1e-4, "eval_languages": ["en", "pt"], "tracking.comet": False, "run_id": "x=y"}
    data = {"training": {"lr": 2e-4, "epochs": 1}, "run_id": "a"}
    out = apply_overrides(data, sets)
    assert out["training"] == {"lr": 1e-4, "epochs": 1} and out["tracking"] == {"comet": False}
    assert data["training"]["lr"] == 2e-4  # the file's mapping is not changed
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_sets(["training.lr"])
    with pytest.raises(ConfigError, match="--set run_id.x: run_id is a str in the config, not a section"):
        apply_overrides(data, {"run_id.x": 1})


def test_bench_set_is_validated_and_recorded():
    from bench_runner.config import load_config

    path = config_path("sample", "bench")
    cfg = load_config(path, parse_sets(["datasets.sorry_limit=7", "tracking.comet=off", "training.lr=0.001"]))
    assert cfg.datasets.sorry_limit == 7 and cfg.tracking.comet == "off" and cfg.training.lr == 0.001
    assert cfg._overrides == {"datasets.sorry_limit": 7, "tracking.comet": False, "training.lr": 0.001}
    with pytest.raises(ConfigError, match=r"datasets\.sorry_limit: Input should be a valid integer"):
        main(["bench", "sample", "--set", "datasets.sorry_limit=abc"])
    with pytest.raises(ConfigError, match=r"datasets\.sorry_limt: unknown key; did you mean 'sorry_limit'"):
        main(["bench", "sample", "--set", "datasets.sorry_limt=3"])


def test_release_set_is_validated_and_recorded():
    from builders.cli import overrides
    from builders.config import load_build_config

    args = argparse.Namespace(work_dir="w", output_dir=None, sets=["translation.select=auto", "benign.subset=5"])
    cfg = load_build_config(config_path("sample", "release"), overrides(args))
    assert cfg.translation.select == "auto" and cfg.benign.subset == 5 and cfg.work_dir == "w"
    assert cfg._overrides == {"work_dir": "w", "translation.select": "auto", "benign.subset": 5}
    with pytest.raises(ConfigError, match=r"translation\.selct: unknown key; did you mean 'select'"):
        main(["build", "sample", "--set", "translation.selct=auto"])
    with pytest.raises(ConfigError, match=r"translation\.select: Input should be 'first' or 'auto'"):
        main(["release", "sample", "--set", "translation.select=best"])
