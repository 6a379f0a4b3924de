"""results.json's schema: the pydantic models of a run's results, versioned by bench_runner.SCHEMA_VERSION.

The `metrics` part is what bench_runner/metrics writes to metrics.json, validated here; the rest is the run's
provenance (config, versions, seeds, hardware, stage keys) that bench_runner/report/results.py assembles.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Unit = Field(default=None, ge=0.0, le=1.0)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateCI(_Model):
    n: int = Field(ge=0)
    compliant: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None  # "wilson" since schema 1.1


class PairedDiff(_Model):
    n_pairs: int
    diff: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=-1.0, le=1.0)
    p_value: float | None = Unit
    p_adjusted: float | None = Unit  # Holm over the grid's cell-vs-base tests
    discordant_up: int
    discordant_down: int


class ResponseLanguage(_Model):
    """Shares of a cell's answers by detected language; english is None when the eval language is English."""

    eval_language: float | None = Unit
    english: float | None = Unit
    other: float | None = Unit
    empty: float | None = Unit
    n: int = Field(ge=0)


class Truncation(_Model):
    share: float = Field(ge=0.0, le=1.0)  # answers that hit max_new_tokens without an end token
    mean_new_tokens: float | None = Field(default=None, ge=0.0)
    n: int = Field(ge=0)


class RefusalRate(_Model):
    """A refusal rate (benign held-out prompts): `refused` of `n` (schema 1.2; 1.1 called the count `compliant`)."""

    n: int = Field(ge=0)
    refused: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None


class Cell(RateCI):
    finetune_language: str
    eval_language: str
    n_answers: int | None = Field(default=None, ge=0)  # all answers; n counts those with a score
    unparseable: int = 0
    empty: int = 0
    over_refusal: RefusalRate  # refusal of the held-out benign prompts (the detector); XSTest: Metrics.over_refusal
    vs_base: PairedDiff | None = None
    response_language: ResponseLanguage | None = None
    truncated: Truncation | None = None
    untruncated: RateCI | None = None  # compliance on the answers that ended before the token budget only
    sampled: SampledRate | None = None  # generation.samples_per_prompt > 1: every sample, the prompt as the unit


class SampledDiff(_Model):
    n_pairs: int = Field(ge=0)
    diff: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=-1.0, le=1.0)


class SampledRate(_Model):
    """Compliance over every sample (bench_runner.metrics.samples): per-prompt means, averaged over prompts."""

    n_prompts: int = Field(ge=0)
    n_samples: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    vs_base: SampledDiff | None = None


class CategoryCell(RateCI):
    finetune_language: str
    eval_language: str
    category: str
    category_name: str = ""


class Heterogeneity(_Model):
    method: str
    statistic: float | None = None
    df: int | None = None
    p_value: float | None = Unit
    n_models: int
    n_prompts: int
    n_permutations: int | None = None
    note: str = ""


class MeasureRate(_Model):
    """One over-refusal measure of a cell: `refused` (safe prompts, benign prompts) or `compliant` (contrasts)."""

    n: int = Field(ge=0)
    refused: int | None = None
    compliant: int | None = None
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None
    vs_base: PairedDiff | None = None
    # XSTest's three classes (bench_runner.judge.refusal: refusal_class): refused = full + partial
    full_refusal: int | None = Field(default=None, ge=0)
    partial_refusal: int | None = Field(default=None, ge=0)
    judge: str | None = None  # the judge that classified the answers (judge.refusal_judge)


class XstestType(_Model):
    type: str
    label: str  # "safe" or "unsafe"
    measure: str  # "refusal" (safe types) or "compliance" (contrast types)
    n: int = Field(ge=0)
    count: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None


class OverRefusalCell(_Model):
    finetune_language: str
    eval_language: str
    safe_refusal: MeasureRate  # XSTest safe prompts refused: exaggerated refusal
    contrast_compliance: MeasureRate  # XSTest unsafe contrasts complied with: exaggerated compliance
    benign_refusal: MeasureRate  # held-out benign prompts refused (the second probe)
    by_type: list[XstestType] = []
    # after Holm (bench_runner.metrics.over_refusal.SHIFT_METHOD): "exaggerated refusal" | "exaggerated compliance" |
    # "both" | "less refusal" | "less compliance" (or the two joined by " + ") | "no change"; older runs: "neither"
    shift: str | None = None


class OverRefusal(_Model):
    method: str
    multiplicity: dict[str, str] = {}
    shift_method: str = ""  # how `shift` is named: significance after Holm, and the family
    measured: bool  # XSTest prompts were in the eval set
    cells: list[OverRefusalCell]


class LmEvalDiff(_Model):
    n_pairs: int = Field(ge=0)
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = Unit
    p_adjusted: float | None = Unit


class LossDiff(LmEvalDiff):
    """diff in nats / token, fine-tuned minus base."""

    ppl_ratio: float | None = Field(default=None, gt=0.0)
    diff_bits_per_byte: float | None = None  # the same difference in bits per UTF-8 byte of the answers
    bpb_ci_low: float | None = None
    bpb_ci_high: float | None = None


class CapabilityCell(_Model):
    finetune_language: str
    eval_language: str
    n: int = Field(ge=0)  # examples
    tokens: int = Field(ge=0)  # reference-answer tokens scored
    mean_nll: float | None = Field(default=None, ge=0.0)
    ci_low: float | None = None
    ci_high: float | None = None
    perplexity: float | None = Field(default=None, ge=1.0)
    ppl_ci_low: float | None = None
    ppl_ci_high: float | None = None
    # bits per UTF-8 byte of the scored answer text: compares across languages and tokenizers (nats/token do not)
    bytes: int | None = Field(default=None, ge=0)
    bits_per_byte: float | None = Field(default=None, ge=0.0)
    bpb_ci_low: float | None = None
    bpb_ci_high: float | None = None
    vs_base: LossDiff | None = None


class LmEvalTask(_Model):
    model: str
    task: str
    metric: str
    value: float
    stderr: float | None = None
    n: int = Field(ge=0)  # documents with a per-sample value
    vs_base: LmEvalDiff | None = None


class LmEval(_Model):
    method: str
    tasks: list[LmEvalTask]


class Capability(_Model):
    method: str
    measured: bool
    cells: list[CapabilityCell]
    lm_eval: LmEval | None = None


class RepresentationCell(_Model):
    finetune_language: str
    eval_language: str
    n_layers: int = Field(ge=1)
    top_layers: list[int]
    n_probes: int = Field(ge=0)
    # Top-third means per measure (cosine, cka, dcka = debiased CKA) and pooling (content tokens, last token, mean).
    cosine_last_top: float | None = None
    cka_last_top: float | None = None
    cosine_mean_top: float | None = None
    cka_mean_top: float | None = None
    dcka_last_top: float | None = None
    dcka_mean_top: float | None = None
    cosine_content_top: float | None = None
    cka_content_top: float | None = None
    dcka_content_top: float | None = None
    per_layer: dict[str, list[float | None]]  # <measure>_<pooling>; layer 1 first (raw residual streams)
    final_norm: dict[str, float | None] | None = None  # the final norm's output, <measure>_<pooling>
    confidence: float | None = None
    ci: dict[str, list[float | None]] | None = None  # bootstrap over probes: <measure>_<pooling>_top -> [low, high]
    adapter: AdapterId | None = None  # the fine-tune language and training seed of finetune_language (a label)
    seed_floor: SeedFloor | None = None  # a replicate adapter vs its language's first seed


class AdapterId(_Model):
    language: str
    seed: int


class SeedFloor(_Model):
    reference: str  # the first seed's adapter label
    dcka_content_top: float | None = None
    dcka_last_top: float | None = None
    cosine_content_top: float | None = None
    per_layer: dict[str, list[float | None]]


class RepresentationAggregate(_Model):
    finetune_language: str
    adapters: list[str] = []  # its adapters (one per training seed), averaged
    eval_languages: list[str]
    drift: float | None = None  # 1 - debiased CKA over content tokens, top third, mean over eval languages
    ci_low: float | None = None
    ci_high: float | None = None


class EnglishVs(_Model):
    language: str
    diff: float | None = None  # drift after English fine-tuning minus drift after fine-tuning on `language`
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = Unit
    p_adjusted: float | None = Unit  # Holm over the languages compared with English
    english_drifts_more: bool


class NoiseFloor(_Model):
    drift: float | None = None  # two seeds of one fine-tune language compared with each other (top third)
    reason: str | None = None  # why there is none
    pairs: int | None = None  # (replicate adapter, eval language) pairs averaged
    drift_per_layer: dict[str, list[float]] = {}  # dcka_content, dcka_last, cosine_content; layer 1 first


class Representation(_Model):
    method: str
    measured: bool
    cells: list[RepresentationCell]
    aggregate_method: str | None = None
    confidence: float | None = None
    aggregate: list[RepresentationAggregate] = []
    english_vs: list[EnglishVs] = []
    noise_floor: NoiseFloor | None = None


class Association(_Model):
    """Spearman rho across adapters (bench_runner.metrics.drift_behaviour), per eval language or `all`."""

    x: str
    y: str
    eval_language: str
    n_adapters: int = Field(ge=0)
    rho: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=-1.0, le=1.0)
    p_value: float | None = Unit
    note: str = ""
    tost_ci: list[float | None] | None = None  # capability decoupling: the equivalence test's interval
    verdict: str | None = None  # decoupled | not decoupled | inconclusive | not estimable


class AdapterShift(_Model):
    adapter: str
    drift: float | None = None
    compliance_shift: float | None = None
    benign_refusal_shift: float | None = None
    safe_refusal_shift: float | None = None


class DriftBehaviour(_Model):
    method: str
    unit: str
    confidence: float
    adapters: list[AdapterShift]
    associations: list[Association]


class CapabilityDecoupling(_Model):
    method: str
    unit: str
    bound: float
    confidence: float
    associations: list[Association]


class Metrics(_Model):
    cells: list[Cell]
    categories: list[CategoryCell]
    ci_method: str
    paired_method: str
    multiplicity: str = ""
    heterogeneity: Heterogeneity | None = None
    # The max/min compliance ratio across fine-tune languages, no longer computed (biased upward, its bootstrap interval
    # undercovers): metrics.design.largest replaces it. Kept as a plain dict so older results.json still read.
    ratio: dict | None = None
    response_language_method: str = ""
    truncation_method: str = ""
    empty_method: str = ""  # how `empty` and `unparseable` are counted (bench_runner.metrics.compliance)
    sampled_method: str = ""  # generation.samples_per_prompt > 1 (bench_runner.metrics.samples)
    # bench_runner.metrics.agreement.judge_agreement: native vs English verdicts per eval language (answers_in: both)
    judge_agreement: dict | None = None
    # bench_runner.metrics.agreement.human_agreement: judges against people's labels (annotation/labels/ in the run)
    human_agreement: dict | None = None
    over_refusal: OverRefusal | None = None  # XSTest safe / contrast prompts and the benign prompts, per cell
    capability: Capability | None = None  # held-out benign loss per cell (+ lm-eval tasks)
    representation: Representation | None = None  # hidden-state drift per cell and layer
    # measure (capability, representation) -> model -> why it is not measured for that model (a served model has no
    # weights here); empty when every model is measured
    skipped: dict[str, dict[str, str]] = {}
    # bench_runner.metrics.drift_behaviour: associations across adapters (the adapter is the unit)
    drift_behaviour: DriftBehaviour | None = None
    capability_decoupling: CapabilityDecoupling | None = None
    # bench_runner.metrics.study (metrics/<key>/study.json): adapter-level design tests, fold changes, the largest
    # fold change, and SORRY-Bench's official macro rates beside the pooled ones
    design: dict | None = None
    official: dict | None = None
    confidence: float
    n_resamples: int
    seed: int


class FinetuneSummary(_Model):
    stage_key: str
    steps: int
    examples: int
    loss: list[float]
    tokens: int
    seconds: float
    tokens_per_s: float | None
    trainable_params: int
    trained_tokens: int | None = None  # assistant tokens that carried loss, after max_length truncation
    examples_truncated: int | None = None  # cut by max_length
    examples_dropped: int | None = None  # no assistant token left after the cut
    qa_excluded: int | None = None  # train rows left out for failing translation QA
    # TRL training (bench_runner/finetune/trainer.py): per-step learning rate and gradient norm (before clipping), the
    # processes that trained (accelerate launch), the examples per optimizer step, the training stack's versions.
    learning_rate: list[float] | None = None
    grad_norm: list[float] | None = None
    processes: int | None = None
    global_batch: int | None = None
    versions: dict[str, str] | None = None


class QaExcluded(_Model):
    """What datasets.require_qa_pass left out; an eval item that failed in any eval language is left out in all."""

    require_qa_pass: bool
    sorry_items: int = 0
    benign_items: int = 0
    xstest_items: int = 0
    failed_rows: dict[str, dict[str, int]] = {}  # kind -> eval language -> rows with qa_pass false
    train: dict[str, int] = {}  # fine-tune language -> train rows left out


class RunWarning(_Model):
    """Something that makes a run's figures meaningless or thin (bench_runner/report/warnings.py)."""

    kind: str  # empty_answers | identical_answers | loss_rose | thin_cells | empty_figure
    subject: str  # the model, fine-tune, measure or figure it is about
    message: str


class Results(_Model):
    schema_version: str
    run_id: str
    created: str
    config: dict
    versions: dict[str, str]
    seeds: dict[str, int]
    training_seeds: list[int] = []  # training.seeds: one adapter per (fine-tune language, seed); [seed] with one
    hardware: dict
    model: dict
    judge: dict
    finetune: dict[str, FinetuneSummary]
    # Models brought in (config `models:`), label -> what keys its stage folders: an adapter's or checkpoint's content
    # hash or Hub commit, a served model's server and name (bench_runner/finetune/imported.py)
    imported: dict[str, dict] = {}
    generation: dict[str, dict]
    metrics: Metrics
    qa_excluded: QaExcluded | None = None
    stage_keys: dict[str, dict[str, str]]
    # Provenance (bench_runner/provenance.py): per dataset used, where it was read from (the path as written and
    # as resolved, or the Hub id and the cached commit), the release version on its card and a content hash of
    # its data files; the toolkit's version and git commit; the config file.
    datasets: dict[str, dict] = {}
    toolkit: dict = {}
    config_file: str | None = None
    # The command line's overrides of the config file (--set KEY=VALUE, --run-id, --runs-dir), as given; `config`
    # above holds the values in effect.
    overrides: dict = {}
    # What makes figures above meaningless or thin; `safedrift bench --strict` exits 1 when there is any.
    warnings: list[RunWarning] = []
    # The study's figures beside results.json, captioned in summary.md (bench_runner.report.figures.CAPTIONS; the
    # heatmap and the loss curve are there too, in their own sections).
    figures: list[str] = []
