"""Evidence: what a cover shows, as numbered, checkable items (E1, E2, ...) with measured values.

Every vision backend returns these beside its prose. Measurements of colour and texture come from the
pixels (CIELAB through scikit-image), so every backend has them; labels, cover text and questionnaire
answers come from the backend's own models.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic import BaseModel, JsonValue

from tools.json_values import as_json
from tools.language import wordsegment
from tools.vocab import prompt_table, vocabulary

EVIDENCE_ID = re.compile(r"\bE(\d{1,3})\b")


@dataclass(frozen=True)
class Evidence:
    """One fact about the cover. `value` is what was measured (a number, a label, a word); `uncertain`
    items are reported for people but never drive a decision."""

    id: str
    kind: str
    text: str
    value: Any = None
    confidence: float | None = None
    uncertain: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.id} [{self.kind}] {self.text}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def record(self) -> EvidenceRecord:
        return EvidenceRecord(id=self.id, kind=self.kind, text=self.text, value=as_json(self.value),
                              confidence=self.confidence, uncertain=self.uncertain, detail=as_json(self.detail))


class EvidenceRecord(BaseModel):
    """One evidence item as the trace holds it (JSON values); `evidence()` gives the item back."""

    id: str
    kind: str
    text: str
    value: JsonValue = None
    confidence: float | None = None
    uncertain: bool = False
    detail: dict[str, JsonValue] = {}

    def evidence(self) -> Evidence:
        return Evidence(**self.model_dump())


@dataclass(frozen=True)
class EvidenceSet:
    """The numbered evidence of one cover."""

    items: tuple[Evidence, ...] = ()

    @classmethod
    def number(cls, items: Iterable[Evidence]) -> EvidenceSet:
        return cls(tuple(replace(item, id=f"E{k}") for k, item in enumerate(items, start=1)))

    @classmethod
    def from_dicts(cls, rows: Iterable[dict[str, Any]]) -> EvidenceSet:
        """Items read back from JSON (a trace, a catalogue's stored evidence)."""
        return cls(tuple(Evidence(**row) for row in rows))

    @classmethod
    def from_records(cls, rows: Iterable[EvidenceRecord]) -> EvidenceSet:
        return cls(tuple(row.evidence() for row in rows))

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(e.id for e in self.items)

    def get(self, evidence_id: str) -> Evidence | None:
        return next((e for e in self.items if e.id == evidence_id), None)

    def of_kind(self, *kinds: str, certain: bool = True) -> list[Evidence]:
        return [e for e in self.items if e.kind in kinds and not (certain and e.uncertain)]

    def first(self, kind: str) -> Evidence | None:
        found = self.of_kind(kind, certain=False)
        return found[0] if found else None

    def cited(self, text: str) -> list[str]:
        """The ids of this cover's evidence that a text cites, in order, without repeats."""
        ids = [f"E{n}" for n in EVIDENCE_ID.findall(text or "")]
        return [i for i in dict.fromkeys(ids) if i in self.ids]

    def as_prompt(self) -> str:
        """The evidence as the agent reads it: one line per item."""
        return "\n".join(e.line() for e in self.items)

    def compact(self) -> str:
        """The certain evidence in a few words each ('E2 dark overall; E4 cool, blue-leaning palette'): what
        a small model reads when its preference is measured (every token of the prompt costs time)."""
        return "; ".join(f"{e.id} {e.text.split(' (')[0]}" for e in self.items
                         if not e.uncertain and e.kind not in ("composition", "contrast"))

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.items]

    def records(self) -> list[EvidenceRecord]:
        return [e.record() for e in self.items]


def _item(kind: str, text: str, value: Any = None, confidence: float | None = None, uncertain: bool = False,
          **detail: Any) -> Evidence:
    return Evidence(id="", kind=kind, text=text, value=value, confidence=confidence, uncertain=uncertain,
                    detail=detail)


# -- colour and texture: measured from the pixels -----------------------------------------------------------
@functools.cache
def _colour_table():
    import numpy as np
    from skimage.color import rgb2lab

    names = prompt_table("colours.yaml")
    rgb = np.array(list(names.values()), dtype=np.float64)[None] / 255.0
    return list(names), rgb2lab(rgb)[0]


def colour_name(rgb) -> str:
    """The nearest named colour of prompts/colours.yaml in CIELAB (CIEDE2000)."""
    import numpy as np
    from skimage.color import deltaE_ciede2000, rgb2lab

    names, table = _colour_table()
    lab = rgb2lab(np.asarray(rgb, dtype=np.float64).reshape(1, 1, 3) / 255.0)[0, 0]
    return names[int(np.argmin(deltaE_ciede2000(table, lab[None])))]


def _palette(small) -> list[dict[str, Any]]:
    """Up to six named swatches with their share of the pixels (same-named swatches merged)."""
    import numpy as np

    quant = small.quantize(colors=6, method=1)  # max-coverage: deterministic
    palette = np.array(quant.getpalette()[:18], dtype=np.float64).reshape(-1, 3)
    counts = np.bincount(np.asarray(quant).ravel(), minlength=6)[: len(palette)]
    merged: dict[str, dict[str, Any]] = {}
    for idx in np.argsort(-counts, kind="stable"):
        if not counts[idx]:
            continue
        name = colour_name(palette[idx])
        slot = merged.setdefault(name, {"name": name, "rgb": [int(v) for v in palette[idx]], "share": 0.0})
        slot["share"] += float(counts[idx]) / counts.sum()
    return [{**s, "share": round(s["share"], 3)} for s in sorted(merged.values(), key=lambda s: -s["share"])
            if s["share"] >= 0.03]


def _level(value: float, cuts: tuple[float, float], words: tuple[str, str, str]) -> str:
    return words[0] if value < cuts[0] else words[2] if value > cuts[1] else words[1]


def measure(image) -> dict[str, Any]:
    """Perceptual measurements of an RGB image: CIELAB lightness, chroma, hue, warmth (b*), contrast,
    edge density, grain, symmetry, where the detail sits, and the named palette."""
    import numpy as np
    from skimage.color import lab2lch, rgb2lab

    small = image.convert("RGB").resize((128, 128))
    rgb = np.asarray(small, dtype=np.float64) / 255.0
    lab = rgb2lab(rgb)
    lch = lab2lch(lab)
    lightness, chroma = lab[..., 0], lch[..., 1]
    grey = lightness / 100.0
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy) > 0.08
    # grain: what is left after a 3x3 box blur, on the smooth parts only (edges would count as grain)
    pad = np.pad(grey, 1, mode="edge")
    blur = sum(pad[i:i + 128, j:j + 128] for i in range(3) for j in range(3)) / 9.0
    smooth = ~edges
    noise = float(np.abs(grey - blur)[smooth].mean()) if smooth.any() else 0.0
    chromatic = chroma > 12
    hue = None
    if chromatic.mean() > 0.05:  # mean hue angle of the coloured pixels, weighted by chroma
        h = lch[..., 2][chromatic]
        w = chroma[chromatic]
        hue = float(np.degrees(np.arctan2((w * np.sin(h)).sum(), (w * np.cos(h)).sum())) % 360)
    ys, xs = np.nonzero(edges)
    return {
        "lightness": round(float(lightness.mean()), 1),
        "chroma": round(float(chroma.mean()), 1),
        "a": round(float(lab[..., 1].mean()), 1),
        "b": round(float(lab[..., 2].mean()), 1),
        "hue": None if hue is None else round(hue, 1),
        "hue_chroma": round(float(chroma[chromatic].mean()), 1) if chromatic.any() else 0.0,
        "contrast": round(float(lightness.std()), 1),
        "edge_density": round(float(edges.mean()), 3),
        "noise": round(noise, 4),
        "symmetry": round(1.0 - float(np.abs(grey - grey[:, ::-1]).mean()) * 2, 2),
        "detail_centre": [round(float(xs.mean() / 127), 2), round(float(ys.mean() / 127), 2)] if len(xs) else [0.5, 0.5],
        "palette": _palette(small),
    }


def _composition(m: dict[str, Any]) -> str:
    x, y = m["detail_centre"]
    horiz = "left" if x < 0.4 else "right" if x > 0.6 else "centre"
    vert = "upper" if y < 0.4 else "lower" if y > 0.6 else "middle"
    where = "centred" if (horiz, vert) == ("centre", "middle") else f"in the {vert} {horiz}"
    return f"detail concentrated {where}, {'symmetric' if m['symmetry'] > 0.85 else 'asymmetric'} layout"


def colour_evidence(image) -> list[Evidence]:
    """Palette, lightness, chroma, warmth, hue, contrast, texture and composition of an image."""
    m = measure(image)
    swatches = ", ".join(f"{s['name']} {round(s['share'] * 100)}%" for s in m["palette"])
    items = [
        _item("palette", f"dominant colours {swatches}", [s["name"] for s in m["palette"]], swatches=m["palette"]),
        _item("lightness", f"{_level(m['lightness'], (35, 65), ('dark', 'mid-toned', 'light'))} overall "
                           f"(CIELAB L* {m['lightness']:.0f} of 100)", m["lightness"]),
        _item("chroma", f"{_level(m['chroma'], (12, 30), ('muted', 'moderately saturated', 'vivid'))} colour "
                        f"(chroma C* {m['chroma']:.0f})", m["chroma"]),
        _item("warmth", f"{_level(m['b'], (-6, 8), ('cool, blue-leaning', 'neutral', 'warm, yellow-leaning'))} "
                        f"palette (b* {m['b']:+.0f})", m["b"]),
    ]
    if m["hue"] is not None:
        items.append(_item("hue", f"main hue {m['hue']:.0f}° ({colour_name(_hue_rgb(m['hue'], m['hue_chroma']))}, "
                                  f"C* {m['hue_chroma']:.0f})", m["hue"], chroma=m["hue_chroma"]))
    items += [
        _item("contrast", f"{_level(m['contrast'], (12, 25), ('low', 'medium', 'high'))} contrast "
                          f"(L* spread {m['contrast']:.0f})", m["contrast"]),
        _item("texture", f"{_level(m['edge_density'], (0.04, 0.15), ('smooth, minimal', 'moderately detailed', 'busy, highly detailed'))}"
                         f" surface (edge density {m['edge_density']:.3f})", m["edge_density"], noise=m["noise"]),
        _item("composition", _composition(m), m["detail_centre"], symmetry=m["symmetry"]),
    ]
    return items + lettering_evidence(image)


def lettering_evidence(image) -> list[Evidence]:
    """Cut-out lettering (letters on scraps of paper, tools/grounding/lettering.py), when the cover has it."""
    from tools.grounding.lettering import cut_out_scraps

    scraps = cut_out_scraps(image)
    if len(scraps) < prompt_table("associations.yaml")["lettering"]["cut_out"]["min_scraps"]:
        return []
    papers = len({tuple(v // 48 for v in s["rgb"]) for s in scraps})
    return [_item("lettering", f"cut-out lettering: {len(scraps)} letters pasted on scraps of paper "
                               f"({papers} paper colour{'s' if papers > 1 else ''})", "cut_out",
                  scraps=len(scraps), papers=papers, boxes=[s["box"] for s in scraps])]


def _hue_rgb(hue: float, chroma: float):
    """A representative sRGB colour for a CIELAB hue angle (for naming the hue)."""
    import math

    import numpy as np
    from skimage.color import lab2rgb

    lab = np.array([[[60.0, chroma * math.cos(math.radians(hue)), chroma * math.sin(math.radians(hue))]]])
    return (lab2rgb(lab)[0, 0] * 255).round()


# -- what is pictured ---------------------------------------------------------------------------------------
def label_evidence(labels: Iterable[tuple[str, float]], min_confidence: float, edge_density: float = 1.0,
                   min_edges: float = 0.01) -> list[Evidence]:
    """ImageNet labels; under `min_confidence` a label is reported as uncertain, never as fact. On a smooth
    field (edge density under `min_edges`) there is no object to recognise: every label is uncertain."""
    out = []
    for name, conf in labels:
        if edge_density < min_edges:
            out.append(_item("label", f"uncertain: maybe {name} ({conf:.2f}, but the cover is a smooth field with "
                                      "no object edges: not used)", name, conf, uncertain=True))
        elif conf >= min_confidence:
            out.append(_item("label", f"pictured: {name} (ImageNet classifier {conf:.2f})", name, conf))
        else:
            out.append(_item("label", f"uncertain: maybe {name} ({conf:.2f}, under {min_confidence}: not used)",
                             name, conf, uncertain=True))
    return out


# -- cover text -----------------------------------------------------------------------------------------------
@functools.cache
def nrc_lexicon() -> dict[str, list[str]]:
    """The NRC Emotion Lexicon (word -> emotions) shipped inside the nrclex package, read without
    importing the package (its textblob dependency is not needed)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("nrclex")
    if spec is None or spec.origin is None:
        return {}
    found = sorted(Path(spec.origin).parent.glob("**/nrc_en.json"))
    return json.loads(found[0].read_text(encoding="utf-8")) if found else {}


WORD = re.compile(r"[a-z0-9][a-z0-9'&-]*")  # digits too: '8-bit', '4am', '808', '2-step' are words on covers
CLAUSE_MARKS = frozenset(",;:.!?")
WORD_OR_MARK = re.compile(WORD.pattern + "|[" + re.escape("".join(sorted(CLAUSE_MARKS))) + "]")


@functools.cache
def _known_words() -> frozenset[str]:
    """Words worth finding inside run-together cover text: the NRC lexicon and the associations' words."""
    from tools.grounding.statements import suggestive_words

    data = prompt_table("associations.yaml")
    extra = {str(w) for words in data["words"]["moods"].values() for w in words}
    extra |= {w for words in suggestive_words().values() for w in words}
    extra |= {w for words in data["group_keywords"].values() for w in words}
    return frozenset(w for w in set(nrc_lexicon()) | extra if len(w) >= 3 and " " not in w)


ACRONYM_THEN_WORD = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z]{2})")  # an all-capitals run, then a capitalised word


def _acronym_split(match: re.Match) -> str:
    """A space where an all-capitals run meets a capitalised word that is a word ('MCSable': MC Sable); none
    where the capital belongs to the run ('174BPMdrum': no word 'mdrum')."""
    tail = re.match(r"[a-z]+", match.string[match.end() + 1:])
    word = match.string[match.end()].lower() + (tail.group(0) if tail else "")
    ws = wordsegment()
    known = word in _known_words() or (ws is not None and ws.UNIGRAMS.get(word, 0) > 0)
    return " " if known else ""


def segment(text: str, correct: bool = True) -> list[str]:
    """Words of a cover text, splitting the run-together lines OCR often returns ('NECROTICDAWN' -> 'necrotic
    dawn', 'bloodandiron' -> 'blood and iron'): a token that is neither in AlbumGen's tables nor an English word
    is split where word frequencies make the likeliest sentence (wordsegment). `correct`: a token one letter
    from a music word and no word itself is read as that word (`misread`)."""
    out: list[str] = []
    known = _known_words()
    text = ACRONYM_THEN_WORD.sub(_acronym_split, text)  # 'MCSable' is MC Sable, 'DJShadow' DJ Shadow (not 'mcs able')
    for token in WORD_OR_MARK.findall(re.sub(r"\s&\s", " and ", text.lower())):  # 'DRUM & BASS' is drum and bass
        if token in CLAUSE_MARKS:  # kept, so a negation ends with its clause ('no blast beats, just brushes')
            out.append(token)
            continue
        token = token.rstrip("&-")  # 'BORED&' (OCR kept the ampersand, not the space) is 'bored'
        if "&" in token and token not in known and min(len(p) for p in token.split("&")) >= 3:
            out += segment(token.replace("&", " and "), correct)  # 'drum&bass' is drum and bass; 'r&b' stays
            continue
        pieces = re.findall(r"[a-z'&]+|[0-9]+", token)
        if len(token) >= 7 and len(pieces) > 1 and "-" not in token:  # 'rollersat174bpm': words beside a number
            out += [w for piece in pieces for w in segment(piece, correct)]
            continue
        if token in known or len(token) < 7 or "'" in token or "-" in token or "&" in token:
            out.append(token)
            continue
        ws = wordsegment()
        if ws is None or (correct and misread(token)):
            out.append(token)  # one misread word, not two ('orchestar' is not 'or che star')
        elif token not in ws.UNIGRAMS:
            out += _split_at_music_word(token, ws) or ws.segment(token)
        else:
            out += _split_rare(token, ws.UNIGRAMS)
    return [misread(w) or w for w in out] if correct else out


MISREAD_MIN = 5         # shorter tokens are one letter from too many words to be corrected
MISREAD_RARITY = 1000   # ... and a token is a misreading only when the word is this many times commoner on the web


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a one letter away: one letter dropped, added, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    k = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[k:] == long_[k + 1:]


def misread(token: str) -> str | None:
    """The music word an OCR token misreads by one letter ('punkis' -> 'punks', 'orchestar' -> 'orchestra'), when
    exactly one music word or its plural is one letter away and is a thousand times commoner on the web
    (wordsegment's counts: 'housse' is a typo of 'house', 'rapper' is a word), or when neither is in those
    counts: a music word newer than them ('chillhop') is misread into a token no one writes ('chilhop'); else
    None. Cut-out and hand-drawn lettering loses and gains letters."""
    ws = wordsegment()
    if (len(token) < MISREAD_MIN or not token.isalpha() or ws is None or token in _known_words()
            or token in _misread_targets()):
        return None
    seen = ws.UNIGRAMS.get(token, 0.0)
    close = [w for w in _misread_targets() if _one_edit(token, w)]
    near = {w for w in close if seen * MISREAD_RARITY < ws.UNIGRAMS.get(w, 0.0)} or \
        {w for w in close if seen == 0.0 == ws.UNIGRAMS.get(w, 0.0)}
    words = {_misread_targets()[w] for w in near}  # 'housse' is one letter from 'house' and from 'houses'
    return (near.pop() if len(near) == 1 else words.pop()) if len(words) == 1 else None


@functools.cache
def _misread_targets() -> dict[str, str]:
    """The words `misread` corrects toward, each with its word: the one-word music phrases (genres, their
    idioms, instruments) of four letters or more, and their plurals."""
    words = {w for w in _music_words() | {i for i in vocabulary().instruments if " " not in i} if len(w) >= 4 and w.isalpha()}
    return {w + "s": w for w in words} | {w: w for w in words}


@functools.cache
def _run_together_music() -> dict[str, tuple[str, ...]]:
    """Every music phrase of AlbumGen's tables (genres, subgenres, idiom words) of five letters or more as OCR
    returns it without its spaces, with its words: 'bossanova' -> ('bossa', 'nova'), 'blackgaze' ->
    ('blackgaze',). Longest first, then alphabetical: the same split in every process (a set's order is not)."""
    from tools.grounding.statements import music_phrases

    joined = {p.replace(" ", ""): tuple(p.split()) for p in music_phrases() if re.fullmatch(r"[a-z][a-z ]*", p)}
    return dict(sorted(((k, v) for k, v in joined.items() if len(k) >= 5), key=lambda kv: (-len(kv[0]), kv[0])))


def _split_at_music_word(token: str, ws) -> list[str] | None:
    """A run-together token that is, begins or ends with a music phrase of AlbumGen's tables, split there: the
    web counts wordsegment splits by predate 'retrowave' and 'blackgaze', and would read 'retrowavenights' as
    'retro wave nights'. The longest phrase wins; the rest is segmented as usual."""
    plain = None
    for joined, words in _run_together_music().items():
        if token == joined:
            return list(words)
        first = token.startswith(joined)  # the phrase begins the token (else it ends it)
        cut = len(joined) if first else len(token) - len(joined) if token.endswith(joined) else 0
        if not 3 <= cut <= len(token) - 3:
            continue
        plain = plain if plain is not None else ws.segment(token)
        if cut not in _boundaries(plain):  # the phrase ends inside an ordinary word: 'gravelroad' hides no 'grave'
            continue
        # which end, by the match, not the cut: 'wipeoutweekend' ends with 'weekend' seven letters in
        return [*words, *ws.segment(token[cut:])] if first else [*ws.segment(token[:cut]), *words]
    return None


def _boundaries(words: list[str]) -> set[int]:
    """Where a segmentation's words meet, as offsets in the joined token: every boundary of 'retro wave nights'
    (5 and 9) but the ones within words. A music phrase is split off only where a word boundary falls: the
    phrase itself may be newer than the web counts ('retrowave'), its edge is not."""
    ends, total = set(), 0
    for word in words[:-1]:
        total += len(word)
        ends.add(total)
    return ends


RUN_TOGETHER = 100.0  # a known token is two words run together when both are this many times as frequent
SUFFIXES = frozenset({"less", "ness", "able", "ible", "ful", "ment", "ship", "hood", "like", "wise", "ward", "some"})


@functools.cache
def _music_words() -> frozenset[str]:
    """The one-word music phrases: 'trance', 'hardstyle', 'whiskey'; not the parts of longer ones ('black' of
    'black metal')."""
    from tools.grounding.statements import music_phrases

    return frozenset(p for p in music_phrases() if " " not in p)


def _split_rare(token: str, counts: dict[str, float]) -> list[str]:
    """A rare web token that is two common words run together, one of them a word that names music
    ('trancenation': a club night's name, seen 13 thousand times; 'trance' and 'nation' millions of times
    each), is read as those words. A word in its own right ('popcorn', 'housewife') is far commoner than that
    and stays whole; so do a compound that hides no music word ('underworld') and a word and its suffix
    ('loveless' is not 'love less'), as does a word the dictionary holds ('smokestack' is no jazz 'smoke')."""
    from tools.language import in_dictionary

    seen, best, music = counts.get(token, 0.0), None, _music_words()
    if token in music or in_dictionary(token):  # a dictionary's compound stays whole: 'smokestack' is no smoke
        return [token]
    for i in range(3, len(token) - 2):
        left, right = token[:i], token[i:]
        common = min(counts.get(left, 0.0), counts.get(right, 0.0))
        if right not in SUFFIXES and (left in music or right in music) and common >= RUN_TOGETHER * max(seen, 1.0) and \
                (best is None or common > best[0]):
            best = (common, [left, right])
    return best[1] if best else [token]


POLARITY_FLIP = {"positive": "negative", "negative": "positive"}


def text_affect(text: str, skip: frozenset[str] = frozenset(), run_together: bool = True, take: bool = False) -> dict[str, Any]:
    """NRC emotions of a text's words (by lemma: 'angrier' is 'angry'), counts per emotion and the words that
    carried them. A negated word ('no future', 'not happy') counts only its polarity, turned around. Words in
    `skip` (those that name music: 'orchestra', 'choir') carry no feeling here. `run_together`: OCR text,
    whose lines may have lost their spaces (typed text has its spaces: no splitting). `take`: a chat message, whose
    qualities said of the take are read as the cues' are ("I can't say it's very exciting" asks for excitement)."""
    from tools.language import lemma, read, split_contraction

    lexicon = nrc_lexicon()
    counts: dict[str, int] = {}
    words: list[str] = []
    read_words = read(" ".join(segment(text)) if run_together else text, take=take).words
    for k, word in enumerate(read_words):
        following = read_words[k + 1].text if k + 1 < len(read_words) else ""
        if word.text in skip or lemma(word.text) in skip or split_contraction(word.text, following):
            continue  # a contraction's first half ('don' of "don t") is not a word: NRC reads 'don' as trust
        emotions = lexicon.get(word.text) or lexicon.get(lemma(word.text)) or []
        # a word said of the take and denied ("it isn't exciting") asks for its feeling; one said and affirmed
        # ('a bit childish') keeps its own: the lexicon's polarity is not the complaint's remedy
        turned = word.sense < 0 and (word.too or not word.said)
        if turned:
            emotions = [POLARITY_FLIP[e] for e in emotions if e in POLARITY_FLIP]
        if emotions:
            words.append(f"not {word.text}" if turned else word.text)
        for emotion in emotions:
            counts[emotion] = counts.get(emotion, 0) + 1
    return {"emotions": counts, "words": list(dict.fromkeys(words))}


def _misreads(text: str) -> str:
    """'; "punkis" read as "punks"': the letters OCR got wrong that `segment` corrected, for the evidence text."""
    tokens = dict.fromkeys([*WORD.findall(text.lower()), *segment(text, correct=False)])
    return "".join(f'; "{w}" read as "{m}"' for w in tokens if (m := misread(w)))


def text_evidence(lines: Iterable[tuple[str, float]], boxes: Iterable[Any] | None = None) -> list[Evidence]:
    """Cover text read by OCR; what its words state about the music (key, mode, tempo, genre, instruments);
    then the affect of its other words from the NRC lexicon."""
    from tools.grounding.cues import scene_cues
    from tools.grounding.statements import music_words, statements

    lines, boxes = list(lines), list(boxes or [])
    words = [segment(text) for text, _conf in lines]
    out = [_item("text", f'cover text "{text}" (OCR {conf:.2f}{_misreads(text)})', text, conf,
                 box=boxes[k] if k < len(boxes) else None, words=words[k]) for k, (text, conf) in enumerate(lines)]
    stated = []
    for (text, conf), line_words in zip(lines, words):
        for found in statements(text, line_words):
            stated.append(found)
            out.append(_item("statement", f"{found.describe(text)} (OCR {conf:.2f})", found.value, conf,
                             field=found.field, phrase=found.phrase, line=text, mode=found.mode,
                             **({"negated": True} if found.negated else {})))
    if lines:
        # a word counts once: one the scene table reads ('stormy', 'lullaby': prior.scenes) moves the affect there
        scene = {w for line_words in words for cue in scene_cues(" ".join(line_words))
                 for w in cue.phrase.lower().split() if w != "*"}
        affect = text_affect(" . ".join(t for t, _ in lines), skip=music_words(stated) | scene)  # a line is a clause
        if affect["emotions"]:
            top = sorted(affect["emotions"].items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{e} {n}" for e, n in top if e not in ("positive", "negative"))
            polarity = affect["emotions"].get("positive", 0) - affect["emotions"].get("negative", 0)
            out.append(_item("text_affect", f"words {', '.join(repr(w) for w in affect['words'])} carry "
                                            f"{shown or 'no named emotion'} (NRC lexicon, polarity {polarity:+d})",
                             affect["emotions"], words=affect["words"]))
    return out


# -- vision-language answers ---------------------------------------------------------------------------------
QUESTIONS = ("subject", "setting", "style", "era", "mood")
_ANSWER = re.compile(r"^\s*[-*]?\s*(subject|setting|style|era(?: cues)?|mood(?: words)?)\s*:\s*(.+)$", re.I | re.M)


def answer_evidence(text: str) -> list[Evidence]:
    """Questionnaire answers of a vision-language model ('Subject: ...' lines) as evidence items."""
    out = []
    for key, value in _ANSWER.findall(text or ""):
        kind = key.lower().split()[0]
        answer = " ".join(value.strip().strip(".").split())[:160]
        if answer and answer.lower() not in ("none", "n/a", "unknown", "-"):
            out.append(_item(kind, f"{kind}: {answer} (vision model)", answer))
    return out
