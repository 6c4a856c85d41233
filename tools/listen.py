"""Measures of a take that never read its plan: where its sections change (a self-similarity novelty curve
over chroma and MFCC, Foote 2000), which chords it plays (essentia's HPCP chord detector), how loud each
stretch is, left/right phase and the spectrum. Verification, the musicality benchmark and the tests use them.
"""
from __future__ import annotations

import math

HOP_S = 0.25  # feature frames for segmentation: four a second
KERNEL_S = 4.0  # the checkerboard kernel looks this far each side of a candidate boundary


def _mono(samples):
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    return x.mean(axis=0) if x.ndim == 2 else x


def segment_features(samples, sample_rate: int):
    """Chroma (harmony) and MFCC (timbre, density) per quarter second, each standardised, stacked."""
    import librosa
    import numpy as np

    y = _mono(samples)
    hop = int(sample_rate * HOP_S / 4)
    chroma = librosa.feature.chroma_stft(y=y, sr=sample_rate, hop_length=hop, n_fft=4096)
    mfcc = librosa.feature.mfcc(y=y, sr=sample_rate, hop_length=hop, n_mfcc=13)
    rms = librosa.feature.rms(y=y, hop_length=hop)
    feats = []
    for f in (chroma, mfcc, librosa.amplitude_to_db(rms + 1e-6)):
        f = librosa.util.sync(f, np.arange(0, f.shape[1], 4), aggregate=np.mean)
        f = (f - f.mean(axis=1, keepdims=True)) / (f.std(axis=1, keepdims=True) + 1e-6)
        feats.append(f / math.sqrt(f.shape[0]))
    return np.vstack(feats)


def novelty(features):
    """Foote's novelty: a Gaussian-tapered checkerboard kernel slid along the self-similarity matrix."""
    import numpy as np

    x = features / (np.linalg.norm(features, axis=0, keepdims=True) + 1e-9)
    ssm = x.T @ x
    half = int(KERNEL_S / HOP_S)
    grid = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (grid / (half / 2)) ** 2)
    kernel = np.outer(taper, taper) * np.sign(grid)[:, None] * np.sign(grid)[None, :]
    padded = np.pad(ssm, half, mode="edge")
    n = ssm.shape[0]
    curve = np.array([np.sum(padded[i:i + 2 * half, i:i + 2 * half] * kernel) for i in range(n)])
    curve = np.maximum(curve, 0)
    return curve / (curve.max() + 1e-9)


def boundaries(samples, sample_rate: int, min_gap_s: float = 3.0) -> list[float]:
    """Section boundaries in seconds, found from the audio alone: novelty peaks at least `min_gap_s` apart and
    above the curve's mean plus half its deviation (the start and end of the audio are not boundaries)."""
    import numpy as np

    curve = novelty(segment_features(samples, sample_rate))
    gap = max(1, int(min_gap_s / HOP_S))
    floor = curve.mean() + 0.5 * curve.std()
    peaks = [i for i in range(1, len(curve) - 1)
             if curve[i] >= floor and curve[i] == curve[max(0, i - gap):i + gap + 1].max()]
    edge = int(1.0 / HOP_S)
    return [round(float(i * HOP_S), 2) for i in peaks if edge <= i <= len(curve) - edge and np.isfinite(curve[i])]


def boundaries_found(planned: list[float], found: list[float], window_s: float = 1.5) -> tuple[int, int, int]:
    """(planned boundaries with a found one within `window_s`, planned, found ones near no planned one)."""
    hits = sum(any(abs(p - f) <= window_s for f in found) for p in planned)
    stray = sum(not any(abs(p - f) <= window_s for p in planned) for f in found)
    return hits, len(planned), stray


def chords(samples, sample_rate: int) -> list[str]:
    """The chord heard in each half second (essentia's ChordsDetection on HPCP; weak frames dropped)."""
    import essentia.standard as es
    import numpy as np

    y = np.ascontiguousarray(_mono(samples), dtype=np.float32)
    frame, hop = 4096, 2048
    window, spectrum = es.Windowing(type="blackmanharris62"), es.Spectrum()
    peaks = es.SpectralPeaks(orderBy="magnitude", magnitudeThreshold=1e-5, minFrequency=40, maxFrequency=5000,
                             maxPeaks=60, sampleRate=sample_rate)
    hpcp = es.HPCP(sampleRate=sample_rate, minFrequency=40, maxFrequency=5000)
    frames = [hpcp(*peaks(spectrum(window(f)))) for f in es.FrameGenerator(y, frameSize=frame, hopSize=hop)]
    detect = es.ChordsDetection(hopSize=hop, sampleRate=sample_rate, windowSize=1.0)
    names, strength = detect(np.array(frames, dtype=np.float32))
    step = max(1, int(0.5 * sample_rate / hop))
    return [n for n, s in list(zip(names, strength))[::step] if s > 0.3]


def distinct_chords(samples, sample_rate: int, min_share: float = 0.03) -> list[str]:
    """Chords heard in at least `min_share` of the take's half seconds (a passing misreading does not count)."""
    from collections import Counter

    heard = chords(samples, sample_rate)
    counts = Counter(heard)
    return sorted(c for c, n in counts.items() if n >= max(2, min_share * len(heard)))


def levels_db(samples, sample_rate: int, spans: list[tuple[float, float]]) -> list[float]:
    """RMS level in dBFS of each (start, end) stretch, its first and last half second left out (fades, tails)."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    out = []
    for start, end in spans:
        a, b = int((start + 0.5) * sample_rate), int((end - 0.5) * sample_rate)
        if b <= a:
            a, b = int(start * sample_rate), max(int(start * sample_rate) + 1, int(end * sample_rate))
        rms = math.sqrt(float(np.mean(x[..., a:b] ** 2))) if b > a else 0.0
        out.append(round(20 * math.log10(rms), 2) if rms > 0 else -120.0)
    return out


def correlation(samples) -> float:
    """Pearson correlation of left and right (1 mono, 0 unrelated, -1 cancels in mono)."""
    import numpy as np

    left, right = np.asarray(samples[0], dtype=np.float64), np.asarray(samples[1], dtype=np.float64)
    denom = math.sqrt(float(np.dot(left, left) * np.dot(right, right)))
    return float(np.dot(left, right) / denom) if denom else 1.0


def mono_loss_db(samples) -> float:
    """How much quieter the mono sum (L+R)/2 is than the stereo mix (0 dB when L = R, 3 dB unrelated)."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    stereo = float(np.mean(x ** 2))
    mono = float(np.mean(((x[0] + x[1]) / 2) ** 2))
    return 10 * math.log10(stereo / mono) if mono > 0 and stereo > 0 else 0.0


def bandwidth_hz(samples, sample_rate: int) -> float:
    """Mean spectral bandwidth (librosa): how far the energy spreads around the spectral centroid."""
    import librosa
    import numpy as np

    return float(np.mean(librosa.feature.spectral_bandwidth(y=_mono(samples), sr=sample_rate)))
