"""The prior: every option of every spec field ranked from the cover's evidence, with the evidence ids and
the association (prompts/associations.yaml) behind each score."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from tools.analysis import PITCHES as TONICS  # one spelling per pitch class, as the key analysis names them
from tools.grounding.evidence import Evidence, EvidenceSet
from tools.vocab import prompt_table, vocabulary

FIELDS = ("genre", "moods", "tempo_bpm", "mode", "key", "time_signature", "instruments", "era")


@functools.cache
def associations() -> dict[str, Any]:
    """prompts/associations.yaml, checked against the vocabulary (a typo there is a bug, not a quiet miss)."""
    data = prompt_table("associations.yaml")
    vocab = vocabulary()
    names = {"genres": set(vocab.genres), "moods": set(vocab.moods), "instruments": set(vocab.instruments)}
    for group in list(data["groups"].values()) + list(data["palettes"].values()) + list(data["lettering"].values()):
        for kind in ("genres", "moods"):
            bad = set(group.get(kind) or {}) - names[kind]
            assert not bad, f"associations.yaml names unknown {kind}: {bad}"
        assert not set(group.get("instruments") or []) - names["instruments"], group
    for genre, palette in data["instrument_palettes"].items():
        assert genre in names["genres"] and not set(palette) - names["instruments"], (genre, palette)
    assert set(data["genre_affect"]) == names["genres"], "genre_affect must list every genre"
    return data


def clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


def soft_bound(x: float, lo: float = 0.05, hi: float = 0.95, knee: float = 0.1) -> float:
    """`x` as it is inside [lo + knee, hi - knee], and beyond it bending toward the bound without reaching it
    (same slope at the knee): a cover with every loud cue is louder than one with most of them, not pinned
    at the same 0.95. A hard clip put 24 of 510 drawn covers' energy on a bound."""
    top, bottom = hi - knee, lo + knee
    if x > top:
        return top + knee * (1.0 - math.exp(-(x - top) / knee))
    if x < bottom:
        return bottom - knee * (1.0 - math.exp(-(bottom - x) / knee))
    return x


@dataclass(frozen=True)
class Option:
    """One value of a field with its prior score, the evidence ids behind it and why."""

    value: Any
    score: float
    evidence: tuple[str, ...] = ()
    why: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "score": round(self.score, 3), "evidence": list(self.evidence),
                "why": list(self.why)}


@dataclass(frozen=True)
class Ranking:
    field: str
    options: tuple[Option, ...]

    @property
    def top(self) -> Option:
        return self.options[0]

    def option(self, value: Any) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def values(self) -> list[Any]:
        return [o.value for o in self.options]


@dataclass(frozen=True)
class Affect:
    """Valence and energy read from the cover, the indices they came from and the evidence used."""

    valence: float
    energy: float
    pleasure_index: float
    arousal_index: float
    evidence: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Cue:
    """Evidence pointing at one value of one field: 'E7 (vehicles) → rock +0.7'."""

    field: str
    value: Any
    weight: float
    evidence: str
    why: str


def colour_indices(lightness: float, chroma: float, warmth: float, contrast: float, edges: float) -> tuple[float, float]:
    """The pleasure and arousal indices (0..1) of associations.yaml's colour section."""
    c = associations()["colour"]
    light = clip(lightness / c["lightness_scale"])
    sat = clip(chroma / c["chroma_scale"])
    warm = clip(0.5 + warmth / (2 * c["warmth_scale"]))
    con, tex = clip(contrast / c["contrast_scale"]), clip(edges / c["edge_scale"])
    p, a = c["pleasure"], c["arousal"]
    pleasure = p["lightness"] * light + p["saturation"] * sat + p["warmth"] * warm
    arousal = a["saturation"] * sat + a["darkness"] * (1 - light) + a["contrast"] * con + a["texture"] * tex
    return pleasure, arousal


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9&'-]+", text.lower()))


def _has_phrase(text: str, phrase: str) -> bool:
    """The phrase is in the text, affirmed, by lemma (tools/language.py): 'stars' finds 'star', and 'NO LOVE'
    is not a word for pop."""
    from tools.language import read

    match = read(text).find(phrase)
    return match is not None and match.sense > 0


def nrc_mean(emotions: dict[str, float], dimension: str) -> float:
    """The NRC emotions' mean weight on `dimension` ('arousal' or 'valence', associations.yaml `nrc`), each emotion
    counted as often as its words carry it; the polarity counts are not emotions. A cover's words and a chat message
    the cue table cannot read move affect by it."""
    named = {k: v for k, v in emotions.items() if k not in ("positive", "negative")}
    weights = associations()["nrc"][dimension]
    return sum(weights.get(k, 0.0) * v for k, v in named.items()) / (sum(named.values()) or 1)


ABSENT = frozenset({"no", "without", "zero", "sans", "minus", "nothing", "less", "fewer"})


def _suggested(text: str, table: dict[str, list], stated: set[str], topic: bool = False) -> list[tuple[str, str]]:
    """(value, phrase) for each value of a `words` table the text suggests, affirmed, one phrase per value (a
    `topic` table's words suggest under a denial of the clause too: 'NEVER COMING HOME' still sings of home, as a
    genre's scene does; not where the word itself is denied, 'NO BLAST BEATS'). A
    longer phrase takes its words first across the whole table: 'blast beats' is metal, not also the hip hop of
    'beats'; 'high lonesome' is bluegrass, not the blues of 'lonesome'. Words a genre statement of the line
    already read (`stated` lemmas) suggest nothing more: 'soul' states r&b, it is not also the word 'soulful'.
    A one-word phrase that is itself an inflected form is matched as written, as a statement's name is: 'beats'
    are not 'BEAT-UP'; it takes its word before its lemma does ('Studies' are études, not the lo-fi of 'study')."""
    from tools.language import as_written, lemma, read

    utterance, taken, found = read(text), set(), {}
    owners: dict[str, list[str]] = {}  # a phrase may suggest several genres: 'harmonica' blues, folk, country
    for value, ps in table.items():
        for p in ps:
            owners.setdefault(str(p), []).append(value)
    for phrase in sorted(owners, key=lambda p: (-len(p.split()), as_written(p) is None)):
        match = utterance.find(phrase)
        if match is None or set(range(match.start, match.end + 1)) & taken:
            continue
        if as_written(phrase) not in (None, utterance.words[match.start].text):
            continue
        taken |= set(range(match.start, match.end + 1))
        read_words = {lemma(w.text) for w in utterance.words[match.start:match.end + 1]}  # as the line has them
        absent = match.start and utterance.words[match.start - 1].text in ABSENT  # 'NO BLAST BEATS' has none
        if (match.sense > 0 or (topic and match.sense and not absent)) and not read_words <= stated:
            for value in owners[phrase]:
                found.setdefault(value, phrase)
    return list(found.items())


class CatalogView:
    """The catalogue evidence of one cover (neighbour and predicted items), read once: the neighbours'
    vote shares and, per numeric field, one estimate from the neighbours (weight 1) and the predictor
    (weight its cross-validated R², or accuracy for mode)."""

    def __init__(self, evidence: EvidenceSet):
        from tools.catalog.consensus import settings, weights

        self.settings = settings()
        self.neighbours = evidence.of_kind("neighbour")
        w = weights([float(n.value) for n in self.neighbours])
        self.weights = dict(zip((n.id for n in self.neighbours), w))
        self.shares = [x / sum(w) for x in w] if w else []
        self.predicted = {str(e.detail.get("field")): e for e in evidence.of_kind("predicted")}

    def estimate(self, field_name: str, genre: str | None = None) -> tuple[float | None, list[str]]:
        """(the catalogue's value for valence / energy / tempo / mode as P(major), the ids behind it)."""
        from tools.catalog.consensus import weighted_mean

        items = self.neighbours
        if genre is not None and any(n.detail["attributes"]["genre"] == genre for n in items):
            items = [n for n in items if n.detail["attributes"]["genre"] == genre]
        known = [n for n in items if n.detail["attributes"].get(field_name) is not None]
        value = weighted_mean((n.detail["attributes"][field_name], self.weights[n.id]) for n in known)
        ids = [n.id for n in known]
        pred = self.predicted.get(field_name)
        if pred is not None and pred.confidence:
            guess = float(pred.value) if field_name != "mode" else dict(map(tuple, pred.detail["top"])).get(1, 0.0)
            value = guess if value is None else (value + pred.confidence * guess) / (1 + pred.confidence)
            ids.append(pred.id)
        return value, ids


class Prior:
    """Ranks every option of every field from one cover's evidence."""

    def __init__(self, evidence: EvidenceSet):
        self.evidence = evidence
        self.assoc = associations()
        self.cues: list[Cue] = []
        self.palettes_overridden: list[str] = []  # palettes a look of the letters reads otherwise (not counted)
        self.palettes_read: list[tuple[Evidence, str, dict]] = []  # the palettes that count, with their rules
        self.catalog = CatalogView(evidence)
        self._collect_cues()
        self.affect = self._affect()

    # -- reading the evidence -------------------------------------------------------------------------
    def _value(self, kind: str, default: float) -> tuple[float, str | None]:
        item = self.evidence.first(kind)
        return (float(item.value), item.id) if item is not None and item.value is not None else (default, None)

    def _cue(self, target: str, values: dict | list, weight: float, item: Evidence, why: str) -> None:
        pairs = values.items() if isinstance(values, dict) else ((v, 1.0) for v in values)
        for value, w in pairs:
            self.cues.append(Cue(target, value, round(weight * float(w), 3), item.id, why))

    def _collect_cues(self) -> None:
        self._palette_cues()
        self._label_cues()
        self._lettering_cues()
        self._word_cues()
        self._band_cue()
        self._encoder_cues()
        self._grain_cue()
        self._catalog_cues()
        self._hint_cues()
        self._statement_cues()

    def _statement_cues(self) -> None:
        """What the cover's words state: a genre or instruments outweigh the colours; a key, mode or tempo is
        decided as stated (see `rank`). The rationale cites the statement."""
        from tools.grounding.statements import by_name

        weight = self.assoc["statements"]["weight"]
        self.stated: dict[str, tuple[Any, Evidence]] = {}
        genres = [i for i in self.evidence.of_kind("statement") if i.detail["field"] == "genre" and not i.detail.get("negated")]
        named = {str(i.value) for i in genres if by_name(str(i.detail["phrase"]), str(i.value))}
        for item in self.evidence.of_kind("statement"):
            target, why = str(item.detail["field"]), f'states "{item.detail["phrase"]}"'
            strength = float(item.confidence or 1.0)
            if item in genres and named - {item.value} and item.value not in named:
                # an idiom word ('warehouse') yields to a genre the cover names outright ('deep house'): it counts
                # as one suggestive word
                self._cue("genre", {item.value: self.assoc["word_weight"]}, strength, item,
                          f'the word "{item.detail["phrase"]}" (the cover names {", ".join(sorted(named))} outright)')
                continue
            if item.detail.get("negated"):  # 'NO GUITARS', 'NOT METAL': ruled out
                values = item.value if target == "instruments" else [item.value]
                self._cue(target, {v: -weight for v in values}, strength, item, f'rules out "{item.detail["phrase"]}"')
                if target == "instruments":
                    self._instrument_genre_cues(item, strength, sign=-1.0)
            elif target == "genre":
                self._cue("genre", {item.value: weight}, strength, item, why)
            elif target == "instruments":
                self._cue("instruments", {i: weight for i in item.value}, strength, item, why)
                self._instrument_genre_cues(item, strength)
            else:
                if target == "tempo_bpm" and target not in self.stated:
                    self._bpm_cue(item, strength)
                self.stated.setdefault(target, (item.value, item))
                if item.detail.get("mode"):
                    self.stated.setdefault("mode", (item.detail["mode"], item))

    def _bpm_cue(self, item: Evidence, strength: float) -> None:
        """A tempo printed in BPM is a DJ's convention: it suggests the dance and beat genres whose mix tempo holds
        it (associations.yaml `bpm_genres`), as one suggestive word does."""
        rule, bpm = self.assoc["bpm_genres"], float(item.value)
        genres = [g for g, (low, high) in rule["ranges"].items() if low <= bpm <= high]
        self._cue("genre", {g: rule["weight"] for g in genres}, strength, item,
                  f'states "{item.detail["phrase"]}": a tempo printed for DJs ({", ".join(genres)} mix at it)')

    def _instrument_genre_cues(self, item: Evidence, strength: float, sign: float = 1.0) -> None:
        """A named instrument votes for the genres whose arrangement has it (prompts/vocabulary.yaml), the vote
        split between them: a banjo says country, a piano hardly anything; one no arrangement has ('choir')
        votes for the genres whose wider palette holds it (associations.yaml `instrument_palettes`). A ruled-out
        one (`sign` -1) votes against them: 'NO SYNTHS' is not synthwave."""
        weight, says = sign * self.assoc["statements"]["instrument_genre"], "states" if sign > 0 else "rules out"
        for instrument in item.value:
            genres = [g.name for g in vocabulary().genres.values() if instrument in g.instruments] or \
                [g for g, palette in self.assoc["instrument_palettes"].items() if instrument in palette]
            if genres:
                self._cue("genre", {g: weight / len(genres) for g in genres}, strength, item,
                          f'{says} "{item.detail["phrase"]}" ({instrument}: {", ".join(genres)})')

    def stated_subgenre(self, genre: str) -> str | None:
        """The style the cover's words name within `genre`, for the prompt ('zydeco', 'deep house', 'bossa
        nova'): a statement of the genre by a subgenre's name (associations.yaml `statements.subgenres`, the
        genre tree), the surest first; not an idiom word ('riddim', 'opus') nor the genre's own name."""
        from tools.grounding.statements import subgenre_names

        names = subgenre_names()
        found = [item for item in self.evidence.of_kind("statement") if item.detail.get("field") == "genre"
                 and not item.detail.get("negated") and item.value == genre
                 and names.get(str(item.detail["phrase"]).lower()) == genre]
        best = max(found, key=lambda item: float(item.confidence or 1.0), default=None)
        return str(best.detail["phrase"]).lower() if best is not None else None

    def stated_value(self, field_name: str) -> Any:
        """The value the cover's words state for key, mode or tempo_bpm, or None."""
        return self.stated.get(field_name, (None, None))[0]

    def _obey(self, field_name: str, options: list[Option]) -> list[Option]:
        """A stated key, mode or tempo outranks every other option, citing the statement."""
        value, item = self.stated.get(field_name, (None, None))
        if item is None:
            return options
        weight = self.assoc["statements"]["weight"]
        if all(o.value != value for o in options):
            options = [*options, Option(value, 0.0)]
        why = f"{item.id} stated → {value} {weight:+.2f}"
        return [Option(o.value, o.score + weight, (item.id, *o.evidence), (why, *o.why)) if o.value == value
                else o for o in options]

    def _hint_cues(self) -> None:
        """A genre the user asked for (a batch row's genre column): decisive, and the rationale cites it."""
        for item in self.evidence.of_kind("hint"):
            self._cue(str(item.detail["field"]), {item.value: self.assoc["hint_weight"]}, 1.0, item, "asked for")

    def _catalog_cues(self) -> None:
        """Neighbours vote for their genres (shares of the similarity-weighted vote); the predictor's three
        likeliest genres count by probability times its cross-validated accuracy."""
        view, weight = self.catalog, self.catalog.settings["prior"]
        for item, share in zip(view.neighbours, view.shares):
            genre = item.detail["attributes"]["genre"]
            self._cue("genre", {genre: weight["genre"] * share}, 1.0, item,
                      f"similar cover {item.detail['cover'].rsplit('/', 1)[-1]} ({item.value:.2f}) is {genre}")
        genre = view.predicted.get("genre")
        if genre is not None:
            for value, q in genre.detail["top"]:
                self._cue("genre", {value: weight["predicted_genre"] * q * genre.confidence}, 1.0, genre,
                          f"predictor p {q:.2f} × accuracy {genre.confidence:.2f}")

    def _palette_cues(self) -> None:
        palette = self.evidence.first("palette")
        if palette is None:
            return
        shares = {s["name"]: s["share"] for s in palette.detail.get("swatches", [])}
        hue, texture = self.evidence.first("hue"), self.evidence.first("texture")
        measures = {"lightness": self._value("lightness", 50.0)[0], "chroma": self._value("chroma", 20.0)[0],
                    "warmth": self._value("warmth", 0.0)[0], "contrast": self._value("contrast", 15.0)[0],
                    "texture": self._value("texture", 0.08)[0],
                    "vivid": float(hue.detail.get("chroma", 0.0)) if hue is not None else 0.0,
                    "noise": float(texture.detail.get("noise", 0.0)) if texture is not None else None}
        main_hue = float(hue.value) if hue is not None else None
        # a palette the look of the letters reads otherwise: under cut-out letters black and white is a photocopy's
        overrides = {name for _item, _look, rule in self._lettering for name in rule.get("overrides") or []}
        palettes = self.assoc["palettes"]
        matched = {name for name, rule in palettes.items()
                   if self._palette_matches(rule, shares, measures, main_hue)}
        for name, rule in palettes.items():
            # `unless`: a look that reads the same measures otherwise ('concrete' is a flat print, not a photograph)
            if name in matched and not matched & set(rule.get("unless") or []):
                if name in overrides:
                    self.palettes_overridden.append(name)
                    continue
                self.palettes_read.append((palette, f"{name} palette", rule))
                for target, key in (("genre", "genres"), ("moods", "moods"), ("era", "era")):
                    self._cue(target, rule.get(key) or {}, 1.0, palette, f"{name} palette")

    @functools.cached_property
    def _lettering(self) -> list[tuple[Evidence, str, dict]]:
        """Each look of the letters the cover has, with its name as the rationale says it ('cut-out') and its
        rule (associations.yaml `lettering`)."""
        return [(item, str(item.value).replace("_", "-"), self.assoc["lettering"].get(str(item.value)) or {})
                for item in self.evidence.of_kind("lettering")]

    def _lettering_cues(self) -> None:
        """A look of the letters ('cut-out lettering': punk's ransom note), measured on the image; its pull on
        valence and energy is applied with the affect (`_look_pull`)."""
        for item, look, rule in self._lettering:
            why = f"{look} lettering"
            if self.palettes_overridden:
                why += f" (its {', '.join(self.palettes_overridden)} palette read as a photocopy's: not counted)"
            for target, key in (("genre", "genres"), ("moods", "moods")):
                self._cue(target, rule.get(key) or {}, 1.0, item, why)

    @staticmethod
    def _palette_matches(rule: dict, shares: dict, measures: dict[str, float | None], main_hue: float | None) -> bool:
        """A palette rule's bounds on the cover's measures (`min_<measure>`, `max_<measure>`: lightness, chroma,
        warmth, vivid, contrast, texture, noise; `vivid` is the mean chroma of the coloured pixels only, so a neon
        sign on black is vivid where its mean is not), its main hue's ranges (`hues`, degrees; a grey cover has
        none) and the shares of named colours (`colours`, `all_of`)."""
        for measure, value in measures.items():
            if value is not None and (value > rule.get(f"max_{measure}", math.inf)
                                      or value < rule.get(f"min_{measure}", -math.inf)):
                return False
        if "hues" in rule and (main_hue is None or not any(lo <= main_hue <= hi for lo, hi in rule["hues"])):
            return False
        if "colours" in rule and sum(shares.get(c, 0.0) for c in rule["colours"]) < rule["min_share"]:
            return False
        if "all_of" in rule and any(sum(shares.get(c, 0.0) for c in group) < rule["min_each"] for group in rule["all_of"]):
            return False
        return True

    def _groups_of(self, label: str, index: int | None) -> list[str]:
        out = []
        for name, group in self.assoc["groups"].items():
            lo_hi = group.get("index")
            if label in (group.get("names") or []) or (index is not None and lo_hi and lo_hi[0] <= index <= lo_hi[1]):
                out.append(name)
        return out

    def _group_cues(self, group_name: str, item: Evidence, strength: float, word: str | None = None) -> None:
        """A label group's leanings; `word`: the cover's words named it ('boys'), nothing was seen pictured."""
        group = self.assoc["groups"][group_name]
        why = f'{group_name} named ("{word}")' if word else f"{group_name} pictured"
        self._cue("genre", group.get("genres") or {}, strength, item, why)
        self._cue("moods", group.get("moods") or {}, strength, item, why)
        self._cue("instruments", {i: 0.6 for i in group.get("instruments") or []}, strength, item, why)
        self._cue("time_signature", group.get("meter") or {}, strength, item, why)
        self._cue("era", group.get("era") or {}, strength, item, why)
        self.label_affect.append((group.get("affect") or [0.0, 0.0], strength, item.id))

    def _label_cues(self) -> None:
        from tools.grounding.labels import imagenet_index

        self.label_affect: list[tuple[list[float], float, str]] = []
        for item in self.evidence.of_kind("label"):  # certain labels only
            strength = clip(float(item.confidence or 0) / 0.5, 0.5, 1.0)
            for group in self._groups_of(str(item.value), imagenet_index(str(item.value))):
                self._group_cues(group, item, strength)
            instrument = self.assoc["label_instruments"].get(str(item.value))
            if instrument:
                self._cue("instruments", {instrument: 1.2}, strength, item, f"{item.value} pictured")
        for item in self.evidence.of_kind("subject", "setting", "style", "text"):
            text = " ".join(item.detail.get("words") or [str(item.value)])
            for group, words in self.assoc["group_keywords"].items():
                named = next((w for w in words if _has_phrase(text, w)), None)
                if named is not None:
                    # a describer's subject or setting is what it saw pictured; the cover's own words name it
                    self._group_cues(group, item, 0.8 * float(item.confidence or 1.0),
                                     named if item.kind == "text" else None)

    def _stated_words(self, item: Evidence) -> set[str]:
        """The words of a cover text line that a genre statement of that line already read: each word counts
        once ('warehouse' states techno; it does not suggest techno again)."""
        from tools.language import lemma

        return {lemma(w) for s in self.evidence.of_kind("statement") if s.detail.get("field") == "genre"
                and s.detail.get("line") == item.value for w in str(s.detail.get("phrase", "")).lower().split()}

    def _word_cues(self) -> None:
        from tools.grounding.statements import person_words, suggestive_words

        for item in self.evidence.of_kind("text", "subject", "setting", "style", "mood"):
            text, strength = " ".join(item.detail.get("words") or [str(item.value)]), float(item.confidence or 0.8)
            if item.kind == "text" and (named := person_words(text.split())):  # 'Darla Mae Rhodes' is a singer, no
                text = " ".join(w for k, w in enumerate(text.split()) if k not in named)  # Rhodes piano
            stated = self._stated_words(item) if item.kind == "text" else set()
            for target, table in (("genre", suggestive_words()), ("moods", self.assoc["words"]["moods"])):
                for value, hit in _suggested(text, table, stated if target == "genre" else set(), target == "genre"):
                    weight = self.assoc["word_weight"] if target == "genre" and item.kind == "text" else 0.8
                    self._cue(target, {value: weight}, strength, item, f'the word "{hit}"')
            if item.kind == "mood":
                self._cue("moods", {m: 0.8 for m in _words(text) & set(vocabulary().moods)}, 1.0, item, "named mood")
        for item, cue in self.scenes:  # moods only: a scene's genres are chat's alternatives ('morning': folk or
            if cue.scale > 0:  # pop), too loose for a cover; its valence and energy move the affect (_affect)
                self._cue("moods", {m: 0.6 for m in cue.effects.get("moods") or []}, cue.scale, item,
                          f'the scene "{cue.phrase}"')
        for item in self.evidence.of_kind("era"):
            for decade in re.findall(r"(?:19|20)?([0-9])0s", str(item.value)):
                era = ("20" if decade in "012" else "19") + decade + "0s"
                self._cue("era", {era: 1.0}, 1.0, item, "era cue")
        for item in self.evidence.of_kind("text_affect"):
            emotions = {k: v for k, v in (item.value or {}).items() if k not in ("positive", "negative")}
            total = sum(emotions.values()) or 1
            for emotion, n in emotions.items():
                share = n / total
                nrc = self.assoc["nrc"]
                self._cue("genre", {g: 0.5 for g in nrc["genres"].get(emotion, [])}, share, item, f"{emotion} words")
                self._cue("moods", {m: 0.6 for m in nrc["moods"].get(emotion, [])}, share, item, f"{emotion} words")

    def _band_cue(self) -> None:
        """A band's name on the cover ('THE REVOLVERS') leans toward the genres whose groups name themselves so
        (associations.yaml `band_name`)."""
        from tools.grounding.statements import band_name

        items = list(self.evidence.of_kind("text"))
        found = band_name([[w.lower() for w in item.detail.get("words") or str(item.value).split()] for item in items])
        if found is not None:
            name, line = found
            self._cue("genre", self.assoc["band_name"]["genres"], 1.0, items[line], f'a band\'s name ("{name}")')

    def _encoder_cues(self) -> None:
        """The sentence encoder's reading of the cover's words: its nearest genres share the weight by a softmax
        of their cosines (prompts/associations.yaml, text_encoder)."""
        from tools.grounding.encoder import NEAREST

        rule = self.assoc["text_encoder"]
        for item in self.evidence.of_kind("text_genre"):
            scores = [(str(g), float(c), str(n)) for g, c, n in item.detail.get("scores") or []]
            if not scores:
                continue
            exps = [math.exp((c - scores[0][1]) / rule["temperature"]) for _g, c, _n in scores]
            for (genre, cos, name), e in list(zip(scores, exps))[:rule["top"]]:
                self._cue("genre", {genre: rule["weight"] * e / sum(exps)}, 1.0, item,
                          f'the words sit near "{name}", one of {genre}\'s names and scene words (mean cosine of '
                          f'the nearest {NEAREST} {cos:.2f})')

    @functools.cached_property
    def scenes(self) -> list[tuple[Evidence, Any]]:
        """Scenes, occasions and intensity words on the cover ('sleep', 'yoga', 'loud'), found by the reader chat
        uses, with chat's cue table (prompts/requests.yaml): one table and one reader for both. Each cue keeps
        the reader's sense: 'NO SLEEP' reads as the opposite of sleep."""
        from tools.grounding.cues import scene_cues

        return [(item, cue) for item in self.evidence.of_kind("text")
                for cue in scene_cues(" ".join(item.detail.get("words") or [str(item.value)]))]

    def _grain_cue(self) -> None:
        texture = self.evidence.first("texture")
        rule = self.assoc["grain_era"]
        if texture is not None and texture.detail.get("noise", 0) >= rule["min_noise"]:
            self._cue("era", rule["era"], 1.0, texture, "film grain")

    # -- affect ------------------------------------------------------------------------------------------
    def _affect(self) -> Affect:
        light, e_light = self._value("lightness", 50.0)
        chroma, e_chroma = self._value("chroma", 20.0)
        warmth, e_warm = self._value("warmth", 0.0)
        contrast, e_con = self._value("contrast", 15.0)
        edges, e_tex = self._value("texture", 0.08)
        pleasure, arousal = colour_indices(light, chroma, warmth, contrast, edges)
        used = [i for i in (e_light, e_chroma, e_warm, e_con, e_tex) if i]
        notes = [f"L* {light:.0f}, C* {chroma:.0f}, b* {warmth:+.0f} → pleasure index {pleasure:.2f}, arousal index {arousal:.2f}"]
        dv, da = self._text_shift(used, notes)
        for item, cue in self.scenes:
            share = self.assoc["scene_affect"] * cue.scale
            sv, se = share * cue.effects.get("valence", 0.0), share * cue.effects.get("energy", 0.0)
            if sv or se:
                dv, da = dv + sv, da + se
                used.append(item.id)
                notes.append(f'{item.id}: the scene "{cue.phrase}" shifts valence {sv:+.2f}, energy {se:+.2f}')
        shift = self.assoc["affect_shift"]["label"]
        for (lv, la), strength, ident in self.label_affect:
            sv, se = shift * lv * strength / 0.15, shift * la * strength / 0.15
            dv, da = dv + sv, da + se
            if lv or la:
                used.append(ident)
                notes.append(f"{ident}: what is pictured shifts valence {sv:+.2f}, energy {se:+.2f}")
        valence = soft_bound(0.05 + 0.9 * pleasure + dv)
        energy = soft_bound(0.05 + 0.9 * arousal + da)
        valence, energy = self._look_pull(valence, energy, used, notes)
        valence, energy = self._stated_genre_pull(valence, energy, used, notes)
        energy = self._stated_tempo_pull(energy, used, notes)
        valence, energy = self._catalog_affect(valence, energy, used, notes)
        return Affect(round(valence, 2), round(energy, 2), round(pleasure, 3), round(arousal, 3),
                      tuple(dict.fromkeys(used)), tuple(notes))

    def _look_pull(self, valence: float, energy: float, used: list[str], notes: list[str]) -> tuple[float, float]:
        """A look of the letters or a palette idiom pulls valence and energy a share of the way toward its place
        (`lettering.*.pull`, `palettes.*.pull`): a cut-out title is agitated whatever its paper's colours, a minimal
        techno sleeve's grey is not calm music; a pull, unlike a shift, never runs past its place."""
        looks = [(item, f"{look} lettering", rule) for item, look, rule in self._lettering] + self.palettes_read
        for item, look, rule in looks:
            pull = rule.get("pull")
            if not pull:
                continue
            v = valence + pull["share"] * (pull["valence"] - valence)
            e = energy + pull["share"] * (pull["energy"] - energy)
            notes.append(f"{item.id}: {look} pulls valence {valence:.2f} → {v:.2f}, "
                         f"energy {energy:.2f} → {e:.2f} (toward {pull['valence']}, {pull['energy']})")
            used.append(item.id)
            valence, energy = v, e
        return valence, energy

    def _catalog_affect(self, valence: float, energy: float, used: list[str], notes: list[str]) -> tuple[float, float]:
        share = self.catalog.settings["prior"]["affect"]
        out = []
        for name, own in (("valence", valence), ("energy", energy)):
            estimate, ids = self.catalog.estimate(name)
            if estimate is None:
                out.append(own)
                continue
            moved = clip((1 - share) * own + share * estimate, 0.05, 0.95)
            notes.append(f"catalogue {name} {estimate:.2f} ({', '.join(ids[:3])}): {own:.2f} → {moved:.2f}")
            used.extend(ids)
            out.append(moved)
        return out[0], out[1]

    def _text_shift(self, used: list[str], notes: list[str]) -> tuple[float, float]:
        """The cover's words move affect: NRC polarity moves valence, the NRC emotions' arousal weights move energy
        (anger and fear up, sadness down)."""
        dv = da = 0.0
        shift = self.assoc["affect_shift"]
        for item in self.evidence.of_kind("text_affect"):
            emo = item.value or {}
            pos, neg = emo.get("positive", 0), emo.get("negative", 0)
            dv += shift["text_valence"] * 0.5 * ((pos - neg) / max(pos + neg, 1) + nrc_mean(emo, "valence"))
            da += shift["text_arousal"] * nrc_mean(emo, "arousal")
            used.append(item.id)
            notes.append(f"{item.id}: cover words shift valence {dv:+.2f}, energy {da:+.2f}")
        return dv, da

    def _stated_genre_pull(self, valence: float, energy: float, used: list[str], notes: list[str]) -> tuple[float, float]:
        """A genre the cover states pulls valence and energy toward the genre's place ('blood and iron' is loud)."""
        stated = [c for c in self.cues if c.field == "genre" and c.weight > 0 and self.evidence.get(c.evidence) is not None
                  and self.evidence.get(c.evidence).kind == "statement"]
        if not stated:
            return valence, energy
        top = max(stated, key=lambda c: c.weight)
        share = self.assoc["affect_shift"]["statement_genre"]
        anchor = self.assoc["genre_affect"][top.value]
        moved = (valence + share["valence"] * (anchor[0] - valence), energy + share["energy"] * (anchor[1] - energy))
        notes.append(f"{top.evidence} states {top.value}: valence {valence:.2f} → {moved[0]:.2f}, "
                     f"energy {energy:.2f} → {moved[1]:.2f} (toward {top.value}'s {anchor[0]}, {anchor[1]})")
        used.append(top.evidence)
        return moved

    def _stated_tempo_pull(self, energy: float, used: list[str], notes: list[str]) -> float:
        """A tempo the cover states pulls energy toward that tempo's arousal (associations.yaml
        `affect_shift.statement_tempo`): '140 BPM' is loud whatever the colours say."""
        bpm, item = self.stated.get("tempo_bpm", (None, None))
        if item is None:
            return energy
        rule = self.assoc["affect_shift"]["statement_tempo"]
        (slow, fast), low, high = rule["bpm"], rule["low"], rule["high"]
        target = clip(low + (high - low) * (float(bpm) - slow) / (fast - slow), low, high)
        moved = energy + rule["share"] * (target - energy)
        notes.append(f"{item.id} states {bpm} BPM: energy {energy:.2f} → {moved:.2f} (toward {target:.2f})")
        used.append(item.id)
        return moved

    # -- rankings ----------------------------------------------------------------------------------------
    def rank(self, field_name: str, spec=None) -> Ranking:
        """Every option of `field_name`, best first. `spec` (the decisions so far) gives the genre that
        tempo, meter and instruments depend on."""
        genre = getattr(spec, "genre", None) or self.rank("genre").top.value if field_name in (
            "tempo_bpm", "time_signature", "instruments", "mode", "era") else None
        method = getattr(self, f"_rank_{field_name}")
        options = self._obey(field_name, method(genre) if genre is not None else method())
        ordered = sorted(options, key=lambda o: (-o.score, str(o.value)))  # ties: alphabetical, never list order
        return Ranking(field_name, tuple(ordered))

    def _cue_parts(self, target: str, value: Any) -> list[tuple[float, tuple[str, ...], str]]:
        hits = [c for c in self.cues if c.field == target and c.value == value]
        return [(c.weight, (c.evidence,), f'{c.evidence} {c.why} → {value} {c.weight:+.2f}') for c in hits]

    @staticmethod
    def _option(value: Any, parts: list[tuple[float, tuple[str, ...], str]]) -> Option:
        """An option from its contributions (weight, evidence ids, why), strongest first."""
        parts = sorted(parts, key=lambda p: -p[0])
        ids = tuple(dict.fromkeys(i for _w, group, _why in parts for i in group))
        return Option(value, sum(p[0] for p in parts), ids, tuple(p[2] for p in parts if p[2]))

    def _affect_part(self, anchor, width: float, weight: float, value: Any) -> tuple[float, tuple[str, ...], str]:
        a = self.affect
        d2 = (a.valence - anchor[0]) ** 2 + (a.energy - anchor[1]) ** 2
        score = weight * math.exp(-d2 / (2 * width ** 2))
        return score, a.evidence, (f"valence {a.valence}, energy {a.energy} (from {', '.join(a.evidence[:4])}) near "
                                   f"{value}'s ({anchor[0]}, {anchor[1]}) {score:+.2f}")

    def _rank_genre(self) -> list[Option]:
        return [self._option(genre, [self._affect_part(anchor, self.assoc["genre_affect_width"],
                                                       self.assoc["genre_affect_weight"], genre),
                                     *self._cue_parts("genre", genre)])
                for genre, anchor in self.assoc["genre_affect"].items()]

    def _rank_moods(self) -> list[Option]:
        return [self._option(mood, [self._affect_part((hint["valence"], hint["energy"]), self.assoc["mood_affect_width"],
                                                      self.assoc["mood_affect_weight"], mood),
                                    *self._cue_parts("moods", mood)])
                for mood, hint in vocabulary().moods.items()]

    def tempo_target(self, genre: str) -> float:
        lo, hi = vocabulary().genres[genre].tempo
        own = lo + (hi - lo) * (0.15 + 0.7 * self.affect.energy)
        estimate, _ids = self.catalog.estimate("tempo", genre)
        if estimate is None:
            return own
        share = self.catalog.settings["prior"]["tempo"]
        return clip((1 - share) * own + share * estimate, lo, hi)

    def _rank_tempo_bpm(self, genre: str) -> list[Option]:
        lo, hi = vocabulary().genres[genre].tempo
        target = round(self.tempo_target(genre))
        width = 0.15 * (hi - lo)
        values = sorted({target, *(round(lo + (hi - lo) * k / 8) for k in range(1, 8))})
        why = f"energy {self.affect.energy} (from {', '.join(self.affect.evidence[:4])}) → {target} BPM within {genre}'s {lo}-{hi}"
        estimate, ids = self.catalog.estimate("tempo", genre)
        if estimate is not None:
            why += f"; catalogue tempo {estimate:.0f} BPM ({', '.join(ids[:3])})"
        used = tuple(dict.fromkeys(ids + list(self.affect.evidence))) if estimate is not None else self.affect.evidence
        return [Option(v, math.exp(-((v - target) / width) ** 2 / 2), used, (why,)) for v in values]

    def _rank_mode(self, genre: str) -> list[Option]:
        a = self.affect
        p_major = 1 / (1 + math.exp(-(a.valence - 0.5) * self.assoc["mode_slope"]))
        home = vocabulary().genres[genre].mode
        nudge = self.assoc["genre_mode_weight"]
        why = f"valence {a.valence} (from {', '.join(a.evidence[:4])}) → P(major) {p_major:.2f}"
        used = a.evidence
        estimate, ids = self.catalog.estimate("mode")
        if estimate is not None:
            share = self.catalog.settings["prior"]["mode"]
            p_major = (1 - share) * p_major + share * estimate
            why += f"; catalogue share of major {estimate:.2f} ({', '.join(ids[:3])}) → {p_major:.2f}"
            used = tuple(dict.fromkeys(ids + list(a.evidence)))
        return [Option("major", p_major + (nudge if home == "major" else 0), used, (why,)),
                Option("minor", 1 - p_major + (nudge if home == "minor" else 0), used, (why,))]

    def _rank_key(self) -> list[Option]:
        hue = self.evidence.first("hue")
        warmth = self.evidence.first("warmth")
        chroma = self.evidence.first("chroma")
        keys = self.assoc["hue_keys"]
        if hue is not None and float(hue.detail.get("chroma", 0)) >= self.assoc["min_hue_chroma"]:
            out = []
            for tonic in TONICS:
                angle = keys.get(tonic)
                if angle is None:
                    out.append(Option(tonic, 0.05))
                    continue
                d = min(abs(float(hue.value) - angle), 360 - abs(float(hue.value) - angle))
                out.append(Option(tonic, math.exp(-(d / 25) ** 2 / 2), (hue.id,),
                                  (f"{hue.id} hue {float(hue.value):.0f}° → {tonic} (Scriabin's colour-key circle)",)))
            return out
        cool = warmth is not None and float(warmth.value) < 0 and chroma is not None
        minor_home = self.affect.valence < 0.5
        home = self.assoc["steel_keys"]["minor" if minor_home else "major"] if cool else ("A" if minor_home else "C")
        ids = tuple(i.id for i in (chroma, warmth) if i is not None)
        why = ("no dominant hue, cool grey → Scriabin's steel key" if cool else "no dominant hue → home key")
        return [Option(t, 1.0 if t == home else 0.05, ids if t == home else (), (why,) if t == home else ())
                for t in TONICS]

    def _context(self, *kinds: str) -> tuple[str, ...]:
        """Ids of measured evidence that a default rests on (what was looked at and found unremarkable)."""
        return tuple(e.id for e in self.evidence.of_kind(*kinds))

    def _rank_time_signature(self, genre: str) -> list[Option]:
        home = vocabulary().genres[genre].time_signature
        seen = self._context("composition", "texture")
        common = self.assoc["genre_meters"].get(genre, [home])
        out = []
        for meter in vocabulary().time_signatures:
            base = self.assoc["meter_home"] if meter == home else 0.2 if meter in common else 0.02
            why = (f"{genre}'s usual meter; nothing in {', '.join(seen)} calls for another" if meter == home
                   else f"common in {genre}" if meter in common else "")
            out.append(self._option(meter, [(base, seen if meter in common else (), why),
                                            *self._cue_parts("time_signature", meter)]))
        return out

    def _rank_instruments(self, genre: str) -> list[Option]:
        lineup = vocabulary().genres[genre].instruments
        palette = self.assoc["instrument_palettes"].get(genre, [])
        out = []
        for name in vocabulary().instruments:
            if name in lineup:
                base, why = 1.0 - 0.08 * lineup.index(name), f"{genre}'s line-up"
            elif name in palette:
                base, why = 0.45 - 0.02 * palette.index(name), f"fits {genre}"
            else:
                base, why = 0.0, ""
            context = self.affect.evidence[:2] if base else ()
            why = f"{why} (genre chosen from {', '.join(context)})" if why else ""
            out.append(self._option(name, [(base, context, why), *self._cue_parts("instruments", name)]))
        return out

    def instrument_count(self) -> int:
        texture, _ = self._value("texture", 0.08)
        busy = 1 if texture >= self.assoc["busy_edges"] else 0
        return int(clip(2 + round(self.affect.energy * self.assoc["instrument_energy"]) + busy, 2, 5))

    def _rank_era(self, genre: str | None = None) -> list[Option]:
        eras, since = self.assoc["eras"], self.assoc["genre_since"].get(genre)
        dated = sorted({c.evidence for c in self.cues if c.field == "era" and c.weight > 0})
        out = []
        for era in eras:
            base = float(self.assoc["era_default"].get(era, 0.0))
            seen = self._context("palette", "texture") if base else ()
            why = "" if not base else (f"contemporary unless the cover is dated (cues in {', '.join(dated)})" if dated
                                       else f"no era cue in {', '.join(seen)}: contemporary")
            parts = [(base, seen, why), *self._cue_parts("era", era)]
            if since and eras.index(era) < eras.index(since):
                penalty = self.assoc["era_too_early"]
                parts.append((penalty, (), f"{genre} began in the {since}: no {era} {genre} {penalty:+.2f}"))
            out.append(self._option(era, parts))
        return out

    def supports(self, field_name: str, value: Any) -> list[str]:
        """Evidence ids of cues pointing at this value (empty: no evidence for it)."""
        return [c.evidence for c in self.cues if c.field == field_name and c.value == value]
