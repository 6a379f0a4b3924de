"""Issue 25: the QA checks that real Alpaca rows showed were missing or wrong, each on the errors and the correct
translations that motivated it, and the real-data evaluation set's loader (its rows are never in the repo)."""

from __future__ import annotations

import json

import pytest

from validation import realset
from validation.scorers.alignment import copied_phrases, negation_mismatch, number_mismatch
from validation.scorers.lang_id import TARGET_FLOOR, target_share
from validation.scorers.notation import line_mismatch, lost_labels, symbol_mismatch
from validation.scorers.structure import within
from validation.scorers.wordlists import negative_affixes, number_values, roman_values


def test_negative_affixes_may_become_nao_or_sem_but_a_flipped_negation_still_fails():
    ok = [("Coal is non-renewable.", "O carvão é não renovável."),
          ("The bread is gluten-free.", "O pão é sem glúten."),
          ("The error went unchecked.", "O erro não foi verificado."),
          ("He flew a non-stop, non-refueled trip.", "Ele fez uma viagem ininterrupta e não reabastecida.")]
    for src, out in ok:
        assert negation_mismatch([src], [out], "pt", 1) == ([0, 0], False), src
    # a real marker of the source is not spent on an affix: "without" -> "sem" stays negated
    assert negation_mismatch(["Rewrite it without changing the careless words."],
                             ["Reescreva sem mudar as palavras descuidadas."], "pt", 1) == ([1, 1], False)
    # no affix: an added não is still a flipped negation, and a removed one too
    assert negation_mismatch(["Coal is renewable."], ["O carvão não é renovável."], "pt", 1) == ([0, 1], True)
    assert negation_mismatch(["Coal is not renewable."], ["O carvão é renovável."], "pt", 1) == ([1, 0], True)
    assert negative_affixes("under until unit union universe unique unless uncle unhappy unlimited careless") == 3


def test_numbers_know_centuries_identifiers_and_unit_powers():
    assert number_mismatch("The payment systems of the 19th century", "Os sistemas de pagamento do século XIX",
                           "pt") is None
    assert number_mismatch("in the 5th century", "no século V", "pt") is None
    assert number_mismatch("in the 19th century", "no século XVIII", "pt") == {"missing": ["19"], "extra": []}
    assert dict(roman_values("século XX, World War II, I am, V")) == {"20": 1, "2": 1}
    assert number_mismatch("COVID-19 spread in 2020.", "A COVID19 espalhou-se em 2020.", "pt") is None
    assert number_mismatch("COVID-19 spread.", "A COVID-20 espalhou-se.", "pt") == {
        "missing": ["id:COVID19"], "extra": ["id:COVID20"]}
    assert number_mismatch("The area is 12 cm^2.", "A área é de 12 cm2.", "pt") is None
    assert number_mismatch("The area is 12 km².", "A área é de 12 km2.", "pt") is None
    assert number_mismatch("I called twice.", "Liguei duas vezes.", "pt") is None
    assert dict(number_values("a dozen eggs", "en")) == {"12": 1}
    # a number glued into a lowercase word is still not a value ("dados2021": the engine lost the 2021)
    assert number_mismatch("(2021 data)", "(dados2021)", "pt") == {"missing": ["2021"], "extra": []}


def test_language_id_needs_the_target_language_to_be_unlikely_too():
    # the lite model names this correct Portuguese Spanish (0.73), but still gives Portuguese 0.18
    assert target_share("Contar o número de caracteres no texto de entrada.", "pt") >= TARGET_FLOOR
    assert target_share("Cuenta el número de caracteres en el texto de entrada, por favor, con cuidado.",
                        "pt") < TARGET_FLOOR
    assert target_share("Count the number of characters in the input text please.", "pt") < TARGET_FLOOR


def test_length_bounds_widen_for_short_sources():
    bounds = {"low": 0.73, "high": 1.51, "median": 1.05}
    assert within(1.6, bounds, 40) and not within(1.6, bounds, 400)
    assert within(0.7, bounds, 30) and not within(0.7, bounds, 200)
    assert not within(0.5, bounds, 40)  # a halved short output still fails
    assert within(1.0, {"low": 1 / 3, "high": 3.0, "median": None}, 10)


def test_symbols_must_survive():
    assert symbol_mismatch("The area is A = πr2.", "A área é A = r2.") == {"missing": ["π"], "extra": []}
    assert symbol_mismatch("{10, 3, 5}", "-10, 3, 5") == {"missing": ["{", "}"], "extra": []}
    assert symbol_mismatch("Emmeline Pankhurst", "Emmeline Pankhurst (em inglês)") == {
        "missing": [], "extra": ["(", ")"]}
    assert symbol_mismatch("It is 73°F (23°C), 15% more.", "É 73°F (23°C), 15% mais.") is None
    # code and URLs are the structure checks': their symbols are not compared here
    assert symbol_mismatch("Run `x = f(1)` at https://a.org/?q=1", "Execute `x = f(1)` em https://a.org/?q=1") is None


def test_label_lines_keep_both_sides():
    assert lost_labels("Copper ore: Mineral\nQuartz: Mineral", "minério de cobre:\nQuartzo: Mineral")
    assert not lost_labels("Copper ore: Mineral", "Minério de cobre: Mineral")
    assert not lost_labels("Rhyme pattern: AABB", "Padrão de rima usado: AABB")
    # a sentence introducing something is not a label
    assert not lost_labels("Find the missing words to complete the following phrase: Proverbs are ____ of wisdom.",
                           "Encontre as palavras ausentes para completar a seguinte frase: Provérbios são ____.")


def test_sentence_count_counts_lines_and_list_items():
    src = "1. Yellow\n2. Orange\n3. Green"
    assert line_mismatch(src, "1. Amarelo\n2. Laranja\n3. Verde") is None
    assert line_mismatch(src, "1. Amarelo\n2. Laranja A capital da França é Paris.\n3. Verde") == [3, 3]
    assert line_mismatch(src, "1. Amarelo\n2. Laranja") == [3, 2]
    verse = "The sun shines in the sky,\nOn flowers that never die,"
    assert line_mismatch(verse, "O sol brilha no céu,\nNas flores que nunca morrem,") is None
    assert line_mismatch(verse, "O sol brilha no céu,\nNas flores que nunca morrem, O gato dorme.") == [2, 2]


def test_copy_through_catches_english_phrases_with_a_capitalised_word():
    assert copied_phrases("The capital of Spain is Madrid.", "A capital da Spain is Madrid.", 2, "pt") == [
        "is madrid", "spain is"]
    assert copied_phrases("We visited Paris in June.", "Nós visited Paris em junho.", 2, "pt") == ["visited paris"]
    # names and titles a translation keeps are still not copies
    for src, out in [("I read Pride and Prejudice at the Bank of America.",
                      "Li Pride and Prejudice no Bank of America."),
                     ("Alice's Adventures in Wonderland is a book by Lewis Carroll.",
                      "Alice's Adventures in Wonderland é um livro de Lewis Carroll."),
                     ('Make "Honey Glazed Chicken Skewers". Brush the chicken skewers.',
                      'Faça "Honey Glazed Chicken Skewers". Pincele os espetos.')]:
        assert copied_phrases(src, out, 2, "pt") == [], src
    assert copied_phrases("Brush the chicken skewers.", "Pincele os chicken skewers.", 2, "pt") == [
        "chicken skewers"]


def test_real_set_rows_are_found_by_hash_and_labels_are_complete(tmp_path):
    rows = [{"instruction": "Say hi.", "input": "", "output": "Hi!"},
            {"instruction": "Add.", "input": "2 + 2", "output": "4"}]
    assert realset.row_hash(rows[0]) == realset.row_hash(dict(rows[0], extra="ignored"))
    assert realset.row_hash(rows[0]) != realset.row_hash(rows[1])
    labels = {realset.row_hash(rows[1]): {"label": "wrong"}, "0" * 16: {"label": "correct"}}
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    got = realset.labelled_rows(path, labels)
    assert [(r["id"], r["label"], r["output"]) for r in got] == [(realset.row_hash(rows[1]), "wrong", "4")]
    lines = tmp_path / "rows.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows))
    assert realset.labelled_rows(lines, labels) == got
    with pytest.raises(ValueError, match="holds none of the 1 labelled rows"):
        realset.labelled_rows(path, {"0" * 16: {"label": "correct"}})
    assert realset.rows_path(tmp_path / "absent.json") is None
    data = realset.load_labels()
    counts = {k: sum(v["label"] == k for v in data["labels"].values()) for k in realset.LABELS}
    assert counts == {"correct": 48, "minor": 41, "wrong": 31}
    assert all(len(h) == 16 for h in data["labels"])
    scored = [{"id": "a", "label": "correct", "qa_pass": True, "qa_flags": []},
              {"id": "b", "label": "wrong", "qa_pass": False, "qa_flags": ["symbols", "bt_chrf"]},
              {"id": "c", "label": "wrong", "qa_pass": True, "qa_flags": []}]
    result = realset.agreement(scored)
    assert result["correct"] == {"n": 1, "failed": 0, "failed_ids": [], "checks": {}}
    assert result["wrong"]["failed"] == 1 and result["wrong"]["checks"] == {"symbols": 1, "bt_chrf": 1}
    assert "| wrong | 2 | 1 | 50% | symbols 1, bt_chrf 1 |" in realset.agreement_table(result)


def test_the_fetched_real_rows_hold_every_labelled_row():
    path = realset.rows_path()
    if path is None:
        pytest.skip(f"set {realset.ENV_VAR} to the file named in validation/realset_labels.json")
    rows = realset.labelled_rows(path)
    assert len(rows) == len(realset.load_labels()["labels"]) == 120


def test_new_corruption_classes_make_the_errors_the_new_checks_catch():
    import random

    from validation.scorers.alignment import copied_phrases as copied
    from validation.sensitivity import Corruptor

    en = [{"output": "The area of a circle is A = πr2, about 3.14 times r squared."},
          {"output": "Copper ore: Mineral\nQuartz: Mineral"},
          {"output": "1. Yellow\n2. Orange\n3. Green"},
          {"output": "We visited the old museum in Paris last summer with friends."}]
    pt = [{"output": "A área de um círculo é A = πr2, cerca de 3,14 vezes r ao quadrado."},
          {"output": "Minério de cobre: Mineral\nQuartzo: Mineral"},
          {"output": "1. Amarelo\n2. Laranja\n3. Verde"},
          {"output": "Visitamos o antigo museu em Paris no verão passado com amigos."}]
    corrupt = Corruptor(en, pt)
    rng = random.Random(0)
    out = corrupt.symbol_loss(0, rng)
    assert out is not None and symbol_mismatch(en[0]["output"], out) is not None
    assert corrupt.symbol_loss(2, rng) is None  # no symbol to lose
    out = corrupt.label_loss(1, rng)
    assert out in ("Minério de cobre:\nQuartzo: Mineral", "Minério de cobre: Mineral\nQuartzo:")
    assert lost_labels(en[1]["output"], out)
    out = corrupt.line_append(2, rng)
    assert out is not None and out.count("\n") == 2 and line_mismatch(en[2]["output"], out) is not None
    out = corrupt.capital_copy(3, rng)
    assert out is not None and "Paris" in out and copied(en[3]["output"], out, 2, "pt")


def test_benchmark_skips_cleanly_without_the_real_rows(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "benchmarks/qa_sensitivity.py"), "--real",
                          str(tmp_path / "absent.json")], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "The real-data set is not here" in out.stdout and "skipped." in out.stdout


def test_a_short_field_fails_on_its_back_translation_only_with_a_second_signal():
    from safedrift.core.specs import BENIGN
    from validation.config import QAConfig
    from validation.qa import score_language

    def row(i: int, inp: str, out: str, bt_inp: str, bt_out: str) -> tuple[dict, dict]:
        base = {"id": f"r{i}", "source": "t", "instruction": "Classify this as an object or an action.",
                "bt_instruction": "Classify this as an object or an action."}
        en = dict(base, language="en", input=inp, output=out, bt_input=inp, bt_output=out)
        pt = dict(base, language="pt", instruction="Classifique isto como um objeto ou uma ação.",
                  input=inp + " (pt)", output=out + " (pt)", bt_input=bt_inp, bt_output=bt_out)
        return en, pt

    pairs = [row(0, "running", "It is an action.", "in execution", "It is an action."),
             row(1, "a red ball", "It is an object that children like to throw around.", "a red ball",
                 "Bananas grow in warm places near the equator.")]
    en, pt = [p[0] for p in pairs], [p[1] for p in pairs]
    rows, report = score_language(BENIGN, "pt", pt, en, QAConfig(scorers=["backtranslation"]))
    assert rows[0]["bt_chrf_short"] == ["input"] and "bt_chrf_short" in rows[0]["qa_flags"]
    assert rows[0]["qa_pass"] and report["warnings"] == {"bt_chrf_short": 1}
    # a long field's low chrF still fails on its own
    assert "bt_chrf" in rows[1]["qa_flags"] and not rows[1]["qa_pass"]
