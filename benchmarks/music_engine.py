"""Music engine: the real-size MusicGen architecture with random weights (no download), AlbumGen's music
tool against plain `model.generate`, same seed, side by side in one process.

    .venv/bin/python benchmarks/music_engine.py [--size small|medium] [--runs 3] [--seconds 2]
                                                [--device cpu|cuda] [--dtype float32|bfloat16] [--profile]

Prints seconds per second of audio, ms per decoder step, the ratio, and the per-step memory-bandwidth floor
(decoder weight bytes / measured copy bandwidth).
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
    tool = MUSIC_BACKENDS.create("musicgen", {"model": str(folder), "device": args.device, "dtype": args.dtype,
                                              "quantize": args.quantize})
    spec = MusicSpec(genre="jazz", moods=("calm",), tempo_bpm=96, key="A", mode="minor", time_signature="4/4",
                     instruments=("piano",))
    _ = tool._loaded  # load outside the timing, as a chat session or the web app does

    def run_plain():
        torch.manual_seed(0)
        with torch.inference_mode():
            plain.generate(**inputs, max_new_tokens=steps, do_sample=True, guidance_scale=3.0)

    def run_tool():
        tool.generate(spec, prompt, GenerationParams(duration_s=args.seconds, seed=0, guidance_scale=3.0))

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode():
            plain.generate(**inputs, max_new_tokens=10, do_sample=True, guidance_scale=3.0)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

    run_plain(), run_tool(), sync()  # warm-up
    times = {"plain generate": [], "AlbumGen music tool": []}
    for _ in range(args.runs):  # interleaved: both see the same machine load
        for name, fn in (("plain generate", run_plain), ("AlbumGen music tool", run_tool)):
            sync()
            t = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t)
    base = median(times["plain generate"])
    rows = [(name, f"{median(t):.2f} s", f"{median(t) / args.seconds:.2f}", f"{median(t) / steps * 1000:.0f}",
             f"{base / median(t):.2f}x") for name, t in times.items()]
    quant = "int8 decoder" if tool.quantized(args.device) else "no quantisation"
    print(f"\nmusicgen-{args.size} architecture, random weights, {params / 1e6:.0f} M decoder parameters, "
          f"{args.device} {args.dtype}, tool: {quant}, {steps} decoder steps ({args.seconds:g} s), guidance 3.0, "
          f"sampling, median of {args.runs}")
    print(table(rows, ("engine", "wall", "s per s of audio", "ms per step", "speed vs plain")))
    print_equivalence(plain, tool, inputs, steps)
    if args.device == "cpu":
        bw = copy_bandwidth_gbs()
        for name, nbytes in (("fp32", 4), ("bf16", 2), ("int8", 1)):
            floor = params * nbytes / (bw * 1e9) * 1000
            print(f"bandwidth floor ({name} weights, copy {bw:.1f} GB/s): {floor:.0f} ms per step; "
                  f"AlbumGen is {median(times['AlbumGen music tool']) / steps * 1000 / floor:.1f}x that")


if __name__ == "__main__":
    main()
