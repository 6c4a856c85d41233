"""MusicGen through Meta's audiocraft (optional extra; audiocraft pins torch 2.1, so it needs its own env)."""
from __future__ import annotations

import functools
from typing import Literal

from tools.devices import resolve_device
from tools.errors import BackendError, MissingExtraError
from tools.music.base import Audio, AudioSink, GenerationParams, MusicBackend
from tools.music.mastering import master
from tools.registry import BackendOptions, missing
from tools.spec import MusicSpec


class AudiocraftOptions(BackendOptions):
    model: str = "facebook/musicgen-small"
    device: Literal["auto", "cpu", "cuda"] = "auto"


class AudiocraftMusicGen(MusicBackend):
    """The same interface as `musicgen`, backed by audiocraft.models.MusicGen."""

    name = "audiocraft"
    Options = AudiocraftOptions

    def availability(self) -> tuple[bool, str]:
        if missing("audiocraft"):
            return False, "audiocraft not installed: it needs its own torch 2.1 environment (see README)"
        return True, "ready"

    @functools.cached_property
    def _model(self):
        try:
            from audiocraft.models import MusicGen as AcMusicGen
        except ImportError as exc:
            raise MissingExtraError("audiocraft", "audiocraft") from exc
        device = resolve_device(self.options.device)
        try:
            return AcMusicGen.get_pretrained(self.options.model, device=device)
        except Exception as exc:  # audiocraft raises many types for a missing/unknown checkpoint
            raise BackendError(f"audiocraft: cannot load {self.options.model!r}: {str(exc).splitlines()[0][:160]}") from None

    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        return self.generate_takes(spec, prompt, params, 1, sink)[0]

    def generate_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int,
                       sink: AudioSink | None = None) -> list[Audio]:
        """All takes in one batch (audiocraft samples each row independently)."""
        import torch

        model = self._model
        # audiocraft keeps parameters on the model; set them on every call so no state leaks between calls
        model.set_generation_params(use_sampling=True, top_k=params.top_k, temperature=params.temperature,
                                    cfg_coef=params.guidance_scale, duration=params.duration_s)
        torch.manual_seed(params.seed)
        batch = model.generate([prompt] * takes).float().cpu().numpy()
        sr, out = int(model.sample_rate), []
        for k, raw in enumerate(batch):
            wav, loudness = master(raw, sr)
            if sink is not None:
                sink.write(k, 0, wav, sr)
            out.append(Audio(samples=wav, sample_rate=sr, details={"renderer": "audiocraft", "model": self.options.model,
                                                                  "loudness_lufs": loudness, "take": k + 1}))
        return out
