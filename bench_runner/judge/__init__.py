"""judge: every model's answers judged, one verdict per answer, the judge recorded with every score.

Which judge: the configured one (judge.name, bench_runner.registries.JUDGES) scores the headline kind's compliance
(SORRY-Bench); every other kind measures refusal (XSTest's safe prompts and contrasts, the benign prompts) and is
judged in XSTest's three classes by judge.refusal_judge (the offline detector by default), so a compliance judge
never calls a safe-prompt answer that is wrong, off-topic or cut short a refusal. The kind also says whether answers
are judged in English after back-translation (judge.answers_in; SORRY-Bench answers against the English source
request). Each judge is made once per stage, so a judge that vLLM serves starts once for every model's answers;
`close()` stops it.

Folder: scores.jsonl (one row per answer, keyed by uid, appended per chunk: a killed run resumes); the manifest
records the judge's description and the back-translation's statistics per language.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from bench_runner.config import drop_new_defaults
from bench_runner.data import KINDS, PromptKind, hash_records, kind_of
from bench_runner.judge.back_translation import BackTranslator, answer_language_plan, english_requests
from bench_runner.judge.base import Judge, Verdict, create_judge
from bench_runner.registries import JUDGES
from bench_runner.stage import RunContext, Stage, versions
from safedrift.core.errors import DataError
from safedrift.core.files import JsonlAppender, iter_jsonl
from safedrift.core.log import progress


def by_run_judge(kind: PromptKind) -> bool:
    """The configured judge scores only the headline compliance; PromptKind.judged_by_run_judge predates the
    three-class refusal judge and still says True for XSTest."""
    return kind.headline


# The kinds in the order they have always been judged (sorry, xstest, benign): chunks, and so the batches a model
# judge sees, are what they were.
JUDGING_ORDER: list[PromptKind] = sorted(KINDS.values(), key=lambda kind: not kind.judged_by_run_judge)


class JudgeStage(Stage):
    name = "judge"

    def __init__(self, ctx: RunContext, generate: Stage):
        super().__init__(ctx)
        self.generate = generate
        self._judge: Judge | None = None
        self._refusal_judge: Judge | None = None
        self._secondary: dict[str, Judge] = {}

    # ---- what the verdicts depend on --------------------------------------------------------------------
    @cached_property
    def plan(self) -> dict[str, dict]:
        """Per eval language how its answers are judged (the engine and its model version, or why natively)."""
        return answer_language_plan(self.cfg.judge, self.cfg.eval_languages)

    @property
    def needs_english(self) -> bool:
        return any(p["engine"] for p in self.plan.values())

    @cached_property
    def english(self) -> dict[str, str]:
        """item_id -> the English SORRY-Bench request the back-translated answers are judged against."""
        return english_requests(self.cfg.datasets) if self.needs_english else {}

    @cached_property
    def judge_identity(self) -> dict:
        return JUDGES.get(self.cfg.judge.name).cache_identity(self.cfg)

    def inputs(self, model: str) -> dict:
        # As for the model under test, the judge's device is no key, and its weights are keyed by the judge's
        # cache_identity (a Hub revision by its commit), not by the revision as written.
        settings = self.cfg.judge.model_dump(exclude={"model": {"device", "revision"},
                                                      "refusal_model": {"device", "revision"},
                                                      "guard_model": {"device", "revision"}})
        if not english_headline(self.cfg.judge.answers_in, self.cfg.judge.headline):
            settings.pop("headline")  # the rows are what they were before judge.headline: folders stay cached
        drop_new_defaults(settings, {"guard_mode": "generate", "secondary_on": []})
        return {"generate": self.generate(model).name, "judge": settings,
                "judge_identity": self.judge_identity,
                "refusal_judge": {"name": self.cfg.judge.refusal_judge,
                                  **JUDGES.get(self.cfg.judge.refusal_judge).cache_identity(self.cfg)},
                "secondary": [{"name": name, **JUDGES.get(name).cache_identity(self.cfg)}
                              for name in self.cfg.judge.secondary],
                "answer_languages": self.plan,
                "english_requests": hash_records([self.english]) if self.needs_english else None,
                "versions": versions()}

    def outputs(self, model: str) -> list[str]:
        return ["scores.jsonl"]

    # ---- the judges -------------------------------------------------------------------------------------
    @property
    def run_judge(self) -> Judge:
        """The configured judge, made on first use and kept for every model (close() stops it)."""
        if self._judge is None:
            self._judge = create_judge(self.cfg, log_path=self.ctx.run_dir / self.name / "vllm-judge-server.log")
        return self._judge

    @property
    def refusal_judge(self) -> Judge:
        """The three-class judge of the refusal measures (judge.refusal_judge), made on first use."""
        if self._refusal_judge is None:
            self._refusal_judge = JUDGES.get(self.cfg.judge.refusal_judge)(
                self.cfg, log_path=self.ctx.run_dir / self.name / "vllm-refusal-judge-server.log")
        return self._refusal_judge

    @property
    def secondary(self) -> dict[str, Judge]:
        """judge.secondary by name, made on first use: they judge the same answers for judge-judge agreement."""
        for name in self.cfg.judge.secondary:
            if name not in self._secondary:
                log_path = self.ctx.run_dir / self.name / f"vllm-{name}-server.log"
                self._secondary[name] = JUDGES.get(name)(self.cfg, log_path=log_path)
        return self._secondary

    def judge_of(self, kind: PromptKind) -> Judge:
        return self.run_judge if by_run_judge(kind) else self.refusal_judge

    def close(self) -> None:
        for judge in (self._judge, self._refusal_judge, *self._secondary.values()):
            if judge is not None:
                judge.close()
        self._judge = self._refusal_judge = None
        self._secondary = {}

    # ---- compute ----------------------------------------------------------------------------------------
    def compute(self, model: str, folder: Path) -> dict:
        samples = list(iter_jsonl(self.generate(model) / "samples.jsonl"))
        chunk = max(self.cfg.judge.batch_size * 4, 32)
        # One translation memory per run: the answers of every model share it, and a rerun translates nothing.
        memory = self.ctx.run_dir / self.name / "translation-memory.sqlite"
        with JsonlAppender(folder / "scores.jsonl") as out, BackTranslator(self.plan, memory) as back:
            todo = [s for s in samples if s["uid"] not in out.done]
            bar = progress(total=len(samples), initial=len(samples) - len(todo), desc=f"judge {model}",
                           unit="answer")
            for kind in JUDGING_ORDER:
                items = [s for s in todo if kind_of(s) is kind]
                for start in range(0, len(items), chunk):
                    part = items[start : start + chunk]
                    out.write_batch(self.judge_part(kind, part, back))
                    bar.update(len(part))
            bar.close()
        return {"judge": self.run_judge.describe(), "refusal_judge": self.refusal_judge.describe(),
                "secondary": {name: judge.describe() for name, judge in self.secondary.items()},
                "back_translation": back.stats}

    def judge_part(self, kind: PromptKind, part: list[dict], back: BackTranslator) -> list[dict]:
        """scores.jsonl rows of answers of one kind: the native verdicts, and for a back-translated kind in a
        language an engine translates, the verdicts of the English answers on the English requests (with
        answers_in: english, those alone)."""
        judge, answers_in = self.judge_of(kind), self.cfg.judge.answers_in
        to_en = [i for i, s in enumerate(part) if kind.back_translated and self.plan[s["language"]]["engine"]]
        skip = set(to_en) if answers_in == "english" else set()
        native_idx = [i for i in range(len(part)) if i not in skip]
        missing = sorted({part[i]["item_id"] for i in to_en} - set(self.english))
        if missing:
            raise DataError(
                f"SORRY-Bench item(s) {', '.join(missing[:5])} have no English prompt in {self.cfg.datasets.sorry}, "
                "which judging answers in English needs; rebuild the release with English or set "
                "judge.answers_in: native."
            )
        native = dict(zip(native_idx, judge.judge(
            [part[i]["messages"][-1]["content"] for i in native_idx], [part[i]["response"] for i in native_idx],
            [part[i]["language"] for i in native_idx]), strict=True)) if native_idx else {}
        answer_en: dict[int, str] = {}
        for lang in sorted({part[i]["language"] for i in to_en}):
            idx = [i for i in to_en if part[i]["language"] == lang]
            answer_en.update(zip(idx, back.to_english([part[i]["response"] for i in idx], lang), strict=True))
        in_english = dict(zip(to_en, judge.judge(
            [self.english[part[i]["item_id"]] for i in to_en], [answer_en[i] for i in to_en], ["en"] * len(to_en)),
            strict=True)) if to_en else {}
        rows = [score_row(s, native.get(i), in_english.get(i), answer_en.get(i), answers_in, self.cfg.judge.headline)
                for i, s in enumerate(part)]
        on = self.cfg.judge.secondary_on  # the prompt sets the secondary judges judge ([] = every one)
        secondary = self.secondary if not on or kind.name in on else {}
        for name, other in secondary.items():  # the same answers, natively, for judge-judge agreement
            verdicts = other.judge([s["messages"][-1]["content"] for s in part], [s["response"] for s in part],
                                   [s["language"] for s in part])
            for row, v in zip(rows, verdicts, strict=True):
                row.setdefault("secondary", {})[name] = {k: v.to_dict().get(k) for k in SECONDARY_FIELDS}
        return rows


# What a secondary judge's verdict keeps in a scores row (`secondary`: {judge name: these}).
SECONDARY_FIELDS = ("score", "label", "refusal_class", "judge")


def english_headline(answers_in: str, headline: str) -> bool:
    """Whether the rows put the English verdict first while keeping the native one (answers_in both, headline
    english)."""
    return answers_in == "both" and headline == "english"


# The native verdict's fields when the English one is the headline (judge.headline: english): <field>_native.
NATIVE_FIELDS = ("score", "label", "judge_output", "raw_score", "refusal_class")


def score_row(sample: dict, verdict: Verdict | None, english: Verdict | None = None,
              answer_english: str | None = None, answers_in: str = "native", headline: str = "native") -> dict:
    """One scores.jsonl row. `score`/`label` hold the native verdict (the English one with answers_in: english,
    where there is one: `judged_in` says which); with answers_in: both the English verdict of a back-translated
    answer sits beside it (None where the language has no engine; an English answer's is its native one). With
    headline: english as well, `score`/`label`/... hold the English verdict where there is one (judged_in english)
    and the native one moves to score_native, label_native, ... (NATIVE_FIELDS)."""
    keep = ("uid", "kind", "language", "item_id", "category", "category_name", "prompt_style", "model")
    row = {k: sample[k] for k in keep}
    if sample.get("xstest_label"):  # XSTest's label (safe / contrast) decides what its verdict measures
        row.update(xstest_label=sample["xstest_label"], focus=sample.get("focus", ""))
    is_english = kind_of(sample).back_translated and sample["language"] == "en"
    if answers_in == "english":
        chosen = english or verdict
        assert chosen is not None  # only a back-translated answer skips its native verdict
        row.update(chosen.to_dict())
        row["judged_in"] = "english" if english is not None or is_english else "native"
        row["answer_english"] = sample["response"] if is_english else answer_english
        return row
    assert verdict is not None  # every answer has its native verdict unless answers_in is english
    row.update(verdict.to_dict())
    row["judged_in"] = "native"
    if answers_in == "both":
        if is_english:
            english, answer_english = verdict, sample["response"]
        row.update(score_english=english.score if english else None,
                   label_english=english.label if english else None,
                   judge_output_english=english.judge_output if english else None,
                   answer_english=answer_english)
        if english is not None and english_headline(answers_in, headline):
            native = row.copy()
            for key in NATIVE_FIELDS:
                row.pop(key, None)
            row.update(english.to_dict())
            row.update({f"{key}_native": native.get(key) for key in NATIVE_FIELDS if key in native},
                       judged_in="english")
    return row
