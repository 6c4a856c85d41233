"""MusicGen through transformers (MusicgenForConditionalGeneration and MusicgenMelody), by hub id or local path."""
from __future__ import annotations

import functools
import math
from typing import Literal

from tools.errors import BackendError, require
from tools.music.base import Audio, GenerationParams, MusicBackend
from tools.registry import BackendOptions
from tools.spec import MusicSpec


class MusicGenOptions(BackendOptions):
    model: str = "facebook/musicgen-small"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250


class MusicGen(MusicBackend):
    """Text-to-music with MusicGen; loads weights once, on first use."""

    name = "musicgen"
    Options = MusicGenOptions

    @functools.cached_property
    def _loaded(self):
        torch = require("torch", "musicgen")
        transformers = require("transformers", "musicgen")
        device = self.options.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = self.options.dtype
        dtype = (torch.float16 if device == "cuda" else torch.float32) if dtype == "auto" else getattr(torch, dtype)
        try:
            config = transformers.AutoConfig.from_pretrained(self.options.model)
            cls = (transformers.MusicgenMelodyForConditionalGeneration if config.model_type == "musicgen_melody"
                   else transformers.MusicgenForConditionalGeneration)
            model = cls.from_pretrained(self.options.model, dtype=dtype).to(device).eval()
            processor = transformers.AutoProcessor.from_pretrained(self.options.model)
        except (OSError, ValueError) as exc:
            raise BackendError(f"musicgen: cannot load {self.options.model!r} ({str(exc).splitlines()[0][:160]}): "
                               "give a hub id you have cached or a local folder saved with save_pretrained") from None
        return model, processor, device

    @property
    def frame_rate(self) -> int:
        model = self._loaded[0]
        return int(model.config.audio_encoder.frame_rate)

    @property
    def sample_rate(self) -> int:
        return int(self._loaded[0].config.audio_encoder.sampling_rate)

    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams) -> Audio:
        import torch

        model, processor, device = self._loaded
        inputs = processor(text=[prompt], padding=True, return_tensors="pt").to(device)
        frames = math.ceil(params.duration_s * self.frame_rate)
        # the codebook delay pattern costs (num_codebooks - 1) steps before the last frame is complete
        tokens = frames + int(model.decoder.config.num_codebooks) - 1
        torch.manual_seed(params.seed)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=tokens, do_sample=True,
                                 guidance_scale=params.guidance_scale, temperature=params.temperature,
                                 top_k=params.top_k)
        samples = out[0].float().cpu().numpy()
        samples = samples[:, : round(params.duration_s * self.sample_rate)]
        return Audio(samples=samples, sample_rate=self.sample_rate,
                     details={"renderer": "musicgen", "model": self.options.model, "frames": frames, "decoder_steps": tokens,
                              "model_class": type(model).__name__, "guidance_scale": params.guidance_scale,
                              "temperature": params.temperature, "top_k": params.top_k})
