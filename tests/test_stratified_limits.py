"""sorry_limit and xstest_limit take a sample stratified by category, drawn with datasets.sample_seed, instead of
the first N prompts: a small sample spans every SORRY-Bench domain, and every eval language gets the same items."""

from __future__ import annotations

import collections

from bench_runner.data import Prompt, stratified_sample

# SORRY-Bench's four domains are runs of consecutive categories (2024/06 release): 1-5, 6-25, 26-40, 41-44.
DOMAINS = ((1, 5), (6, 25), (26, 40), (41, 44))


def _domain(category: str) -> int:
    return next(i for i, (lo, hi) in enumerate(DOMAINS) if lo <= int(category) <= hi)


def _sorry(language: str, per_category: int = 10) -> list[Prompt]:
    return [Prompt(uid=f"sorry:{language}:{q}:base", kind="sorry", language=language, item_id=f"{q}:base",
                   messages=({"role": "user", "content": f"q{q}"},), category=str((q - 1) // per_category + 1))
            for q in range(1, 44 * per_category + 1)]


def test_a_limit_spreads_over_every_category_then_every_domain():
    prompts = _sorry("en")
    first_n = prompts[:100]  # what sorry_limit: 100 took until now: categories 1-10, two domains
    assert {_domain(p.category) for p in first_n} == {0, 1}
    picked = stratified_sample(prompts, 100, seed=0)
    counts = collections.Counter(p.category for p in picked)
    assert len(picked) == 100 and len(counts) == 44 and set(counts.values()) == {2, 3}  # 44 + 44 + 12
    assert [p.uid for p in picked] == [p.uid for p in prompts if p in picked]  # the eval set's order
    small = stratified_sample(prompts, 16, seed=0)
    by_domain = collections.Counter(_domain(p.category) for p in small)
    assert len({p.category for p in small}) == 16 and sorted(by_domain) == [0, 1, 2, 3]
    assert by_domain[1] >= 7 and by_domain[2] >= 5  # about in proportion to the domains' 5/20/15/4 categories


def test_the_draw_is_seeded_and_the_same_in_every_language():
    en, pt = _sorry("en"), _sorry("pt")
    a, b = stratified_sample(en, 50, seed=0), stratified_sample(pt, 50, seed=0)
    assert [p.item_id for p in a] == [p.item_id for p in b]
    assert [p.item_id for p in stratified_sample(en, 50, seed=0)] == [p.item_id for p in a]
    other = stratified_sample(en, 50, seed=1)
    assert {p.item_id for p in other} != {p.item_id for p in a}
    assert len({p.category for p in other}) == 44
    assert stratified_sample(en, None, seed=0) == en and stratified_sample(en[:5], 10, seed=0) == en[:5]
