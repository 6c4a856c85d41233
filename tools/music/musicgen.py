"""MusicGen through transformers (MusicgenForConditionalGeneration and MusicgenMelody), by hub id or local path."""
from __future__ import annotations

import functools
import math
from typing import Literal

from tools.devices import resolve_device, resolve_dtype
from tools.errors import BackendError, require
from tools.music.base import Audio, GenerationParams, MusicBackend
from tools.music.mastering import master
from tools.registry import BackendOptions, hub_model_status
from tools.spec import MusicSpec


class MusicGenOptions(BackendOptions):
    model: str = "facebook/musicgen-small"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250
    condition_on_sketch: bool = False  # MusicGen-Melody: follow the sketch renderer's harmony and tempo


class MusicGen(MusicBackend):
    """Text-to-music with MusicGen; loads weights once, on first use."""

    name = "musicgen"
    Options = MusicGenOptions

    def availability(self) -> tuple[bool, str]:
        return hub_model_status(self.options.model, "musicgen")

    @functools.cached_property
    def _loaded(self):
        require("torch", "musicgen")
        transformers = require("transformers", "musicgen")
        device = resolve_device(self.options.device)
        dtype = resolve_dtype(self.options.dtype, device)
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
        melody = None
        if self.options.condition_on_sketch:
            if not hasattr(model.config, "num_chroma"):
                raise BackendError(f"musicgen: condition_on_sketch needs a MusicGen-Melody checkpoint, "
                                   f"and {self.options.model!r} is not one: use facebook/musicgen-melody")
            melody = sketch_chroma(spec, params, model.config.num_chroma, model.config.chroma_length)
            inputs["input_features"] = torch.from_numpy(melody)[None].to(device=device, dtype=model.dtype)
        frames = math.ceil(params.duration_s * self.frame_rate)
        # the codebook delay pattern costs (num_codebooks - 1) steps before the last frame is complete
        tokens = frames + int(model.decoder.config.num_codebooks) - 1
        torch.manual_seed(params.seed)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=tokens, do_sample=True,
                                 guidance_scale=params.guidance_scale, temperature=params.temperature,
                                 top_k=params.top_k)
        samples = out[0].float().cpu().numpy()[:, : round(params.duration_s * self.sample_rate)]
        samples, loudness = master(samples, self.sample_rate)
        return Audio(samples=samples, sample_rate=self.sample_rate,
                     details={"renderer": "musicgen", "model": self.options.model, "frames": frames, "decoder_steps": tokens,
                              "model_class": type(model).__name__, "guidance_scale": params.guidance_scale,
                              "temperature": params.temperature, "top_k": params.top_k,
                              "loudness_lufs": loudness, "melody": "sketch" if melody is not None else None})


def sketch_chroma(spec: MusicSpec, params: GenerationParams, num_chroma: int, length: int):
    """The sketch of the spec as MusicGen-Melody conditioning: the dominant pitch class per chroma frame,
    one-hot, (length, num_chroma) — what MusicgenMelodyFeatureExtractor computes (it needs torchaudio, which
    has no build for this torch, so librosa computes the same STFT chroma here)."""
    import librosa
    import numpy as np

    from tools.music.sketch import SketchRenderer

    sr = 32000
    audio = SketchRenderer(SketchRenderer.Options(sample_rate=sr)).generate(spec, "", params)
    chroma = librosa.feature.chroma_stft(y=audio.samples.mean(axis=0), sr=sr, n_fft=16384, hop_length=4096,
                                         n_chroma=num_chroma)
    onehot = np.zeros((length, num_chroma), dtype=np.float32)
    frames = min(length, chroma.shape[1])
    onehot[np.arange(frames), chroma[:, :frames].argmax(axis=0)] = 1.0
    return onehot
