"""Audio analysis: tempo (beat tracking), key and mode (chroma + Krumhansl-Kessler profiles), loudness,
peaks and clipping, silence and duration. Used to check a take against its spec, and by `albumgen analyze`."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tools.errors import InputError
from tools.vocab import PITCH_CLASS

PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone profiles
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
MIN_SECONDS = 0.5
ANALYSIS_SR = 22050
HOP = 256
TEMPO_PRIOR = (50.0, 200.0)


@dataclass(frozen=True)
class AudioAnalysis:
    duration_s: float
    sample_rate: int
    tempo_bpm: float | None
    beats: int
    key: str | None
    mode: str | None
    key_confidence: float
    loudness_lufs: float | None
    peak_dbfs: float | None
    clipped_ratio: float
    silence_ratio: float
    # the second, independent key estimate (essentia's KeyExtractor, Bgate profile, on its HPCP chroma);
    # None where essentia is not installed
    key_b: str | None = None
    mode_b: str | None = None
    key_b_strength: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def clipping(self) -> bool:
        return self.clipped_ratio > 1e-4

    @property
    def silent(self) -> bool:
        return self.silence_ratio > 0.9 or self.peak_dbfs is None or self.peak_dbfs < -50


def _mono(samples):
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    return data.mean(axis=0) if data.ndim == 2 else data


def estimate_tempo(y, sr: int) -> tuple[float | None, int]:
    """BPM from beat tracking, refined by a straight-line fit of beat times (sub-frame precision)."""
    import librosa
    import numpy as np
    import scipy.stats

    onset = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP, aggregate=np.median)
    if not onset.any():
        return None, 0
    # a flat prior over the musical range picks the metrical level from the audio, not from a 120 BPM bias
    flat = scipy.stats.uniform(TEMPO_PRIOR[0], TEMPO_PRIOR[1] - TEMPO_PRIOR[0])
    guess = float(librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=HOP, prior=flat)[0])
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=HOP, start_bpm=guess, tightness=400)
    if len(beats) < 4:
        return None, len(beats)
    times = librosa.frames_to_time(beats, sr=sr, hop_length=HOP)
    period = np.polyfit(np.arange(len(times)), times, 1)[0]
    return round(float(60.0 / period), 2), len(times)


def estimate_key(y, sr: int) -> tuple[str | None, str | None, float]:
    """Key and mode by correlating the mean chroma with the 24 rotated key profiles; confidence = the
    margin of the best correlation over the best key that is neither it nor its relative."""
    import librosa
    import numpy as np

    chroma = librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=2048).mean(axis=1)
    if not chroma.any():
        return None, None, 0.0
    scores = []
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            scores.append((float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]), tonic, mode))
    scores.sort(reverse=True)
    best, tonic, mode = scores[0]
    relative = (tonic + (9 if mode == "major" else 3)) % 12
    rival = next(s for s, t, m in scores[1:] if t not in (tonic, relative))
    return PITCHES[tonic], mode, round(max(0.0, best - rival) / max(best, 1e-6), 2)


KEY_B_PROFILE = "bgate"  # essentia's own profile set: chosen as the check least fooled by bVII/bVI colour


def estimate_key_b(y, sr: int) -> tuple[str | None, str | None, float | None]:
    """A second key estimate independent of `estimate_key`: another library (essentia), another chroma
    (HPCP with harmonic weighting, not CQT) and other profiles. (None, None, None) without essentia."""
    import importlib.util

    if importlib.util.find_spec("essentia") is None:
        return None, None, None
    import essentia
    import numpy as np

    essentia.log.infoActive = False  # its import-time INFO lines would land in every CLI run's stderr
    from essentia.standard import KeyExtractor

    key, scale, strength = KeyExtractor(profileType=KEY_B_PROFILE, sampleRate=float(sr))(np.asarray(y, dtype=np.float32))
    if not key or scale not in ("major", "minor"):
        return None, None, None
    return key, scale, round(float(strength), 2)


def analyze(samples, sample_rate: int) -> AudioAnalysis:
    """Measure a take (float samples, mono or (channels, frames))."""
    import librosa
    import numpy as np

    from tools.music.mastering import integrated_loudness

    raw = np.asarray(samples, dtype=np.float32)
    mono = _mono(raw)
    duration = mono.shape[-1] / sample_rate
    if duration < MIN_SECONDS:
        raise InputError(f"audio is {duration:.2f} s long: analysis needs at least {MIN_SECONDS} s")
    peak = float(np.abs(raw).max()) if raw.size else 0.0
    y = librosa.resample(mono, orig_sr=sample_rate, target_sr=ANALYSIS_SR) if sample_rate != ANALYSIS_SR else mono
    frame_rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
    tempo, beats = estimate_tempo(y, ANALYSIS_SR)
    key, mode, confidence = estimate_key(y, ANALYSIS_SR)
    key_b, mode_b, strength_b = estimate_key_b(mono, sample_rate)  # at the take's own rate: HPCP wants the highs
    loudness = integrated_loudness(raw, sample_rate)
    return AudioAnalysis(
        duration_s=round(duration, 3), sample_rate=sample_rate, tempo_bpm=tempo, beats=beats, key=key, mode=mode,
        key_confidence=confidence, loudness_lufs=round(loudness, 1) if np.isfinite(loudness) else None,
        peak_dbfs=round(20 * float(np.log10(peak)), 2) if peak > 0 else None,
        clipped_ratio=round(float((np.abs(raw) >= 0.999).mean()), 6),
        silence_ratio=round(float((frame_rms < 10 ** (-60 / 20)).mean()), 3), key_b=key_b, mode_b=mode_b,
        key_b_strength=strength_b)


def preload() -> None:
    """Import the analysis libraries (librosa, scipy, essentia: about 1.5 s in a fresh process) ahead of use."""
    import importlib.util

    import librosa  # noqa: F401
    import scipy.stats  # noqa: F401

    if importlib.util.find_spec("essentia") is not None:
        import essentia

        essentia.log.infoActive = False  # as estimate_key_b: no import-time INFO lines in a run's stderr
        import essentia.standard  # noqa: F401


def warm_up() -> float:
    """Analyse 6 s of a synthetic click track once, so numba compiles and caches librosa's kernels (about
    25 s on 2 cores) at set-up rather than in a user's first run. Returns the seconds it took."""
    import time

    import numpy as np

    start, sr = time.perf_counter(), 32000
    t = np.arange(6 * sr) / sr
    clicks = (np.sin(2 * np.pi * 440 * t) * (np.mod(t, 0.5) < 0.05)).astype(np.float32)
    analyze(np.stack([clicks, clicks]), sr)
    return time.perf_counter() - start


def analyze_file(path: str | Path) -> AudioAnalysis:
    """Read any libsndfile-readable file and analyse it; bad files raise a one-line InputError."""
    import soundfile as sf

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory: pass an audio file")
    if not path.exists():
        raise InputError(f"{path} not found: check the path")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): pass a WAV, FLAC or OGG file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InputError(f"{path} is not audio soundfile can read ({str(exc).splitlines()[0][:80]}): "
                         "pass a WAV, FLAC or OGG file") from None
    return analyze(data.T, sr)


MIN_BEATS = 8          # fewer beats than this (a 4 s take at 60 BPM) cannot be tempo-checked
MIN_KEY_CONFIDENCE = 0.2  # under this, a short take's key estimate is noise, not a reading


def tempo_measurable(duration_s: float, bpm: float) -> bool:
    """Whether a take is long enough for its tempo to be measured: at least MIN_BEATS beats of the plan."""
    return duration_s * bpm / 60 >= MIN_BEATS


def tempo_verdict(measured: float | None, wanted: int, tolerance: float = 0.04) -> tuple[str, float | None]:
    """('ok' | 'octave' | 'miss', relative error). Half or double time is an octave error, not a match."""
    if not measured:
        return "miss", None
    error = abs(measured - wanted) / wanted
    if error <= tolerance:
        return "ok", round(error, 4)
    for factor in (0.5, 2.0):
        if abs(measured * factor - wanted) / wanted <= tolerance:
            return "octave", round(error, 4)
    return "miss", round(error, 4)


def agreed_key_verdict(analysis: AudioAnalysis, wanted_key: str, wanted_mode: str) -> str:
    """The key verdict both estimators support: the worse of the two ('exact' only when both hear the
    exact key; a disagreement is a 'miss' worth a repair). With one estimator (no essentia), its own."""
    a = key_verdict(analysis.key, analysis.mode, wanted_key, wanted_mode)
    if analysis.key_b is None:
        return a
    b = key_verdict(analysis.key_b, analysis.mode_b, wanted_key, wanted_mode)
    order = ("exact", "relative", "miss")
    return max(a, b, key=order.index)


def key_verdict(key: str | None, mode: str | None, wanted_key: str, wanted_mode: str) -> str:
    """'exact', 'relative' (same notes, other tonic: A minor for C major), or 'miss'. Enharmonics are equal."""
    if key is None or mode is None:
        return "miss"
    got, wanted = PITCH_CLASS[key], PITCH_CLASS[wanted_key]
    if mode == wanted_mode:
        return "exact" if got == wanted else "miss"
    return "relative" if got == (wanted + (9 if wanted_mode == "major" else 3)) % 12 else "miss"
