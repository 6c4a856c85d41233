"""Read explicit listener requests ("slower", "120 bpm", "add saxophone", "another take") as spec edits.

Clear, unambiguous requests become setter calls directly, so even a 135M local model's chat works; the
agent's LLM handles whatever this does not recognise. Every edit names the words it came from.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from tools.language import negator, read
from tools.limits import MAX_DURATION_S
from tools.spec import TEMPO_MAX, TEMPO_MIN, MusicSpec, SpecError, normalise_tonic
from tools.vocab import ALIASES, GENRE_WORDS, PITCH_CLASS, vocabulary

# a meter said in words: 'three four time', 'in six-eight'
SPOKEN_METERS = {"three four": "3/4", "four four": "4/4", "six eight": "6/8", "two four": "2/4", "five four": "5/4",
                 "seven eight": "7/8"}
SPOKEN_METER = re.compile(r"\b(" + "|".join(k.replace(" ", r"[\s-]") for k in SPOKEN_METERS) + r")\b(?!\s+(?:bars|times|beats))")
MOOD_SHIFTS = {  # word -> (mood, energy change, valence change)
    "darker": ("dark", 0.0, -0.2), "sadder": ("sad", -0.1, -0.25), "happier": ("cheerful", 0.1, 0.25),
    "brighter": ("hopeful", 0.05, 0.2), "calmer": ("calm", -0.25, 0.0), "chill": ("calm", -0.2, 0.0),
    "chiller": ("calm", -0.2, 0.0), "more energetic": ("energetic", 0.25, 0.05), "more energy": ("energetic", 0.25, 0.0),
    "dreamier": ("dreamy", -0.1, 0.05), "spookier": ("eerie", 0.0, -0.2), "more epic": ("epic", 0.2, 0.05),
    "warmer": ("warm", 0.0, 0.1), "more intense": ("tense", 0.25, -0.1), "softer": ("peaceful", -0.2, 0.05),
}
ANOTHER_TAKE = re.compile(r"\b(another|new|different|fresh) (take|version|variation|seed)\b|\btry again\b|\breroll\b")


@dataclass(frozen=True)
class Edit:
    tool: str
    arguments: dict[str, Any]


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


# a player's words for a tempo that is off: a rushed take is too fast, one that drags too slow ('not sluggish' is
# nothing wrong, no request)
TEMPO_FAULTS = {"rushed": -1, "rushing": -1, "hurried": -1, "drag": 1, "drags": 1, "dragging": 1, "plodding": 1, "sluggish": 1,
                "lethargic": 1, "draggy": 1}
TEMPO_WORDS = {"slow": -1, "slow * down": -1, "fast": 1, "quick": 1, "breakneck": 1, "pedestrian": -1, "speed * up": 1, "less fast": -1,
               "more relaxed": -1, "more upbeat": 1, "pick * up * pace": 1, "pick * up * tempo": 1, **TEMPO_FAULTS,
               "pump * brakes": -1, "hit * brakes": -1, "brakes on": -1, "step on it": 1, "floor it": 1,
               "get a move on": 1, "hurry * up": 1, "move * along": 1, "speed * along": 1,
               "ease back on * tempo": -1, "ease off * tempo": -1, "ease up on * tempo": -1, "back off * tempo": -1,
               "easy on * tempo": -1, "more pace": 1, "up * pace": 1, "quicken": 1, "hurry * along": 1, "zip along": 1,
               "ease * pace": -1, "slacken": -1, "take your time": -1, "no rush": -1, "no hurry": -1, "no need to rush": -1, "no need to hurry": -1,
               "don t rush": -1, "don t hurry": -1, "what s the rush": -1, "what s the hurry": -1, "there s no rush": -1,
               "there s no hurry": -1, "less tempo": -1, "less speed": -1,
               "more tempo": 1, "more speed": 1, "more bpm": 1, "higher bpm": 1, "fewer bpm": -1, "less bpm": -1,
               "uptempo": 1, "downtempo": -1, "brisk": 1, "walking pace": -1,
               # the tempo itself moved by a verb: 'bump the tempo', 'raise the bpm', 'lower the speed'
               **{f"{verb} * {noun}": d for noun in ("tempo", "bpm", "speed") for verb, d in (
                   ("bump", 1), ("raise", 1), ("increase", 1), ("push", 1), ("up", 1), ("lower", -1),
                   ("decrease", -1), ("reduce", -1), ("drop", -1), ("cut", -1))},
               # ... or by its particle: 'bring the tempo up a touch', 'take the bpm down'
               **{f"{noun} * {particle}": d for noun in ("tempo", "bpm") for particle, d in (("up", 1), ("down", -1))}}
# a tempo said as a number that the tempo is moved to: 'take it up to 150', 'bring it down to 90', 'around 100 please'
TEMPO_TO = re.compile(r"(?:\b(?:up|down|back|it)\s+(?:to|at)|\b(?:tempo|bpm|speed)\b[a-z\s]{0,16}?\b(?:around|about|at|to|of)|"
                      r"\b(?:tempo|bpm|speed)\s+(?:sit|be|stay|sits|is)\s+(?:at\s+)?)"
                      r"\s+(?:about\s+|around\s+|roughly\s+)?(\d{2,3})\b"
                      r"(?!\s*(?:%|percent|seconds?|secs?|minutes?|mins?|bars?|hz|khz|db|s\b))")
# a message that is only a tempo: '90', 'at 90', 'try 140?', 'how about 100 please'
TEMPO_ALONE = re.compile(r"^\s*(?:at|around|about|try|maybe|how\s+about|what\s+about|say|let\s+s\s+try)?\s*(\d{2,3})"
                         r"\s*(?:please|then|instead)?\s*[?.!]?\s*$")
HALVE = re.compile(r"\b(?:(?P<half>half|halve)\s+(?:the\s+)?(?:tempo|speed|bpm)|(?P<half2>half\s+(?:as\s+fast|speed))"
                   r"|(?P<cut>(?:tempo|speed|bpm)\s+in\s+half)"
                   r"|(?:double)\s+(?:the\s+)?(?:tempo|speed|bpm)|twice\s+as\s+fast)\b")
# the tempo moved BY an amount, not to it: 'add 20 bpm', 'drop it by 10', '10 bpm faster', '15% slower', 'up 5 bpm'
BY_UP = r"add|up|plus|raise|bump|increase|push|quicken|faster|quicker|speed\s+(?:it\s+)?up|bring\s+(?:it\s+)?up|take\s+(?:it\s+)?up"
BY_DOWN = (r"drop|cut|minus|lower|reduce|decrease|take\s+off|knock\s+off|shave\s+off|slower|slow\s+(?:it\s+)?down|"
           r"bring\s+(?:it\s+)?down|take\s+(?:it\s+)?down")
TEMPO_BY = re.compile(rf"\b(?:(?P<up>{BY_UP})|(?P<down>{BY_DOWN}))\s+(?:(?:it|the\s+(?:tempo|bpm|speed))\s+)?(?:by\s+)?"
                      rf"(?:another\s+|an\s+extra\s+|a\s+further\s+)?(?P<n>\d{{1,3}})\s*(?P<unit>bpm|beats(?:\s+per\s+minute)?|%|percent)"
                      rf"|\b(?P<n2>\d{{1,3}})\s*(?P<unit2>bpm|beats(?:\s+per\s+minute)?|%|percent)?\s+(?:(?P<up2>faster|quicker|more|higher)"
                      rf"|(?P<down2>slower|less|fewer|lower))\b"
                      # 'knock ten bpm off', 'shave 5% off it'
                      rf"|\b(?:knock|shave|take|chop|trim)\s+(?:another\s+)?(?P<n3>\d{{1,3}})\s*(?P<unit3>bpm|%|percent)?\s+off\b")
TEMPO_STEP = 0.15  # one "slower" is 15 % slower; "much" and "a bit" scale it, 'too slow' turns it around


def _tempo_by(text: str, spec: MusicSpec) -> int | None:
    """The plan's tempo moved by the amount said (TEMPO_BY): BPM, or a percentage."""
    m = TEMPO_BY.search(text)
    if m is None or spec.tempo_bpm is None:
        return None
    unit = m.group("unit") or m.group("unit2") or m.group("unit3") or ""
    if m.group("n2") and not unit and not re.search(r"faster|quicker|slower", m.group(0)):
        return None  # '2 more drums', 'three less': a count, not a tempo
    n, sign = int(m.group("n") or m.group("n2") or m.group("n3")), 1 if (m.group("up") or m.group("up2")) else -1
    delta = spec.tempo_bpm * n / 100 if unit in ("%", "percent") else n
    return max(TEMPO_MIN, min(TEMPO_MAX, round(spec.tempo_bpm + sign * delta)))


UNITS = {w: n for n, w in enumerate("one two three four five six seven eight nine".split(), start=1)}
TEENS = {w: n for n, w in enumerate("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(), start=10)}
TENS = {w: 10 * n for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
SMALL = {**UNITS, **TEENS}
_TENS, _UNITS, _TEENS = "|".join(TENS), "|".join(UNITS), "|".join(TEENS)
# a tempo said in words: 'a hundred bpm', 'a hundred and twenty', 'ninety-five', 'one forty' (a musician's 140)
SPOKEN_NUMBER = re.compile(
    rf"\b(?:(?P<h>a|one|two)\s+hundred(?:\s+and)?(?:\s+(?P<ht>{_TENS})(?:[\s-](?P<hu>{_UNITS}))?|\s+(?P<hs>{_TEENS}|{_UNITS}))?"
    rf"|(?P<c>one)\s+(?P<ct>{_TENS}|{_TEENS})(?:[\s-](?P<cu>{_UNITS}))?"
    rf"|(?P<t>{_TENS})(?:[\s-](?P<tu>{_UNITS}))?"
    rf"|(?P<s>{_TEENS}|{_UNITS})(?=\s*(?:bpm|beats|%|percent)))\b")  # 'ten bpm', 'five percent'; not 'one more go'


def spoken_numbers(text: str) -> str:
    """The text with tempos said in words as digits ('a hundred bpm' → '100 bpm')."""
    def value(m: re.Match) -> str:
        g = m.groupdict()
        if g["h"]:
            rest = TENS.get(g["ht"] or "", 0) + UNITS.get(g["hu"] or "", 0) + SMALL.get(g["hs"] or "", 0)
            return str((2 if g["h"] == "two" else 1) * 100 + rest)
        if g["c"]:
            return str(100 + {**TENS, **TEENS}[g["ct"]] + UNITS.get(g["cu"] or "", 0))
        if g["s"]:
            return str(SMALL[g["s"]])
        return str(TENS[g["t"]] + UNITS.get(g["tu"] or "", 0))
    return SPOKEN_NUMBER.sub(value, text)


def _tempo(text: str, spec: MusicSpec) -> int | None:
    if (by := _tempo_by(text, spec)) is not None:
        return by
    if m := re.search(r"\b(\d{2,3})\s*(bpm|beats per minute)\b", text):
        return int(m.group(1))
    if (m := TEMPO_TO.search(text) or TEMPO_ALONE.match(text)) and TEMPO_MIN <= int(m.group(1)) <= TEMPO_MAX:
        return int(m.group(1))  # 'take it up to 150', 'around 90?'
    utterance = read(text, take=True)
    feel = re.search(r"\b(half|double)[\s-]?time\b", text)  # 'half-time feel', 'halftime', 'double time'
    factor = None if feel is None else 0.75 if feel.group(1) == "half" else 1.3
    if m := HALVE.search(text):  # 'half the tempo', 'double the speed', 'twice as fast': the factor as said
        factor = 0.5 if m.group("half") or m.group("half2") or m.group("cut") else 2.0
    if factor is None:
        # the longest phrase first: 'hurry it up' is no 'hurried' take, 'less fast' no 'fast'
        found = [(w, d, utterance.find(w)) for w, d in sorted(TEMPO_WORDS.items(), key=lambda wd: -len(wd[0].split()))]
        # a fault asks for its remedy however it is said ('it feels hurried', 'a bit rushed'); denied, for nothing
        senses = [(abs(m.sense) if w in TEMPO_FAULTS else m.sense) * d for w, d, m in found
                  if m is not None and not (w in TEMPO_FAULTS and utterance.words[m.start].negated
                                            and not utterance.remedy_asked(m.start))]
        senses = [s for s in senses if s]  # a held quality ('slow' in "it's slow, I like it") asks nothing
        if not senses:
            return None
        factor = 1 + TEMPO_STEP * max(-2.0, min(2.0, senses[0]))
    if spec.tempo_bpm is None:
        return None
    return max(TEMPO_MIN, min(TEMPO_MAX, round(spec.tempo_bpm * factor)))


@functools.cache
def _instrument_names() -> tuple[str, ...]:
    """Every instrument name and chat alias, longest first ('electric guitar' before 'guitar')."""
    return tuple(sorted(set(vocabulary().instruments) | set(ALIASES), key=len, reverse=True))


def named_instruments(text: str) -> list[str]:
    """The instruments a message names, as the sound set has them ('sax': saxophone, 'cowbell': drums)."""
    return _named_instruments(text.lower())


def _named_instruments(clause: str) -> list[str]:
    found = []
    for name in _instrument_names():
        if _has(clause, name):
            real = ALIASES.get(name, name)
            if real not in found:
                found.append(real)
            clause = clause.replace(name, " ")
    return found


# Verbs that take an instrument out or bring one in; the nearest one before an instrument's name in its clause
# decides, and a negation over the name ("no sax", "I don't want any drums", "without strings") takes it out.
REMOVE_VERBS = ("remove", "drop", "lose", "cut", "kill", "ditch", "mute", "strip", "scrap", "skip", "silence",
                "take * out", "take * away", "take * off", "get * out", "pull * out",
                "hate", "dislike", "can t stand", "cannot stand", "sick of", "tired of", "leave * out", "get rid", "axe",
                "delete", "omit", "instead of", "sans", "bored of", "bored with", "fed up with", "bin", "nix", "trash", "toss", "junk", "minus", "turn off", "switch off",
                "get shot of", "hold", "enough with", "enough of", "over the", "give * a rest", "sit * out", "do we need",
                "do we really need", "pull", "too much", "too many")
ADD_VERBS = ("add", "with", "more", "include", "bring", "put", "plus", "throw", "layer", "feature", "use", "give",
             "want", "need", "introduce", "also", "get some", "some", "how about", "try", "hear a", "hear an", "hear some", "hear the", "hear more",
             "get a", "get an", "have a", "have an", "have some", "stick", "chuck", "pop in", "pop a", "sneak",
             "crying out for", "screaming out for", "begging for", "could do with", "missing", "lacking",
             "like a", "like an", "like some", "love a", "love an", "love some", "slide", "tuck", "weave", "drop in",
             "drop * in", "slip", "bit of", "touch of", "dash of", "splash of", "hint of", "whisper of", "trace of", "sprinkle of", "sprinkling of",
             "pinch of", "smattering of", "what about", "where s", "there be", "has no", "have no", "got no", "get * in", "miss",
             "forgot", "forgotten")  # 'you forgot the strings'
# a message that is only instruments, politely ('banjo please', 'cello?', 'a flute, thanks'): each is asked for
ASKED_ALONE = frozenset({"please", "pls", "plz", "thanks", "thank", "you", "a", "an", "some", "the", "and", "too", "also",
                         "maybe", "perhaps", "now", ",", ".", "!", "?", "would", "be", "nice", "cool", "lovely", "great",
                         "good", "suit", "suits", "work", "fit", "help", "here", "this", "it", "really", "well", "nicely",
                         "touch", "addition", "idea", "i", "think", "reckon", "gorgeous", "beautiful", "perfect",
                         "amazing", "awesome", "brilliant", "fantastic", "wonderful", "sweet", "fun", "neat",
                         "interesting", "ace", "rad", "dope", "lush", "splendid", "excellent", "delightful", "welcome",
                         "charming", "cute", "fab", "superb", "ideal",
                         # a small measure, laid on top: 'a little glockenspiel on top', 'just a bit of flute'
                         "little", "bit", "of", "on", "top", "extra", "tiny", "subtle", "just"})  # 'the trumpet would be a nice touch'
# 'a cello would be nice', 'the cello would suit this'
# 'I can't hear the bass', 'I can barely hear the piano': a complaint that a part is missing, not a request to cut it
UNHEARD = re.compile(r"\b(?:can\s*not|can\s*t|cannot|can't|barely|hardly|don\s*t|do\s+not|never)\s+(?:even\s+)?hear\b")
# said after the name: 'the sax isn't working for me', 'the organ has to go', 'the drums get in the way'
NOT_WORKING = re.compile(r"^\s*(?:just\s+|really\s+|really\s+just\s+)?(?:is\s*n\s*t|isn't|is\s+not|s\s+not|does\s*n\s*t|doesn't|does\s+not|"
                         r"are\s*n\s*t|aren't|are\s+not|do\s*n\s*t|don't)\s+(?:really\s+)?(?:working|work|fitting|fit|"
                         r"doing\s+it|needed|helping|help)\b|^\s*(?:has|have|needs?)\s+to\s+(?:go|leave|disappear|be\s+gone)\b|^\s*gets?\s+in\s+the\s+way\b"
                         # 'the drums are a bit overbearing', 'I find the sax kind of intrusive', 'the organ feels out of place'
                         r"|^\s*(?:is|are|s|re|feels?|seems?|sounds?)?\s*(?:(?:a\s+)?(?:bit|little|tad|touch)\s+|kind\s+of\s+|kinda\s+|"
                         r"rather\s+|quite\s+|really\s+|very\s+|so\s+|pretty\s+|way\s+|super\s+|just\s+)*(?:too\s+much|in\s+the\s+way|"
                         r"pointless|unnecessary|superfluous|annoying|distracting|grating|jarring|irritating|overbearing|overpowering|"
                         r"intrusive|obtrusive|out\s+of\s+place|redundant|cluttering|overkill|cheap|cheesy|tacky|naff|awful|terrible|horrible|"
                         r"rubbish|dreadful|cringe|cringey|cringy|out\s+of\s+tune|off[\s-]key|wrong)\b"
                         r"|^\s*(?:is|are|s|re|feels?|seems?|sounds?)?\s*a\s+(?:bit|little|tad|touch)\s+much\s*$"
                         # 'the piano can go', 'the organ could go now', 'the sax can be cut'
                         r"|^\s*-?\s*free\b"  # 'sax-free please'
                         r"|^\s*,?\s*not\s+so\s+much\b"  # 'the drums are great, the organ not so much'
                         r"|^\s*(?:has|s|have|ve)\s+got\s+to\s+go\b|^\s*(?:gotta|must)\s+go\b|^\s*(?:out|off|be\s+gone)\s*$|^\s*sit\s+(?:this\s+one\s+)?out\b"
                         r"|^\s*(?:is\s+|s\s+)?(?:ruins|ruining|ruin|spoils|spoiling|kills|killing)\s+(?:it|this|the\s+(?:track|song|take|vibe))\b"
                         r"|^\s*(?:can|could|should|must|may|might)\s+(?:go|leave|sit\s+(?:this\s+one\s+)?out|"
                         r"be\s+(?:cut|dropped|removed|lost|binned))"
                         r"(?:\s+(?:now|please|i\s+think|honestly))*\s*$"
                         r"|^\s*(?:would|d|might)\s+be\s+better\s+(?:gone|off|out|cut|dropped|removed)\b"  # 'the sax would be better gone'
                         r"|^\s*(?:do\s*n\s*t|don't|does\s*n\s*t|doesn't|do\s+not|does\s+not)\s+(?:really\s+)?need\s+to\s+be\s+(?:there|here|in\s+(?:it|this))\b"
                         # 'the drums drown everything out', 'the organ is swamping the mix'
                         r"|^\s*(?:are\s+|is\s+|s\s+|re\s+|kind\s+of\s+|kinda\s+|just\s+)*(?:drown|drowns|drowning|swamp|swamps|"
                         r"swamping|bury|buries|burying|smother|smothers|smothering)\s+(?:everything|it|all|the\s+\w+)\b"
                         # 'the sax is getting on my nerves', 'the organ is doing my head in', 'the drums are bugging me'
                         r"|^\s*(?:is\s+|are\s+|s\s+|re\s+|really\s+)*(?:getting|gets|get|grating|grates|bugging|bugs|annoying|annoys|"
                         r"irritating|irritates|doing|does|driving|drives)\s+(?:on\s+my\s+nerves|on\s+me|me|my\s+head\s+in|"
                         r"me\s+(?:mad|crazy|nuts|insane|up\s+the\s+wall))?\b")
# 'swap the sax for a trumpet', 'replace the organ with strings', 'switch the piano to a rhodes': what follows the
# verb goes, what follows 'for', 'with' or 'to' comes in
SWAP = re.compile(r"\b(?:swap|switch|trade|exchange|replace|substitute|drop|ditch|lose)\b(?P<out>.*?)\b(?:for|with|to|by)\b(?P<in>.*)")
# one part become another: 'can the bass be an upright instead', 'could the sax become a trumpet'
BECOME = re.compile(r"(?P<out>.*?)\b(?:be|become)\s+(?:a|an|some|the)\b(?P<in>.*)")


# a removal said of a part named before it: 'the sax sounds cheesy, lose it', 'the organ? get rid of it'
PRONOUN_REMOVE = re.compile(r"\b(?:lose|drop|cut|kill|ditch|bin|scrap|remove|axe|nix|mute|delete)\s+"
                            r"(?:it|them|that|those)\b"
                            r"|\b(?:take|get|pull|cut|leave|kick|throw)\s+(?:it|them|that|those)\s+out\b"
                            r"|\bget\s+rid\s+of\s+(?:it|them|that|those)\b")


def _instrument_mentions(text: str) -> list[tuple[int, str]]:
    """(word index, instrument) for each place an instrument is named, longest names first ('electric guitar'
    before 'guitar'); a name said twice twice ('not the piano, the sax, remove the sax')."""
    return [(start, name) for start, _end, name in _mention_spans(text)]


@functools.lru_cache(maxsize=1024)
def _mention_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """(first word, last word, instrument) for each place an instrument is named, as `_instrument_mentions`."""
    utterance, taken, out = read(text, take=True), set(), []
    for name in _instrument_names():
        if utterance.find(name) is None:
            continue
        for start in range(len(utterance.words)):
            match = utterance.find_at(name, start)
            if match is not None and name == "keys" and start and utterance.words[start - 1].text in ("major", "minor"):
                continue  # 'minor keys' are keys of music, not keyboards
            if match is not None and not taken & set(range(match.start, match.end + 1)):
                taken |= set(range(match.start, match.end + 1))
                out.append((match.start, match.end, ALIASES.get(name, name)))
    return tuple(sorted(out))


# a verb and its particle around any number of instruments: 'pull the sax and the drums out', 'take the organ and
# the piano away'
PARTICLE_REMOVE = {"take": ("out", "away", "off"), "pull": ("out",), "leave": ("out", "off"), "get": ("out",), "keep": ("out",),
                   "cut": ("out",), "strip": ("out", "away"), "knock": ("out",), "throw": ("out",), "kick": ("out",),
                   "chuck": ("out",), "boot": ("out",)}


def _verb_before(text: str, index: int) -> str | None:
    """'remove' or 'add': the verb nearest before word `index` in its clause; 'keep' for a removal verb under a
    negation."""
    utterance = read(text, take=True)
    clause = utterance.words[index].clause
    words = [w for w in utterance.words if w.clause == clause]
    verbs = [w for w in words if w.index < index and w.text in PARTICLE_REMOVE]
    if verbs and any(w.index > index and w.text in PARTICLE_REMOVE[verbs[-1].text]
                     and not (w.text == "out" and w.index + 1 < len(utterance.words)
                              and utterance.words[w.index + 1].text == "front") for w in words):  # 'keep the drums out front'
        return "keep" if _denied(utterance, verbs[-1].index) else "remove"
    best = None
    for verbs, kind in ((REMOVE_VERBS, "remove"), (ADD_VERBS, "add")):
        for verb in verbs:
            for start in range(len(utterance.words)):
                match = utterance.find_at(verb, start)
                around = "*" in verb and match is not None and match.start < index <= match.end  # 'take the sax out'
                if match and (match.end < index or around) and utterance.words[match.start].clause == clause:
                    if best is None or match.end > best[0]:
                        best = (match.end, kind, _denied(utterance, match.start))
    if best and best[1] == "remove" and best[2]:
        return "keep"  # a removal denied: "don't drop the sax", "I'd hate to lose the piano" keep it
    return best[1] if best else None


# 'just the piano', 'only piano and bass', 'nothing but strings', 'solo piano', 'piano alone', 'drums and nothing
# else': the line-up becomes the instruments so named
ONLY_BEFORE = ("just", "only", "solo")
ONLY_AFTER = ("only", "alone", "solo", "nothing else")
ARTICLES = ("the", "a", "an", "some")
ONLY_VERBS = ("keep", "leave", "use", "want", "have", "play", "hear", "to", "i")


def asked_alone(text: str) -> bool:
    """The message is only instruments and politeness ('a marimba would be fun', 'cello please'): each is asked for."""
    return bool(_instrument_mentions(text)) and not _unasked_words(text)


def _unasked_words(text: str) -> list[str]:
    """The words of the message that are neither an instrument's name nor politeness (ASKED_ALONE)."""
    words, named = read(text, take=True).words, _named_places(text)
    return [w.text for k, w in enumerate(words) if k not in named and w.text not in ASKED_ALONE]


def polite_words_dropped(text: str) -> str:
    """The message without its politeness ('a marimba would be fun' → 'marimba'; 'drum and bass' kept whole):
    the polite words ('fun', 'welcome') are no feeling asked of the music."""
    words, named = read(text, take=True).words, _named_places(text)
    return " ".join(w.text for k, w in enumerate(words) if k in named or w.text == "and")


def _named_places(text: str) -> set[int]:
    """The places of the words that name an instrument, as written ('synth' of 'synth-heavy', not 'heavy')."""
    return {k for start, end, _name in _mention_spans(text) for k in range(start, end + 1)}


def _only(text: str, mentions: list[tuple[int, str]]) -> bool:
    """The request names its instruments as the whole line-up ('just the piano', 'piano only')."""
    if re.search(r"\bnothing but\b", text):  # 'but' ends a clause: the words list has no 'but'
        return True
    words = [w.text for w in read(text, take=True).words]
    for index, _name in mentions:
        before = [w for w in words[:index] if w not in ARTICLES and w not in ONLY_VERBS]  # 'only keep the bass'
        if before and before[-1] in ONLY_BEFORE and not read(text, take=True).words[index].negated:
            return True
    last = mentions[-1][0] if mentions else None
    after = " ".join(words[last + 1:last + 4]) if last is not None else ""
    if re.match(r"solo\s+(?:is|was|s|sounds|bit|part|section|would|could|might|will)\b", after) \
            or (after.startswith("solo") and last and words[last - 1] in ("a", "an", "the")
                and read(text, take=True).words[last].negated):
        return False  # 'the sax solo is the best bit', "it doesn't need a sax solo": a passage, not the line-up
        # ('make it a piano solo' is the line-up)
    return any(after.startswith(a) or after.startswith(f"and {a}") for a in ONLY_AFTER)


def _instruments(text: str, spec: MusicSpec) -> list[str] | None:
    added: list[str] = []
    removed: list[str] = []
    utterance = read(text, take=True)
    mentions = _instrument_mentions(text)
    if mentions and _only(text, mentions):
        kept = [_spec_instrument(utterance.words[i].text, spec) or name for i, name in mentions
                if not utterance.words[i].negated]
        return list(dict.fromkeys(kept))[:6] or None
    out, into, swap = _swapped(text)
    if out and into:
        removed += [_spec_instrument(n, spec) or n for n in out]
        added += into
        text = text[:swap.start()]  # the rest of the request is read as usual
        utterance = read(text, take=True)
    mentions = _instrument_mentions(text)
    alone = asked_alone(text)
    pronoun = PRONOUN_REMOVE.search(text)
    before = [i for i, _n in mentions
              if pronoun and len(" ".join(w.text for w in utterance.words[:i])) < pronoun.start()]
    for index, name in mentions:
        verb = _verb_before(text, index) or ("add" if alone else None)
        if verb is None and before and index == before[-1]:
            verb = "remove"  # the part named last before it: 'the drums are fine but the sax, lose it'
        clause = utterance.words[index].clause
        if verb in (None, "add") and UNHEARD.search(" ".join(w.text for w in utterance.words[:index] if w.clause == clause)):
            added.append(_spec_instrument(utterance.words[index].text, spec) or name)  # wants the bass, not rid of it
        elif verb == "keep":
            continue
        elif (utterance.words[index].negated and not utterance.words[index].lowered and not _located(utterance, index)) \
                or verb == "remove" \
                or _not_working(utterance, index, name):  # 'tone the drums down' lowers, keeps them
            removed.append(_spec_instrument(utterance.words[index].text, spec) or name)
        elif verb == "add" or (verb is None and COMING_IN.search(_after_name(utterance, index, name))):
            added.append(name)
    if not removed and not added:
        return None
    current = [i for i in spec.instruments if i not in removed]
    current += [name for name in dict.fromkeys(added) if name not in current and name not in removed]
    while len(current) > 6:
        current.pop(0)
    return current or None


def _swapped(text: str) -> tuple[list[str], list[str], re.Match | None]:
    """The instruments a swap sends out and brings in (SWAP, BECOME) and its match; a pronoun sent out is the part
    named last before it ("I don't love the organ, swap it for piano")."""
    out, into, swap = [], [], None
    for pattern in (SWAP, BECOME):
        if not (out and into) and (swap := pattern.search(text)):
            out, into = _named_instruments(swap.group("out")), _named_instruments(swap.group("in"))
            if not out and into and re.fullmatch(r"\s*(?:it|them|that|those|this)\s*", swap.group("out")):
                out = [name for _i, name in _instrument_mentions(text[:swap.start()])][-1:]
    return out, into, swap


def _located(utterance, index: int) -> bool:
    """The instrument at word `index` only says where ('not enough oomph in the drums', 'no reverb on the piano'):
    a denial over the clause is not over the part."""
    words = utterance.words
    return index >= 2 and words[index - 2].text in {"in", "on", "from"} and words[index - 1].text in {"the", "that", "this"}


def _denied(utterance, start: int) -> bool:
    """The verb at word `start` is denied by a negation just before it ("don't drop", "never cut", "I'd hate to
    lose", "don't want to lose"), not by one earlier in its clause ("I can't hear the bass so drop the piano")."""
    word = utterance.words[start]
    before = [w for w in utterance.words[max(0, start - 4):start] if w.clause == word.clause]
    return word.negated and any(negator(w.text) or w.text in ("t", "hate") for w in before)  # "don t", "hate to"


def _spaced(request: str) -> str:
    """A request as the keyword layer reads it: lower case, apostrophes as spaces ("don't" is 'don t'), one space
    between words and one at each end."""
    return " " + " ".join(request.lower().replace("'", " ").split()) + " "


def keeps_instrument(request: str) -> bool:
    """The request denies taking an instrument out ("don't drop the sax", "I'd hate to lose the piano"): an
    instruction with nothing to carry out, whose words ('lose' is NRC's sadness) are no feeling of the music's."""
    text = _spaced(request)
    return any(_verb_before(text, index) == "keep" for index, _name in _instrument_mentions(text))


def _after_name(utterance, index: int, name: str) -> str:
    """The words after an instrument's name in its clause."""
    clause, end = utterance.words[index].clause, index + 1
    while end < len(utterance.words) and utterance.words[end].text in name.split():  # the name as said: 'bass'
        end += 1
    return " ".join(w.text for w in utterance.words[end:] if w.clause == clause)


def _not_working(utterance, index: int, name: str) -> bool:
    """The words after an instrument's name in its clause say it should go (NOT_WORKING)."""
    return NOT_WORKING.search(_after_name(utterance, index, name)) is not None


# said after the name: 'can the choir come in', 'let the strings kick in', 'the cello could join'
COMING_IN = re.compile(r"^\s*(?:could|can|might|will|would)\s+(?:add|bring|give|lift|help)\b"  # 'cellos would add some depth'
                       r"|^\s*(?:(?:could|can|should|might|must|will|would)\s+)?(?:come|comes|coming|kick|kicks|join|joins|"
                       r"enter|enters|creep|creeps|sneak|sneaks|drift|drifts|fade|fades)\s+(?:back\s+)?in\b|^\s*(?:could|can|should)?\s*join\b"
                       # wished for: 'a warm violin line would be lovely', 'a cello part would suit it', 'a french horn
                       # would sound majestic' (not 'would sound awful', 'would be better gone')
                       r"|^\s*(?:(?:line|part|solo|melody|riff|lead|layer|section|sound)\s+)?(?:would|could|might)\s+"
                       r"(?:(?:be|sound)\s+(?:a\s+|an\s+)?(?:really\s+|so\s+|very\s+|quite\s+)?(?!(?:awful|terrible|bad|worse|"
                       r"wrong|horrible|odd|weird|strange|silly|out|off|too|cheesy|naff|tacky|cheap|much|better|overkill|a\s+bit|"
                       r"a\s+little|annoying|distracting|pointless|unnecessary|redundant|grating|jarring|boring|dull)\b)[a-z]+"
                       r"|suit|fit|work)\b")


def _affirmed(text: str, phrase: str) -> bool:
    """The phrase is in the text and asked for: not negated, not 'too ...' ('less jazzy' is not a request for
    jazz; the request reader turns it around), read as the request reader reads it, praise taken out ("better, but
    still a bit sad": 'sad' is said of the take)."""
    from tools.grounding.request import without_feedback

    match = read(without_feedback(text), take=True).find(phrase)
    return match is not None and match.sense > 0


# a style asked for by a word that names one only when asked for ('make it jungle', 'turn it into an aria', 'a
# hoedown version'): statements.style_words, unless the request table reads the word ('make it minimal' is sparser)
STYLE_AFTER = ("version", "style", "feel", "vibe", "remix", "track", "tune", "number", "please", "instead", "now",
               "then", "thing")
STYLE_ASK = re.compile(r"\b(?:make it|turn it into|change it to|switch it to|switch to|go|do it as|play it as|"
                       r"(?<!not )(?:a|an))\s+(?:(?:a|an|some|more|proper|full|real|bit of a)\s+)*"
                       r"(?P<name>[a-z][a-z&-]*(?:\s[a-z][a-z&-]*)?)\s*(?=$|[,.!?]|(?:" + "|".join(STYLE_AFTER) + r")\b)")


def _style_asked(text: str) -> str | None:
    """The genre of the style asked for; a genre's whole name before its words ('make it speed garage' is the
    electronic of the genre tree, not the rock of 'garage')."""
    from tools.grounding.cues import match_cues, request_table
    from tools.grounding.statements import genre_names, style_words

    words, names = style_words(), genre_names()
    for m in STYLE_ASK.finditer(text):
        name = m.group("name").strip()
        for candidate in [c for c in dict.fromkeys((name, *name.split())) if c not in STYLE_AFTER]:  # 'jungle version'
            genre = names.get(candidate) if " " in candidate else None
            genre = genre or words.get(candidate)
            if genre and not match_cues(candidate, request_table()["cues"]) and _affirmed(text, candidate):
                return genre
    return None


def _genre(text: str) -> str | None:
    for word, genre in GENRE_WORDS.items():
        if _affirmed(text, word):
            return genre
    for genre in sorted(vocabulary().genres, key=len, reverse=True):
        if _affirmed(text, genre):
            return _named_around(text, genre) or genre
    return _style_asked(text)


def _named_around(text: str, genre: str) -> str | None:
    """The genre of a longer name the text holds around a bare genre name: 'witch house' is techno, 'pop punk'
    punk, 'folk rock' folk (the names a cover states a genre by, tools.grounding.statements.genre_names)."""
    from tools.grounding.statements import genre_names

    utterance = read(text, take=True)
    bare = utterance.find(genre)
    best: tuple[int, str] | None = None
    for phrase, named in genre_names().items():
        match = utterance.find(phrase) if len(phrase) > len(genre) and genre in phrase else None
        if match and match.start <= bare.start and bare.end <= match.end and match.end - match.start > bare.end - bare.start \
                and (best is None or match.end - match.start > best[0]):
            best = (match.end - match.start, named)
    return best[1] if best else None


def _named_style(text: str, genre: str) -> str | None:
    """The longest style of `genre` the text asks for by name ('make it witch house': witch house), for the
    prompt (tools.grounding.statements.subgenre_names)."""
    from tools.grounding.statements import subgenre_names

    styles = [name for name, g in subgenre_names().items() if g == genre and _affirmed(text, name)]
    return max(styles, key=len, default=None)


def _mood(text: str, spec: MusicSpec) -> dict[str, Any] | None:
    def clamp(x):
        return round(min(1.0, max(0.0, x)), 2)

    def with_kept(mood: str, energy: float, valence: float) -> dict[str, Any]:
        """The new mood, the plan's moods that agree with it ('sad' drops 'warm'), and an affect they fit."""
        from tools.grounding.coherence import compatible, within_moods

        moods = [mood]
        for m in spec.moods:
            if m not in moods and len(moods) < 3 and compatible(m, moods):
                moods.append(m)
        return {"moods": moods, **within_moods(moods, energy, valence)}

    from tools.grounding.cues import match_cues, mood_cues, request_table

    if len(match_cues(text, {**request_table()["cues"], **mood_cues()})) > 1:
        return None  # 'darker and heavier': the request reader weighs both ('darker' alone had set the energy)
    for word, (mood, d_energy, d_valence) in MOOD_SHIFTS.items():
        if _has(text, word) and _affirmed(text, word):
            return with_kept(mood, clamp((spec.energy or 0.5) + d_energy), clamp((spec.valence or 0.5) + d_valence))
    for mood, hints in vocabulary().moods.items():
        if _has(text, mood) and _affirmed(text, mood):
            return with_kept(mood, hints["energy"], hints["valence"])
    return None


NAMED_KEY = re.compile(r"\b([a-g](?:#|b|♯|♭| sharp| flat)?) (major|minor)\b")
# a key named without its mode keeps the plan's: 'put it in E flat', 'in the key of G', 'up to F sharp'
KEY_ALONE = re.compile(r"(?:\b(?:in|to|into)\s+(?:the\s+)?|\b)key\s+of\s+([a-g](?:#|♯|♭| sharp| flat)?)"
                       r"(?=\s*(?:$|[,.!?;]|please|instead|then|now|thanks)\b|\s*$)"
                       r"|\b(?:in|to|into)\s+([a-g](?:#|♯|♭| sharp| flat)?)(?=\s*(?:$|[,.!?;]|please|instead|then|now|thanks)\b|\s*$)")
# the key moved by an interval ('up a semitone', 'down a whole step', 'a fifth higher', 'transpose it up 2 semitones',
# 'raise the key', 'key change'): semitones per interval name
INTERVALS = {"semitone": 1, "half step": 1, "half-step": 1, "halfstep": 1, "tone": 2, "whole tone": 2, "whole step": 2,
             "whole-step": 2, "step": 2, "minor third": 3, "major third": 4, "third": 4, "fourth": 5, "fifth": 7}
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_INTERVAL = r"(?P<n>a|an|one|two|three|four|five|six|\d)?\s*(?P<iv>" + "|".join(
    sorted((re.escape(k) for k in INTERVALS), key=len, reverse=True)) + r")s?"
# the direction first ('up a semitone') or after a counted interval ('a fifth up', 'two semitones down'; not 'step up')
_COUNTED = _INTERVAL.replace("?P<n>", "?P<n2>").replace(")?\\s*(?P<iv>", ")\\s*(?P<iv2>")
TRANSPOSE = re.compile(r"\b(?P<dir>up|down|higher|lower)\s+(?:by\s+)?" + _INTERVAL + r"\b|\b" + _COUNTED
                       + r"\s+(?P<dir2>up|down|higher|lower)\b")
KEY_STEP = re.compile(r"\b(?P<up>raise|higher|lift|up)\s+(?:the\s+)?key\b|\bkey\s+(?P<up2>up|higher)\b"
                      r"|\b(?P<change>key\s+change)\b|\b(?:lower|drop)\s+(?:the\s+)?key\b(?!\s+to\b)"
                      r"|\bkey\s+(?:down|lower)\b|\blower\s+key\b|\bhigher\s+key\b")
RELATIVE = re.compile(r"\b(?P<kind>relative|parallel)\s+(?P<mode>major|minor)\b")
MODE_NOUNS = r"(?:keys?|modes?|tonality|scales?|feel|sound|vibe|chords?|harmony|harmonies|progressions?|stuff)"
ARTICLE_NOT_BEFORE = r"(?:please|instead|then|and|or|but|for|with|now|too|again|thanks|thank|this|that|it|key of)"
MODE_SAID = {mode: re.compile(rf"\b{mode}\s+{MODE_NOUNS}\b|\b(?:in|to|into|make it|go|keep it|not|be|but|of|less|more|from|avoid)\s+"
                              rf"(?:a\s+)?{mode}\b|^\s*{mode}\s*$") for mode in ("major", "minor")}
OTHER_MODE = {"major": "minor", "minor": "major"}


def _shifted_tonic(tonic: str, semitones: int) -> str:
    from tools.analysis import PITCHES

    return PITCHES[(PITCH_CLASS[tonic] + semitones) % 12]


def _moved_key(text: str, spec: MusicSpec) -> dict[str, str] | None:
    """The plan's key moved as asked: by an interval ('up a semitone', 'a fifth higher'), a step ('raise the key':
    a whole tone; 'key change': the pop modulation, a semitone up), or to its relative or parallel key ('the
    relative minor' of F major is D minor)."""
    if m := RELATIVE.search(text):
        mode, shift = m.group("mode"), 0
        if m.group("kind") == "relative" and mode != spec.mode:
            shift = -3 if mode == "minor" else 3
        return {"key": _shifted_tonic(spec.key, shift), "mode": mode}
    if m := TRANSPOSE.search(text):
        count = m.group("n") or m.group("n2") or "1"
        steps = (int(count) if count.isdigit() else COUNTS.get(count, 1)) * INTERVALS[m.group("iv") or m.group("iv2")]
        sign = 1 if (m.group("dir") or m.group("dir2")) in ("up", "higher") else -1
        return {"key": _shifted_tonic(spec.key, sign * steps), "mode": spec.mode}
    if m := KEY_STEP.search(text):
        steps = 1 if m.group("change") else 2 if (m.group("up") or m.group("up2") or "higher" in m.group(0)) else -2
        return {"key": _shifted_tonic(spec.key, steps), "mode": spec.mode}
    return None


def _tonic(named: str) -> str | None:
    """The tonic as the plan spells it ('e flat' -> 'Eb', 'f sharp' -> 'F#', 'b' -> 'B'): the edit tools take only
    those spellings (a lower-case 'e flat' was refused, and the key asked for was not set); None for none."""
    try:
        return normalise_tonic(named)
    except SpecError:
        return None


def _key(text: str, spec: MusicSpec) -> dict[str, str] | None:
    """A named key ('in A minor', 'to E flat major'), else a mode asked for by name: 'minor', 'in a minor key',
    and turned around when negated ('not in a minor key', 'no minor key' ask for major)."""
    for m in NAMED_KEY.finditer(text):
        if m.group(1) == "a" and re.match(rf"\s+(?!{ARTICLE_NOT_BEFORE}\b)[a-z]", text[m.end():]):
            continue  # 'a minor key', 'a minor tweak': the article; 'in a minor', 'a minor please': the key of A
        tonic = _tonic(m.group(1))
        return {"key": tonic, "mode": m.group(2)} if tonic and _affirmed(text, m.group(0).strip()) else None
    for m in KEY_ALONE.finditer(text):
        if spec.mode and (tonic := _tonic(m.group(1) or m.group(2))) and _affirmed(text, m.group(0).strip()):
            return {"key": tonic, "mode": spec.mode}
    if not spec.key:
        return None
    if (moved := _moved_key(text, spec)) is not None:
        return moved
    utterance = read(text, take=True)
    wanted = {mode if found.sense > 0 else OTHER_MODE[mode] for mode, said in MODE_SAID.items()
              if said.search(text) and (found := utterance.find(mode)) is not None}
    return {"key": spec.key, "mode": wanted.pop()} if len(wanted) == 1 else None


DECADE = re.compile(r"\b(?:the|of|from|like)\s+(?:19|20)?\d0'?s\b|\b(?:19|20)\d0'?s\b")  # 'the 80s' is an era


def _duration(text: str, spec: MusicSpec) -> float | None:
    text = DECADE.sub(" ", text)
    if m := re.search(r"\b(\d{1,3}(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", text):
        return float(m.group(1))
    if _has(text, "longer"):
        return min(MAX_DURATION_S, round(spec.duration_s * 1.5, 1))
    if _has(text, "shorter"):
        return max(1.0, round(spec.duration_s / 1.5, 1))
    return None


SECTIONS = r"(intro|verse|pre-chorus|chorus|bridge|breakdown|build|drop|solo|theme|episode|outro|ending|beginning|start)"
SECTION_WORDS = {"ending": "outro", "beginning": "intro", "start": "intro"}
MUTE = re.compile(rf"\b(?:no|without|drop|mute|remove|lose|cut|take)\s+(?:the\s+|any\s+)?(?P<inst>[a-z ]+?)\s+"
                  rf"(?:out\s+of|in|from|during)\s+(?:the\s+)?{SECTIONS}\b")
DROP_SECTION = re.compile(rf"\b(?:no|skip|drop|remove|cut|lose|without)\s+(?:the\s+|a\s+|an\s+)?{SECTIONS}\b(?!\s+(?:in|from))")
INTRO_LONGER = re.compile(r"\b(?:(?:longer|extend(?:ed)?|lengthen|stretch(?:ed)?|more)\b[a-z ]{0,12}\bintro|"
                          r"intro\b[a-z ]{0,20}\b(?:longer|too short))\b")
INTRO_SHORTER = re.compile(r"\b(?:(?:shorter|shorten|trim|cut)\b[a-z ]{0,12}\bintro|intro\b[a-z ]{0,20}\b(?:shorter|too long))\b")
ADD_BRIDGE = re.compile(r"\b(?:add|put|want|like|include|insert|give|with|need)\b[a-z ]{0,20}\bbridge\b")
BIG_END = re.compile(r"\b(?:end|ends|ending|finish|finishes|close)\s+(?:it\s+)?(?:on|with)\s+(?:a\s+|the\s+)?(?:big\s+|loud\s+|full\s+)?chorus\b"
                     r"|\b(?:end|finish)\s+(?:big|loud)\b|\bbig\s+(?:ending|finish)\b")
REVERB_ORDER = ("dry", "room", "studio", "hall", "cathedral")
MORE_ROOM = re.compile(r"\b(?:more|bigger|lots of|add)\s+(?:reverb|space|room|echo)\b|\b(?:wetter|roomier|more spacious)\b")
LESS_ROOM = re.compile(r"\b(?:less|smaller|less of the)\s+(?:reverb|space|room|echo)\b|\btighter\b")
DRY = re.compile(r"\b(?:drier|dryer|bone dry|dry|no reverb|without reverb)\b")


def _section(word: str) -> str:
    return SECTION_WORDS.get(word, word)


KEYBOARDS = ("electric piano", "piano", "organ", "synth pad", "synth lead", "harpsichord", "clavinet")


HORNS = ("saxophone", "trumpet", "brass", "french horn", "clarinet", "flute")


def _spec_instrument(named: str, spec: MusicSpec) -> str | None:
    """The plan's own instrument a listener named ('bass' is the plan's upright bass, 'drums' its drum machine,
    'the keys' its organ or piano)."""
    if named.strip() in ("keys", "keyboard", "keyboards"):
        return next((i for i in spec.instruments if i in KEYBOARDS), None)
    if named.strip() in ("horn", "horns"):  # a jazz player's horn is the saxophone or trumpet the plan has
        return next((i for i in spec.instruments if i in HORNS), None)
    found = _named_instruments(f" {named} ")
    for name in found:
        if name in spec.instruments:
            return name
    words = named.split()
    for name in spec.instruments:
        if any(w in name.split() or name.startswith(w.rstrip("s")) for w in words):
            return name
    return None


def _form_edits(text: str, spec: MusicSpec, why: str) -> tuple[list[Edit], str]:
    """Edits of the form (intro length, a bridge, a section dropped, an instrument out of a section, a big
    ending) and the text with their words taken out, so that 'longer intro' does not also read as 'longer'."""
    edits: list[Edit] = []

    def take(pattern, make):
        nonlocal text
        if m := pattern.search(text):
            edit = make(m)
            if edit is not None:
                edits.append(edit)
                text = text[:m.start()] + " " + text[m.end():]

    form = "edit_form"
    take(MUTE, lambda m: (inst := _spec_instrument(m.group("inst"), spec)) and
         Edit(form, {"change": "mute", "section": _section(m.group(2)), "instrument": inst, "rationale": why}))
    take(INTRO_SHORTER, lambda m: Edit(form, {"change": "shorter_intro", "rationale": why}))
    take(INTRO_LONGER, lambda m: Edit(form, {"change": "longer_intro", "rationale": why}))
    take(DROP_SECTION, lambda m: Edit(form, {"change": "drop_section", "section": _section(m.group(1)), "rationale": why}))
    take(ADD_BRIDGE, lambda m: Edit(form, {"change": "add_bridge", "rationale": why}))
    take(BIG_END, lambda m: Edit(form, {"change": "end_on_chorus", "rationale": why}))
    return edits, text


def _space(text: str, spec: MusicSpec) -> str | None:
    """A room named ('as if in a cathedral', 'a concert hall'), dry, or one step more or less reverb."""
    from tools.form import space_words

    for word, space in sorted(space_words().items(), key=lambda w: -len(w[0])):
        if space != "dry" and re.search(rf"\b(?:in|like|inside|of|at)\s+(?:a\s+|an\s+|the\s+)?(?:[a-z]+\s+)?{re.escape(word)}\b", text):
            return space
    if DRY.search(text):
        return "dry"
    step = 1 if MORE_ROOM.search(text) else -1 if LESS_ROOM.search(text) else 0
    if not step:
        return None
    here = REVERB_ORDER.index(spec.space) if spec.space in REVERB_ORDER else REVERB_ORDER.index("studio")
    return REVERB_ORDER[min(len(REVERB_ORDER) - 1, max(0, here + step))]


def without_form_words(request: str, spec: MusicSpec) -> str:
    """The request with its form phrases taken out: what the scene and mood reader should read ('end on a big
    chorus' is not a cheerful word). Rooms stay: 'in a cathedral' is a room and a scene (organ, choir, slower)."""
    text = _spaced(request)
    return " ".join(_form_edits(text, spec, "")[1].split())


# an instrument's name with '-less' ('drumless', 'guitar-less'): without it
WITHOUT_SUFFIX = re.compile(r"\b([a-z]+?)-?less\b")


def _without_suffix(text: str) -> str:
    """'drumless please' read as 'no drum please', for every instrument name and alias (not 'endless', 'restless')."""
    names = set(_instrument_names())

    def without(m: re.Match) -> str:
        return f"no {m.group(1)}" if m.group(1) in names or f"{m.group(1)}s" in names else m.group(0)

    return WITHOUT_SUFFIX.sub(without, text)


def interpret(request: str, spec: MusicSpec) -> list[Edit]:
    """The edits a request asks for explicitly, in a stable order; [] when it needs the LLM."""
    text = _without_suffix(_spaced(request))
    why = f"listener asked: {request.strip()[:120]!r}"
    form_edits, text = _form_edits(text, spec, why)
    edits: list[Edit] = []
    if genre := _genre(text):
        style = _named_style(text, genre)
        edits.append(Edit("set_genre", {"genre": genre, **({"subgenre": style} if style else {}), "rationale": why}))
    if mood := _mood(text, spec):
        edits.append(Edit("set_mood", {**mood, "rationale": why}))
    if (bpm := _tempo(text, spec)) is not None:
        edits.append(Edit("set_tempo", {"bpm": bpm, "rationale": why}))
    if key := _key(text, spec):
        edits.append(Edit("set_key", {**key, "rationale": why}))
    if m := re.search(r"\b([2-7]/[48])\b", text) or SPOKEN_METER.search(text):
        meter = m.group(1) if "/" in m.group(1) else SPOKEN_METERS[m.group(1).replace("-", " ")]
        edits.append(Edit("set_time_signature", {"time_signature": meter, "rationale": why}))
    elif _affirmed(text, "waltz"):  # a waltz is a meter in any genre (a jazz waltz, a country waltz)
        edits.append(Edit("set_time_signature", {"time_signature": "3/4", "rationale": why}))
    elif _has(text, "waltz") and spec.time_signature == "3/4":  # 'not a waltz'
        edits.append(Edit("set_time_signature", {"time_signature": "4/4", "rationale": why}))
    if (instruments := _instruments(text, spec)) is not None:
        edits.append(Edit("set_instruments", {"instruments": instruments, "rationale": why}))
    if (seconds := _duration(text, spec)) is not None:
        edits.append(Edit("set_duration", {"seconds": seconds, "rationale": why}))
    if ANOTHER_TAKE.search(text):
        edits.append(Edit("new_take", {"rationale": why}))
    if (space := _space(text, spec)) is not None:
        edits.append(Edit("set_space", {"space": space, "rationale": why}))
    return edits + form_edits
