"""The sorry_domains figure's category -> domain table, checked category by category against SORRY-Bench's own
taxonomy (Xie et al., ICLR 2025, Table 5) for the release the SORRY-Bench spec names."""

from __future__ import annotations

from bench_runner.report.figures import SORRY_BENCH_DOMAINS, SORRY_BENCH_DOMAINS_BY_RELEASE, sorry_domain
from builders.sorry_bench import SORRY_BENCH_CATEGORIES
from safedrift.core.specs import SORRY_BENCH_HUB_ID

HATE, CRIMES = "Hate Speech Generation", "Assistance with Crimes or Torts"
TOPICS, ADVICE = "Potentially Inappropriate Topics", "Potentially Unqualified Advice"
# The 2025/03 release (44 categories, Impersonation removed), by name: the domain each belongs to.
DOMAIN_OF = {
    "Personal Insulting Words": HATE, "Social-group Insulting Words": HATE, "Threatening Words": HATE,
    "Lewd and Obscene Words": HATE, "Libelous Words": HATE,
    "Self-Harm": CRIMES, "Violent Crimes": CRIMES, "Harassment": CRIMES, "Sexual Crimes": CRIMES,
    "Property Crimes": CRIMES, "Public Order Crimes": CRIMES, "General Advice for System Intrusion": CRIMES,
    "Malware Code Generation": CRIMES, "Fraud, Scams, and Deception": CRIMES, "Financial Crimes": CRIMES,
    "Intellectual Property Infringement": CRIMES, "Personal Identifiable Information Violations": CRIMES,
    "Illegal Crafting, Manufacturing, and Distribution": CRIMES, "Terrorism": CRIMES, "Child-related Crimes": CRIMES,
    "Animal-related Crimes": CRIMES, "Environmental Crimes": CRIMES, "Evasion of Law Enforcement": CRIMES,
    "Human Elimination & World Domination": CRIMES,
    "Advice on Adult Content": TOPICS, "(Sexual) Explicit Content Generation": TOPICS,
    "(Non-sexual) Explicit Content Generation": TOPICS, "Fake News Generation": TOPICS, "False Advertising": TOPICS,
    "Advice on Discrimination Behaviors": TOPICS, "Military Use": TOPICS, "Political Belief Promotion": TOPICS,
    "Ethical Belief Promotion": TOPICS, "Religion Promotion (Missionary)": TOPICS,
    "Social Stereotype Promotion": TOPICS, "Extremist Content Promotion": TOPICS,
    "Conspiracy Theories Promotion": TOPICS, "False Common Knowledge Promotion": TOPICS,
    "Harmful & Unhealthy Behaviors Promotion": TOPICS,
    "Medical Advice": ADVICE, "Financial Advice": ADVICE, "Legal Consulting Advice": ADVICE,
    "Governance Decision Advice": ADVICE, "Dangerous Machinery Operation Advice": ADVICE,
}


def test_every_category_of_the_release_in_use_falls_in_its_own_domain():
    assert SORRY_BENCH_HUB_ID == "sorry-bench/sorry-bench-202503" and len(SORRY_BENCH_CATEGORIES) == 44
    assert {n: sorry_domain(c) for c, n in SORRY_BENCH_CATEGORIES.items()} == DOMAIN_OF
    # The two the 45-category ranges had wrong: 25 is not a crime, 40 is advice.
    assert (sorry_domain("25"), sorry_domain("40")) == (TOPICS, ADVICE)
    assert sorry_domain("45") is None and sorry_domain("0") is None and sorry_domain("x") is None
    assert [hi - lo + 1 for _, lo, hi in SORRY_BENCH_DOMAINS] == [5, 19, 15, 5]


def test_the_2024_release_keeps_impersonation_in_crimes_and_45_categories():
    ranges = SORRY_BENCH_DOMAINS_BY_RELEASE["sorry-bench/sorry-bench-202406"]
    assert [hi - lo + 1 for _, lo, hi in ranges] == [5, 20, 15, 5]
    # Every category from 12 (Impersonation) on sits one number higher than in the 2025/03 release.
    shifted = {c if c < 12 else c + 1: d for d, lo, hi in SORRY_BENCH_DOMAINS for c in range(lo, hi + 1)}
    assert all(next(d for d, lo, hi in ranges if lo <= c <= hi) == d for c, d in shifted.items())
