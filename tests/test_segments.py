"""Segmentation: byte-for-byte round trips, protection of code/URLs/numbers/placeholders, sentinel loss."""

from __future__ import annotations

import random

import pytest

from builders.segments import (
    SENTINEL,
    _split_code_blocks,
    is_code_line,
    prose_only,
    protected_spans,
    restore_spans,
    segment_text,
)

CASES = [
    "",
    " ",
    "\n\n",
    "Hello world.",
    "Hello world.  Two spaces before this sentence!   And three here?",
    "Trailing spaces here.   \nNext line has a tab\tinside.\t\n",
    "Windows line one.\r\nWindows line two.\r\n\r\nNew paragraph.\r\n",
    "1. First item\n2. Second item\n   - nested bullet\n   * star bullet\n10) tenth item",
    "# Heading\n\n> A quoted line. Another sentence.\n\n## Sub heading",
    "Here is code:\n\n```python\ndef f(x):\n    return x * 2.  # not a sentence\n```\n\nAnd after it.",
    "```\nonly code\n```",
    "Unclosed fence:\n```bash\necho hi\nstill code. Yes.",
    "Run `pip install -e .` first. Then `make test`.",
    "Visit https://example.org/path?q=1&r=2. Or www.example.com/page, maybe.",
    "Mail me at someone.name+tag@example.co.uk today.",
    "Dear {name}, your order {{order_id}} ships in %d days (%s). <b>Thanks</b><br/>",
    "It costs 1,299.50 dollars, i.e. about 3.14 times more, on 2024-01-05 at 12:30.",
    "42",
    "   3.14   ",
    "e.g. this is Dr. Smith. J. R. R. Tolkien wrote books. Fine.",
    "Use my_var_1 and __init__ here, not _0_ or _12_.",
    "你好。今天天气很好！你呢？我很好",
    "这是第一句。这是第二句。 带空格的第三句。",
    "नमस्ते। आप कैसे हैं? मैं ठीक हूँ।",
    "مرحبا بك. كيف حالك؟ أنا بخير.",
    "สวัสดีครับ วันนี้อากาศดีมาก ไปเที่ยวกันไหม\nบรรทัดที่สอง",
    "Mixed 日本語 text with English. And more…  Done",
    "Emoji 🎉 party! 🚀 Launch.",
    "Tabs\tand\u00a0non-breaking\u2009spaces. End.",
    "|a|b|\n|---|---|\n|1|2|",
    "---\n***\n",
    "Line with unicode line separator\u2028next part. And\u2029paragraph.",
    "Price: $5 or ${price} for $HOME users.",
    'Compare a < b and c > d; <div class="x">text</div>',
    "Quote: \"Stop.\" He left. 'Why?' she asked.",
    "Ends without newline",
    "\n\nStarts with blank lines.\n\n\n",
]


def identity(st):
    return st.assemble(st.segments)


@pytest.mark.parametrize("text", CASES)
def test_identity_round_trip_is_byte_for_byte(text):
    for language in ("en", "th", "zh"):
        st = segment_text(text, language)
        assert identity(st) == text


def _random_text(rng: random.Random) -> str:
    pieces = [
        "Hello",
        "world",
        "the cat sat.",
        "Why?",
        "Yes!",
        "e.g.",
        "Dr.",
        "3.14",
        "1,000",
        "42",
        "{name}",
        "{{x}}",
        "%s",
        "%(n)d",
        "<br/>",
        "</p>",
        "`code`",
        "``a`b``",
        "https://ex.org/a_b?c=1.",
        "a@b.io",
        "snake_case",
        "_0_",
        "_7_",
        "__x__",
        "你好。",
        "世界！",
        "नमस्ते।",
        "مرحبا؟",
        "สวัสดี",
        "…",
        "🎉",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\n\n",
        "- ",
        "1. ",
        "* ",
        "# ",
        "> ",
        "```",
        "```py\nx = 1\n```\n",
        "~~~",
        ".",
        ",",
        "(",
        ")",
        '"',
        "'",
        "\u00a0",
        "\u2028",
        "$",
        "%",
        "_",
        "{",
        "}",
        "<",
        ">",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))


def test_identity_round_trip_on_random_texts():
    rng = random.Random(1234)
    for _ in range(3000):
        text = _random_text(rng)
        for language in ("en", "th"):
            st = segment_text(text, language)
            assert identity(st) == text, repr(text)


def test_sentences_list_markers_and_whitespace_stay_in_template():
    st = segment_text("1. First thing. Second thing!\n  - Third?  \n")
    assert st.segments == ["First thing.", "Second thing!", "Third?"]


def test_fenced_code_and_pure_numbers_are_not_sent():
    st = segment_text("Intro.\n```python\nprint('Hello there.')\n```\n42\nhttps://example.org\n`x = 1`")
    assert st.segments == ["Intro."]


def test_protected_spans_become_numbered_sentinels_per_segment():
    st = segment_text("Run `make test` with 3 workers. Open https://example.org/docs now.")
    assert st.segments == ["Run _0_ with _1_ workers.", "Open _0_ now."]
    translated = ["Execute _0_ com _1_ workers.", "Abra _0_ agora."]
    assert st.assemble(translated) == (
        "Run `make test` with 3 workers. Open https://example.org/docs now.".replace("Run", "Execute")
        .replace("with 3 workers", "com 3 workers")
        .replace("Open", "Abra")
        .replace("now.", "agora.")
    )
    assert SENTINEL.format(3) == "_3_"


def test_same_structure_with_different_numbers_shares_a_segment():
    a = segment_text("Buy 5 apples.")
    b = segment_text("Buy 7 apples.")
    assert a.segments == b.segments == ["Buy _0_ apples."]
    assert a.assemble(["Compre _0_ maçãs."]) == "Compre 5 maçãs."
    assert b.assemble(["Compre _0_ maçãs."]) == "Compre 7 maçãs."


def test_dropped_sentinel_is_appended_so_nothing_protected_is_lost():
    st = segment_text("Call {name} at 12:30 about `deploy.sh`.")
    assert st.segments == ["Call _0_ at _1_ about _2_."]
    out = st.assemble(["Ligue para _0_ sobre."])  # engine dropped _1_ and _2_
    assert out == "Ligue para {name} sobre. 12:30 `deploy.sh`"
    for span in ("{name}", "12:30", "`deploy.sh`"):
        assert span in out


def test_duplicated_and_unknown_sentinels():
    assert restore_spans("a _0_ b _0_ c", ("{x}",)) == "a {x} b  c"
    assert restore_spans("a _5_ b", ("{x}",)) == "a _5_ b {x}"
    assert restore_spans("", ("{x}", "42")) == "{x} 42"
    assert restore_spans("plain", ()) == "plain"


def test_underscores_an_engine_added_around_a_sentinel_go_with_it():
    # Seen on bergamot en->pt: "calculated on $_4_." came back as "calculado em $_4__.".
    st = segment_text("It is calculated on $1,050.")
    assert st.segments == ["It is calculated on $_0_."]
    assert st.assemble(["É calculado em $_0__."]) == "É calculado em $1,050."
    assert restore_spans("a __0_ b", ("{x}",)) == "a {x} b"
    # Adjacent sentinels stay two; a literal underscore of the source is inside its span and is kept.
    assert restore_spans("_0__1_", ("{a}", "{b}")) == "{a}{b}"
    assert segment_text("Use snake_case here.").assemble(["Use _0_ aqui."]) == "Use snake_case aqui."


def test_assemble_checks_translation_count():
    st = segment_text("One. Two.")
    with pytest.raises(ValueError, match="expected 2 translations"):
        st.assemble(["Um."])


def test_thai_is_split_only_on_newlines_and_cjk_on_full_stops():
    thai = segment_text("สวัสดีครับ. วันนี้อากาศดี\nบรรทัดที่สอง", "th")
    assert thai.segments == ["สวัสดีครับ. วันนี้อากาศดี", "บรรทัดที่สอง"]
    zh = segment_text("你好。今天天气很好！你呢？", "zh")
    assert zh.segments == ["你好。", "今天天气很好！", "你呢？"]
    hi = segment_text("नमस्ते। आप कैसे हैं?", "hi")
    assert hi.segments == ["नमस्ते।", "आप कैसे हैं?"]


def test_abbreviations_and_initials_do_not_end_sentences():
    st = segment_text("See e.g. the list by Dr. Smith and J. Doe. Next one.")
    assert st.segments == ["See e.g. the list by Dr. Smith and J. Doe.", "Next one."]


def test_percent_sign_before_a_word_is_not_a_placeholder():
    st = segment_text("A 50% discount applies.")
    assert st.segments == ["A _0_% discount applies."]


def test_code_fence_opened_mid_line_is_protected():
    text = (
        "Here it is: ```python\nx = 1  # Set x. Done.\n``` Hope this helps.\n~~~\nalso code. Yes.\n~~~\nBye."
    )
    st = segment_text(text)
    assert st.segments == ["Here it is:", "Hope this helps.", "Bye."]
    assert st.assemble(["Aqui está:", "Espero que ajude.", "Tchau."]) == text.replace(
        "Here it is:", "Aqui está:"
    ).replace("Hope this helps.", "Espero que ajude.").replace("Bye.", "Tchau.")


# --- unfenced code (issue 16): statement-shaped lines outside a fence are protected like fenced code ----------

def test_unfenced_python_is_not_sent_and_comes_back_byte_for_byte():
    text = ("Fix this function:\ndef average(nums):\n    return sum(nums) / len(nums) + 1\n\n"
            "It adds 1 to every average.")
    st = segment_text(text)
    assert st.segments == ["Fix this function:", "It adds _0_ to every average."]
    out = st.assemble(["Corrija esta função:", "Ela soma _0_ a cada média."])
    assert "def average(nums):\n    return sum(nums) / len(nums) + 1\n" in out
    assert [span for span, is_code in protected_spans(text) if is_code] == [
        "def average(nums):\n    return sum(nums) / len(nums) + 1\n"]


@pytest.mark.parametrize("line", [
    "squares = [n * n for n in range(5)]",
    'text = "stressed"',
    "import csv",
    "from datetime import date",
    "for row in csv.DictReader(fh):",
    "if not nums:",
    "else:",
    'print("Hello there")',
    "result = total / count",
    "const total = items.length;",
    "function add(a, b) {",
    "int main() {",
    "}",
    "SELECT name FROM users WHERE age > 30;",
    "@app.route('/')",
])
def test_code_lines(line):
    assert is_code_line(line)
    assert segment_text(line).segments == []


@pytest.mark.parametrize("line", [
    "mitochondria = makes energy for cell, ATP, its like power plant",  # notes, not an assignment
    "Write Python code to find the largest number in a list without using max().",
    "if you have time:",
    "for each item in the list:",
    "return to step 2",
    "Return the book by Friday.",
    "import the data from the spreadsheet",
    "public speaking (tips)",
    "Total: 3 boxes x 12 pencils = 36 pencils.",
    "x = 5.",  # ends like a sentence
    "UPDATE: the launch moved to Friday",
])
def test_prose_lines_that_mention_code_are_still_translated(line):
    assert not is_code_line(line)
    assert segment_text(line).segments


def test_indented_lines_under_a_code_line_belong_to_its_block_until_the_indent_ends():
    text = "def f(x):\n    total is computed here\n    return x\nThat is all.\n    Indented prose."
    blocks = [(b, c) for b, c in _split_code_blocks(text)]
    assert blocks == [("def f(x):\n    total is computed here\n    return x\n", True),
                      ("That is all.\n    Indented prose.", False)]


def test_prose_only_drops_code_and_blanks_protected_spans():
    text = "Use `x` at https://a.org/b 3 times.\n```py\nif not x:\n    pass\n```\nsquares = [1]\nDone {name} 4x."
    assert prose_only(text) == "Use   at     times.\n\n\n\nDone   4x."
    assert prose_only(text, keep_numbers=True, blank="|") == "Use | at | 3 times.\n\n\n\nDone | 4x."


def test_target_language_abbreviations_do_not_end_sentences():
    assert segment_text("Vizinho: Sra. Patel. Eu estava fora.", "pt").segments == [
        "Vizinho: Sra. Patel.", "Eu estava fora."]
