"""Music engine: the real-size MusicGen architecture with random weights (no download), AlbumGen's music
tool against plain `model.generate`, same seed, side by side in one process.

    .venv/bin/python benchmarks/music_engine.py [--size small|medium] [--runs 3] [--seconds 2]
                                                [--device cpu|cuda] [--dtype float32|bfloat16] [--profile]

Prints seconds per second of audio, ms per decoder step (median time from one decoder call to the next), the
ratios to plain generate, and the per-step memory-bandwidth floor (decoder weight bytes / measured copy
bandwidth). Three engines: plain generate, the tool with transformers' decoder step, the tool as configured
(on CPU: int8 weights and the lean decoder step of tools/music/musicgen_step.py).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table  # noqa: E402

from tests.models import REAL_SIZES, real_size_musicgen  # noqa: E402


def copy_bandwidth_gbs() -> float:
    """Read + write bytes per second of a large numpy copy (best of 5)."""
    import numpy as np

    src = np.ones(256 * 2**20 // 8)
    dst = np.empty_like(src)
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best / 1e9


def codebook_histogram(model, inputs, steps: int, seed: int):
    """Sampled codes per codebook, as one normalised histogram (4 x 2048 bins)."""
    import numpy as np
    import torch

    captured = {}
    decode = model.audio_encoder.decode

    def spy(audio_codes, *args, **kwargs):  # generate returns audio; the codes pass through here
        captured["codes"] = audio_codes
        return decode(audio_codes, *args, **kwargs)

    model.audio_encoder.decode = spy
    torch.manual_seed(seed)
    try:
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=steps, do_sample=True, guidance_scale=3.0)
    finally:
        model.audio_encoder.decode = decode
    codes = captured["codes"].reshape(-1, captured["codes"].shape[-1]).cpu().numpy()
    hist = np.stack([np.bincount(c[(c >= 0) & (c < 2048)], minlength=2048) for c in codes]).astype(float)
    return hist / hist.sum()


def print_equivalence(plain, tool, inputs, steps: int) -> None:
    """Total-variation distance between codebook distributions: tool vs plain at the same seed, next to
    plain vs plain at two seeds (the sampling noise floor). Equivalent when the first is not larger."""
    model = tool._loaded[0]
    base = codebook_histogram(plain, inputs, steps, 0)
    other_seed = codebook_histogram(plain, inputs, steps, 1)
    ours = codebook_histogram(model, inputs, steps, 0)
    tv = lambda a, b: 0.5 * abs(a - b).sum()  # noqa: E731
    print(f"codebook distribution, total variation: tool vs plain (seed 0) {tv(base, ours):.3f}; "
          f"plain seed 0 vs seed 1 {tv(base, other_seed):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small", choices=REAL_SIZES)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--profile", action="store_true", help="print the top operators of 10 plain decoder steps")
    ap.add_argument("--quantize", default="auto", choices=["auto", "none", "int8"], help="the tool's quantize option")
    args = ap.parse_args()

    import torch
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.spec import MusicSpec

    folder = Path(tempfile.mkdtemp(prefix=f"musicgen-{args.size}-"))
    params = real_size_musicgen(args.size, folder)
    dtype = getattr(torch, args.dtype)
    steps = round(args.seconds * 50)
    prompt = "calm jazz piano, 96 bpm, a minor"

    plain = MusicgenForConditionalGeneration.from_pretrained(folder, dtype=dtype).to(args.device).eval()
    processor = AutoProcessor.from_pretrained(folder)
    inputs = processor(text=[prompt], return_tensors="pt").to(args.device)
    options = {"model": str(folder), "device": args.device, "dtype": args.dtype, "quantize": args.quantize}
    tool = MUSIC_BACKENDS.create("musicgen", options)
    hf_step = MUSIC_BACKENDS.create("musicgen", {**options, "decoder_step": "transformers"})
    spec = MusicSpec(genre="jazz", moods=("calm",), tempo_bpm=96, key="A", mode="minor", time_signature="4/4",
                     instruments=("piano",))
    _ = tool._loaded, hf_step._loaded  # load outside the timing, as a chat session or the web app does

    def run_plain():
        torch.manual_seed(0)
        with torch.inference_mode():
            plain.generate(**inputs, max_new_tokens=steps, do_sample=True, guidance_scale=3.0)

    def run_tool():
        tool.generate(spec, prompt, GenerationParams(duration_s=args.seconds, seed=0, guidance_scale=3.0))

    def run_hf_step():
        hf_step.generate(spec, prompt, GenerationParams(duration_s=args.seconds, seed=0, guidance_scale=3.0))

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode():
            plain.generate(**inputs, max_new_tokens=10, do_sample=True, guidance_scale=3.0)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

    engines = (("plain generate", run_plain, plain), ("AlbumGen, transformers decoder step", run_hf_step,
                                                        hf_step._loaded[0]),
               ("AlbumGen music tool", run_tool, tool._loaded[0]))
    for _, fn, _model in engines:  # warm-up
        fn()
    sync()
    times = {name: [] for name, _, _ in engines}
    step_times = {name: [] for name, _, _ in engines}
    for _ in range(args.runs):  # interleaved: all see the same machine load
        for name, fn, model in engines:
            calls = []
            hook = model.decoder.register_forward_pre_hook(lambda *_, calls=calls: calls.append(time.perf_counter()))
            sync()
            t = time.perf_counter()
            try:
                fn()
                sync()
            finally:
                hook.remove()
            times[name].append(time.perf_counter() - t)
            # a decoder step: from one decoder call to the next (the model, then generate's sampling between)
            step_times[name] += [b - a for a, b in zip(calls[1:], calls[2:])]
    base, base_step = median(times["plain generate"]), median(step_times["plain generate"])
    rows = [(name, f"{median(t):.2f} s", f"{median(t) / args.seconds:.2f}", f"{median(step_times[name]) * 1000:.1f}",
             f"{base_step / median(step_times[name]):.2f}x", f"{base / median(t):.2f}x") for name, t in times.items()]
    quant = ("int8 decoder" if tool.quantized(args.device) else "no quantisation") + \
        (", lean decoder step" if tool.lean(args.device) else "")
    print(f"\nmusicgen-{args.size} architecture, random weights, {params / 1e6:.0f} M decoder parameters, "
          f"{args.device} {args.dtype}, tool: {quant}, {steps} decoder steps ({args.seconds:g} s), guidance 3.0, "
          f"sampling, median of {args.runs}")
    print(table(rows, ("engine", "wall", "s per s of audio", "ms per decoder step", "step vs plain", "wall vs plain")))
    print("ms per decoder step: median time from one decoder call to the next; the wall adds the text encoder, "
          "EnCodec's decoding and, for the tool, mastering")
    print_equivalence(plain, tool, inputs, steps)
    if args.device == "cpu":
        bw = copy_bandwidth_gbs()
        for name, nbytes in (("fp32", 4), ("bf16", 2), ("int8", 1)):
            floor = params * nbytes / (bw * 1e9) * 1000
            print(f"bandwidth floor ({name} weights, copy {bw:.1f} GB/s): {floor:.1f} ms per step; "
                  f"AlbumGen's decoder step is {median(step_times['AlbumGen music tool']) * 1000 / floor:.2f}x that")


if __name__ == "__main__":
    main()
