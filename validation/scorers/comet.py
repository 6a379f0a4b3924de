"""COMET through validation/comet.py (its own venv, as a subprocess): reference-free on source/translation,
reference-based on the back-translation; a skip is recorded, never raised, when COMET is unavailable."""

from __future__ import annotations

from validation.scorers import LanguageContext, flag


def _skipped(reason: str) -> dict:
    return {"qe": {"system": None, "model": None, "skipped": reason},
            "ref": {"system": None, "model": None, "skipped": reason}}


class CometScorer:
    name = "comet"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        for row in rows:
            row.setdefault("comet", None)
        cfg = ctx.qa.comet
        if ctx.is_source or not rows:
            return {"comet": _skipped("the source language is not a translation")}
        if cfg.enabled == "off":
            return {"comet": _skipped("disabled in the config (qa.comet.enabled: off)")}
        from validation.comet import run_comet

        english = [ctx.joined(s) for s in ctx.sources]
        translations = [ctx.joined(r) for r in rows]
        has_back = all(f"bt_{f}" in r for r in rows for f in ctx.fields)
        back = [ctx.joined(r, "bt_") for r in rows] if has_back else None
        out: dict = {}
        for kind, model, (src, hyp, ref) in [
            ("qe", cfg.qe_model, (english, translations, None)),
            # The back-translation is the hypothesis, scored against the English source as reference.
            ("ref", cfg.ref_model, (translations, back, english)),
        ]:
            if model is None:
                out[kind] = {"system": None, "model": None, "skipped": f"no {kind}_model configured"}
                continue
            if hyp is None:
                out[kind] = {"system": None, "model": model, "skipped": "no back-translation to score"}
                continue
            res = run_comet(src, hyp, ref, cfg=cfg, model=model, desc=f"comet-{kind} {ctx.dataset}/{ctx.lang}")
            out[kind] = {"system": res.system, "model": res.model, "skipped": res.skipped}
            if kind == "qe" and res.scores is not None:
                thr = ctx.thresholds.comet_min
                for row, s in zip(rows, res.scores, strict=True):
                    row["comet"] = round(float(s), 4)
                    if thr is not None and row["comet"] < thr:
                        flag(row, "comet")
        return {"comet": out}
