"""Chat requests read like covers: a listener's words become evidence (R1, R2, ...) through the cue table in
prompts/requests.yaml, and the evidence ranks candidate edits of the current plan, field by field.

Numbers are derived, not chosen: valence, energy and tempo move by the cues' summed effects. Where a field
has alternatives (which mood leads, which genre, which instrument to add), each alternative has a support
score from the cues and its fit to the new valence/energy; `choose` combines that with a model's preference
measured without positional bias (tools.grounding.decide), so the order the candidates come in never matters.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from tools.grounding.coherence import compatible, within_moods
from tools.grounding.cues import Cue, match_cues, mood_cues, request_table
from tools.grounding.decide import (
    ModelView,
    Preference,
    PriorOption,
    beyond_reach,
    choose_one,
    combined_scores,
)
from tools.grounding.evidence import Evidence, EvidenceSet, text_affect
from tools.grounding.prior import Option, associations, clip, nrc_mean
from tools.json_values import as_json
from tools.language import PRAISE, RETRACTIONS, comparative, read, tokens
from tools.vocab import vocabulary

MAX_SHIFT = 0.45        # one request moves valence or energy by at most this much
MAX_TEMPO_CHANGE = 0.35  # ... and the tempo by at most this fraction
LIST_DECAY = 0.15       # each later alternative of a cue's list is supported this much less
FILLERS = ("strings", "electric guitar", "synth pad", "brass", "pad")  # a fuller line-up beyond the genre's own
KEEP_MOOD = 0.25        # a mood of the plan stays when it sits this close to the new valence and energy


@functools.cache
def genre_cues() -> dict[str, dict[str, Any]]:
    """A cue per genre of the vocabulary, named by the genre, its adjectives ('jazzy') and the names and idiom
    words a cover states it by (associations.yaml `statements`: 'rave', 'riddim', 'requiem', 'bluegrass'; the
    genre tree's names: 'zydeco', 'happy hardcore'): one table for a cover and a request. Affirmed it proposes
    the genre; negated ('less jazzy', 'no jazz', 'less like a rave') it moves the plan away from it. A word the
    request table reads ('minimal': sparser) keeps that sense and is not also read as a genre ('minimalism')."""
    from tools.grounding.statements import artist_names, likened_artists, statement_table, tree_names
    from tools.language import key
    from tools.vocab import GENRE_WORDS

    table = statement_table()
    taken = {key(w) for cue in request_table()["cues"].values() for w in cue.get("words", []) if " " not in str(w)}
    cues = {}
    for g in vocabulary().genres:
        stated = [str(p) for p in (*table["genres"].get(g, []), *table["subgenres"].get(g, []))]
        stated += [name for name, (genre, _branch) in tree_names().items() if genre == g]
        stated += [name for name, genre in artist_names().items() if genre == g]  # 'like Johnny Cash'
        stated += [f"like {name}" for name, genre in likened_artists().items() if genre == g]  # 'like Nirvana'
        words = [g, *(w for w, to in GENRE_WORDS.items() if to == g), *(p for p in stated if " " in p or key(p) not in taken)]
        cues[f"genre:{g}"] = {"words": list(dict.fromkeys(words)), "genres": [g]}
    return cues


@functools.cache
def _word_genres() -> dict[str, str]:
    """The one-word names a cover states a genre by (tools.grounding.statements.genre_names), by the key the
    reader matches words with; a name that is itself inflected, as written ('blues', so 'blue' is none)."""
    from tools.grounding.statements import genre_names
    from tools.language import as_written, key

    return {(as_written(name) or key(name)): genre for name, genre in genre_names().items() if " " not in name}


def genre_named_by(phrase: str) -> str | None:
    """The genre a one-word phrase names ('requiem', 'swinging'), or None."""
    from tools.language import key

    return _word_genres().get(key(phrase)) or _word_genres().get(phrase.lower())


def find_cues(text: str) -> list[Cue]:
    """Every cue a request contains: the table's, then each genre and mood of the vocabulary by its own name
    (tools.grounding.cues.match_cues reads them)."""
    return match_cues(text, {**request_table()["cues"], **genre_cues(), **mood_cues()})


# A message that only says how the take landed ('sounds good, thanks!', 'honestly, I love it', 'not bad at all',
# 'that's enough for today', a fault denied: "I don't find it thin") or takes a request back ('never mind') asks
# for no change: its words' feeling (NRC 'love' is joy) is about the take, not a direction for the next one.
# Matched whole: 'I love it, but slower' asks.
FEEDBACK_WORDS = (
    r"(?:that|this|it)(?:\s+s|\s+is)?", r"(?:sounds|looks|feels)", r"(?:i\s+)?(?:m\s+)?(?:really\s+)?"
    r"(?:love|like|dig|digging|enjoy|enjoying|loving|adore|into)\s+(?:it|that|this)", r"so", r"really", r"very",
    r"pretty", r"interesting|intriguing|fascinating|neat|decent|solid|fair\s+enough|noted|i\s+see|got\s+it|right|alright",
    r"yeah\s+no|worse|not\s+better|no\s+better|hmm+\s+no|(?:much|way|loads|a\s+lot|so\s+much)\s+better|better",
    r"good|great|grand|nice|perfect|fine|awesome|lovely|cool(?!\s+it\b)|amazing|brilliant|excellent|wonderful|beautiful|"
    r"fantastic|gorgeous|sweet|ok|okay|yes|yeah|yep|yup|thanks|thank\s+you|cheers|wow|oh|ha+|haha+|well|man|mate|mates|"
    r"buddy|dude|bro|pal",
    r"never\s*mind|forget\s+it|no\s+worries|wait|hang\s+on|hold\s+on|no",
    r"(?:i\s+m|i\s+am)\s+(?:good|happy|fine|ok|okay|sorted|set|done)(?:\s+with\s+(?:it|this|that)(?:\s+one)?)?", r"honestly|to\s+be\s+honest|tbh|i\s+(?:won\s+t|will\s+not)\s+lie",
    r"(?:(?:i\s+)?(?:don\s*t|do\s+not)\s+(?:find|think)\s+(?:it|that|this)(?:\s+s|\s+is)?\s+|"
    r"(?:i\s+(?:m|am)\s+)?not\s+finding\s+(?:it|that|this)\s+|isn\s*t\s+|wasn\s*t\s+|"
    r"not\s+)(?:(?:a|an)\s+)?(?:{faults})(?:\s+at\s+all)?|(?:i\s+)?(?:can\s*n?\s*t|cannot)\s+complain", r"nailed\s+it|spot\s+on",
    r"(?:exactly|just)\s+what\s+i\s+wanted|works\s+for\s+me|that\s+works|that\s+ll\s+do|that\s+s\s+it",
    r"(?:that\s+s\s+)?enough\s+for\s+(?:today|now)|give\s+it\s+a\s+rest",
    r"(?:leave|keep)\s+it(?:\s+(?:just\s+)?(?:like\s+(?:that|this)|as\s+(?:it\s+)?is|the\s+same|there|alone|be))?|let\s+it\s+be|"
    r"(?:don\s*t|do\s+not)\s+change\s+(?:a\s+thing|anything)|no\s+changes?(?:\s+needed)?",
    r"(?:i\s+)?(?:wouldn\s*t|would\s+not|won\s*t|will\s+not)\s+change\s+(?:a\s+thing|anything)|no\s+complaints?(?:\s+here)?|not\s+unhappy(?:\s+with\s+(?:it|that|this))?|(?:you\s+re\s+|it\s+s\s+)?killing\s+it|no\s+notes|(?:it\s+s\s+)?not\s+half\s+bad",
    r"(?:i\s+)?(?:don\s*t|do\s+not)\s+(?:hate|dislike|mind)\s+(?:it|that|this)(?:\s+at\s+all)?",  # 'I don't hate it'
    r"(?:just\s+)?as\s+(?:it\s+)?is")  # "it's grand as it is"


@functools.cache
def _feedback() -> re.Pattern:
    """FEEDBACK_WORDS as one pattern; a fault denied ("not bad", "I don't find it thin", "it isn't sluggish") is
    praise, for every fault word of the request table (`_fault_phrases`)."""
    faults = sorted({"bad", *_fault_phrases()}, key=len, reverse=True)
    denied = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in faults)
    return re.compile(r"(?:(?:" + "|".join(FEEDBACK_WORDS).replace("{faults}", denied) + r")\b\s*|[,.!?\s])+")


def is_feedback(text: str) -> bool:
    """The message only says how the take landed (FEEDBACK_WORDS)."""
    return _feedback().fullmatch(text.lower().replace("'", " ").replace("’", " ").strip()) is not None


# A question about the plan or how it was made ('how did you pick the genre?', 'what key is it in?', 'why jazz?')
# asks for an answer, not a change: its words carry no feeling of the music's (NRC reads 'pick' as positive)
QUESTION = re.compile(r"^\s*(?:(?:how|why|what|which|when|where)\b[^?]*?\b(?:did|do|does|have|has|would)\s+you\b"
                      r"|(?:what|which)\s+(?:key|tempo|bpm|genre|style|instruments?|mode|speed|scale|chords?|sound\s*font)\b"
                      r"|what\s*(?:'|’)?\s*s\s+(?:the|its|it\s+s)\s+(?:key|tempo|bpm|genre|mode|speed)\b|who\s+are\s+you\b"
                      r"|what\s+(?:made|makes)\s+you\b|(?:can|could|would)\s+you\s+(?:explain|tell\s+me)\b|explain\b"
                      r"|why\s+(?:this|that|the|a|an)?\s*\w+\s*\?\s*$)", re.IGNORECASE)


def is_question(text: str) -> bool:
    """The message asks about the plan or how it was made (QUESTION), not for a change."""
    return QUESTION.match(text) is not None


REQUESTING = re.compile(r"\b(?:make|more|less|add|give|turn|go|try|can|could|would|should|needs?|want|let|please)\b")
# 'I love it' after what was said of the take (the verbs of language.PRAISE that take an object)
PRAISE_OF_IT = re.compile(r"\b(?:love|like|dig|adore|enjoy|loving|digging|enjoying)\s+(?:it|that|this)\b")
SAID_OF_IT = re.compile(r"\s*(?:it\s*'?\s*s|it\s+is|that\s*'?\s*s|this\s+is|(?:it\s+)?(?:sounds|feels|seems))\b")
ELIDED = re.compile(r"\s*(?:(?:but|though|just|only|and|yet)\s+)*(?P<hedge>(?:still\s+)?(?:a\s+(?:bit|little|touch|tad)|kind\s+of|"
                    r"kinda|sort\s+of|sorta|rather|quite|slightly|somewhat|maybe|perhaps|too|way|pretty))\b")
CLAUSE_END = re.compile(r"(?<=[,;.!?])\s*|\s+(?=\b(?:but|though|however)\b)")


@functools.lru_cache(maxsize=1024)
def without_feedback(text: str) -> str:
    """The message without its clauses of praise: "not bad, but make it sombre" asks for sombre, and "not bad"
    is no feeling of the music's (NRC: positive) to weigh against it. Cached: the keyword layer asks once per phrase."""
    parts = [part for part in CLAUSE_END.split(text) if part.strip()]
    # a retraction ('no wait', 'actually no') says what goes before it is taken back: the reader needs it
    kept = [not is_feedback(part) or (k + 1 < len(parts) and tuple(t for t in tokens(part) if t.isalpha()) in RETRACTIONS)
            for k, part in enumerate(parts)]
    for k in range(1, len(parts)):  # 'mellow, not comatose': a fault denied after a request is set against it
        if not kept[k] and kept[k - 1] and re.match(r"\s*not\s", parts[k].lower()):
            kept[k] = True
    for k in range(1, len(parts)):  # "it's dreamy, I love it": the clause the praise points back to is praise too
        if not kept[k] and PRAISE_OF_IT.search(parts[k].lower()) and SAID_OF_IT.match(parts[k - 1].lower()):
            kept[k - 1] = False
    # "it's fine, just a bit sleepy", "better, but still a bit sad": after praise, a hedged quality is said of the
    # take (its 'it's' elided), not asked for; a comparative is still asked ("nice, but a bit faster")
    for k in range(1, len(parts)):
        if not kept[k - 1] and kept[k] and (m := ELIDED.match(parts[k].lower())) \
                and not any(comparative(w) for w in re.findall(r"[a-z]+", parts[k].lower())):
            parts[k] = "it s " + parts[k][m.start("hedge"):]
    return " ".join(part for part, keep in zip(parts, kept) if keep).strip()


@functools.cache
def table_words() -> frozenset[str]:
    """Every word the chat reader's tables know (the request table's cues, each genre's and mood's names, the
    instruments and their aliases, the artists'), lower case: a typing-slip corrector must leave them as typed."""
    from tools.vocab import ALIASES

    cues = {**request_table()["cues"], **genre_cues(), **mood_cues()}
    phrases = [str(p) for cue in cues.values() for p in cue.get("words", [])] + list(vocabulary().instruments) + list(ALIASES)
    return frozenset(w for p in phrases for w in re.findall(r"[a-z]+", p.lower()))


@functools.cache
def _instrument_words() -> frozenset[str]:
    """The words of instrument names and their chat aliases: they say what plays, not how it feels ('trumpet' is
    not a negative word, 'organ' not a joyful one), as on a cover (statements.music_words)."""
    from tools.vocab import ALIASES

    return frozenset(w for name in [*vocabulary().instruments, *ALIASES] for w in name.split())


@functools.cache
def _fault_words() -> frozenset[str]:
    """The words of the request table's faults ('boring', 'thin', 'sluggish'): said of the take, they ask for a
    remedy (the cue); negated ("I don't find it boring") they are praise, no feeling of the music's."""
    return frozenset(w for phrase in _fault_phrases() for w in phrase.split())


@functools.cache
def _fault_phrases() -> tuple[str, ...]:
    """The phrases of the request table's fault cues ('boring', 'mood killer', 'lacking energy')."""
    return tuple(str(p) for cue in request_table()["cues"].values() if cue.get("fault") for p in cue["words"])


def request_evidence(text: str, feeling: bool = True) -> tuple[EvidenceSet, list[Cue]]:
    """The request's evidence: one item per cue (R1, R2, ...) and, when no cue was found, the NRC emotions of its
    words. `feeling` False: the message is an instruction the keyword layer already carried out ('lose the
    organ', "don't play the organ"), whose verbs are not a feeling ('lose' is NRC's anger and sadness)."""
    text = without_feedback(text)
    if not text:
        return EvidenceSet(()), []
    cues = find_cues(text)
    items = [Evidence(id=f"R{k}", kind="request", text=f"'{c.said or c.phrase}'{_scale_word(c.scale, c.turned)} → {c.describe()}",
                      value=c.name, confidence=round(c.scale, 2), detail={"effects": c.effects})
             for k, c in enumerate(cues, start=1)]
    # read only when it can count: with a cue or an instruction carried out, the words' feeling is not asked for
    # nor where a comparative is held ("I don't want it any darker": 'darker' is no sadness asked for)
    wanted = feeling and not cues and not is_question(text) and not any(w.hold for w in read(text, take=True).words)
    # praise of the take or a part ('the piano part is lovely, keep it', 'love the sax') is no feeling asked for,
    # unless the message asks for something ('make it lovelier')
    asks = REQUESTING.search(text.lower()) or any(comparative(t) and t not in PRAISE for t in tokens(text))  # 'lovelier'
    praise = frozenset() if asks else PRAISE
    affect = text_affect(text, skip=_instrument_words() | _fault_words() | praise, run_together=False, take=True) \
        if wanted else {"emotions": {}}
    if affect["emotions"]:
        shown = ", ".join(f"{e} {n}" for e, n in sorted(affect["emotions"].items(), key=lambda kv: (-kv[1], kv[0])))
        items.append(Evidence(id=f"R{len(items) + 1}", kind="request_affect",
                              text=f"words {', '.join(repr(w) for w in affect['words'])} carry {shown} (NRC lexicon)",
                              value=affect["emotions"], detail={"words": affect["words"]}))
    return EvidenceSet(tuple(items)), cues


def _scale_word(scale: float, turned: str = "") -> str:
    if scale < 0:
        return f" ({turned or 'negated'})"
    return " (strong)" if scale > 1.2 else " (slight)" if scale < 0.8 else ""


@dataclass
class Reading:
    """What a request asks of the plan: its evidence and, per field, the candidate edits."""

    request: str
    evidence: EvidenceSet
    cues: list[Cue]
    valence: float | None = None   # the plan's valence and energy after the request
    energy: float | None = None


def _total(cues: list[Cue], key: str) -> tuple[float, list[str]]:
    """The cues' summed, scaled effect on `key` and the evidence ids behind it."""
    total, ids = 0.0, []
    for k, cue in enumerate(cues, start=1):
        value = cue.effects.get(key)
        if isinstance(value, (int, float)) and value:
            total += cue.scale * value
            ids.append(f"R{k}")
    return total, ids


def _alternatives(cues: list[Cue], key: str) -> dict[str, tuple[float, list[str]]]:
    """Values a key's lists propose (genres, moods, add), with summed support and ids: affirmed cues only."""
    out: dict[str, tuple[float, list[str]]] = {}
    for k, cue in enumerate(cues, start=1):
        if cue.scale <= 0:
            continue
        for rank, value in enumerate(cue.effects.get(key) or []):
            support, ids = out.get(value, (0.0, []))
            # the table lists each cue's alternatives strongest first: a written-down association strength
            out[value] = (support + cue.scale * (1 - LIST_DECAY * rank), ids + [f"R{k}"])
    return out


def shifted(value: float | None, delta: float) -> float:
    """`value` moved by `delta`, in proportion to the room left on that side: full strength at 0.5, less
    toward the ends, so a request always moves the plan its way and never pins it at 0 or 1."""
    value = 0.5 if value is None else value
    delta = clip(delta, -MAX_SHIFT, MAX_SHIFT)
    room = 2 * (value if delta < 0 else 1 - value)
    return round(clip(value + delta * min(room, 1.0), 0.02, 0.98), 2)


def _fit(point: tuple[float, float], valence: float, energy: float) -> float:
    width = request_table()["thresholds"]["fit_width"]
    d2 = (point[0] - valence) ** 2 + (point[1] - energy) ** 2
    return math.exp(-d2 / (2 * width**2))


@dataclass
class Plan:
    """The request's reading against one spec: the affect it asks for and the alternatives per field."""

    reading: Reading
    spec: Any
    valence: float
    energy: float
    affect_ids: list[str]
    genres: list[Option]
    moods: list[Option]
    adds: list[Option]


STYLE_CUES = frozenset({"electronic", "acoustic", "orchestral"})


def read_request(text: str, spec, feeling: bool = True) -> Plan:
    """Evidence, the new valence/energy and the ranked alternatives of a request for the current plan
    (`feeling`: as request_evidence)."""
    evidence, cues = request_evidence(text, feeling)
    # a style named and turned away from that the plan does not have (neither its genre nor its instruments) asks
    # nothing ("I don't want anything electronic" on a rock plan; "less robotic" still complains of the sound); its
    # place in the list is kept, so the evidence ids stay
    cues = [replace(c, effects={}) if c.scale < 0 and c.name in STYLE_CUES and c.phrase.lower() == c.name
            and spec.genre not in c.effects.get("genres", [])
            and not set(c.effects.get("add", [])) & set(spec.instruments) else c for c in cues]
    d_val, val_ids = _total(cues, "valence")
    d_en, en_ids = _total(cues, "energy")
    affect = evidence.first("request_affect")
    if affect is not None:  # no cue, but the words carry feeling: NRC polarity moves valence a little, and the
        # emotions' arousal energy, by the weights a cover's words use (associations.yaml nrc.arousal: 'furious' is
        # anger, up; 'I want to cry' sadness, down)
        polarity = affect.value.get("positive", 0) - affect.value.get("negative", 0)
        d_val += 0.15 * max(-1, min(1, polarity))
        val_ids += [affect.id] if polarity else []
        arousal = nrc_mean(affect.value, "arousal")
        d_en += 0.15 * arousal
        en_ids += [affect.id] if abs(arousal) >= 0.1 else []
    valence = shifted(spec.valence, d_val)
    energy = shifted(spec.energy, d_en)
    table, genre_affect = vocabulary().moods, associations()["genre_affect"]
    moods = [Option(m, s + _fit((table[m]["valence"], table[m]["energy"]), valence, energy), tuple(ids))
             for m, (s, ids) in _alternatives(cues, "moods").items()]
    genres = [Option(g, s + _fit(tuple(genre_affect[g]), valence, energy), tuple(ids))
              for g, (s, ids) in _alternatives(cues, "genres").items()]
    adds = [Option(i, s, tuple(ids)) for i, (s, ids) in _alternatives(cues, "add").items()
            if i not in spec.instruments]
    reading = Reading(text, evidence, cues, valence, energy)
    return Plan(reading, spec, valence, energy, list(dict.fromkeys(val_ids + en_ids)), genres, moods, adds)


@dataclass(frozen=True)
class RequestEdit:
    """One setter call a request asks for, with the alternatives it was chosen from and who chose."""

    tool: str
    arguments: dict[str, Any]
    field: str
    evidence: tuple[str, ...]
    options: tuple[PriorOption, ...] = ()  # score: combined with the model's preference; support: the evidence's
    model: ModelView | None = None
    decided_by: str = "request"


Prefer = Any  # Callable[[str, list[str]], Preference | None]: a model's order-free preference, or None


def _pick(options: list[Option], field: str, prefer: Prefer, weight: float) -> tuple[Any, Preference | None]:
    """The best option; the model is asked only when its answer could change which (tools.grounding.decide)."""
    ask = prefer is not None and len(options) > 1 and not beyond_reach("choice", options, weight)[0]
    pref = prefer(field, [o.value for o in options]) if ask else None
    return choose_one(options, pref, weight), pref


def _table(options: list[Option], pref: Preference | None, weight: float) -> tuple[PriorOption, ...]:
    scores = combined_scores(options, pref, weight)
    return tuple(PriorOption(value=as_json(o.value), support=round(o.score, 3), evidence=list(o.evidence),
                             score=round(scores[o.value], 3)) for o in sorted(options, key=lambda o: -scores[o.value]))


def _model(pref: Preference | None) -> ModelView | None:
    return None if pref is None else ModelView(method=pref.method, top=as_json(pref.top),
                                               logprobs={str(k): round(v, 3) for k, v in pref.logprobs.items()})


def _who(options: list[Option], pref: Preference | None, choice: Any) -> str:
    best = max(options, key=lambda o: (o.score, str(o.value))).value
    if pref is None or pref.top is None:
        return "request"
    return ("request+model" if pref.top == choice else "request") if choice == best else "model"


class EditChooser:
    """Turns a request's Plan into setter calls: genre, then moods with valence and energy, tempo within the
    (new) genre's range, mode, instruments, era."""

    def __init__(self, plan: Plan, prefer: Prefer = None, weight: float = 0.5):
        self.plan, self.prefer, self.weight = plan, prefer, weight
        self.spec, self.limits = plan.spec, request_table()["thresholds"]
        self.cues = plan.reading.cues
        self.edits: list[RequestEdit] = []

    def choose(self) -> list[RequestEdit]:
        if not self.cues and not self.plan.affect_ids:
            return []  # nothing in the request to act on
        genre = self._genre()
        self._moods()
        self._tempo(genre)
        self._mode()
        self._instruments()
        self._era()
        return self.edits

    def _add(self, tool: str, args: dict[str, Any], field_name: str, ids, options=(), pref=None, who="request"):
        self.edits.append(RequestEdit(tool, args, field_name, tuple(dict.fromkeys(ids)), options, _model(pref), who))

    def _away(self) -> tuple[set[str], list[str]]:
        """Genres the request turns away from by name ('less jazzy', 'no rock') and the cues that do."""
        away, ids = set(), []
        for k, cue in enumerate(self.cues, start=1):
            if cue.scale < 0 and cue.name.startswith("genre:"):
                away |= set(cue.effects["genres"])
                ids.append(f"R{k}")
            elif cue.name == "other_genre" and cue.scale > 0 and self.spec.genre:  # 'a different genre'
                away.add(self.spec.genre)
                ids.append(f"R{k}")
        return away, ids

    def _genre(self) -> str:
        options, current = self.plan.genres, self.spec.genre
        away, away_ids = self._away()
        named = {g for cue in self.cues if cue.name.startswith("genre:") and cue.scale > 0 for g in cue.effects["genres"]}
        # a scene or groove word that is also a genre's name names it too ('requiem': the funeral cue's, classical's)
        named |= {g for cue in self.cues if cue.scale > 0 and (g := genre_named_by(cue.phrase))}
        if named - away:  # a genre named outright outranks those a scene or groove word suggests ('a krautrock groove')
            options = [o for o in options if o.value in named - away] or options
        if current in away:  # away from the plan's genre: to the proposed one, else the nearest in affect
            anchors = associations()["genre_affect"]
            options = [o for o in options if o.value not in away] or [
                Option(g, _fit(tuple(anchors[g]), self.plan.valence, self.plan.energy), tuple(away_ids))
                for g in vocabulary().genres if g not in away]
        elif not options or current in {o.value for o in options}:
            style = self._named_style(current)
            if style and style != self.spec.subgenre:  # 'make it bossa nova' on a jazz plan: its style
                ids = next((o.evidence for o in options if o.value == current), ())
                self._add("set_genre", {"genre": current, "subgenre": style}, "genre", ids)
            return current
        elif not named - away and max(s for s, _ in _alternatives(self.cues, "genres").values()) < self.limits["genre"]:
            return current  # a passing mention ("a bit like a party") moves the mood, not the genre; a genre named
            # outright, however softly ('a bit more reggae', 'a touch of Bob Marley'), is asked for
        choice, pref = _pick(options, "genre", self.prefer, self.weight)
        ids = next(o.evidence for o in options if o.value == choice)
        args = {"genre": choice, **({"subgenre": sub} if (sub := self._named_style(choice)) else {})}
        self._add("set_genre", args, "genre", ids, _table(options, pref, self.weight), pref, _who(options, pref, choice))
        return choice

    def _named_style(self, genre: str) -> str | None:
        """The style the request names within the chosen genre ('make it zydeco': zydeco), for the prompt."""
        from tools.grounding.statements import subgenre_names

        names = subgenre_names()
        return next((cue.phrase.lower() for cue in self.cues if cue.name == f"genre:{genre}" and cue.scale > 0
                     and names.get(cue.phrase.lower()) == genre), None)

    def _moods(self) -> None:
        plan, spec = self.plan, self.spec
        table = vocabulary().moods
        lead, pref, options = None, None, plan.moods
        if options:
            lead, pref = _pick(options, "moods", self.prefer, self.weight)
        moods = [lead] if lead else []
        old = (spec.valence if spec.valence is not None else 0.5, spec.energy if spec.energy is not None else 0.5)
        for mood in spec.moods:  # a mood stays when it is near the new affect, or no farther than before
            point = (table[mood]["valence"], table[mood]["energy"])
            near = math.dist(point, (plan.valence, plan.energy)) <= max(KEEP_MOOD, math.dist(point, old) + 1e-9)
            if len(moods) < 3 and mood not in moods and near and compatible(mood, moods):
                moods.append(mood)
        if not moods:  # nothing proposed and nothing kept: the vocabulary's mood nearest the new affect
            moods = [max(table, key=lambda m: (_fit((table[m]["valence"], table[m]["energy"]), plan.valence,
                                                    plan.energy), m))]
        args = {"moods": moods, **self._affect(moods)}
        if (tuple(moods), args["energy"], args["valence"]) != (tuple(spec.moods), spec.energy, spec.valence):
            ids = list(plan.affect_ids) + (list(next(o.evidence for o in options if o.value == lead)) if lead else [])
            self._add("set_mood", args, "moods", ids, _table(options, pref, self.weight) if options else (), pref,
                      _who(options, pref, lead) if options else "request")

    def _affect(self, moods: list[str]) -> dict[str, float]:
        """The request's valence and energy, kept within reach of the moods' own (the coherence rule)."""
        return within_moods(moods, self.plan.energy, self.plan.valence)

    def _tempo(self, genre: str) -> None:
        spec, lim = self.spec, self.limits
        change, ids = _total(self.cues, "tempo")
        if not ids:
            d_en = self.plan.energy - (spec.energy if spec.energy is not None else 0.5)
            change, ids = lim["tempo_from_energy"] * d_en, list(self.plan.affect_ids)
        lo, hi = vocabulary().genres[genre].tempo
        bpm = round(spec.tempo_bpm * (1 + clip(change, -MAX_TEMPO_CHANGE, MAX_TEMPO_CHANGE)))
        bpm = int(clip(bpm, lo, hi))
        if bpm != spec.tempo_bpm and ids:
            self._add("set_tempo", {"bpm": bpm}, "tempo_bpm", ids)

    def _mode(self) -> None:
        vote, ids = 0.0, []
        for k, cue in enumerate(self.cues, start=1):
            # turned around, a cue votes for the other mode only when it is about feeling: 'not sad' is major, but
            # 'less drowsy' is no minor (mode follows valence; sleep's is slight)
            turned_ok = cue.scale > 0 or abs(cue.effects.get("valence", 0.0)) >= self.limits["mode_valence"]
            if cue.effects.get("mode") and turned_ok:
                vote += cue.scale * (1 if cue.effects["mode"] == "major" else -1)
                ids.append(f"R{k}")
        if abs(vote) < 0.5:
            shift = self.plan.valence - (self.spec.valence if self.spec.valence is not None else 0.5)
            if abs(shift) >= self.limits["mode_valence"]:
                vote, ids = (1 if shift > 0 else -1), list(self.plan.affect_ids)
        mode = "major" if vote >= 0.5 else "minor" if vote <= -0.5 else self.spec.mode
        if mode != self.spec.mode:
            self._add("set_key", {"key": self.spec.key, "mode": mode}, "mode", ids)

    def _instruments(self) -> None:
        spec, plan = self.spec, self.plan
        removed, ids = set(), []
        for k, cue in enumerate(self.cues, start=1):
            gone = (cue.effects.get("remove") or []) if cue.scale > 0 else (cue.effects.get("add") or [])
            if set(gone) & set(spec.instruments):
                removed |= set(gone)
                ids.append(f"R{k}")
        density, density_ids = _total(self.cues, "density")
        lineup = [i for i in spec.instruments if i not in removed]
        options = [o for o in plan.adds if o.value not in removed and not _doubled(o.value, lineup)]
        pref = None
        if options:
            chosen, pref = _pick(options, "instruments", self.prefer, self.weight)
            lineup.append(chosen)
            ids += list(next(o.evidence for o in options if o.value == chosen))
            if max(o.score for o in options) >= self.limits["second_add"] and len(options) > 1:
                rest = [o for o in options if o.value != chosen]
                lineup.append(choose_one(rest, pref, self.weight))
        if abs(density) >= self.limits["density"]:
            lineup = self._density(lineup, round(density) or (1 if density > 0 else -1))
            ids += density_ids
        while len(lineup) > 6:
            lineup.remove(_least_essential(lineup))
        if lineup and lineup != list(spec.instruments):
            self._add("set_instruments", {"instruments": lineup}, "instruments", ids,
                      _table(options, pref, self.weight) if len(options) > 1 else (), pref,
                      _who(options, pref, lineup[-1]) if len(options) > 1 else "request")

    def _density(self, lineup: list[str], steps: int) -> list[str]:
        """Fewer instruments (down to two) or one more from the genre's own line-up."""
        lineup = list(lineup)
        for _ in range(abs(steps)):
            if steps < 0 and len(lineup) > 2:
                lineup.remove(_least_essential(lineup))
            elif steps > 0:
                extra = [i for i in (*vocabulary().genres[self.spec.genre].instruments, *FILLERS) if i not in lineup]
                if extra:
                    lineup.append(extra[0])
        return lineup

    def _era(self) -> None:
        best = None
        for k, cue in enumerate(self.cues, start=1):
            if cue.effects.get("era") and cue.scale > 0 and (best is None or cue.scale > best[0]):
                best = (cue.scale, cue.effects["era"], f"R{k}")
        if best and best[1] != self.spec.era:
            self._add("set_era", {"era": best[1]}, "era", [best[2]])


# Which instrument goes first when a line-up thins out: texture, then extra leads and pads; drums and bass last.
ROLE_KEEP = {"texture": 0, "lead": 1, "pad": 2, "chords": 3, "drums": 4, "bass": 5}


# One bass line and one kit: a cue's bass or drums joins no line-up that has one ('a simple groove' on a jazz
# plan adds no bass guitar beside the upright bass); one asked for by name is the keyword layer's
SINGLE_ROLES = ("bass", "drums")


def _doubled(instrument: str, lineup: list[str]) -> bool:
    roles = vocabulary().instruments
    role = roles[instrument]["role"]
    return role in SINGLE_ROLES and any(roles[i]["role"] == role for i in lineup)


def _least_essential(lineup: list[str]) -> str:
    roles = vocabulary().instruments
    return min(reversed(lineup), key=lambda i: ROLE_KEEP.get(roles[i]["role"], 3))


def rationale(edit: RequestEdit, evidence: EvidenceSet, request: str) -> str:
    """Why the edit was made, citing the request's evidence: "listener asked 'like a rainy day': R1 'rainy' →
    sadder, calmer, slower, minor"."""
    facts = "; ".join(f"{i} {evidence.get(i).text}" for i in edit.evidence if evidence.get(i))
    text = f"listener asked {request.strip()[:80]!r}: {facts or 'see the request'}"
    return text if len(text) <= 300 else text[:299] + "…"


def decide_edits(request: str, spec, prefer: Prefer = None, weight: float = 0.5,
                 feeling: bool = True) -> tuple[Reading, list[RequestEdit]]:
    """The request's reading and the setter calls it asks for (with rationales), in a fixed field order
    (`feeling`: as request_evidence)."""
    plan = read_request(request, spec, feeling)
    edits = EditChooser(plan, prefer, weight).choose()
    edits = [RequestEdit(e.tool, {**e.arguments, "rationale": rationale(e, plan.reading.evidence, request)},
                         e.field, e.evidence, e.options, e.model, e.decided_by) for e in edits]
    return plan.reading, edits
