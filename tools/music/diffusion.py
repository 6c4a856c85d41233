"""Diffusion music engines through diffusers: ACE-Step 1.5 (`AceStepPipeline`) and Stable Audio Open
(`StableAudioPipeline`), by hub id or local path, behind the same MusicBackend interface as MusicGen.

Both make a whole take in one pass (no windows): ACE-Step up to 10 minutes with the form's sections as
structure tags, Stable Audio up to its model's window (47.5 s for stable-audio-open-1.0) with timing
conditioning. Neither can stream: a `--stream` sink gets the finished take once, and the trace says so."""
from __future__ import annotations

import functools
import math
import time
from dataclasses import replace
from typing import Any, ClassVar, Literal

from pydantic import Field

from tools.devices import resolve_device, resolve_dtype
from tools.errors import BackendError, InputError, require
from tools.limits import nth_seed, repair_seed
from tools.music.base import Audio, AudioSink, GenerationParams, MusicBackend, report_steps, section_records, with_form
from tools.music.mastering import master
from tools.registry import BackendOptions, hub_model_status, missing
from tools.spec import MusicSpec

NOT_STREAMABLE = "not streamable: a diffusion model makes the whole take at once; the take was written when finished"


class DiffusionOptions(BackendOptions):
    model: str
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"  # auto: bfloat16 on CUDA, float32 elsewhere
    # GPU memory: none keeps every part on the GPU; model moves each part there only while it runs
    # (accelerate); sequential moves layer by layer (slowest, least memory)
    offload: Literal["none", "model", "sequential"] = "none"
    steps: int = Field(8, ge=1, le=1000)
    guidance_scale: float = Field(7.0, ge=1.0)


class DiffusionMusic(MusicBackend):
    """What both diffusers engines share: loading, devices, seeds per take, progress, mastering, repairs."""

    pipeline_class: ClassVar[str] = ""
    extra: ClassVar[str] = "diffusion"
    modules: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers")

    def availability(self) -> tuple[bool, str]:
        gone = missing(*self.modules)
        if gone:
            return False, f"{', '.join(gone)} not installed: pip install 'albumgen[{self.extra}]'"
        ok, why = hub_model_status(self.options.model, self.extra, marker="model_index.json")
        if ok and resolve_device(self.options.device) == "cpu":
            why += "; runs on CPU (real weights take minutes per take: a CUDA GPU takes seconds)"
        return ok, why

    @functools.cached_property
    def _loaded(self):
        """(pipeline, device, dtype name), loaded once on first use."""
        import torch

        require("torch", self.extra)
        diffusers = require("diffusers", self.extra)
        device = resolve_device(self.options.device)
        auto_cuda = self.options.dtype == "auto" and device == "cuda"  # diffusion models are trained in bf16
        dtype = torch.bfloat16 if auto_cuda else resolve_dtype(self.options.dtype, device)
        try:
            pipe = getattr(diffusers, self.pipeline_class).from_pretrained(self.options.model, dtype=dtype)
        except (OSError, ValueError, TypeError) as exc:
            raise BackendError(f"{self.name}: cannot load {self.options.model!r} as a {self.pipeline_class} "
                               f"({str(exc).splitlines()[0][:160]}): give a hub id you have cached or a local "
                               "folder saved with save_pretrained") from None
        self._place(pipe, device)
        pipe.set_progress_bar_config(disable=True)
        return pipe, device, str(dtype).removeprefix("torch.")

    def _place(self, pipe, device: str) -> None:
        if self.options.offload == "none" or device == "cpu":
            pipe.to(device)
            return
        require("accelerate", self.extra)
        if self.options.offload == "model":
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.enable_sequential_cpu_offload(device=device)

    # -- one call -----------------------------------------------------------------------------
    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        return self.generate_takes(spec, prompt, params, 1, sink)[0]

    def generate_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int,
                       sink: AudioSink | None = None) -> list[Audio]:
        """`takes` variations as one batch; take k is seeded with seed + k, so it is the same take whatever
        the batch size."""
        self.check_duration(params.duration_s)
        pipe, device, dtype = self._loaded
        spec = with_form(spec, params.duration_s)
        steps = params.steps or self.options.steps
        started = time.perf_counter()
        raw = self._run(pipe, spec, prompt, params, takes, steps, self._generators(params.seed, takes, device))
        seconds = round(time.perf_counter() - started, 3)
        sr = self.sample_rate
        raw = raw[..., : round(params.duration_s * sr)]
        details = {"renderer": self.name, "model": self.options.model, "steps": steps,
                   "guidance_scale": self.guidance_used(params), "seconds": seconds, "device": device, "dtype": dtype,
                   **self.extra_details(spec), **({"stream": NOT_STREAMABLE} if sink is not None else {})}
        if device == "cpu":
            details["warning"] = (f"{self.name} ran on CPU: with real weights a take takes minutes (a CUDA GPU "
                                  "takes seconds)")
        out = []
        for k in range(takes):
            wav, loudness = master(raw[k], sr)
            if sink is not None:
                sink.write(k, 0, wav, sr)
            out.append(Audio(samples=wav, sample_rate=sr, sections=section_records(spec, wav.shape[-1] / sr),
                             details={**details, "loudness_lufs": loudness, "seed": nth_seed(params.seed, k),
                                      **({"take": k + 1} if takes > 1 else {})}))
        return out

    @staticmethod
    def _generators(seed: int, takes: int, device: str) -> list:
        import torch

        where = "cpu" if device == "mps" else device
        return [torch.Generator(where).manual_seed(nth_seed(seed, k)) for k in range(takes)]

    def _call(self, pipe, **kwargs):
        """The pipeline call with a clear error when the model does not fit."""
        import torch

        try:
            with torch.inference_mode():
                return pipe(**kwargs).audios
        except torch.OutOfMemoryError:
            raise BackendError(f"{self.name}: {self.options.model} does not fit in GPU memory: set offload: model "
                               "(or sequential) for this profile's music in config.yaml, or a shorter --duration") \
                from None

    def repair(self, params: GenerationParams, attempt: int) -> tuple[GenerationParams, str]:
        """A diffusion model's repairs: a new seed, then from attempt 3 on 1.5x, 2x … the steps and (where the
        model uses it) guidance raised by 1 each time."""
        new = replace(params, seed=repair_seed(params.seed, attempt))
        if attempt == 1:
            return new, "new seed, firmer prompt"
        moves = {"steps": math.ceil((params.steps or self.options.steps) * (1 + 0.5 * (attempt - 1)))}
        if self.guidance_used(params) is not None:
            moves["guidance_scale"] = params.guidance_scale + 1.0 * (attempt - 1)
        return replace(new, **moves), "new seed, firmer prompt, more steps" + \
            (", higher guidance" if "guidance_scale" in moves else "")

    # -- what each engine fills in -----------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return int(self._loaded[0].vae.config.sampling_rate)

    def max_duration_s(self) -> float:
        raise NotImplementedError

    def check_duration(self, duration_s: float) -> None:
        limit = self.max_duration_s()
        if duration_s > limit:
            longer = "" if self.name == "acestep" else ", or -p acestep for up to 10 minutes"
            raise InputError(f"duration {duration_s:g} s is longer than {self.name} makes in one take ({limit:.3g} s "
                             f"for {self.options.model}): use --duration {int(limit)} or less{longer}")

    def guidance_used(self, params: GenerationParams) -> float | None:
        return params.guidance_scale

    def extra_details(self, spec: MusicSpec) -> dict[str, Any]:
        return {}

    def _run(self, pipe, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int, steps: int,
             generators: list):
        raise NotImplementedError


# -- ACE-Step 1.5 -------------------------------------------------------------------------------------
class AceStepOptions(DiffusionOptions):
    model: str = "ACE-Step/acestep-v15-xl-turbo-diffusers"
    steps: int = Field(8, ge=1, le=1000)  # the turbo model's own; base and sft: 30-60
    shift: float = Field(3.0, gt=0)  # the timestep shift of ACE-Step's schedule
    max_duration_s: float = Field(600.0, gt=0, le=600)  # ACE-Step 1.5 makes 10 s to 10 min


class AceStep(DiffusionMusic):
    """ACE-Step 1.5 (MIT): tags plus bpm, key and meter as metadata, the form as structure tags."""

    name = "acestep"
    Options = AceStepOptions
    pipeline_class = "AceStepPipeline"
    prompt_template = "acestep_caption.j2"

    def max_duration_s(self) -> float:
        return self.options.max_duration_s

    def guidance_used(self, params: GenerationParams) -> float | None:
        """The turbo model is guidance-distilled: it ignores guidance, and the trace says so (None)."""
        return None if self._loaded[0].is_turbo else params.guidance_scale

    def extra_details(self, spec: MusicSpec) -> dict[str, Any]:
        return {"structure": structure_tags(spec), "shift": self.options.shift}

    def _run(self, pipe, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int, steps: int,
             generators: list):
        def progress(_pipe, step: int, _t, _kwargs) -> dict:
            report_steps(step + 1, steps, self.name)
            return {}

        lyrics = structure_tags(spec)
        return self._call(pipe, prompt=[prompt] * takes, lyrics=[lyrics] * takes, audio_duration=params.duration_s,
                          num_inference_steps=steps, guidance_scale=params.guidance_scale, shift=self.options.shift,
                          generator=generators, bpm=spec.tempo_bpm, keyscale=f"{spec.key} {spec.mode}",
                          timesignature=spec.time_signature.split("/")[0] if spec.time_signature else None,
                          vocal_language="en", callback_on_step_end=progress)


def structure_tags(spec: MusicSpec) -> str:
    """ACE-Step's lyrics for an instrumental take: one tag per planned section, rendered from
    prompts/acestep_structure.j2 ('[intro]\\n[instrumental]\\n\\n[verse]…')."""
    from tools.prompt import render_sections

    return render_sections(spec, "acestep_structure.j2")


# -- Stable Audio Open ----------------------------------------------------------------------------------
class StableAudioOptions(DiffusionOptions):
    model: str = "stabilityai/stable-audio-open-1.0"
    steps: int = Field(100, ge=1, le=1000)  # the model card uses 100-200
    negative_prompt: str = "low quality, distorted, noise"


class StableAudio(DiffusionMusic):
    """Stable Audio Open: a descriptive prompt with timing conditioning, 44.1 kHz stereo, one window."""

    name = "stable-audio"
    Options = StableAudioOptions
    pipeline_class = "StableAudioPipeline"
    prompt_template = "stable_audio_prompt.j2"
    modules = ("torch", "transformers", "diffusers", "torchsde")  # its DPM-Solver SDE scheduler needs torchsde

    def max_duration_s(self) -> float:
        pipe = self._loaded[0]
        return float(pipe.transformer.config.sample_size * pipe.vae.hop_length / pipe.vae.config.sampling_rate)

    def extra_details(self, spec: MusicSpec) -> dict[str, Any]:
        return {"negative_prompt": self.options.negative_prompt}

    def _run(self, pipe, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int, steps: int,
             generators: list):
        def progress(step: int, _t, _latents) -> None:
            report_steps(step + 1, steps, self.name)

        return self._call(pipe, prompt=[prompt] * takes, negative_prompt=[self.options.negative_prompt] * takes,
                          audio_end_in_s=params.duration_s, num_inference_steps=steps,
                          guidance_scale=params.guidance_scale, generator=generators, callback=progress,
                          callback_steps=1)
