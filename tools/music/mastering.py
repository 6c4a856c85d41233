"""Output polish shared by every music backend: loudness normalisation, fades, no clipping."""
from __future__ import annotations


def master(samples, sample_rate: int, target_lufs: float = -14.0, fade_in_s: float = 0.02,
           fade_out_s: float = 1.0, peak_dbfs: float = -1.0):
    """Return (samples normalised to target_lufs with peaks under peak_dbfs and faded, measured LUFS)."""
    import numpy as np

    audio = np.nan_to_num(np.asarray(samples, dtype=np.float64))
    loudness = integrated_loudness(audio, sample_rate)
    if np.isfinite(loudness):
        audio *= 10 ** ((target_lufs - loudness) / 20)
    peak = np.abs(audio).max() if audio.size else 0.0
    ceiling = 10 ** (peak_dbfs / 20)
    if peak > ceiling:
        audio *= ceiling / peak
    n = audio.shape[-1]
    fin, fout = min(n // 4, int(fade_in_s * sample_rate)), min(n // 4, int(fade_out_s * sample_rate))
    if fin:
        audio[..., :fin] *= np.linspace(0.0, 1.0, fin)
    if fout:
        audio[..., n - fout:] *= np.linspace(1.0, 0.0, fout)
    final = integrated_loudness(audio, sample_rate)
    return audio.astype(np.float32), (round(float(final), 1) if np.isfinite(final) else None)


def integrated_loudness(audio, sample_rate: int) -> float:
    """ITU-R BS.1770 integrated loudness (pyloudnorm); -inf for silence or audio under 0.4 s."""
    import numpy as np
    import pyloudnorm

    data = np.atleast_2d(audio).T
    if data.shape[0] < int(0.4 * sample_rate) or not np.any(data):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))
