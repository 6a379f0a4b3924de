"""Build tiny, real COMET checkpoints with the COMET venv's python (`make comet-env`).

A random 2-layer XLM-R encoder (config + a SentencePiece tokenizer trained on sentences written here) is
wrapped in COMET's own model classes and saved in COMET's layout (`checkpoints/model.ckpt` + `hparams.yaml`),
so `comet.load_from_checkpoint(path, local_files_only=True)` loads it offline and `predict` runs the whole
path. Scores are meaningless (random weights) but real and deterministic:

- `qe`:  `UnifiedMetric` with input segments [mt, src], shaped like Unbabel/wmt22-cometkiwi-da (reference-free);
- `ref`: `RegressionMetric`, shaped like Unbabel/wmt22-comet-da (reference-based).

The build runs as a script under the COMET venv (its numpy/transformers/COMET cannot be imported here).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from safedrift.core.files import atomic_write_text

REPO = Path(__file__).resolve().parents[2]
COMET_PYTHON = REPO / ".venv-comet" / "bin" / "python"
KINDS = ("qe", "ref")

# Written for these tests; nothing here comes from a dataset.
_SENTENCES = [
    "The ferry leaves the harbour at seven and returns before dark.",
    "Write two sentences about a cat that sleeps on a warm roof.",
    "Sort the list of numbers 4, 19 and 7 from small to large.",
    "Our neighbours grow beans, onions and sunflowers in their yard.",
    "Explain how a bicycle pump pushes air into a tyre.",
    "The lamp in the hallway flickers whenever the wind blows.",
    "Give a friendly reply to a colleague who asked for help.",
    "O barco sai do porto às sete e volta antes de escurecer.",
    "Escreva duas frases sobre um gato que dorme num telhado quente.",
    "Os vizinhos plantam feijão, cebola e girassóis no quintal.",
    "Explique como uma bomba de bicicleta empurra ar para o pneu.",
    "Die Fähre verlässt den Hafen um sieben und kehrt vor Einbruch der Dunkelheit zurück.",
    "Schreibe zwei Sätze über eine Katze, die auf einem warmen Dach schläft.",
    "El ferri sale del puerto a las siete y vuelve antes del anochecer.",
    "Le ferry quitte le port à sept heures et revient avant la nuit.",
    "渡轮七点离港，天黑前返回。",
    "เรือข้ามฟากออกจากท่าเรือตอนเจ็ดโมงและกลับมาก่อนมืด",
    "नौका सात बजे बंदरगाह से निकलती है और अंधेरे से पहले लौटती है।",
    "تغادر العبارة الميناء في السابعة وتعود قبل حلول الظلام.",
    "Use the code block `print(total)` and visit https://example.org/docs for {name}.",
]

# Runs under the COMET venv: stdlib + COMET's own dependencies only.
_BUILD_SCRIPT = r'''
import json, sys
from pathlib import Path

import sentencepiece as spm
import torch
import yaml
from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast
import pytorch_lightning as ptl
from comet.models import RegressionMetric, UnifiedMetric

out = Path(sys.argv[1])
sentences = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
enc = out / "encoder"
enc.mkdir(parents=True, exist_ok=True)
corpus = out / "corpus.txt"
corpus.write_text("\n".join(sentences) + "\n", encoding="utf-8")
spm.SentencePieceTrainer.train(
    input=str(corpus), model_prefix=str(out / "spm"), vocab_size=300, hard_vocab_limit=False,
    character_coverage=1.0, model_type="unigram", num_threads=1, minloglevel=2,
)
# The fast tokenizer is converted from the SentencePiece model (XLM-R's fairseq id offsets included).
fast = XLMRobertaTokenizerFast(vocab_file=str(out / "spm.model"))
fast.save_pretrained(enc)
config = XLMRobertaConfig(
    vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
    max_position_embeddings=514, pad_token_id=fast.pad_token_id, bos_token_id=fast.bos_token_id,
    eos_token_id=fast.eos_token_id,
)
config.save_pretrained(enc)

common = dict(pretrained_model=str(enc), load_pretrained_weights=False, local_files_only=True,
              hidden_sizes=[16], layer_norm=True)
builders = {
    # like wmt22-cometkiwi-da: unified metric on [mt, src], sparsemax layer mix
    "qe": lambda: UnifiedMetric(input_segments=["mt", "src"], sent_layer="mix",
                                layer_transformation="sparsemax", word_layer=2, **common),
    # like wmt22-comet-da: regression on src/mt/ref
    "ref": lambda: RegressionMetric(layer="mix", layer_transformation="sparsemax", pool="avg", **common),
}
for name, build in builders.items():
    torch.manual_seed(0)
    model = build()
    folder = out / name
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    hparams = dict(model.hparams)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams,
                "pytorch-lightning_version": ptl.__version__},
               folder / "checkpoints" / "model.ckpt")
    (folder / "hparams.yaml").write_text(yaml.safe_dump(hparams), encoding="utf-8")
print(json.dumps({"vocab": len(fast)}))
'''


def build_tiny_comet(dest: Path, python: Path = COMET_PYTHON,
                     env: dict[str, str] | None = None) -> dict[str, Path]:
    """Build both checkpoints under `dest` (once: a finished build is reused) and return {kind: folder}."""
    dest = Path(dest)
    done = dest / "built.json"
    if not done.is_file():
        dest.mkdir(parents=True, exist_ok=True)
        words = dest / "sentences.json"
        atomic_write_text(words, json.dumps(_SENTENCES, ensure_ascii=False))
        proc = subprocess.run([str(python), "-c", _BUILD_SCRIPT, str(dest), str(words)],
                              capture_output=True, text=True, timeout=600, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"building the tiny COMET checkpoints failed:\n{proc.stderr[-3000:]}")
        atomic_write_text(done, proc.stdout.strip().splitlines()[-1] + "\n")
    return {kind: dest / kind for kind in KINDS}
