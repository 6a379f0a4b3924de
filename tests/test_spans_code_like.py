"""Issue 25: code-like text is protected from translation byte for byte (paths, file names, key=value settings,
key/value configuration blocks), and the structure checks see a translation that changed it."""

from __future__ import annotations

from builders.segments import protected_spans, segment_text
from validation.scorers.structure import missing_spans


def spans(text: str) -> list[str]:
    return [s for s, _ in protected_spans(text)]


def test_paths_file_names_and_query_strings_are_protected():
    text = "Open config.yaml and src/main.py, then ~/.bashrc and C:\\Users\\me\\a.txt; use and/or 24/7 km/h."
    assert segment_text(text).segments == ["Open _0_ and _1_, then _2_ and _3_; use and/or _4_ km/h."]
    assert spans(text) == ["config.yaml", "src/main.py", "~/.bashrc", "C:\\Users\\me\\a.txt", "24/7"]
    text = "Visit /docs/guide.html?lang=en&page=2 now. Set timeout=30 e.g. here."
    assert segment_text(text).segments == ["Visit _0_ now.", "Set _0_ e.g. here."]
    assert spans(text) == ["/docs/guide.html", "?lang=en&page=2", "timeout=30"]
    # an identity translation still reassembles the input byte for byte
    st = segment_text(text)
    assert st.assemble(st.segments) == text


def test_a_key_value_block_is_kept_but_a_labelled_answer_is_translated():
    text = ("The URL's parts:\n- Scheme: https\n- Host: www.example.org\n- Port: 8080\n- Path: /docs/guide.html\n"
            "- Query: lang=en\n- Fragment: install")
    assert segment_text(text).segments == ["The URL's parts:", "Scheme: https", "Fragment: install"]
    block = "- Host: www.example.org\n- Port: 8080\n- Path: /docs/guide.html\n- Query: lang=en\n"
    assert (block, True) in list(protected_spans(text))
    # one settings-shaped line, or labels with prose values, are prose
    for prose in ("String: level", "Answer: yes\nReason: it is late.", "Name: John\nAge: 30"):
        assert not any(code for _, code in protected_spans(prose)), prose
        assert "".join(segment_text(prose).segments).replace("_0_", "30") == prose.replace("\n", ""), prose


def test_structure_checks_see_translated_code_like_spans():
    src = "- Host: www.example.org\n- Port: 8080\n\nSee /docs/guide.html?lang=en for config.yaml."
    ok = "- Host: www.example.org\n- Port: 8080\n\nVeja /docs/guide.html?lang=en para config.yaml."
    assert missing_spans(src, ok) == []
    bad = "- Anfitrião: www.example.org\n- Porto: 8080\n\nVeja /docs/guia.html?lang=pt para config.yaml."
    assert missing_spans(src, bad) == [("inline_code", "/docs/guide.html"), ("inline_code", "?lang=en"),
                                       ("unfenced_code", "- Host: www.example.org\n- Port: 8080")]
