"""Argos translation throughput on a base-size model: our engine vs argostranslate.translate() vs raw CTranslate2.

    .venv/bin/python benchmarks/translate_throughput.py                # 300 segments, base-size model, greedy
    .venv/bin/python benchmarks/translate_throughput.py --tune --repeat 2
    .venv/bin/python benchmarks/translate_throughput.py --beam-size 4  # argostranslate's beam, for all three
    .venv/bin/python benchmarks/translate_throughput.py --smoke        # tiny sizes (tests/test_benchmarks.py)

No real argos model installs offline, so the script builds one of the size argos ships (Marian transformer-
base: 6+6 layers, d_model 512, 8 heads, FFN 2048, a 32k SentencePiece vocabulary trained on English-like text
generated here, CTranslate2 int8) with random weights, as a real `.argosmodel` package (metadata,
SentencePiece model, CTranslate2 model, a packaged spaCy pipeline for argostranslate's sentence splitter),
and installs it through argostranslate. Random weights never choose </s> on their own, and a fixed </s> bias
only gives a geometric spread of lengths (with run-aways to the 256-token cap) unrelated to the source; so
`wire_length` makes </s> fire at the step aligned with the source's final punctuation, about 1.1 x the source
tokens: each output is as long as a real translation of that segment would be (the mean is printed), under
greedy and beam search alike, while every other weight stays random. The package is built once (about a
minute) and cached in --cache-dir.

The same segments (English sentences written from templates below; each is exactly one segment for
builders.segments) are translated three ways with the same decoding settings (--beam-size; greedy by
default, or argostranslate's 4 for all three):
  (a) argostranslate.translate(), one text at a time, as a user would call it, with argostranslate's own
      settings (32-token batches, inter_threads 1, intra_threads 0). Its sentence splitter is spaCy's
      rule-based sentencizer on the packaged pipeline (chunk type SPACY), the one that works offline; the
      default MiniSBD neural splitter downloads its model and costs more, so the ratio is conservative;
  (b) our argos engine through builders.translate.translate_texts with a fresh translation memory (what a
      build does: segment, dedupe, memory look-up, translate the misses in chunks of the default
      translation.batch_segments, store them, reassemble);
  (c) raw CTranslate2 translate_batch over every segment in one call, shortest first.
(b) and (c) use the same thread layout and token batch size: the engine's defaults for this machine, or
--ct2-threads/--ct2-batch, or with --tune the fastest of a grid for (c). Our outputs must equal (c)'s
exactly (asserted); the count of argostranslate's outputs equal to ours is printed too. Model loading is
outside every timing (each path translates one warm-up sentence first); (b) and (c) are timed alternately,
best of --repeat. Prints segments/s and the two ratios, `ours / raw CT2 time` last.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET = "de"  # any argos code: the random model's "German" is noise of the right length
TARGET_RATIO = 1.1  # output tokens per source token of a real translation (about 1.1 for en->de)


@dataclass(frozen=True)
class ModelSize:
    layers: int
    d_model: int
    heads: int
    ffn: int
    vocab: int
    corpus_lines: int  # generated lines the SentencePiece model is trained on


BASE = ModelSize(layers=6, d_model=512, heads=8, ffn=2048, vocab=32_000, corpus_lines=40_000)
SMOKE = ModelSize(layers=1, d_model=64, heads=2, ffn=128, vocab=2_000, corpus_lines=2_000)
BUILD_VERSION = 3  # bump when the package recipe changes (invalidates the cache)

# --- English text, written for this benchmark ------------------------------------------------------------

PEOPLE = ["my neighbour", "the teacher", "our manager", "a young engineer", "the new nurse", "my sister",
          "the old farmer", "a visiting scientist", "the head chef", "our youngest volunteer", "the librarian",
          "a tired traveller", "the bus driver", "my grandfather", "the team captain", "a local artist"]
ACTIONS = ["repaired the broken fence", "planted tomatoes along the wall", "wrote a letter to the council",
           "cleaned the kitchen before dinner", "painted the front door green", "read the report twice",
           "baked bread for the whole street", "walked the dog along the river", "fixed the leaking tap",
           "tidied the garden shed", "carried the boxes upstairs", "explained the plan to everyone",
           "checked the results again", "sang a song at the festival", "sold the old bicycle",
           "opened a small bakery", "visited the museum with friends", "answered every question patiently"]
PLACES = ["in the village", "near the harbour", "behind the station", "at the market", "in the mountains",
          "on the island", "by the lake", "in the city centre", "at the edge of the forest", "in the valley"]
TIMES = ["yesterday", "last week", "every morning", "on Sunday", "before the storm", "after lunch",
         "during the holidays", "early in the spring", "late at night", "at the end of the summer"]
REASONS = ["because the weather was finally warm", "so that the children could play outside",
           "although nobody had asked for help", "while the others were still asleep",
           "because the old one had stopped working", "so that the guests would feel welcome",
           "even though it started to rain", "before the shops closed for the evening"]
TASKS = ["Write a short story about", "Explain in simple words", "Give three tips for", "Describe",
         "Summarise the main idea of", "Suggest a plan for", "List the steps for", "Compare the benefits of"]
TOPICS = ["a lighthouse keeper who finds a message in a bottle", "how plants turn sunlight into food",
          "keeping a vegetable garden healthy in dry weather", "a quiet morning in a mountain village",
          "the history of the local railway", "learning a new language as an adult",
          "saving energy at home during the winter", "why some birds fly south before the cold arrives",
          "cooking a simple soup for a large family", "a friendly robot that helps in the library",
          "preparing for a long walk in the hills", "the difference between weather and climate"]
ADDITIONS = ["Keep the answer short and friendly.", "Use plain language that a child would understand.",
             "Mention at least one example from everyday life.", "Avoid technical terms where you can."]
QUESTIONS = ["Why does bread go stale faster in the fridge than on the table?",
             "How can a small town attract more visitors without losing its character?",
             "What should I pack for a weekend of walking by the sea?",
             "Which houseplants survive in a dark room with little water?",
             "How do bees find their way back to the hive?",
             "What is the best way to learn to play the piano as a beginner?"]


def english_segments(n: int, seed: int = 0) -> list[str]:
    """n distinct English sentences of varied length (about 5 to 60 words), one segment each."""
    rng = random.Random(seed)

    def pick(items: list[str]) -> str:
        return rng.choice(items)

    shapes = [
        lambda: f"{pick(PEOPLE).capitalize()} {pick(ACTIONS)}.",
        lambda: f"{pick(TIMES).capitalize()} {pick(PEOPLE)} {pick(ACTIONS)} {pick(PLACES)}.",
        lambda: f"{pick(PEOPLE).capitalize()} {pick(ACTIONS)} {pick(PLACES)} {pick(TIMES)}, {pick(REASONS)}.",
        lambda: f"{pick(TASKS)} {pick(TOPICS)}.",
        lambda: f"{pick(TASKS)} {pick(TOPICS)} and {pick(TOPICS)}, {pick(REASONS)}.",
        lambda: pick(QUESTIONS),
        lambda: (f"{pick(TIMES).capitalize()} {pick(PEOPLE)} {pick(ACTIONS)} {pick(PLACES)}, and then "
                 f"{pick(PEOPLE)} {pick(ACTIONS)} {pick(TIMES)}, {pick(REASONS)}, while {pick(PEOPLE)} "
                 f"{pick(ACTIONS)} {pick(PLACES)}."),
        lambda: pick(ADDITIONS),
    ]
    out: dict[str, None] = {}
    while len(out) < n:
        out[rng.choice(shapes)()] = None
    return list(out)


def training_corpus(n: int, seed: int = 1) -> list[str]:
    """n lines the SentencePiece model is trained on: the templates' English words mixed with made-up ones,
    so a 32k vocabulary fills up while every English word of the segments stays one or two pieces."""
    rng = random.Random(seed)
    consonants = "b c d f g h j k l m n p r s t v w z ch sh th st tr pl br gr cl".split()
    vowels = "a e i o u ai ea io ou y".split()
    made_up = ["".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
               + (rng.choice(consonants) if rng.random() < 0.5 else "") for _ in range(n)]
    english = " ".join(PEOPLE + ACTIONS + PLACES + TIMES + REASONS + TASKS + TOPICS + ADDITIONS
                       + QUESTIONS).replace(".", " ").replace(",", " ").replace("?", " ").split()
    english += [w.capitalize() for w in english]
    lines = []
    for _ in range(n):
        words = [rng.choice(made_up) if rng.random() < 0.5 else rng.choice(english)
                 for _ in range(rng.randint(5, 30))]
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] += ","
        line = " ".join(words) + rng.choice(".?!.")
        lines.append(line[0].upper() + line[1:])
    return lines


# --- the package -------------------------------------------------------------------------------------


class _Vocab:
    """What CTranslate2's Marian converter asks of a tokenizer."""

    eos_token = "</s>"
    unk_token = "<unk>"

    def __init__(self, tokens: list[str]):
        self._vocab = {tok: i for i, tok in enumerate(tokens)}

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)


def wire_length(model, eos_id: int, end_ids: list[int], ratio: float, heads: int, seed: int = 0) -> None:
    """Make a random Marian model stop after about `ratio` x the source's tokens, as a real translation would.

    A few model dimensions are set aside: K position-code dimensions, a flag and a reference. Encoder
    position j carries a random balanced +-1 code; decoder step p carries the code of source position
    floor(p / ratio). No layer writes into these dimensions, except head 0 of the last decoder layer's
    cross-attention: it attends from each step to the source position with the same code (a sharp
    dot-product match) and copies that position's flag into the decoder's flag; </s>'s output logit reads
    the flag. CTranslate2 adds no </s> to an argos source, so the flag is set on sentence-final punctuation
    (`end_ids`: the pieces ".", "?", "!"; every benchmark segment ends with one). Flag and reference are always read as a difference, which
    cancels the shift layer norm adds to every dimension. So the output ends at the step aligned with the
    sentence's end: realistic lengths per segment, under greedy and beam search alike, robust to int8.
    Every other weight stays random."""
    import torch

    d = model.config.d_model
    head_dim = d // heads
    k = min(48, head_dim) // 2 * 2
    flag, ref = d - 1, d - 2
    codes_at = list(range(d - 2 - k, d - 2))
    reserved = [*codes_at, ref, flag]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # The input embeddings (shared, or per side after loading: set every copy).
        for emb in (model.model.shared, model.model.encoder.embed_tokens, model.model.decoder.embed_tokens):
            emb.weight[:, reserved] = 0.0
            emb.weight[end_ids, flag] = 0.1  # x sqrt(d_model): a clear flag, small enough to keep the code
        lm_head = model.lm_head.weight
        lm_head[eos_id] = 0.0
        lm_head[eos_id, flag], lm_head[eos_id, ref] = 1.0, -1.0
        enc_pos = model.model.encoder.embed_positions.weight
        dec_pos = model.model.decoder.embed_positions.weight
        n_pos = enc_pos.shape[0]
        half = torch.cat([torch.ones(k // 2), -torch.ones(k // 2)])
        codes = torch.stack([half[torch.randperm(k, generator=gen)] for _ in range(n_pos)])
        enc_pos.zero_()
        dec_pos.zero_()
        enc_pos[:, codes_at] = codes
        for p in range(n_pos):
            dec_pos[p, codes_at] = codes[min(int(p / ratio), n_pos - 1)]
        for layer in [*model.model.encoder.layers, *model.model.decoder.layers]:
            outs = [layer.self_attn.out_proj, layer.fc2]
            if hasattr(layer, "encoder_attn"):
                outs.append(layer.encoder_attn.out_proj)
            for linear in outs:
                linear.weight[reserved] = 0.0
                linear.bias[reserved] = 0.0
        cross = model.model.decoder.layers[-1].encoder_attn
        head = slice(0, head_dim)
        # After layer norm a code entry is about +-2: a match scores about 60 (after the 1/sqrt(head_dim)
        # scaling), a mismatch about +-60/sqrt(k).
        gain = (60 * head_dim**0.5 / (4 * k)) ** 0.5
        for proj in (cross.q_proj, cross.k_proj, cross.v_proj):
            proj.weight[head] = 0.0
            proj.bias[head] = 0.0
        for i, dim in enumerate(codes_at):
            cross.q_proj.weight[i, dim] = gain
            cross.k_proj.weight[i, dim] = gain
        cross.v_proj.weight[0, flag], cross.v_proj.weight[0, ref] = 1.0, -1.0
        cross.out_proj.weight[:, head] = 0.0
        cross.out_proj.weight[flag, 0] = 500.0  # the flag then dominates that step: </s> wins by a wide margin


def build_package(dest: Path, size: ModelSize) -> None:
    """Write `dest`, an en->TARGET .argosmodel with a random model of `size` (lengths wired to the source)."""
    import ctranslate2
    import sentencepiece as spm
    import spacy
    import torch
    from transformers import MarianConfig, MarianMTModel

    with tempfile.TemporaryDirectory(prefix="bench-argos-build-") as tmp:
        name = f"translate-en_{TARGET}-1_0"
        pkg = Path(tmp) / name
        pkg.mkdir()
        sp_buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(training_corpus(size.corpus_lines)), model_writer=sp_buffer,
            vocab_size=size.vocab, model_type="bpe", byte_fallback=True, character_coverage=1.0,
            minloglevel=2, num_threads=os.cpu_count() or 1, hard_vocab_limit=False)
        (pkg / "sentencepiece.model").write_bytes(sp_buffer.getvalue())
        sp = spm.SentencePieceProcessor(model_proto=sp_buffer.getvalue())
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        vocab = pieces + ["<pad>"]  # Marian's decoder-start/pad token comes last; the converter drops it
        eos_id = pieces.index("</s>")

        torch.manual_seed(0)
        config = MarianConfig(
            vocab_size=len(vocab), d_model=size.d_model, encoder_layers=size.layers,
            decoder_layers=size.layers, encoder_attention_heads=size.heads, decoder_attention_heads=size.heads,
            encoder_ffn_dim=size.ffn, decoder_ffn_dim=size.ffn, max_position_embeddings=512,
            pad_token_id=len(vocab) - 1, eos_token_id=eos_id, decoder_start_token_id=len(vocab) - 1,
            forced_eos_token_id=eos_id, share_encoder_decoder_embeddings=True,
            tie_word_embeddings=False,  # </s>'s output row reads the length flag, its input row sets it
        )
        model = MarianMTModel(config).eval()
        ends = [i for i, piece in enumerate(pieces) if piece.lstrip("\u2581") in {".", "?", "!"}]
        wire_length(model, eos_id, ends, ratio=TARGET_RATIO, heads=size.heads)
        with torch.no_grad():
            bias = model.final_logits_bias[0]
            bias[eos_id] = -5.0  # no </s> before the wired step
            # Byte-fallback pieces would decode to invalid UTF-8 fragments, <unk> to a placeholder.
            for i, piece in enumerate(pieces):
                if piece.startswith("<0x") or piece == "<unk>":
                    bias[i] = -1e4
        hf_dir = Path(tmp) / "hf"
        config.save_pretrained(hf_dir)  # the converter reads the config from disk, the weights from `model`

        class Converter(ctranslate2.converters.TransformersConverter):
            def load_model(self, model_class, model_name_or_path, **kwargs):
                return model

            def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
                return _Vocab(vocab)

        Converter(str(hf_dir)).convert(str(pkg / "model"), quantization="int8", force=True)
        # argostranslate's offline sentence splitter: a packaged spaCy pipeline (it adds the sentencizer).
        spacy.blank("en").to_disk(pkg / "spacy")
        (pkg / "metadata.json").write_text(json.dumps({
            "package_version": "1.0", "argos_version": "1.0", "code": f"translate-en_{TARGET}",
            "from_code": "en", "from_name": "English", "to_code": TARGET, "to_name": TARGET.upper(),
            "type": "translate", "links": []}, indent=2))
        (pkg / "README.md").write_text("Random base-size benchmark model; its translations are meaningless.\n")
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zf:
            for path in sorted(pkg.rglob("*")):
                zf.write(path, path.relative_to(tmp).as_posix())


def cached_package(cache_dir: Path, size: ModelSize) -> Path:
    key = hashlib.sha256(json.dumps([BUILD_VERSION, asdict(size), TARGET_RATIO]).encode()).hexdigest()[:12]
    dest = cache_dir / f"translate-en_{TARGET}-{key}.argosmodel"
    if not dest.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        partial = dest.with_name(dest.name + f".{os.getpid()}.partial")
        build_package(partial, size)
        os.replace(partial, dest)
        print(f"built {dest.name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return dest


# --- the three ways to translate -------------------------------------------------------------------------


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model and 24 segments (a test runs this)")
    parser.add_argument("--segments", type=int, help="segments to translate (default 300; smoke 24)")
    parser.add_argument("--beam-size", type=int, default=1, help="all three paths (1 = greedy; 4 = argos')")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for ours and raw CTranslate2")
    parser.add_argument("--ct2-threads", help="inter_threads x intra_threads, e.g. 2x1, for raw CTranslate2 and "
                                              "our engine (default: the engine's layout for this machine)")
    parser.add_argument("--ct2-batch", type=int, help="max_batch_size in tokens, raw CTranslate2 and our engine "
                                                      "(default: the engine's)")
    parser.add_argument("--tune", action="store_true",
                        help="first time raw CTranslate2 over a grid of threads x batch sizes; use the best for both")
    parser.add_argument("--cache-dir", default=os.environ.get("SAFEDRIFT_CACHE", str(REPO / ".cache")),
                        help="where the built package is kept (default .cache/ or $SAFEDRIFT_CACHE)")
    args = parser.parse_args(argv)
    size = SMOKE if args.smoke else BASE
    n = args.segments or (24 if args.smoke else 300)
    max_len = 256  # argostranslate's (CTranslate2's default); ours and raw get the same

    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    packages = work / "packages"
    # argostranslate reads its packages folder when first imported: set it before anything imports it.
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages)
    try:
        run(args, size, n, max_len, work, packages)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, size: ModelSize, n: int, max_len: int, work: Path, packages: Path) -> None:
    import ctranslate2
    import sentencepiece as spm

    from builders.config import TranslationConfig
    from builders.engines.argos import ArgosEngine, install_argos_package
    from builders.engines.ctranslate import DEFAULT_BATCH_TOKENS, thread_layout
    from builders.memory import TranslationMemory
    from builders.segments import segment_text
    from builders.translate import translate_texts

    texts = english_segments(n)
    warm = "A short sentence to load the model."
    for t in texts:  # each text is exactly one segment, so the three paths see the same inputs
        assert segment_text(t).segments == [t], t
    archive = cached_package(Path(args.cache_dir) / "bench-argos", size)
    pkg_dir = install_argos_package(archive, packages)
    sp = spm.SentencePieceProcessor(model_file=str(pkg_dir / "sentencepiece.model"))
    src_tokens = [sp.encode(t, out_type=str) for t in texts]

    # (c) raw CTranslate2: every segment in one call, the best settings for this machine.
    decoding = dict(beam_size=args.beam_size, max_decoding_length=max_len, replace_unknowns=True,
                    length_penalty=0.2)
    out_lengths: list[int] = []

    def raw_with(threads: str, batch: int):
        inter, intra = (int(x) for x in threads.split("x"))
        translator = ctranslate2.Translator(str(pkg_dir / "model"), device="cpu", inter_threads=inter,
                                            intra_threads=intra, compute_type="auto")
        translator.translate_batch([sp.encode(warm, out_type=str)], **decoding)

        def raw() -> list[str]:
            # Shortest first, as translate_texts orders a chunk: CTranslate2 re-sorts by tokens, and the same
            # order gives the same batches, so the outputs can be compared exactly.
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            tokens = [sp.encode(texts[i], out_type=str) for i in order]
            results = translator.translate_batch(tokens, max_batch_size=batch, batch_type="tokens", **decoding)
            out = [""] * len(texts)
            for i, r in zip(order, results, strict=True):
                out[i] = sp.decode_pieces(r.hypotheses[0]).strip()
            out_lengths[:] = [len(r.hypotheses[0]) for r in results]
            return out

        return raw

    inter, intra = thread_layout("cpu", None, None)
    raw_threads, raw_batch = args.ct2_threads or f"{inter}x{intra}", args.ct2_batch or DEFAULT_BATCH_TOKENS
    if args.tune:
        grid = {(threads, batch): timed(raw_with(threads, batch))[0]
                for threads in ("1x2", "2x1") for batch in (1024, 2048, 4096)}
        for (threads, batch), seconds in grid.items():
            print(f"raw CTranslate2 {threads} threads, max_batch_size {batch:5d}: {seconds:7.2f} s")
        raw_threads, raw_batch = min(grid, key=lambda key: grid[key])
    raw = raw_with(raw_threads, raw_batch)

    # (b) ours: the argos engine with its defaults, through translate_texts with a fresh memory.
    engine_inter, engine_intra = (int(x) for x in raw_threads.split("x"))
    engine = ArgosEngine(packages_dir=packages, beam_size=args.beam_size, max_decoding_length=max_len,
                         inter_threads=engine_inter, intra_threads=engine_intra, max_batch_tokens=raw_batch)
    engine.translate_batch([warm], "en", TARGET)
    batch_segments = TranslationConfig().batch_segments
    runs = iter(range(args.repeat))

    def ours() -> list[str]:
        with TranslationMemory(work / f"memory-{next(runs)}.sqlite") as memory:
            out, stats = translate_texts(texts, engine=engine, source="en", target=TARGET, memory=memory,
                                         batch_segments=batch_segments, progress=False)
        assert stats.translated == len(texts), stats
        return out

    # (a) argostranslate's own translate(), one text at a time.
    import argostranslate.settings as argos_settings
    import argostranslate.translate as argos_translate

    argos_settings.chunk_type = argos_settings.ChunkType.SPACY
    argos_settings.beam_size = args.beam_size
    argos_translate.translate(warm, "en", TARGET)

    def argos() -> list[str]:
        return [argos_translate.translate(t, "en", TARGET) for t in texts]

    t_raw = t_ours = float("inf")
    for _ in range(args.repeat):  # interleaved, so a change in machine load hits both alike
        t, raw_out = timed(raw)
        t_raw = min(t_raw, t)
        t, ours_out = timed(ours)
        t_ours = min(t_ours, t)
    t_argos, argos_out = timed(argos)

    assert ours_out == raw_out, "our engine's outputs differ from raw CTranslate2's"
    # argostranslate decodes "_" as " " and splits sentences itself; compare on its terms.
    same_as_argos = sum(a == o.replace("_", " ") for a, o in zip(argos_out, ours_out, strict=True))
    src_mean = sum(map(len, src_tokens)) / n
    print(f"model: {size.layers}+{size.layers} layers, d_model {size.d_model}, vocab {sp.get_piece_size()}, "
          f"CTranslate2 int8; beam size {args.beam_size}; {os.cpu_count()} cores")
    print(f"segments: {n}, source tokens per segment {src_mean:.1f} (min {min(map(len, src_tokens))}, "
          f"max {max(map(len, src_tokens))}), output tokens per segment {sum(out_lengths) / n:.1f}")
    print(f"settings: ours batch_segments {batch_segments}, inter_threads {engine.inter_threads}, intra_threads "
          f"{engine.intra_threads}, max_batch_tokens {engine.max_batch_tokens}; raw CTranslate2 "
          f"{raw_threads} threads, max_batch_size {raw_batch} tokens")
    print(f"argostranslate.translate : {t_argos:8.2f} s  {n / t_argos:8.1f} segments/s")
    print(f"ours (translate_texts)   : {t_ours:8.2f} s  {n / t_ours:8.1f} segments/s")
    print(f"raw CTranslate2          : {t_raw:8.2f} s  {n / t_raw:8.1f} segments/s")
    print(f"outputs: ours == raw CTranslate2 for {n}/{n} segments; argostranslate's equal ours for "
          f"{same_as_argos}/{n}")
    print(f"speed-up vs argostranslate.translate: {t_argos / t_ours:.2f}x")
    print(f"ours / raw CT2 time: {t_ours / t_raw:.2f}")


if __name__ == "__main__":
    main()
