"""Coherence rules across spec fields, and the checks on a rationale. Each problem is one line that tells a
model (or a person) what is wrong and what would fix it."""
from __future__ import annotations

import re
from itertools import combinations

from tools.vocab import vocabulary

MOOD_VALENCE_GAP = 0.5   # two moods this far apart in valence contradict (cheerful / sad)
MOOD_ENERGY_GAP = 0.6    # ... or this far apart in energy (aggressive / calm)
MOOD_BOTH_GAP = 0.4      # ... or this far apart in both (peaceful / tense)
AFFECT_SLACK = 0.35      # energy / valence may sit this far from the moods' own
TEMPO_SLACK = 0.05       # a tempo may leave the genre's range by this fraction


def mood_conflicts(moods) -> list[tuple[str, str]]:
    table = vocabulary().moods
    out = []
    for a, b in combinations(moods, 2):
        dv = abs(table[a]["valence"] - table[b]["valence"])
        de = abs(table[a]["energy"] - table[b]["energy"])
        if dv > MOOD_VALENCE_GAP or de > MOOD_ENERGY_GAP or (dv > MOOD_BOTH_GAP and de > MOOD_BOTH_GAP):
            out.append((a, b))
    return out


def compatible(mood: str, chosen) -> bool:
    return not mood_conflicts([*chosen, mood])


def _mood_mean(moods, key: str) -> float:
    table = vocabulary().moods
    return sum(table[m][key] for m in moods) / len(moods)


def within_moods(moods, energy: float, valence: float) -> dict[str, float]:
    """Energy and valence kept within reach of the moods' own (AFFECT_SLACK, less a margin): the coherence rule."""
    out = {}
    for key, value in (("energy", energy), ("valence", valence)):
        mean = _mood_mean(moods, key)
        out[key] = round(min(max(value, mean - AFFECT_SLACK + 0.05), mean + AFFECT_SLACK - 0.05), 2)
    return out


def check_moods(spec) -> list[str]:
    out = [f"moods {a} and {b} contradict each other: keep one of them" for a, b in mood_conflicts(spec.moods)]
    for key in ("energy", "valence"):
        value = getattr(spec, key)
        if spec.moods and value is not None:
            mean = _mood_mean(spec.moods, key)
            if abs(value - mean) > AFFECT_SLACK:
                out.append(f"{key} {value} does not fit the moods {', '.join(spec.moods)} (their {key} is about "
                           f"{mean:.2f}): give {key} within {AFFECT_SLACK} of it or other moods")
    return out


def check_tempo(spec, prior=None) -> list[str]:
    if spec.genre is None or spec.tempo_bpm is None:
        return []
    if prior is not None and getattr(prior, "stated", None) and prior.stated_value("tempo_bpm") == spec.tempo_bpm:
        return []  # the cover states this tempo: it is obeyed, whatever the genre's usual range
    lo, hi = vocabulary().genres[spec.genre].tempo
    slack = TEMPO_SLACK * (hi - lo)
    bpm = spec.tempo_bpm
    if not lo - slack <= bpm <= hi + slack:
        return [f"tempo {bpm} BPM is outside {spec.genre}'s range {lo}-{hi}: choose a tempo in that range"]
    if spec.energy is not None:
        position = (bpm - lo) / (hi - lo)
        if spec.energy >= 0.7 and position < 0.25:
            return [f"tempo {bpm} BPM is slow for energy {spec.energy}: use the upper part of {lo}-{hi}"]
        if spec.energy <= 0.3 and position > 0.75:
            return [f"tempo {bpm} BPM is fast for energy {spec.energy}: use the lower part of {lo}-{hi}"]
    return []


def check_instruments(spec, prior=None) -> list[str]:
    from tools.grounding.prior import associations

    if spec.genre is None or not spec.instruments:
        return []
    fits = set(vocabulary().genres[spec.genre].instruments) | set(associations()["instrument_palettes"][spec.genre])
    odd = [i for i in spec.instruments if i not in fits and not (prior and prior.supports("instruments", i))]
    if odd:
        return [f"{', '.join(odd)} {'does' if len(odd) == 1 else 'do'} not fit {spec.genre} and nothing on the cover "
                f"calls for {'it' if len(odd) == 1 else 'them'}: choose from {', '.join(sorted(fits))}"]
    return []


def check_meter(spec, prior=None) -> list[str]:
    from tools.grounding.prior import associations

    if spec.genre is None or spec.time_signature is None:
        return []
    common = associations()["genre_meters"].get(spec.genre, [])
    meter = spec.time_signature
    if meter in common or meter == vocabulary().genres[spec.genre].time_signature:
        return []
    if prior and prior.supports("time_signature", meter):
        return []
    return [f"{meter} is unusual for {spec.genre} and no evidence calls for it: use {' or '.join(common)}"]


RULES = {"moods": check_moods, "tempo_bpm": check_tempo, "instruments": check_instruments,
         "time_signature": check_meter}
_NEEDS_PRIOR = {"instruments", "time_signature", "tempo_bpm"}


def problems(spec, prior=None, fields=None) -> list[str]:
    """Every rule the spec breaks (only those of `fields` when given)."""
    out = []
    for name, rule in RULES.items():
        if fields is None or name in fields:
            out += rule(spec, prior) if name in _NEEDS_PRIOR else rule(spec)
    return out


# -- rationales ---------------------------------------------------------------------------------------------
_TASK_WORDS = re.compile(r"\b(choose|call set_|set_[a-z]+|the plan is|tool|rationale|an integer|json|schema|"
                         r"options?|argument)\b", re.I)


def rationale_problem(text: str, evidence) -> str | None:
    """Why a rationale is unusable (None when it is fine): it must cite this cover's evidence ids and say
    something, not repeat itself or restate the task."""
    cited = evidence.cited(text)
    if not cited:
        ids = sorted(evidence.ids, key=lambda i: int(i[1:]))
        return f"the rationale cites no evidence of this cover: name the ids it rests on ({', '.join(ids[:12])})"
    sentences = [s.strip().lower() for s in re.split(r"[!?;]+|\.(?!\d)", text) if s.strip()]  # 0.99 is one number
    if len(sentences) != len(set(sentences)):
        return "the rationale repeats itself: write one sentence on what the cited evidence shows"
    # ids and numbers are not repetition: "(from E2, E3, E5)" or "160 BPM, E minor" twice is two facts; nor are
    # the cover's own words quoted by several evidence items (a band's name, its OCR line, the encoder's reading)
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", re.sub(r"\bE\d+\b|\"[^\"]*\"|“[^”]*”", " ", text).lower())
    grams = [" ".join(words[i:i + 3]) for i in range(len(words) - 2)]
    if grams and max(grams.count(g) for g in set(grams)) >= 3:
        return "the rationale repeats itself: write one sentence on what the cited evidence shows"
    if _TASK_WORDS.search(text):
        return "the rationale restates the task: say what the cited evidence shows on the cover"
    if len(re.sub(r"[^a-z]", "", re.sub(r"\bE\d+\b", "", text).lower())) < 6:
        return "the rationale is too short: say what the cited evidence shows"
    return None
