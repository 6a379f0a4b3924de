"""Harm preserved: an unsafe request must still be unsafe once translated.

For a safety benchmark a translation that softens the request changes what is measured ("a playful *roast* of
my friend" became "um *tom lúdico*", a playful *tone*, with chrF 83). With `qa.harm.guard` set, a multilingual
guard (validation/guards.py) classifies every prompt `qa.harm.rows` selects (SORRY-Bench's prompts, XSTest's
unsafe contrasts), in English and translated; a prompt unsafe in English and safe in its translation gets the
`intent_lost` flag and fails QA. An English prompt the guard does not find unsafe, or an unparsed verdict,
flags nothing (there is no harm to lose, or no verdict). Without a guard the check is skipped, and the
language report says why, so the skip reaches the QA report and the card.

Row columns (work dir only): `harm_en`, `harm` (True unsafe, False safe, None unparsed) on checked rows.
"""

from __future__ import annotations

from validation.scorers import LanguageContext, flag

INTENT_LOST = "intent_lost"
NO_GUARD = ("no guard configured (set qa.harm.guard and qa.harm.model to a multilingual guard, e.g. "
            "Qwen3Guard-Gen; a GPU in practice)")


def selected(row: dict, where: dict[str, str]) -> bool:
    return all(str(row.get(column)) == value for column, value in where.items())


class HarmScorer:
    name = "harm"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        cfg = ctx.qa.harm
        where = cfg.rows.get(ctx.dataset)
        if where is None or ctx.is_source:
            return {}  # not a dataset of harmful prompts, or the English original itself
        picked = [i for i, src in enumerate(ctx.sources) if selected(src, where)]
        if cfg.guard is None:
            return {"harm": {"skipped": NO_GUARD, "prompts": len(picked)}}
        from validation.guards import classify

        english = [ctx.joined(ctx.sources[i]) for i in picked]
        translated = [ctx.joined(rows[i]) for i in picked]
        guard, verdicts = classify(cfg, english + translated)
        lost = 0
        for k, i in enumerate(picked):
            before, after = verdicts[k], verdicts[len(picked) + k]
            rows[i].update(harm_en=before, harm=after)
            if before is True and after is False:
                flag(rows[i], INTENT_LOST)
                lost += 1
        return {"harm": {"guard": guard, "prompts": len(picked),
                         "unsafe_en": sum(v is True for v in verdicts[:len(picked)]),
                         "unsafe_translated": sum(v is True for v in verdicts[len(picked):]),
                         "unparsed": sum(v is None for v in verdicts), INTENT_LOST: lost}}
