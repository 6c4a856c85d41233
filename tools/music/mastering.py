"""Output polish shared by every music backend: loudness normalisation, fades, no clipping."""
from __future__ import annotations

TARGET_LUFS = -14.0  # streaming services normalise near here (Spotify, YouTube -14 LUFS)


def master(samples, sample_rate: int, target_lufs: float = TARGET_LUFS, fade_in_s: float = 0.02,
           fade_out_s: float = 1.0, peak_dbfs: float = -1.0):
    """Return (samples normalised to target_lufs with peaks under peak_dbfs and faded, measured LUFS)."""
    import numpy as np

    source = np.nan_to_num(np.asarray(samples, dtype=np.float64))
    ceiling = 10 ** (peak_dbfs / 20)
    audio, gain_db = source, 0.0
    for _ in range(3):  # limiting lowers loudness a little: re-aim a couple of times
        loudness = integrated_loudness(audio, sample_rate)
        if not np.isfinite(loudness) or abs(loudness - target_lufs) < 0.3:
            break
        gain_db += target_lufs - loudness
        audio = soft_limit(source * 10 ** (gain_db / 20), ceiling)
    n = audio.shape[-1]
    fin, fout = min(n // 4, int(fade_in_s * sample_rate)), min(n // 4, int(fade_out_s * sample_rate))
    if fin:
        audio[..., :fin] *= np.linspace(0.0, 1.0, fin)
    if fout:
        audio[..., n - fout:] *= np.linspace(1.0, 0.0, fout)
    final = integrated_loudness(audio, sample_rate)
    return audio.astype(np.float32), (round(float(final), 1) if np.isfinite(final) else None)


def soft_limit(audio, ceiling: float, knee: float = 0.6):
    """Leave samples under knee*ceiling untouched and bend louder ones smoothly (tanh) under the ceiling."""
    import numpy as np

    threshold = knee * ceiling
    mag = np.abs(audio)
    over = mag > threshold
    out = audio.copy()
    out[over] = np.sign(audio[over]) * (threshold + (ceiling - threshold) *
                                        np.tanh((mag[over] - threshold) / (ceiling - threshold)))
    return out


def integrated_loudness(audio, sample_rate: int) -> float:
    """ITU-R BS.1770 integrated loudness (pyloudnorm); -inf for silence or audio under 0.4 s."""
    import numpy as np
    import pyloudnorm

    data = np.atleast_2d(audio).T
    if data.shape[0] < int(0.4 * sample_rate) or not np.any(data):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))
