"""The whole runner on a tiny random Llama: outputs, caching, crash-resume, the adapter check, the CLI."""

from __future__ import annotations

import json

import pytest
from support.fixtures import tiny_config_dict

from bench_runner.cli import main
from bench_runner.config import parse_config
from bench_runner.pipeline import BenchRun
from bench_runner.report.schema import Results
from safedrift.core.errors import DataError, run_cli
from safedrift.core.files import iter_jsonl

N_PROMPTS = 2 * (6 + 2 + 6)  # per model: (6 SORRY + 2 benign + 6 XSTest) x 2 eval languages


@pytest.fixture
def run(tmp_path, bench_home, tiny_model, tiny_release):
    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, tracking={"comet": "offline"}))
    return BenchRun(cfg)


def test_full_run_outputs(run):
    report = run.run()
    results = Results.model_validate_json((run.run_dir / "results.json").read_text())
    assert results.schema_version == "1.2"
    assert [(c.finetune_language, c.eval_language) for c in results.metrics.cells] == [
        (ft, ev) for ft in ("base", "en", "pt") for ev in ("en", "pt")]
    for c in results.metrics.cells:
        # Six answers per cell; an empty one (the tiny random model's adapters often end at once) is neither
        # compliant nor a refusal, so it is left out of n and counted in response_language.empty.
        assert c.response_language is not None and c.response_language.n == 6
        assert c.n == round(6 * (1 - c.response_language.empty)) and 0.0 <= c.ci_low <= c.rate <= c.ci_high <= 1.0
        assert c.over_refusal.n == 2
        assert (c.vs_base is None) == (c.finetune_language == "base")
    assert {c.category for c in results.metrics.categories} == {"1", "2", "5", "7", "12"}
    assert set(results.finetune) == {"en", "pt"}
    for f in results.finetune.values():
        assert f.steps == 4 and len(f.loss) == 4 and f.tokens > 0 and f.tokens_per_s > 0
    assert results.seeds == {"training": 0, "generation": 0, "metrics": 0}
    assert results.judge["name"] == "refusal" and "torch" in results.versions
    # judge.answers_in: both (default): pt answers were also judged in English (bergamot) -> agreement per
    # eval language over every model's answers; an English answer's English verdict is its native one.
    agreement = results.metrics.judge_agreement
    assert agreement is not None and set(agreement["by_language"]) == {"en", "pt"}
    assert agreement["by_language"]["en"]["agreement"] == 1.0
    pt = agreement["by_language"]["pt"]
    assert pt["n"] == 3 * 6 and 0.0 <= pt["agreement"] <= 1.0
    assert "## Judge language" in (run.run_dir / "summary.md").read_text()
    assert (run.run_dir / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| pt | pt | 6 |" in (run.run_dir / "summary.md").read_text()
    samples = list(iter_jsonl(run.run_dir / "samples.jsonl"))
    assert len(samples) == 3 * N_PROMPTS
    s = next(x for x in samples if x["model"] == "pt" and x["kind"] == "sorry" and x["language"] == "pt")
    assert s["prompt"] == f"<|im_start|>user\n{s['messages'][0]['content']}<|im_end|>\n<|im_start|>assistant\n"
    assert s["params"]["max_new_tokens"] == 6 and s["judge"] == "refusal" and s["score"] in (0, 1)
    assert list((report / "comet").glob("*.zip")), "offline comet-ml archive missing"
    # The adapters changed at least one answer each (the runner checks this too).
    by_uid = {(x["model"], x["uid"]): x["raw_response"] for x in samples}
    for lang in ("en", "pt"):
        assert any(by_uid[(lang, uid)] != text for (m, uid), text in by_uid.items() if m == "base")


def test_rerun_recomputes_nothing(run, capsys):
    run.run()
    stamps = {p: p.stat().st_mtime_ns for p in run.run_dir.rglob("*") if p.is_file() and "comet" not in p.parts}
    capsys.readouterr()
    BenchRun(run.cfg).run()
    err = capsys.readouterr().err
    for stage in ("finetune en", "finetune pt", "generate base", "generate pt", "judge pt", "metrics", "report"):
        assert f"{stage}: cached" in err
    # The report's files are copied beside results.json on every run (runs/<id>/ and runs/<id>/representation/).
    published = run.run_dir / "representation"
    changed = [p for p, t in stamps.items() if p.parent != run.run_dir and published not in p.parents
               and p.stat().st_mtime_ns != t]
    assert len(stamps) > 40  # the stage folders' files are all in the comparison
    assert changed == []


def test_generation_resumes_after_a_crash_without_duplicates(run):
    folder = run.generate("base")
    path = folder / "samples.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    # Simulate a crash: manifest never written, 5 rows done, half of the 6th on disk.
    (folder / "manifest.json").unlink()
    path.write_text("".join(lines[:5]) + lines[5][:20])
    again = BenchRun(run.cfg).generate("base")
    assert again == folder
    rows = list(iter_jsonl(path))
    assert len(rows) == N_PROMPTS == len({r["uid"] for r in rows})
    assert path.read_text().startswith("".join(lines[:5]))
    assert sorted(rows, key=lambda r: r["uid"]) == sorted(map(json.loads, lines), key=lambda r: r["uid"])


def test_an_adapter_that_changes_nothing_is_an_error(tmp_path, bench_home, tiny_model, tiny_release):
    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "pt"],
                                        training={"lr": 1e-12, "max_steps": 1}))
    with pytest.raises(DataError, match="left every answer identical to the base model's"):
        BenchRun(cfg).generate("pt")


def test_cli_stage_subcommands_and_errors(tmp_path, bench_home, tiny_model, tiny_release, capsys):
    import yaml

    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(tmp_path, tiny_model, tiny_release,
                                                      finetune_languages=["base", "en"])))
    assert run_cli(main, ["finetune", str(config)]) == 0
    assert "finetune/en-" in capsys.readouterr().out
    assert run_cli(main, ["generate", str(config), "--language", "base"]) == 0
    assert run_cli(main, ["judge", str(config), "--language", "base"]) == 0
    assert run_cli(main, ["generate", str(config), "--language", "pt"]) == 2
    assert "'pt' is not a fine-tune language" in capsys.readouterr().err
    assert run_cli(main, ["run", str(config), "--run-id", "cli"]) == 0
    assert (tmp_path / "runs" / "cli" / "results.json").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_id: x\nmodel: {local_dir: m}\njudge: {name: llama-guard}\n")
    capsys.readouterr()
    assert run_cli(main, ["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: unknown judge 'llama-guard'") and err.count("\n") == 1
