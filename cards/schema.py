"""The published row schemas (pyarrow), one per dataset; DESIGN.md "Dataset rows" is the reference."""

from __future__ import annotations

import pyarrow as pa

QA_FIELDS = [
    pa.field("bt_chrf", pa.float64()),
    pa.field("bt_bleu", pa.float64()),
    pa.field("comet", pa.float64()),  # null unless COMET ran
    pa.field("lang_id", pa.string()),
    pa.field("lang_id_score", pa.float64()),
    pa.field("qa_pass", pa.bool_()),
    pa.field("qa_flags", pa.list_(pa.string())),  # failed checks, empty when clean
    pa.field("translator", pa.string()),
]

MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])

BENIGN_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("language", pa.string()),
        pa.field("instruction", pa.string()),
        pa.field("input", pa.string()),
        pa.field("output", pa.string()),
        pa.field("messages", pa.list_(MESSAGE)),
        *QA_FIELDS,
    ]
)

SORRY_BENCH_SCHEMA = pa.schema(
    [
        pa.field("question_id", pa.int64()),
        pa.field("category", pa.string()),
        pa.field("category_name", pa.string()),
        pa.field("prompt_style", pa.string()),
        pa.field("turns", pa.list_(pa.string())),
        pa.field("language", pa.string()),
        *QA_FIELDS,
    ]
)


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows -> table with exactly the schema's columns (extra work columns are dropped)."""
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
