"""safedrift's own tiny reading-comprehension items (Belebele's shape: a passage, a question, four answers), in
each sample language, so an lm-eval task runs offline in tests and the sample run. Written for this project; the
same item ids in every language. Too few to measure capability: they check that the lm-eval path works."""

from __future__ import annotations

# (item id, passage, question, choices, index of the correct choice) per language.
ITEMS: dict[str, list[tuple[str, str, str, list[str], int]]] = {
    "en": [
        ("1", "The library opens at nine in the morning and closes at six in the evening.",
         "When does the library close?", ["At nine", "At noon", "At six", "At midnight"], 2),
        ("2", "Maria planted tomatoes in spring and picked the first ripe ones in July.",
         "What did Maria plant?", ["Tomatoes", "Potatoes", "Roses", "Apples"], 0),
        ("3", "The train to the coast was late because a tree had fallen on the tracks.",
         "Why was the train late?", ["The driver was ill", "A tree fell on the tracks", "It snowed",
                                     "The station was closed"], 1),
        ("4", "Tom keeps his bicycle in the garage and rides it to school every day.",
         "Where does Tom keep his bicycle?", ["In the kitchen", "At school", "In the garden", "In the garage"], 3),
        ("5", "The bakery sells fresh bread every morning, but cakes only on Saturdays.",
         "When can you buy cakes?", ["Every morning", "On Saturdays", "On Mondays", "Never"], 1),
        ("6", "Our cat sleeps most of the day and plays with a ball of wool at night.",
         "What does the cat do at night?", ["It sleeps", "It eats fish", "It plays with wool", "It goes outside"], 2),
    ],
    "pt": [
        ("1", "A biblioteca abre às nove da manhã e fecha às seis da tarde.",
         "Quando a biblioteca fecha?", ["Às nove", "Ao meio-dia", "Às seis", "À meia-noite"], 2),
        ("2", "Maria plantou tomates na primavera e colheu os primeiros maduros em julho.",
         "O que Maria plantou?", ["Tomates", "Batatas", "Rosas", "Maçãs"], 0),
        ("3", "O trem para o litoral atrasou porque uma árvore caiu sobre os trilhos.",
         "Por que o trem atrasou?", ["O maquinista estava doente", "Uma árvore caiu sobre os trilhos", "Nevou",
                                     "A estação estava fechada"], 1),
        ("4", "Tom guarda a bicicleta na garagem e vai de bicicleta para a escola todos os dias.",
         "Onde Tom guarda a bicicleta?", ["Na cozinha", "Na escola", "No jardim", "Na garagem"], 3),
        ("5", "A padaria vende pão fresco todas as manhãs, mas bolos só aos sábados.",
         "Quando se pode comprar bolos?", ["Todas as manhãs", "Aos sábados", "Às segundas", "Nunca"], 1),
        ("6", "Nosso gato dorme quase o dia todo e brinca com um novelo de lã à noite.",
         "O que o gato faz à noite?", ["Dorme", "Come peixe", "Brinca com lã", "Sai de casa"], 2),
    ],
}


def load(language: str = "en", **_metadata):
    """lm-eval's custom_dataset hook: the items of one language as a DatasetDict with a `test` split."""
    import datasets

    rows = [{"id": i, "passage": p, "question": q, "choices": c, "answer": a} for i, p, q, c, a in ITEMS[language]]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
