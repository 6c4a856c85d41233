"""MusicGen through transformers (MusicgenForConditionalGeneration and MusicgenMelody), by hub id or local path."""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from tools.devices import resolve_device, resolve_dtype
from tools.errors import BackendError, require
from tools.music.base import (
    DEFAULT_GUIDANCE,
    Audio,
    AudioSink,
    GenerationParams,
    MusicBackend,
    report_steps,
    section_records,
    with_form,
)
from tools.music.mastering import master
from tools.registry import BackendOptions, hub_model_status
from tools.spec import MusicSpec


class MusicGenOptions(BackendOptions):
    model: str = "facebook/musicgen-small"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # int8 dynamic quantisation of the decoder's linear layers: on CPU each step is bound by reading the
    # weights, and int8 reads a quarter of fp32's bytes (benchmarks/music_engine.py: about 6x faster).
    # auto = int8 on CPU, none on GPU.
    quantize: Literal["auto", "none", "int8"] = "auto"
    # the decoder step generate calls: "lean" (tools/music/musicgen_step.py: same weights and arithmetic, without
    # transformers' per-step masks, cache objects and module calls) or "transformers". auto = lean on CPU.
    decoder_step: Literal["auto", "lean", "transformers"] = "auto"
    guidance_scale: float = DEFAULT_GUIDANCE
    temperature: float = 1.0
    top_k: int = 250
    condition_on_sketch: bool = False  # MusicGen-Melody: follow the sketch renderer's harmony and tempo
    window_s: float = 30.0  # longer takes are made window by window (MusicGen was trained on 30 s)
    context_s: float = 10.0  # each new window continues from this much of the audio before it
    crossfade_s: float = 0.25  # joins are crossfaded over the end of that context
    stream_chunk_s: float = Field(2.0, ge=0.2)  # --stream: decode and write audio every this many seconds


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
            if self.quantized(device):
                quantize_decoder(model)
            if self.lean(device):
                from tools.music import musicgen_step

                musicgen_step.install(model)
        except (OSError, ValueError) as exc:
            raise BackendError(f"musicgen: cannot load {self.options.model!r} ({str(exc).splitlines()[0][:160]}): "
                               "give a hub id you have cached or a local folder saved with save_pretrained") from None
        return model, processor, device

    def warm(self) -> None:
        with self.exclusive():  # generate runs under the same lock: the model is loaded once
            self._loaded  # noqa: B018

    def quantized(self, device: str) -> bool:
        q = self.options.quantize
        return q == "int8" or (q == "auto" and device == "cpu")

    def lean(self, device: str) -> bool:
        step = self.options.decoder_step
        return step == "lean" or (step == "auto" and device == "cpu")

    @property
    def frame_rate(self) -> int:
        model = self._loaded[0]
        return int(model.config.audio_encoder.frame_rate)

    @property
    def sample_rate(self) -> int:
        return int(self._loaded[0].config.audio_encoder.sampling_rate)

    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        return self.generate_takes(spec, prompt, params, 1, sink)[0]

    def generate_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int,
                       sink: AudioSink | None = None) -> list[Audio]:
        """`takes` variations as one batch: each decoder step reads the weights once for all of them. The
        takes of a batch are reproducible for the same seed and number of takes."""
        import torch

        model = self._loaded[0]
        spec = with_form(spec, params.duration_s)
        segments = self._segments(spec, prompt, params)
        melodic = hasattr(model.config, "num_chroma")
        if self.options.condition_on_sketch and not melodic:
            raise BackendError(f"musicgen: condition_on_sketch needs a MusicGen-Melody checkpoint, "
                               f"and {self.options.model!r} is not one: use facebook/musicgen-melody")
        torch.manual_seed(params.seed)
        stream = WindowStream(sink, self.sample_rate) if sink is not None else None
        plan = self._window_plan([end for _, end in segments], melodic)
        steps = StepCount([w.frames + int(model.decoder.config.num_codebooks) - 1 for w in plan])  # this call's own
        samples, windows = self._windowed(segments, plan, spec, params, takes, stream, steps)
        samples = samples[..., : round(params.duration_s * self.sample_rate)]
        steps.finish()
        melody = "sketch" if self.options.condition_on_sketch else None
        return [self._take(model, samples[k], k, takes, windows, params, melody, spec) for k in range(takes)]

    def _segments(self, spec: MusicSpec, prompt: str, params: GenerationParams) -> list[tuple[str, int]]:
        """(prompt, end sample) per stretch of the take: one for a take that fits one window, else one per
        section of the plan with its own prompt (section, level, instruments), ending on its bar line."""
        sr, total = self.sample_rate, round(params.duration_s * self.sample_rate)
        if params.duration_s <= self.options.window_s or len(spec.sections) < 2:
            return [(prompt, total)]
        from tools.prompt import section_prompt

        times = spec.section_times()
        ends = [min(total, round(end * sr)) for _, _, end in times[:-1]] + [total]
        return [(section_prompt(prompt, section), end) for (section, _, _), end in zip(times, ends)]

    def _take(self, model, samples, k: int, takes: int, windows, params: GenerationParams, melody, spec) -> Audio:
        samples, loudness = master(samples, self.sample_rate)
        return Audio(samples=samples, sample_rate=self.sample_rate, sections=section_records(spec, params.duration_s),
                     details={"renderer": "musicgen", "model": self.options.model,
                              "frames": sum(w["frames"] for w in windows), "windows": windows,
                              "model_class": type(model).__name__, "guidance_scale": params.guidance_scale,
                              "temperature": params.temperature, "top_k": params.top_k,
                              "loudness_lufs": loudness, "melody": melody,
                              "quantized": "int8" if self.quantized(self._loaded[2]) else None,
                              "decoder_step": "lean" if getattr(model.decoder, "_lean_step", None) else "transformers",
                              **({"take": k + 1, "batch": takes} if takes > 1 else {})})

    def _continue(self, prompt: str, params: GenerationParams, seconds: float, context, melody, takes: int,
                  stream: WindowStream | None = None, steps: StepCount | None = None):
        """Generate `seconds` of new audio for each take, continuing `context` (takes, channels, samples) when
        given; returns (new audio (takes, channels, samples), frames). The codebook delay pattern costs
        num_codebooks - 1 extra decoder steps."""
        import torch
        from transformers import StoppingCriteriaList

        model, processor, device = self._loaded
        kwargs = {"audio": [c[0] for c in context], "sampling_rate": self.sample_rate} if context is not None else {}
        inputs = processor(text=[prompt] * takes, padding=True, return_tensors="pt", **kwargs).to(device)
        inputs.pop("padding_mask", None)  # identical prompts and equal-length audio: nothing to mask
        if melody is not None:
            features = torch.from_numpy(melody)[None].expand(takes, -1, -1)
            inputs["input_features"] = features.to(device=device, dtype=model.dtype)
        frames = math.ceil(seconds * self.frame_rate)
        skip = 0 if context is None else context.shape[-1]
        new_tokens = frames + int(model.decoder.config.num_codebooks) - 1
        length = 1 + skip // (self.sample_rate // self.frame_rate) + new_tokens  # BOS, audio prompt, new
        cache = preallocated_cache(model, length)
        watchers = [ReleaseCache(cache, length)] + ([steps] if steps is not None else [])
        if stream:
            watchers.append(stream.streamer(model, takes, skip, self.options.stream_chunk_s))
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=True,
                                 guidance_scale=params.guidance_scale, temperature=params.temperature,
                                 top_k=params.top_k, cache=cache, stopping_criteria=StoppingCriteriaList(watchers))
        return out.float().cpu().numpy()[..., skip:], frames

    def _join(self) -> tuple[int, int, int]:
        """(samples per frame, context samples, crossfade samples) of windowed takes: whole frames, so codes
        and samples line up."""
        o, hop = self.options, self.sample_rate // self.frame_rate
        context_n = round(o.context_s * self.frame_rate) * hop
        return hop, context_n, min(context_n - hop, round(o.crossfade_s * self.frame_rate) * hop)

    def _window_plan(self, ends: list[int], melodic: bool = False) -> list[Window]:
        """Every window of a take whose segments end at `ends` (samples): where it starts, which segment's
        prompt it uses, its frames, whether it continues the audio before it. A window never crosses a
        segment's end; a long segment takes several. What generation runs and what the progress bar counts."""
        o, sr, fr = self.options, self.sample_rate, self.frame_rate
        hop, _context_n, fade_n = self._join()
        starts = [0] + ends[:-1]
        if melodic and any(e - b > o.window_s * sr for b, e in zip(starts, ends)):
            raise BackendError(f"musicgen: MusicGen-Melody makes each section alone (its audio input is the melody, "
                               f"not a continuation), and a section here is over {o.window_s:g} s: use a shorter --duration")
        plan, length = [], 0
        for k, end in enumerate(ends):
            while length < end:
                fresh = length == 0 or melodic
                limit = o.window_s - (0 if fresh else o.context_s)
                new_s = min(limit, (end - length) / sr)
                frames = math.ceil((new_s + (0 if length == 0 else fade_n / sr)) * fr)
                plan.append(Window(k, length, round(new_s, 3), frames, continues=not fresh))
                length += frames * hop - (0 if length == 0 else fade_n)
        return plan

    def _windowed(self, segments: list[tuple[str, int]], plan: list[Window], spec: MusicSpec, params: GenerationParams,
                  takes: int, stream: WindowStream | None, steps: StepCount | None = None):
        """The planned windows: each continues the last context_s of audio (MusicGen's audio prompt) with its
        segment's prompt, or with MusicGen-Melody starts afresh on its own stretch of the sketch; joins are
        crossfaded. The KV cache is one window's whatever the length."""
        _hop, context_n, fade_n = self._join()
        sr, audio, windows = self.sample_rate, None, []
        for w in plan:
            melody = self._melody(spec, params, w) if self.options.condition_on_sketch else None
            seconds = w.frames / self.frame_rate
            if audio is None:
                audio, _ = self._continue(segments[w.segment][0], params, seconds, None, melody, takes, stream, steps)
                if stream:
                    stream.write(0, audio)
            else:
                audio = self._join_window(audio, w, segments[w.segment][0], params, seconds, melody, takes, stream,
                                          steps, context_n, fade_n)
            windows.append({"start_s": round(w.start / sr, 3), "new_s": w.new_s, "segment": w.segment,
                            "context_s": self.options.context_s if w.continues else 0.0, "frames": w.frames})
        return audio, windows

    def _join_window(self, audio, w: Window, prompt: str, params, seconds: float, melody, takes, stream, steps,
                     context_n: int, fade_n: int):
        import numpy as np

        start = audio.shape[-1]
        if stream:  # previews of this window start after the crossfade; the exact join follows it
            stream.window(start - fade_n, keep_from=start)
        # regenerate the last fade_n samples of the context too, so the join can crossfade over them
        context = audio[..., -context_n:][..., : context_n - fade_n] if w.continues else None
        new, _ = self._continue(prompt, params, seconds, context, melody, takes, stream, steps)
        ramp = np.linspace(0.0, 1.0, fade_n, dtype=np.float32)
        audio[..., -fade_n:] = audio[..., -fade_n:] * (1 - ramp) + new[..., :fade_n] * ramp
        audio = np.concatenate([audio, new[..., fade_n:]], axis=-1)
        if stream:
            stream.write(start - fade_n, audio[..., start - fade_n:])
        return audio

    def _melody(self, spec: MusicSpec, params: GenerationParams, w: Window):
        """The sketch's chroma under this window: from its start (less the crossfade) for its frames."""
        model = self._loaded[0]
        fade_n = self._join()[2]
        start_s = max(0.0, (w.start - (fade_n if w.start else 0)) / self.sample_rate)
        return sketch_chroma(spec, params, model.config.num_chroma, model.config.chroma_length, start_s,
                             w.frames / self.frame_rate)


@dataclass(frozen=True)
class Window:
    """One generate call of a take: its segment (section), first new sample, seconds new, frames, and whether
    it continues the audio before it."""

    segment: int
    start: int
    new_s: float
    frames: int
    continues: bool


class WindowStream:
    """Sends MusicGen takes to a sink while they are made: a decoded preview every chunk, then the exact
    samples of each finished window (a continuation window's are rewritten from its crossfade on)."""

    def __init__(self, sink: AudioSink, sample_rate: int):
        self.sink, self.sample_rate = sink, sample_rate
        self.base = self.keep_from = 0

    def window(self, base: int, keep_from: int = 0) -> None:
        """The next window's new audio starts at sample `base`; previews before `keep_from` are dropped."""
        self.base, self.keep_from = base, keep_from

    def streamer(self, model, takes: int, skip_samples: int, chunk_s: float) -> CodeStreamer:
        frames = max(1, round(chunk_s * model.config.audio_encoder.frame_rate))
        return CodeStreamer(model, takes, skip_samples, frames, self._preview)

    def _preview(self, offset: int, audio) -> None:
        pos = self.base + offset
        cut = max(0, self.keep_from - pos)
        if cut < audio.shape[-1]:
            self.write(pos + cut, audio[..., cut:])

    def write(self, offset: int, audio) -> None:
        for k, take in enumerate(audio):
            self.sink.write(k, offset, take, self.sample_rate)


class StepWatcher:
    """Runs `watch(input_ids)` after every decoder step, as a stopping criterion that never stops (transformers
    5 drops a `streamer` given to MusicGen's generate). input_ids: (takes * codebooks, steps so far), the
    sampled codes in the delay pattern."""

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        self.watch(input_ids)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def watch(self, input_ids) -> None:
        raise NotImplementedError


class CodeStreamer(StepWatcher):
    """Watches MusicGen sample and, every `chunk` complete frames, decodes the new ones with EnCodec and
    hands them to `emit(offset, audio (takes, channels, n))`.

    Each decode starts CONTEXT frames early and stops HOLD frames short, because EnCodec's convolutions look
    both ways: measured on the real-size codec, 25 frames of context keep a chunk within 1e-7 of decoding the
    whole sequence, at ~0.1 s per second of audio instead of a full re-decode each time. A continuation's last
    prompt frames in the higher codebooks live only in generate's delay mask, so they are wrong here; they are
    context for no previewed sample closer than the crossfade, and the exact window is written afterwards."""

    CONTEXT, HOLD = 25, 4

    def __init__(self, model, takes: int, skip_samples: int, chunk: int, emit: Callable[[int, Any], None]):
        self.model, self.takes, self.chunk, self.emit = model, takes, chunk, emit
        self.rows = int(model.decoder.config.num_codebooks)
        self.stereo = int(model.decoder.config.audio_channels) == 2
        self.hop = int(model.config.audio_encoder.sampling_rate) // int(model.config.audio_encoder.frame_rate)
        self.skip = skip_samples // self.hop  # audio-prompt frames: not new, never emitted
        self.done = self.skip

    def watch(self, input_ids) -> None:
        ready = input_ids.shape[-1] - self.rows // (2 if self.stereo else 1) - self.HOLD
        if ready >= self.done + self.chunk:
            self._emit(input_ids.reshape(self.takes, self.rows, -1), ready)

    def _emit(self, ids, upto: int) -> None:
        start = max(0, self.done - self.CONTEXT)
        delays = [r // 2 if self.stereo else r for r in range(self.rows)]
        codes = ids.new_empty((self.takes, self.rows, upto - start))
        for r, d in enumerate(delays):  # undo the delay pattern: frame f of row r sits at position f + 1 + d
            codes[:, r] = ids[:, r, start + 1 + d: upto + 1 + d]
        audio = decode_codes(self.model, codes).float().cpu().numpy()
        self.emit((self.done - self.skip) * self.hop, audio[..., (self.done - start) * self.hop:])
        self.done = upto


def decode_codes(model, codes):
    """EnCodec audio (takes, channels, samples) for codes (takes, codebooks, frames), as generate decodes."""
    import torch

    codes = codes[None].to(model.audio_encoder.device)
    scales = [None] * codes.shape[1]
    if int(model.decoder.config.audio_channels) == 1:
        return model.audio_encoder.decode(codes, audio_scales=scales).audio_values
    left = model.audio_encoder.decode(codes[:, :, ::2], audio_scales=scales).audio_values
    right = model.audio_encoder.decode(codes[:, :, 1::2], audio_scales=scales).audio_values
    return torch.cat([left, right], dim=1)


def preallocated_cache(model, length: int):
    """The decoder's KV cache with room for `length` positions from the start (it doubles if outgrown).
    transformers' DynamicCache concatenates every step, copying the whole cache: for a 30 s window (1,500
    steps, musicgen-small on CPU) the copy was 28 % of generate, and this cache takes the window from 62 s to
    51 s. Attention sees exactly the positions so far, so the values are those of a DynamicCache given to
    generate (tests/test_music.py). Giving generate a cache also keeps the first step's keys and values,
    which MusicGen's generate in transformers 5.24 drops when it makes its own cache."""
    from transformers.cache_utils import DynamicCache, DynamicLayer, EncoderDecoderCache

    class PreallocatedLayer(DynamicLayer):
        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            done, new = self.get_seq_length(), key_states.shape[-2]
            if not self._holds(done + new):  # first use, outgrown, or replaced by a batch reorder
                self._grow(key_states, value_states, max(length, 2 * (done + new)), done)
            self._k[..., done: done + new, :] = key_states
            self._v[..., done: done + new, :] = value_states
            self.keys, self.values = self._k[..., : done + new, :], self._v[..., : done + new, :]
            return self.keys, self.values

        def _holds(self, needed: int) -> bool:
            k = getattr(self, "_k", None)
            return (k is not None and needed <= k.shape[-2]
                    and (self.keys.numel() == 0 or self.keys.data_ptr() == k.data_ptr()))

        def reset(self) -> None:
            self._k = self._v = None
            super().reset()

        def _grow(self, key_states, value_states, capacity: int, done: int) -> None:
            self._k = key_states.new_empty((*key_states.shape[:-2], capacity, key_states.shape[-1]))
            self._v = value_states.new_empty((*value_states.shape[:-2], capacity, value_states.shape[-1]))
            if done:
                self._k[..., :done, :], self._v[..., :done, :] = self.keys, self.values

    self_attention = DynamicCache(config=model.decoder.config)  # with the model's layer count
    self_attention.layers = [PreallocatedLayer() for _ in self_attention.layers]
    cache = EncoderDecoderCache(self_attention, DynamicCache(config=model.decoder.config))
    cache.capacity = length  # the lean decoder step's buffer size (tools/music/musicgen_step.py)
    return cache


class StepCount(StepWatcher):
    """Counts decoder steps over a take's windows and reports them (tools.music.base.reporting_steps)."""

    def __init__(self, windows: list[int]):
        self.windows, self.total, self.done, self.window = windows, sum(windows), 0, 0
        self._last = None

    def watch(self, input_ids) -> None:
        length = input_ids.shape[-1]
        if self._last is not None and length < self._last:  # generate started the next window
            self.window = min(self.window + 1, len(self.windows) - 1)
        self._last = length
        self.done = min(self.done + 1, self.total)
        self._report()

    def _report(self) -> None:
        n = len(self.windows)
        report_steps(self.done, self.total, f"window {self.window + 1}/{n}" if n > 1 else "decoding")

    def finish(self) -> None:
        """The take is made: the bar ends full even where the plan was a step off."""
        if self.done != self.total:
            self.total = self.done
            self._report()


class ReleaseCache(StepWatcher):
    """After the last step it frees the cache's self-attention
    buffers, which generate still holds (it was passed in) while EnCodec decodes the window, the largest
    allocation of all; decoding on top of a full cache would raise peak memory by the cache's size."""

    def __init__(self, cache, final_length: int):
        self.cache, self.final_length = cache, final_length

    def watch(self, input_ids) -> None:
        if input_ids.shape[-1] >= self.final_length:
            from tools.music import musicgen_step

            self.cache.self_attention_cache.reset()
            musicgen_step.release(self.cache)


def quantize_decoder(model) -> None:
    """Replace the decoder's nn.Linear layers by int8 dynamically quantised ones (CPU only)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the quantized-tensor API as deprecated, not removed
        torch.ao.quantization.quantize_dynamic(model.decoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


@functools.lru_cache(maxsize=4)
def _sketch_mono(spec: MusicSpec, params: GenerationParams):
    """The sketch of the plan at 32 kHz, mono (one render serves every section's conditioning)."""
    from tools.music.sketch import SketchRenderer

    audio = SketchRenderer(SketchRenderer.Options(sample_rate=32000, stems=False)).generate(spec, "", params)
    return audio.samples.mean(axis=0)


def sketch_chroma(spec: MusicSpec, params: GenerationParams, num_chroma: int, length: int, start_s: float = 0.0,
                  seconds: float | None = None):
    """The sketch of the spec as MusicGen-Melody conditioning: the dominant pitch class per chroma frame,
    one-hot, (length, num_chroma) — what MusicgenMelodyFeatureExtractor computes (it needs torchaudio, which
    has no build for this torch, so librosa computes the same STFT chroma here) — of the stretch from
    `start_s` (a section's own, for a take made section by section)."""
    import librosa
    import numpy as np

    sr = 32000
    y = _sketch_mono(spec, params)
    y = y[int(start_s * sr): int((start_s + seconds) * sr) if seconds else None]
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=16384, hop_length=4096, n_chroma=num_chroma)
    onehot = np.zeros((length, num_chroma), dtype=np.float32)
    frames = min(length, chroma.shape[1])
    onehot[np.arange(frames), chroma[:, :frames].argmax(axis=0)] = 1.0
    return onehot
