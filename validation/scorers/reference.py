"""chrF/BLEU of our translation against supplied reference translations (`qa.references: {lang: path}`).

A reference file is JSONL with `question_id` or `id` and the dataset's text fields; SORRY-Bench's own
question.jsonl mutations are the motivating case: rows whose prompt_style is `translate-<lang>` (e.g.
`translate-fr`, `translate-zh-cn`) are used when the file mixes several styles. BLEU tokenizes with the
TARGET language's sacrebleu tokenizer (languages.py `bleu_tokenize`).
"""

from __future__ import annotations

from pathlib import Path

from safedrift.core.errors import DataError
from safedrift.core.files import iter_jsonl
from validation.metrics import corpus_scores, sentence_scores
from validation.scorers import LanguageContext


def load_references(path: str | Path, lang: str, id_column: str) -> dict:
    """id -> reference row, keeping only this language's prompt_style when mixed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"reference file for {lang!r} not found: {path}; fix qa.references.{lang} in the config.")
    rows = [r for r in iter_jsonl(path) if r.get(id_column) is not None]
    styles = {r.get("prompt_style") for r in rows}
    own = {s for s in styles if isinstance(s, str) and (s == f"translate-{lang}" or s.startswith(f"translate-{lang}-"))}
    if own:
        rows = [r for r in rows if r.get("prompt_style") in own]
    return {r[id_column]: r for r in rows}


class ReferenceScorer:
    name = "reference"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        path = ctx.qa.references.get(ctx.lang)
        if path is None or not rows:
            return {}
        refs = load_references(path, ctx.lang, ctx.spec.id_column)
        hyps, ref_texts = [], []
        for row in rows:
            ref = refs.get(ctx.spec.row_id(row))
            if ref is None or not all(f in ref for f in ctx.fields):
                row["ref_chrf"] = row["ref_bleu"] = None
                continue
            hyp, ref_text = ctx.joined(row), ctx.joined(ref)
            row["ref_chrf"], row["ref_bleu"] = sentence_scores(hyp, ref_text, ctx.lang)
            hyps.append(hyp)
            ref_texts.append(ref_text)
        if not hyps:
            return {"reference": {"n": 0, "path": str(path),
                                  "skipped": f"no row of {path} matches a row of {ctx.dataset}"}}
        return {"reference": {"n": len(hyps), "path": str(path), **corpus_scores(hyps, ref_texts, ctx.lang)}}
