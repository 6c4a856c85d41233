"""Cover embeddings: unit vectors whose cosine similarity says how alike two covers look.

`efficientnet-lite0` (offline, the default): the 1280 pooled penultimate features of the EfficientNet-Lite0
that the offline describer already loads. `clip:MODEL` (a hub id or a local path, e.g.
openai/clip-vit-base-patch16, the model the original system used): transformers' CLIPModel image features.
A catalogue remembers its embedder; a search always embeds the new cover with the same one.
"""
from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod

from tools.errors import ConfigError, require

OFFLINE = "efficientnet-lite0"
_LOCK = threading.Lock()


class Embedder(ABC):
    name: str
    dim: int

    @abstractmethod
    def embed(self, image):
        """A PIL RGB image → a float32 unit vector (numpy, shape (dim,))."""

    @staticmethod
    def _unit(vector):
        import numpy as np

        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v


class EfficientNetEmbedder(Embedder):
    name, dim = OFFLINE, 1280

    def embed(self, image):
        from tools.vision.offline import efficientnet_forward

        features, _probs = efficientnet_forward(image)
        return self._unit(features.numpy())


class ClipEmbedder(Embedder):
    def __init__(self, model: str):
        self.model_id = model
        self.name = f"clip:{model}"
        self._model, self._processor = self._load(model)
        self.dim = int(self._model.config.projection_dim)

    @staticmethod
    def _load(model: str):
        require("torch", "transformers")
        transformers = require("transformers", "transformers")
        try:
            return (transformers.CLIPModel.from_pretrained(model).eval(),
                    transformers.AutoImageProcessor.from_pretrained(model))
        except OSError as exc:
            raise ConfigError(f"CLIP model {model!r} cannot be loaded ({str(exc).splitlines()[0][:120]}): give a "
                              "hub id the machine can download, or a local folder saved with save_pretrained") from None

    def embed(self, image):
        import torch

        inputs = self._processor(images=image, return_tensors="pt")
        with torch.inference_mode():
            out = self._model.get_image_features(pixel_values=inputs["pixel_values"])
        out = getattr(out, "pooler_output", out)  # transformers 5 may return a model output object
        return self._unit(out[0].float().numpy())


@functools.cache
def _embedder(name: str) -> Embedder:
    if name == OFFLINE:
        return EfficientNetEmbedder()
    if name.startswith("clip:") and name[5:]:
        return ClipEmbedder(name[5:])
    raise ConfigError(f"unknown embedder {name!r}: use {OFFLINE} or clip:MODEL (a hub id or local path)")


def embedder(name: str) -> Embedder:
    """The embedder of this name, loaded once per process."""
    with _LOCK:
        return _embedder(name)
