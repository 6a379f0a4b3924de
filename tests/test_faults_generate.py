"""After a killed generate stage resumes, its statistics count every answer on disk, not only the answers made
after the resume (issue 28: results.json said 422 new tokens and 7 truncated instead of 1,167 and 22)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import bench_runner.generate as generate
from bench_runner.config import BASE, GenerationConfig, ModelConfig
from bench_runner.generate import GenerateStage

UIDS = [f"p{i}" for i in range(6)]


class _Backend:
    """Answers what is still to do, as a real backend does, and counts only those answers (as they do)."""

    def run(self, jobs):
        out = {}
        for job in jobs:
            rows = [{"uid": p.uid, "new_tokens": 10, "truncated": p.uid == "p5"} for p in job.todo]
            job.out.write_batch(rows)
            out[job.model] = {"stats": {"new_tokens": sum(r["new_tokens"] for r in rows),
                                        "truncated": sum(r["truncated"] for r in rows), "seconds": 2.0,
                                        "tokens_per_s": 5.0 * len(rows)}}
        return out

    def close(self):
        pass


def test_statistics_after_a_resume_count_every_row_on_disk(tmp_path: Path, monkeypatch):
    folder = tmp_path / "generate" / "base-x"
    folder.mkdir(parents=True)
    # what the killed run had written: four answers, two of them cut at max_new_tokens
    killed = [{"uid": f"p{i}", "new_tokens": 32, "truncated": i < 2} for i in range(4)]
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in killed), encoding="utf-8")

    monkeypatch.setattr(generate, "create_backend", lambda cfg, where: _Backend())
    stage = GenerateStage.__new__(GenerateStage)
    stage.ctx = SimpleNamespace(prompts=[SimpleNamespace(uid=u) for u in UIDS], run_dir=tmp_path, cfg=None,
                                eval_set=SimpleNamespace(qa_excluded={}), imported={}, trained=[])
    stage.cfg = SimpleNamespace(generation=GenerationConfig(), model=ModelConfig(builtin="smollm2-135m-instruct"))
    stage.finetune = SimpleNamespace(weights=lambda model: None)  # the base: no adapter
    extras = stage.compute_group([BASE], {BASE: folder})
    stats = extras[BASE]["stats"]
    assert stats.pop("decoding")["greedy"] is True
    # 4 rows from the killed run (128 tokens, 2 truncated) + 2 from the resume (20 tokens, 1 truncated)
    assert stats == {"rows": 6, "new_tokens": 148, "truncated": 3, "seconds": 2.0, "tokens_per_s": 10.0}
    assert extras[BASE]["qa_excluded"] == {}
