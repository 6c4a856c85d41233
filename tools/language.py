"""One reader for the words on a cover and in a chat request: words with their lemmas ('gloomier' ->
'gloomy'), negation over its clause ("I don't want it sad", "less like a party"; in chat also a removal verb's
object, "lose the gloom"), "too X" (less X), "not X enough" (more X), a quality said of the take ("it's a bit
slow") or lowered ("turn the darkness down"), a comparative held ("don't make it any faster"), intensity ("much",
"a bit") and phrases matched on lemmas, with gaps for phrasal verbs ("tone it down" matches "tone * down").

Lemmas come from lemminflect (its shipped English lemma tables and out-of-vocabulary rules), so a table lists
a word once and every inflection finds it. Loaded lazily; without it words match only as written.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FAILING = frozenset({"fails to", "failed to", "fail to", "refuses to", "refused to"})  # a denial by a verb
# Words that open a negation, which holds to the end of its clause ("I don't want it sad and slow").
NEGATORS = frozenset({"not", "no", "never", "nothing", "without", "less", "fewer", "neither", "nor", "avoid", "zero",
                      "stop", "quit", "nobody", "none", "hardly", "barely", "scarcely", "instead of", "rather than", "lack", "lacks",
                      "anything but", "everything but", "except", "hate to", "nowhere near",
                      "easy on", "easier on", "lighter on", "gentler on", "softer on", "opposite of", "clear of", "sans", "lay off", "other than", "sick of",
                      "tired of"}) | FAILING  # 'but' there negates, not a new clause
# Negation inside a contraction ("don't", "isn't", "shouldn't", "can't", "won't").
CONTRACTED = re.compile(r"^[a-z]+n't$|^cannot$|^cant$|^dont$|^doesnt$|^isnt$|^wasnt$|^shouldnt$|^wont$")
# A clause ends here: a negation before it does not reach past it.
BOUNDARY = frozenset({"but", "though", "although", "however", "yet", "instead", "while", "whereas"})
# Words that start a new, affirmed request inside a clause ("less dreamy and more punchy").
REAFFIRM = frozenset({"more", "add", "plus", "increase", "bring", "make", "give", "put", "keep", "turn", "go", "let", "also",
                      "then", "throw", "use", "try"})  # "lose the sax and make it sadder"; not 'sad and slow'
INTENSIFY = {"much": 1.6, "way": 1.6, "very": 1.4, "really": 1.4, "lot": 1.5, "lots": 1.5, "super": 1.5,
             "even": 1.2, "far": 1.5, "totally": 1.5, "completely": 1.6, "extremely": 1.6, "all": 1.3}
SOFTEN = {"bit": 0.5, "little": 0.5, "slightly": 0.5, "touch": 0.5, "tad": 0.5, "somewhat": 0.7,
          "kinda": 0.7, "fairly": 0.7, "bit more": 0.5, "notch": 0.6, "hint": 0.5, "dash": 0.5, "smidge": 0.5,
          "pinch": 0.5, "splash": 0.6, "sprinkle": 0.5, "whisper": 0.4, "trace": 0.5}
# In chat, a removal verb before its object negates it, as 'without' does: "lose the gloom", "get rid of the
# darkness", "take away the sadness", "enough of the doom" ask for less of a quality, as "drop the sax" takes the
# sax out (a removal is only read before a determiner: 'the drop' is a dance track's)
REMOVAL_VERBS = frozenset({"remove", "drop", "lose", "cut", "kill", "ditch", "skip", "scrap", "bin", "nix", "axe",
                           "eliminate", "banish", "ban", "shed", "strip", "minus"})
# 'ease up on the intensity', 'back off on the reverb': what follows is asked for less
LET_UP = frozenset({("ease", "up"), ("ease", "off"), ("back", "off"), ("lay", "off"), ("let", "up")})
# 'move away from jazz', 'steer away from the gloom' (not 'speeding away from the cops')
TURN_AWAY = frozenset({"move", "moving", "go", "going", "get", "getting", "steer", "stay", "shift", "turn", "drift", "step",
                       "veer", "pull"})
DETERMINERS = frozenset({"the", "that", "those", "this", "these", "all", "any", "some", "my", "your", "its", "their"})


def _removes(toks: list[str], i: int, start: int) -> bool:
    """Whether the token at `i` opens a removal of what follows (REMOVAL_VERBS)."""
    tok, after = toks[i], toks[i + 1] if i + 1 < len(toks) else ""
    before = toks[i - 1] if i else ""
    if after not in DETERMINERS or (i + 2 < len(toks) and toks[i + 2] in NOT_A_QUALITY):  # 'drop the key to minor'
        return False
    return (tok in REMOVAL_VERBS or (tok == "away" and before in {"take", "do", "throw"})
            or (tok == "of" and before == "rid") or (tok in {"me", "us"} and before == "spare") or (tok in {"of", "with"} and before == "enough"
                                                     and (i - 1 == start or toks[i - 2] in {"had", "ve", "i've"})))


# said of the take, 'lack' asks for what is missing ("it lacks warmth" wants warmth); on a cover it negates ('A LACK OF
# LIGHT' is dark)
WANTING = frozenset({"lack", "lacks", "lacking"})
HAVING = frozenset({"has", "have", "got"})  # 'it has no drive', "it's got no bass": what the take lacks, asked for
NONE_OF = frozenset({"no", "zero"})  # a determiner that denies what follows: 'no drive', 'zero punch'
TOO = "too"
# "it's overly sentimental" is 'too sentimental'; 'too little energy' is not enough of it, and "it's not overly
# cheerful" understates: neither is 'too'
TOO_WORDS = frozenset({TOO, "overly", "excessively"})
ENOUGH = "enough"
# Said of the take in chat ('it's a bit slow', 'sounds kind of manic', "it isn't very upbeat"): a quality the take
# has is a complaint and asks for its opposite, as 'too slow' does; denied ("it isn't very upbeat") it asks for the
# quality. Read after a subject and a copula or a verb of perception, across hedges, for the first word and one
# joined by 'and' ('slow and dull'), or a whole likeness ('it feels like a car advert'); not in a clause that praises
# ('it's dark and I love it': PRAISE), not on a cover.
SAID_SUBJECTS = frozenset({"it", "this", "that", "there",  # "there's a lot going on"
                           # the take by another name: 'the melody is kind of sad', 'the whole mix is muddy'
                           "melody", "tune", "song", "track", "mood", "vibe", "thing", "mix", "feel", "tone", "sound",
                           "beat", "groove", "harmony", "chords", "atmosphere", "piece", "take", "version", "music",
                           "tempo", "pace", "energy", "ending", "intro", "chorus"})
SAID_VERBS = frozenset({"is", "s", "was", "sounds", "sound", "feels", "feel", "seems", "seem", "isn't", "isnt", "isn",
                        "are", "were", "re", "aren't", "arent", "aren",
                        "wasn't", "wasnt", "wasn"})
SAID_OPENERS = frozenset({"it's", "its", "that's", "thats", "this's", "there's", "theres"})
HEDGES = frozenset({"bit", "little", "touch", "tad", "kind", "sort", "of", "kinda", "sorta", "rather", "quite", "pretty",
                    "very", "so", "really", "way", "slightly", "somewhat", "super", "just", "still", "not", "lot", "t",
                    "too", "all", "overly", "getting", "far", "much", "abit", "on", "the",  # 'on the slow side'
                    "giving", "like",  # "it's giving elevator", "it's like background noise": what the take gives off
                    "exactly", "particularly", "especially", "terribly", "remotely", "even", "as",  # "it's not exactly upbeat"
                    "hardly", "barely", "scarcely", "never", "nearly", "no",  # "it's hardly upbeat", "it's no fun": denied
                    "less", "become", "gotten", "grown",  # "it's become far less fun" asks for fun
                    "than", "neither", "nor",  # "it's less than thrilling", "it's neither fast nor exciting"
                    "gone"})  # "it's gone all cheerful"
ELIDED_HEDGES = frozenset({"a", "bit", "little", "kind", "kinda", "sort", "sorta", "too", "rather", "quite", "slightly",
                           "way", "very", "pretty", "somewhat", "overly", "maybe", "perhaps",  # not 'so': ", so not scary"
                           "just"})  # "it's not unpleasant, just a bit slow"
# a verb of perception denied after its subject: "it doesn't feel warm" asks for warmth, as "it isn't warm" does
PERCEIVED = frozenset({"feel", "sound", "seem", "feels", "sounds", "seems"})
# a quality the take does, denied: "it doesn't really swing", "it never builds"
ACTED = frozenset({"swing", "swings", "groove", "grooves", "rock", "rocks", "move", "moves", "flow", "flows", "build",
                   "builds", "breathe", "breathes", "lift", "lifts", "soar", "soars", "pop", "pops", "drive", "drives",
                   "dance", "sleep", "relax", "relaxes", "settle", "settles", "calm", "calms", "rest", "rests", "chill",
                   "chills", "cry", "party"})
DENYING_AUX = frozenset({"doesn't", "doesnt", "doesn", "don't", "dont", "don", "didn't", "didnt", "didn", "t", "does",
                         "do", "did", "not", "really", "quite", "never", "ever", "hardly", "barely", "scarcely",
                         # "no one would dance to this", 'nobody could sleep to it': what the take fails at, asked for
                         "would", "could", "can", "one", "nobody", "no", "couldn't", "couldnt", "couldn", "can't", "cant",
                         "cannot", "wouldn't", "wouldnt", "wouldn", "won't", "wont", "won"})
# what may come before the subject at a clause's start ('honestly it's a bit slow', 'I think it feels rushed');
# not a request's verb ('make it sound hopeful') or a wish ("I'd rather it wasn't so busy")
SAID_LEAD = frozenset({"i", "think", "feel", "like", "honestly", "tbh", "hmm", "hm", "well", "ok", "okay", "yeah", "yes",
                       "so", "now", "right", "man", "and", "still", "though", "just", "mean", "guess", "reckon", "but",
                       "it", "sounds", "seems", "looks", "as", "if",  # "it sounds like it's underwater"
                       "the", "whole", "overall", "main", "this", "that", "erm", "um", "uh", "er", "meh",  # 'the whole mix is muddy'
                       # a judgement denied: "I don't think it's lively", "I wouldn't call it lively" ask for it
                       "don't", "dont", "don", "t", "not", "wouldn't", "wouldnt", "wouldn", "didn't", "didnt", "didn",
                       "doesn't", "doesnt", "doesn", "really", "personally", "say", "m", "am", "i'm", "im", "can't", "cant",
                       "cannot", "nothing", "something", "everything", "about",  # 'nothing about it feels happy'
                       "saying"})  # "I'm not saying it's bad, just a bit sleepy" (the denial is the saying's: _cancelled)
# an emphatic denial opening the message describes the take ('not one bit dreamy' asks for dreamy, as "it's not
# one bit dreamy" does; 'not dreamy' alone still asks for less)
DESCRIBED_DENIALS = (["not", "one", "bit"], ["not", "a", "bit"], ["not", "in", "the"], ["not", "the", "least"],
                     ["less", "than"], ["so", "not"])  # 'less than thrilling', 'so not upbeat' (by their first two words)
TAG_QUESTION = re.compile(r"^(?!(?:it|this|that|there)\b)[^,]*,\s+(?:(?:is|isn\s+t|isn't|was|does|doesn\s+t|doesn't)\s+it"
                          r"|eh|right|huh)\s*\??$")  # 'a bit slow, right?', 'not very upbeat, eh?'


def superlative(word: str) -> bool:
    """Whether a word is a superlative ('liveliest', 'saddest'; 'most' stands for one)."""
    return word == "most" or (word.endswith("est") and lemma(word) != word)


def _opens_described(toks: list[str]) -> bool:
    """Whether a message opens on a denial of a quality of the take with its 'it's' elided ('not one bit upbeat',
    'less than thrilling', 'not the liveliest thing I've heard', 'so sleepy', 'neither fast nor fun') or ends on a
    tag question ('slow, isn't it?')."""
    return bool(TAG_QUESTION.search(" ".join(toks))) or toks[:3] in DESCRIBED_DENIALS or toks[:2] in DESCRIBED_DENIALS \
        or (toks[:1] == ["neither"] and "nor" in toks) \
        or (toks[:2] == ["not", "the"] and len(toks) > 2 and superlative(toks[2])) \
        or (toks[:1] == ["so"] and len(toks) > 1 and toks[1].isalpha() and not comparative(toks[1])
            and toks[1] not in {"much", "many", "make", "let", "let's", "can", "could", "maybe", "now", "then", "yeah"})


# verbs that judge the take named after them: 'I find it slow', "I wouldn't call it lively"
JUDGING = frozenset({"find", "call", "consider", "rate", "describe"})
# verbs that perceive a quality in the take, before a quantity: "I don't hear any joy in it", 'I get no energy'
PERCEIVING = frozenset({"hear", "hearing", "hears", "sense", "sensing", "get", "getting", "feel", "feeling", "detect",
                        "detecting"})
QUANTITIES = frozenset({"any", "much", "no", "enough"})
# a question that complains ('does it have to be so gloomy?', 'why is it so slow?', 'must it be this loud?')
RHETORICAL = frozenset({"does", "do", "must", "why", "why's", "whys", "need"})
# praise holds what it praises: a quality said of the take in a clause that praises ('it's dark and I love it',
# 'I love how dreamy it is', 'this is fun', or the clause before "I love it") asks for no change; a complaint in
# another clause still asks ('it's great but a bit slow')
PRAISE = frozenset({"love", "loving", "great", "perfect", "awesome", "lovely", "beautiful", "amazing", "gorgeous", "nice",
                    "brilliant", "fantastic", "excellent", "wonderful", "cool", "good", "fun", "stunning", "superb",
                    "incredible", "fab", "fabulous", "enjoy", "enjoying", "like", "dig", "digging", "adore", "best", "catchy",
                    "favourite", "favorite", "thanks"})
# a comparative held, not turned around: "don't make it any faster", 'no louder' ask for no change ("don't make it
# darker" still asks for brighter)
HOLD_BEFORE = frozenset({"any", "no"})
# a quality between a lowering verb and its particle is asked for less: 'turn the darkness down', 'dial the
# aggression back' (the verb's own cue, 'turn * down', still reads as calmer)
LOWER_VERBS = {"turn": ("down",), "dial": ("down", "back"), "tone": ("down",), "bring": ("down",),  # not 'bring back'
               "knock": ("down", "back"), "cool": ("down",), "scale": ("down", "back"), "rein": ("back", "in"),
               "pull": ("back",)}
NOT_A_QUALITY = frozenset({"it", "this", "that", "things", "right", "everything", "the", "a", "some", "them", "its", "tempo",
                           "bpm", "speed", "pace", "energy", "volume", "level", "levels", "mood", "vibe", "whole", "thing",
                           "key", "pitch", "mode", "intro", "ending", "end", "outro", "chorus", "verse", "bridge", "drop"})
# said of the take after the quality: 'I hate how slow it is', 'I don't like how busy it sounds'
HOW_SAID = (("it", "is"), ("it", "s"), ("it's",), ("its",), ("this", "is"), ("it", "sounds"), ("it", "feels"),
            ("it", "got"), ("it", "has", "got"), ("it", "became"), ("it", "has", "become"),
            ("it", "gets"))
TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[#♯♭&]|[,;.!?:()]")
PUNCTUATION = frozenset(",;.!?:()")
TOO_UNTIL = frozenset({"for", "to"})  # 'too X for Y': Y is what X is too much for
WINDOW = 3  # "too" reaches this many words ahead ("too much going on", "a bit too jazzy")


@functools.cache
def _lemma_tables():
    try:
        from lemminflect import getAllLemmas, getLemma
    except ImportError:  # the reader still works, on the words as written
        return None
    return getAllLemmas, getLemma


def in_dictionary(word: str) -> bool:
    """Whether lemminflect's English tables hold the word ('smokestack', 'housewife'; not 'trancenation')."""
    tables = _lemma_tables()
    return tables is not None and bool(tables[0](word))


POS_ORDER = ("ADJ", "NOUN", "VERB", "ADV")


# degree words a table means as written: 'more' is no 'much' ("a bit much" is a complaint, "a bit more oomph" a wish)
AS_WRITTEN = frozenset({"more", "most"})
# adjectives of their own, not their verb's form: 'deserted' streets are no desert
OWN_WORDS = frozenset({"deserted"})


# nouns in -ness that do not name their adjective's quality ('business' is no busyness)
NOT_A_QUALITY_NOUN = frozenset({"business", "wilderness", "witness", "harness", "fitness", "highness", "forgiveness"})


@functools.lru_cache(maxsize=65536)  # bounded: a long-lived web app reads whatever people type
def lemma(word: str) -> str:
    """The dictionary form: 'angrier' -> 'angry', 'drums' -> 'drum', 'partying' -> 'party', and a dropped g as
    covers and lyrics print it: "rockin'", "jackin'", 'movin' -> 'rock', 'jack', 'move'; a possessive's owner:
    "sufferer's" -> 'sufferer'."""
    tables = _lemma_tables()
    if tables is None or len(word) < 4 or word in AS_WRITTEN or word in OWN_WORDS:
        return word
    if word.endswith("in'") and word[:-1].isalpha():
        word = word[:-1]
    if word.endswith("'s") and word[:-2].isalpha():  # a possessive: "Sufferer's Song" holds 'sufferer'
        return lemma(word[:-2])
    if not word.isalpha():
        return word
    all_lemmas, one = tables
    if word.endswith("ness") and word not in NOT_A_QUALITY_NOUN and len(word) > 7:  # 'creepiness' is creepy's
        adjective = word[:-5] + "y" if word.endswith("iness") else word[:-4]
        if all_lemmas(adjective).get("ADJ"):
            return lemma(adjective)
    found = all_lemmas(word)
    if not found and word.endswith("in") and all_lemmas(word + "g").get("VERB"):  # 'rockin', not 'cabin'
        return lemma(word + "g")
    for pos in POS_ORDER:
        if found.get(pos):
            return _american(found[pos][0], all_lemmas)
    if word.endswith(("ier", "iest", "er", "est")):  # an unlisted comparative: 'jazzier' -> 'jazzy'
        return one(word, upos="ADJ")[0]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):  # an unlisted plural: 'freestyles'
        return one(word, upos="NOUN")[0]
    return word


def comparative(word: str) -> bool:
    """A dictionary adjective's comparative or superlative ('thinner', 'duller', 'emptiest'); not a noun that
    only ends so ('bummer', 'downer')."""
    tables = _lemma_tables()
    adjective = tables[0](word).get("ADJ") if tables is not None and word.isalpha() else None
    return bool(adjective) and adjective[0] != word and word.endswith(("er", "est"))


# British spellings read as the American ones the NRC lexicon and the tables hold ('sombre' is 'somber', 'colour'
# 'color'), where lemminflect knows the American word; 'timbre' is no 'timber'. Not '-ise': lemminflect knows
# 'exercize' and 'surprize' too
BRITISH = ((re.compile(r"(?<=[^aeiou])re$"), "er"), (re.compile(r"(?<=..[a-z])our(?=ful|s|ed|ing|able|ite|$)"), "or"))
NOT_BRITISH = frozenset({"timbre", "genre", "acre"})


def _american(word: str, all_lemmas) -> str:
    """The American spelling's lemma of a British-spelt lemma (BRITISH), else the word."""
    if word in NOT_BRITISH:
        return word
    for pattern, spelling in BRITISH:
        other = pattern.sub(spelling, word)
        if other != word and all_lemmas(other):
            return next(iter(all_lemmas(other).values()))[0]
    return word


def as_written(phrase: str) -> str | None:
    """The word a one-word table phrase must be matched as, when the phrase is itself an inflected form: 'blues'
    is a genre and 'BLUE CANYON' a colour, 'beats' are not 'BEAT-UP'. None for any other phrase (matched by
    lemma or key)."""
    written = phrase.lower().split()
    return written[0] if len(written) == 1 and lemma(written[0]) != written[0] else None


def key(word: str) -> str:
    """What two words must share to count as one: their lemma ('gloomier' and 'gloomy' -> 'gloomy', 'drums' and
    'drum' -> 'drum'). Not a stem: Snowball's stems join words of other meanings ('play' and 'playful', 'busy' and
    'business', 'suits' and 'suites', 'classic' and 'classical', 'hardly' and 'harder', 'longer' and 'longing':
    'make it longer' was read as nostalgic, 'whatever suits you' as classical), and a table that means a derived
    word lists it ('sadness')."""
    return lemma(word.lower())


# 'mean' the verb is no 'mean' the adjective ('make it meaner'): "I mean, it's fine", "I meant calmer"
VERB_MEAN = frozenset({"mean", "meant", "means"})
MEANS_AFTER = frozenset({"i", "you", "we", "what", "i'd", "d", "just", "really", "only", "actually", "mostly", "which",
                         "who", "i've", "ve"})  # not 'make it mean', "it's not mean enough"


def _key(tok: str, before: list[str]) -> str:
    """The word's key (`key`), but the verb 'mean' keeps a key of its own (`before`: the two words before it; "what
    does that mean" asks)."""
    verb = tok != "mean" or (bool(before) and (before[-1] in MEANS_AFTER or before[0] in {"does", "do", "did", "doesn"}))
    return f"{tok}:verb" if tok in VERB_MEAN and verb else key(tok)


STRETCHED = re.compile(r"([a-z])\1{2,}")  # 'sooo slow', 'slowwww': a letter typed out for stress


def _unstretched(word: str) -> str:
    """A word typed with a letter held ('sooo', 'booooring') as the dictionary has it: the held letters once or
    twice, whichever is a word ('so', 'boring'; 'cool' from 'cooool'); as typed where neither is."""
    if not STRETCHED.search(word):
        return word
    for repeat in (r"\1\1", r"\1"):
        candidate = STRETCHED.sub(repeat, word)
        if in_dictionary(candidate):
            return candidate
    return word


def tokens(text: str) -> list[str]:
    return [_unstretched(t) for t in TOKEN.findall(" ".join(text.lower().replace("’", "'").split()))]


@dataclass(frozen=True)
class Word:
    """One word of an utterance: its lemma key, its clause, and the sense a cue starting here takes: the sign
    (-1 under a negation or after 'too') and the size of the modifiers before it in its clause."""

    text: str
    key: str
    index: int
    clause: int
    negated: bool
    too: bool
    scale: float
    enough: bool = False
    at: int = 0  # the token's place in what was read (punctuation and clause words counted)
    said: bool = False  # a quality said of the take in chat ('it's a bit slow'): SAID_VERBS
    hold: bool = False  # a comparative under a negation after 'any' or 'no': HOLD_BEFORE
    lowered: bool = False  # between a lowering verb and its particle ('turn the darkness down'): LOWER_VERBS

    @property
    def sense(self) -> float:
        """+scale for an affirmed cue, -scale for a negated one; 'not X enough' asks for more X, and a 'too' under
        a negation ('don't go too slow') still asks for less X, softened."""
        if self.hold:
            return 0.0
        if self.enough:
            return abs(self.scale) if self.negated else 0.0
        if self.too:
            return -0.5 * self.scale if self.negated else -self.scale
        if self.said:  # 'it's a bit slow' asks for less slow; "it isn't very upbeat" for more
            return self.scale if self.negated else -self.scale
        return -self.scale if self.negated else self.scale


@dataclass(frozen=True)
class Match:
    """A phrase found in an utterance: its first and last word and the sense of the phrase."""

    phrase: str
    start: int
    end: int
    sense: float


def _too_left(tok: str, before: str, after: str, left: int) -> int:
    """How many words ahead 'too' still reaches after `tok` (WINDOW; not 'too little', 'not overly', see TOO_WORDS)."""
    if tok in TOO_UNTIL:  # 'too upbeat for a funeral', 'too slow to dance to': the purpose is no fault
        return 0
    if tok in TOO_WORDS:
        return WINDOW + 1 if after != "little" and (tok, before) != ("overly", "not") else left
    return max(0, left - 1)


class Utterance:
    """A text read once: its words with their keys, clauses, negation, 'too' and intensity."""

    def __init__(self, text: str, toks: list[str] | None = None, take: bool = False):
        self.text = text
        self.words: list[Word] = []
        self.toks = tokens(text) if toks is None else [t.lower() for t in toks]
        self._read(self.toks, take)

    def _read(self, toks: list[str], take: bool = False) -> None:
        clause, negated, too_left, scale = 0, False, 0, 1.0
        # None; 'pending' after a subject and copula, across hedges; 'and' after the word said; from the start
        # before a tag question ('not exactly a party, is it?')
        said = "pending" if take and _opens_described(toks) else None
        praised = self._praised_clauses(toks) if take else set()
        described, lacks, supposed = (_described(toks), _lacks(toks), _supposed(toks)) if take else (set(),) * 3
        lowered, kept = _lowered(toks) | _denied(toks), _kept(toks, take) | (_retracted(toks, supposed) if take else set())
        supposed |= _extreme(toks) if take else set()
        start, contrasted = 0, _contrasted(toks) if take else {}  # the clause's first token; 'not so much X as Y'
        likened = False  # inside a likeness said of the take, to the clause's end
        opened = elided = False  # the clause said something of the take ('it's great but a bit slow': 'slow' is said too)
        for i, tok in enumerate(toks):
            after = toks[i + 1] if i + 1 < len(toks) else ""
            before = toks[i - 1] if i else ""
            if _ends_clause(tok, before, after) or i in contrasted:
                # an elided 'it's' after a clause said of the take, before a hedge: 'it's great but a bit slow'
                # (not a request: 'it's fine but slower please')
                carried = "pending" if (opened and tok in BOUNDARY | {","} and after in ELIDED_HEDGES) \
                    or contrasted.get(i) else None
                clause, negated, too_left, scale, said, start = clause + 1, False, 0, 1.0, carried, i + 1
                opened, elided, likened = False, carried is not None, False
                continue
            if negated and _reaffirmed(toks, i, start):
                negated, scale = False, 1.0
            enough, opens, hedge = _enough(toks, i), _opens_said(toks, i, start), _hedges(toks, i, said == "pending")
            how = before == "how" and any(tuple(toks[i + 1:i + 1 + len(h)]) == h for h in HOW_SAID)
            is_said = take and ((said == "pending" and not opens and not hedge
                                 and not (elided and comparative(tok) and tok not in AS_WRITTEN)) or how)
            opened = opened or (take and opens)
            likened = likened or (said == "pending" and tok in {"like", "giving"})  # 'it feels like a car advert': the whole likeness
            said = ("pending" if take and (opens or (said == "pending" and hedge) or (said == "and" and tok in {"and", "nor"})
                                           or (is_said and likened))
                    else "and" if is_said else None)
            hold = i in kept or (negated and tok not in AS_WRITTEN and comparative(tok) and (
                before in HOLD_BEFORE or (before == "not" and i >= 2 and toks[i - 2] in {"but", ","}))  # 'punchier, not louder'
                and not (i in described and "than" in toks[i + 1:]))  # "it isn't any livelier than before" complains
            is_said = is_said or (i in described and negated and not how) or i in supposed
            if is_said and clause in praised:  # 'I love how dark it is': kept as it is
                hold, is_said = True, False
            # "I don't like how slow it is" complains as 'I hate how slow it is' does: the negation is the verb's
            self.words.append(Word(tok, _key(tok, toks[max(0, i - 2):i]), len(self.words), clause,
                                   (negated and not how) or i in lowered or (i in lacks and is_said), too_left > 0, scale,
                                   enough, i, is_said, hold, i in lowered))
            negated = negated or _negates(toks, i, start, take)
            too_left = _too_left(tok, before, after, too_left)
            scale *= INTENSIFY.get(tok) or SOFTEN.get(tok, 1.0)  # 'much', 'a bit'

    @staticmethod
    def _praised_clauses(toks: list[str]) -> set[int]:
        """The clauses (counted as _read counts them) that hold a word of praise (PRAISE); 'like' only as a
        verb after 'I' ('I like how slow it is', not 'it sounds like a lullaby')."""
        out, clause, denied = set(), 0, False
        for i, tok in enumerate(toks):
            before, after = toks[i - 1] if i else "", toks[i + 1] if i + 1 < len(toks) else ""
            if _ends_clause(tok, before, after):
                clause, denied = clause + 1, False
            elif tok in PRAISE and (tok != "like" or before in {"i", "really", "quite"}) and not denied \
                    and not (before in NEGATORS or CONTRACTED.match(before) or split_contraction(toks[i - 2] if i > 1 else "", before)):
                out.add(clause)
                if clause and after in {"it", "that", "this"} and before not in BOUNDARY:  # "it's dreamy, I love it"
                    out.add(clause - 1)
            denied = denied or _denies(tok, before)  # praise after a denial is none: "it doesn't feel fun" asks for fun
        return out

    @functools.cached_property
    def keys(self) -> list[str]:
        return [w.key for w in self.words]

    def find(self, phrase: str) -> Match | None:
        """The first place the phrase's words occur, compared by key; '*' in a phrase stands for up to two
        words ('crank * up' matches 'crank up', 'crank it up', 'crank things right up')."""
        want = phrase_keys(phrase)
        if not want or want[0] is None:
            return None
        first = want[0]
        for start in range(len(self.words)):
            if self.keys[start] != first:
                continue
            match = self.find_at(phrase, start)
            if match is not None and self.words[start].clause == self.words[match.end].clause:
                return match
        return None

    def remedy_asked(self, start: int) -> bool:
        """The word at `start` follows 'less' or 'fewer' ('less rushed', 'less of a downer'), a word of REMEDIES
        close before it ('stop dragging', "it shouldn't feel so rushed"), or 'can it not' ('can it not be so
        repetitive'): a fault so said asks for its remedy, where 'not rushed' says nothing is wrong."""
        before = [w.key for w in self.words[:start] if w.key not in ("of", "a", "an")]
        clause = [w.text for w in self.words[:start] if w.clause == self.words[start].clause]
        asked = any(a in ("can", "could") and b == "it" and c == "not" for a, b, c in zip(clause, clause[1:], clause[2:]))
        # 'something that doesn't drag', 'a take that isn't so boring': what is asked for is described
        described = any(a in {"something", "one", "version", "take", "anything"} and b in {"that", "which"}
                        for a, b in zip(clause, clause[1:]))
        return (bool(before) and before[-1] in ("less", "fewer")) or bool(REMEDIES & set(clause[-5:])) or asked or described

    def find_at(self, phrase: str, start: int) -> Match | None:
        """The phrase starting exactly at word `start`, or None."""
        want = phrase_keys(phrase)
        end = _match_at(self.keys, want, start) if want and want[0] is not None else None
        return None if end is None else Match(phrase, start, end, self.words[start].sense)


@functools.lru_cache(maxsize=8192)
def phrase_keys(phrase: str) -> list[str | None]:
    """A table phrase as word keys, None for each '*' gap (computed once per phrase)."""
    return [None if p == "zzgap" else key(p) for p in tokens(phrase.replace("*", " zzgap "))]


def _match_at(keys: list[str], want: list[str | None], start: int) -> int | None:
    pos = start
    for k, part in enumerate(want):
        if part is None:  # a gap of up to two words before the rest of the phrase, never over a denial
            for skip in range(0, 3):  # ('energy * up' is not "the energy never lets up")
                if skip and pos + skip - 1 < len(keys) and negator(keys[pos + skip - 1]):
                    break
                end = _match_at(keys, want[k + 1:], pos + skip) if k + 1 < len(want) else pos - 1
                if end is not None:
                    return end
            return None
        if pos >= len(keys) or keys[pos] != part:
            return None
        pos += 1
    return pos - 1


RETRACTIONS = (("no", "wait"), ("wait", "no"), ("actually", "no"), ("no", "actually"), ("scratch", "that"),
               ("forget", "that"), ("on", "second", "thought"), ("on", "second", "thoughts"))


SUPPOSING = frozenset({"if", "d", "i'd", "it'd", "itd", "would", "might"})


def _supposed(toks: list[str]) -> set[int]:
    """The places of a comparative the take is supposed to reach, a complaint of it as it is: "any slower and I'd
    fall asleep", "if it were any slower it'd stop" ask for faster."""
    return {i for i in range(1, len(toks)) if toks[i - 1] == "any" and comparative(toks[i]) and toks[i] not in AS_WRITTEN
            and SUPPOSING & set(toks) and not any(_denial(toks, k) for k in range(i))}


# "it couldn't be any slower", "it could hardly be sleepier", "things can't get any gloomier": the take said to be as
# slow, sleepy or gloomy as it can be, a complaint of it (not the question "could it be any faster?", which may ask)
ABLE = frozenset({"could", "can", "couldn't", "couldnt", "can't", "cant", "cannot"})
REACHING = frozenset({"be", "get", "sound", "feel", "seem", "go"})


def _extreme(toks: list[str]) -> set[int]:
    """The places of a quality the take is said to have to the utmost (ABLE above): a modal of ability, a denial, a
    verb of REACHING, then 'any', 'much' or 'more' and the quality, or a comparative alone (not 'much better')."""
    out = set()
    for i in range(3, len(toks)):
        degree = 2 if toks[i - 2:i] == ["any", "more"] else int(toks[i - 1] in {"any", "more", "much"})
        verb = i - 1 - degree
        if toks[verb] not in REACHING or (not degree and not comparative(toks[i])) or toks[i] in AS_WRITTEN | {"better", "worse"} \
                or (toks[i - 1] in {"any", "much"} and not comparative(toks[i])):
            continue
        if _unable(toks, verb):
            out.add(i)
    return out


def _unable(toks: list[str], verb: int) -> bool:
    """Whether a modal of ability (ABLE) and a denial stand in the clause just before the verb at `verb`: "it
    couldn't", "it could hardly", "it could not possibly", "it couldn t"; not a question ("could it not be") nor a
    cancelled denial ("no reason it can't be happier" asks)."""
    first = max(0, verb - 4)
    run = toks[first:verb]
    modal = next((k for k, t in enumerate(run) if t in ABLE or (t == "couldn" and run[k + 1:k + 2] == ["t"])), None)
    question = modal is not None and run[modal + 1:modal + 2] and run[modal + 1] in QUESTION_SUBJECTS
    denials = [k for k in range(first, verb) if _denies(toks[k], toks[k - 1] if k else "")]
    return modal is not None and not question and bool(denials) and not any(_cancelled(toks, k) for k in denials) \
        and not any(_ends_clause(t, "", "") for t in run)


def _retracted(toks: list[str], supposed: set[int]) -> set[int]:
    """The places of the words a speaker takes back before the last retraction ("darker, no wait, brighter"), and of
    what a comparative `supposed` (_supposed) would lead to ("any gloomier and it'd be a funeral": no funeral is
    asked for)."""
    last = max((i for i in range(len(toks)) for r in RETRACTIONS if tuple(toks[i:i + len(r)]) == r), default=None)
    then = next((i for i in range(max(supposed, default=len(toks)), len(toks)) if toks[i] in {"and", "then"}), None)
    return (set(range(last)) if last else set()) | (set(range(then, len(toks))) if then is not None else set())


def _kept(toks: list[str], take: bool) -> set[int]:
    """The places of the words a denied removal keeps, in chat: "I don't want it to lose its edge", "don't lose
    the warmth" ask for no change to them (not for less, as 'lose the warmth' does, nor more)."""
    out: set[int] = set()
    start, denied = 0, False
    for i, tok in enumerate(toks):
        before, after = toks[i - 1] if i else "", toks[i + 1] if i + 1 < len(toks) else ""
        if _ends_clause(tok, before, after):
            start, denied = i + 1, False
        elif take and denied and tok in {"anymore", "more", "further", "longer"} and (tok == "anymore" or before == "any") \
                and toks[start] not in STATED_BY:  # "it's not upbeat anymore" has lost it: asked for
            out.update(range(start, i + 1))  # "don't speed it up any more": held where it is
        elif take and denied and _removes(toks, i, start):
            out.update(j for j in range(i + 1, len(toks)) if not any(
                _ends_clause(toks[k], toks[k - 1], toks[k + 1] if k + 1 < len(toks) else "") for k in range(i + 1, j + 1)))
        else:
            denied = denied or negator(tok) or split_contraction(before, tok)
    for denial, at, said in _contrasts(toks) if take else ():
        out.update(range(denial + 1, at) if said else ())  # "it's not so much slow as sleepy": no complaint of slow
    return out


# 'go easy on the drums', 'lighter on the drums': less of what follows, kept
EASY_ON = frozenset({"easy", "easier", "lighter", "gentler", "softer"})
OVERDOING = frozenset({"overdo", "overdid", "overdoing"})
# a fault under these asks for its remedy: 'stop dragging', "it shouldn't feel so rushed"
REMEDIES = frozenset({"stop", "quit", "let", "shouldn", "shouldn't", "shouldnt", "mustn", "mustn't", "needn", "needn't", "ought",
                      "oughtn", "oughtn't",
                      "rather", "wish"})  # "I'd rather it didn't drag", "I wish it wasn't so boring", "don't let it drag"
# a quality put first and denied after it: 'a funeral dirge it is not', "a lullaby it isn't"
DENIED_AFTER = tuple((subject, *denial) for subject in ("it", "this", "that")
                     for denial in (("is", "not"), ("isn't",), ("isnt",), ("isn", "t"), ("s", "not"), ("ain't",),
                                    ("ain", "t"))) + (("it's", "not"), ("its", "not"), ("that's", "not"))


# "slow isn't my thing", "sad songs aren't really my cup of tea", "jazz is not for me": what comes before is disliked
DISOWNED = (("my", "thing"), ("my", "cup", "of", "tea"), ("my", "style"), ("my", "jam"), ("my", "bag"), ("my", "scene"),
            ("our", "thing"), ("for", "me"), ("for", "us"), ("my", "kind", "of"), ("my", "taste"),
            ("working",), ("doing", "it"), ("doing", "anything"), ("doing", "much"), ("helping",), ("landing",),
            ("clicking",), ("cutting", "it"))  # "the gloom isn't working for me", "isn't doing it any favours"
# "the melancholy is too much", "the sax is a bit much": what comes before is overdone
OVERDONE = (("too", "much"), ("a", "bit", "much"), ("a", "little", "much"), ("way", "too", "much"), ("overkill",),
            ("overdone",), ("overpowering",), ("too", "strong"), ("too", "heavy", "handed"), ("over", "the", "top"))
OVERDONE_BY = frozenset({"is", "s", "'s", "are", "re", "was", "feels", "gets", "seems", "sounds"})
DISOWNING = (("isn't",), ("isnt",), ("aren't",), ("arent",), ("ain't",), ("isn", "t"), ("aren", "t"), ("ain", "t"),
             ("is", "not"), ("are", "not"), ("s", "not"), ("re", "not"))
BY_DEGREE = frozenset({"really", "exactly", "quite", "totally", "so", "much", "at", "all", "very", "entirely"})


def _disowned(toks: list[str], i: int) -> bool:
    """Whether a copula denied at `i` disowns its subject ("slow isn't my thing", DISOWNED)."""
    for denial in DISOWNING:
        if tuple(toks[i:i + len(denial)]) == denial:
            j = i + len(denial)
            while j < len(toks) and toks[j] in BY_DEGREE:
                j += 1
            return any(tuple(toks[j:j + len(d)]) == d for d in DISOWNED)
    return False


def _overdone(toks: list[str], i: int) -> bool:
    """Whether the verb at `i` says its subject is overdone, to the clause's end ('the melancholy is too much')."""
    if toks[i] not in OVERDONE_BY:
        return False
    for over in OVERDONE:
        end = i + 1 + len(over)
        if tuple(toks[i + 1:end]) == over and (end == len(toks) or _ends_clause(
                toks[end], toks[end - 1], toks[end + 1] if end + 1 < len(toks) else "")):
            return True
    return False


def _denied(toks: list[str]) -> set[int]:
    """The places of the words before a denial that ends their clause ('a funeral dirge it is not, cheer up'), or
    that disowns them ("slow isn't my thing")."""
    out: set[int] = set()
    start = 0
    for i, tok in enumerate(toks):
        before, after = toks[i - 1] if i else "", toks[i + 1] if i + 1 < len(toks) else ""
        if _ends_clause(tok, before, after):
            start = i + 1
            continue
        if i > start and (_disowned(toks, i) or _overdone(toks, i)):
            out.update(range(start, i))
        for denial in DENIED_AFTER:
            end = i + len(denial)
            if i > start and tuple(toks[i:end]) == denial and (end == len(toks) or _ends_clause(
                    toks[end], toks[end - 1], toks[end + 1] if end + 1 < len(toks) else "")):
                out.update(range(start, i))
    return out


# A quality the take is denied in a statement about it asks for that quality, whichever verb denies it ("the chorus
# doesn't lift", "this doesn't come across as energetic", "it could hardly be called mellow", "you wouldn't call it
# relaxing"): a clause whose subject is the take, a listener or 'there', or that opens on a verb only the take can
# be the subject of ("doesn't feel warm"), with a denial after the subject and no word of a wish, a dislike or a
# request before the quality ("I don't want it sad", "we don't need the gloom", "I'm not into the gloomy vibe", "it
# doesn't have to be so sad", "it could do without the gloom" all ask for less, as they did); a denying subject
# ('nothing here sounds tender', 'nobody's going to call this fast') or a 'why' question denies as well.
STATED_BY = SAID_SUBJECTS | {"you", "nobody", "i", "i'm", "im", "it's", "its", "that's", "thats", "there's", "theres",
                             "one", "anyone", "anybody", "nobody's", "you'd", "i'd", "you'll", "i'll", "u", "people",
                             "listeners", "they", "someone", "everyone", "it'd", "itd", "it'll"}
STATED_LEAD = frozenset({"honestly", "tbh", "hmm", "hm", "well", "ok", "okay", "yeah", "yes", "so", "now", "right", "man",
                         "and", "but", "still", "just", "erm", "um", "uh", "er", "meh", "overall", "personally", "sadly",
                         "unfortunately", "frankly", "oh", "ah", "the", "whole", "this", "that", "to", "for", "me",
                         "why", "how", "come"})  # "why doesn't it feel more hopeful?", "how come it's not ..."
STATED_OPENS = frozenset({"doesn't", "doesnt", "doesn", "isn't", "isnt", "isn", "wasn't", "wasnt", "wasn", "hasn't",
                          "hasnt", "hasn"})  # 'doesn't feel warm at all' (not "don't" or 'never', a request's)
PREVIOUS = frozenset({"last", "previous", "earlier", "first", "original", "old", "before"})
DENYING_SUBJECTS = frozenset({"nothing", "not", "no", "none", "nobody", "nobody's"})
DENIALS = frozenset({"not", "never", "no", "nothing", "hardly", "barely", "scarcely", "nobody", "none", "neither", "nor"})
WISHES = frozenset({"want", "wants", "wanted", "wanting", "wanna", "need", "needs", "needed", "necessary", "make", "makes",
                    "making", "let", "let's", "lets", "keep", "prefer", "rather", "like", "love", "loving", "hate",
                    "mind", "please", "should", "shouldn", "shouldn't", "shouldnt", "must", "mustn", "mustn't",
                    "mustnt", "needn", "needn't", "neednt", "supposed", "business", "ought", "oughtn", "oughtn't", "oughtnt",
                    "meant", "mean", "try", "go", "going", "avoid", "fan", "keen", "into", "sold", "sure", "convinced",
                    "care", "stand", "bear", "handle", "deal", "stomach", "tolerate", "feeling", "digging", "liking",
                    "enjoying", "work", "works", "working", "fit", "fits", "suit", "suits", "belong", "help", "helps",
                    "wish", "hope", "if", "better", "ideally", "after", "looking", "aiming", "ask", "asked",
                    "reason", "point", "we", "we're", "lose", "drop", "cut", "give", "put", "turn", "add", "without",
                    "expect", "expecting", "expected", "imagine", "imagined",  # "wasn't expecting it to be so sad"
                    "stop", "stops", "quit",  # "it won't stop being gloomy"
                    "less", "fewer", "more", "instead"})
CANNOT = frozenset({"can't", "cant", "cannot"})  # "it can't stay this slow" forbids it
GOING = frozenset({"go", "going"})  # a wish in 'go for', "we're going for dark"; not "nobody's going to call it fast",
# "I wouldn't go as far as calling it peaceful", "it never feels like it's going anywhere"
GOING_FOR = frozenset({"for", "with", "easy", "back", "darker", "brighter", "faster", "slower", "more", "less"})
MAKERS = frozenset({"it", "this", "that", "it'd", "itd", "it'll", "song", "track", "tune", "melody", "music",
                    "you", "u"})  # "you didn't make it faster" complains
PROPOSING = frozenset({"it", "it's", "its", "this", "that", "the", "i'd", "i", "there", "there's", "so", "much"})
LIKING_AFTER = frozenset({"i", "you", "we", "really", "d", "i'd", "would", "t", "not", "don't", "dont", "didn't", "didnt"})


def _wished(clause: list[str], why: bool = False) -> int:
    """Where a clause's first word of a wish, a dislike or a request stands (WISHES; 'like' as a verb of liking,
    not a likeness: "it doesn't sound like a party" states; 'has to': "it doesn't have to be so sad"), or its
    length; one after the quality is the speaker's own ("it's not got the darkness I wanted"). After 'why', 'more' is
    the quality's ("why doesn't it feel more hopeful?")."""
    return next((k for k, (b, t, n) in enumerate(zip(["", *clause], clause, [*clause[1:], ""]))
                 if (t in WISHES and (t != "like" or b in LIKING_AFTER) and (t not in GOING or n in GOING_FOR or k == 0)
                     and (t != "feeling" or n in DETERMINERS or n == "it")
                     and not (t == "more" and (why or "than" in clause[k:]))  # "it's no more exciting than before"
                     and not (t == "lets" and k and b not in STATED_LEAD)  # "it never lets loose" states
                     and not (t in {"make", "makes"} and MAKERS & set(clause[:k])))  # "it'd never make anyone cry"
                 or (t in {"say", "said"} and n not in PROPOSING)  # "I didn't say darker" takes it back
                 or (t in {"has", "have", "had"} and n == "to")
                 or ((t in CANNOT or (b == "can" and t in {"t", "not"})) and n in {"be", "stay", "keep", "go", "get"})),
                len(clause))


SAYING = frozenset({"says", "screams", "shouts", "suggests"})  # 'nothing about it says party'


def _described(toks: list[str]) -> set[int]:
    """The places of the words a denial said of the take reaches (above): after the denial, to the clause's end."""
    out: set[int] = set()
    start = 0
    for end in range(len(toks) + 1):
        if end < len(toks) and not _ends_clause(toks[end], toks[end - 1] if end else "",
                                                toks[end + 1] if end + 1 < len(toks) else ""):
            continue
        clause, first = toks[start:end], start
        start = end + 1
        lead = 0
        while lead < len(clause) and clause[lead] in STATED_LEAD and clause[lead] not in STATED_BY:
            lead += 1
        why = clause[:1] == ["why"] or clause[:2] == ["how", "come"]  # "how come it's not more energetic?"
        wish = _wished(clause, why=why)
        lead += why and lead < len(clause) and clause[lead] in QUESTION_AUX  # "why does it never get loud?"
        if lead >= wish or (PREVIOUS & set(clause[:lead + 3]) and {"this", "as", "so", "than"} & set(clause[lead + 1:])):
            continue  # "the last one wasn't this slow": this one is ('the last take didn't feel upbeat' is this one)
        if clause[lead] in STATED_OPENS or clause[lead] in {"nobody", "nobody's"}:  # "nobody's going to call it fast"
            denial = lead
        elif clause[lead:lead + 2] in (["no", "one"], ["no", "one's"]):
            denial = lead + 1
        elif clause[lead] in {"nothing", "not", "no", "none"} and (any(t in SAID_VERBS | PERCEIVED | JUDGING | SAYING
                                                                          for t in clause[lead + 1:wish])
                                                                      or "still" in clause[:lead]):
            denial = lead  # 'nothing here sounds tender', 'not a moment of it feels calm', 'still not upbeat' (not
            # 'nothing too mellow')
        elif clause[lead] in STATED_BY or (lead and clause[lead - 1] == "the"):
            denial = next((k for k in range(lead + 1, wish) if _denies(clause[k], clause[k - 1])
                           or f"{clause[k - 1]} {clause[k]}" in FAILING), None)  # 'it fails to get going'
        else:
            continue
        if denial is None or denial >= wish:
            continue
        rest = [t for t in clause[denial + 1:wish] if t not in HEDGES and t != "t"]
        # a denied likeness says what the take should not be ("this isn't a lullaby"); not after a verb of perception
        # ("I'm not getting a summery feeling") or a denying subject ('not a moment of it feels calm')
        perceived = clause[denial + 1:denial + 2] and clause[denial + 1] in PERCEIVING
        # ... unless understated: "it's hardly a toe-tapper", "not exactly a barn burner" complain
        understated = clause[denial] in {"hardly", "barely", "scarcely"} or clause[denial + 1:denial + 2] == ["exactly"]
        if rest and (perceived or understated or clause[lead] in DENYING_SUBJECTS or rest[0] not in {"a", "an"}):
            out.update(range(first + denial + 1, first + wish))
    return out | _least(toks)


def _least(toks: list[str]) -> set[int]:
    """The places of what the take could not have less of ("it couldn't sound any less like a party", "it could
    hardly be less exciting"), to the clause's end: it lacks it utterly, a denial said of it (`_unable`, as in
    _extreme)."""
    out: set[int] = set()
    for i in range(2, len(toks)):
        verb = i - 1 - (toks[i - 1] == "any")
        if toks[i] == "less" and toks[verb] in REACHING and _unable(toks, verb):
            end = next((k for k in range(i + 1, len(toks)) if _ends_clause(toks[k], toks[k - 1], "")), len(toks))
            out.update(range(i + 1, end))
    return out


def _lowered(toks: list[str]) -> set[int]:
    """The places of the words a lowering verb and its particle lower: held between them ('turn the darkness down',
    at most three) or after both ('tone down the aggression', to the clause's end or a softener); never a pronoun,
    an article or a setting the verb's own phrase moves ('bring the tempo down')."""
    def object_after(first: int) -> set[int]:  # up to four words, to the clause's end, 'and' or a softener
        rest = []
        for j in range(first, min(first + 4, len(toks))):
            if toks[j] in PUNCTUATION or toks[j] in BOUNDARY or toks[j] in ("and", "a", "bit", "little", "notch"):
                break
            rest.append(j)
        return {j for j in rest if toks[j] not in NOT_A_QUALITY}

    out: set[int] = set()
    for i, tok in enumerate(toks):
        # 'go easy on the drums', "don't overdo the gloom": less of what follows, kept
        if (tok == "on" and i and toks[i - 1] in EASY_ON) or tok in OVERDOING:
            out |= object_after(i + 1)
            continue
        if tok not in LOWER_VERBS:
            continue
        if i + 1 < len(toks) and toks[i + 1] in LOWER_VERBS[tok]:  # the object after: 'tone down the aggression'
            out |= object_after(i + 2)
            continue
        for k in range(i + 2, min(i + 5, len(toks))):
            if toks[k] in LOWER_VERBS[tok]:
                inside = [j for j in range(i + 1, k) if toks[j] not in NOT_A_QUALITY]
                if inside and not (PUNCTUATION & set(toks[i + 1:k])):
                    out.update(inside)
                break
    return out


REPORTING = frozenset({"says", "said", "thinks", "thought", "reckons", "reckoned", "told", "tells", "complained",
                       "mentioned", "noticed", "agrees", "agreed"})


def _opens_said(toks: list[str], i: int, start: int) -> bool:
    """Whether the token at `i` opens what is said of the take: a copula or verb of perception after its subject
    (the take's names, or any one noun after 'the': 'the drums feel lazy'), only lead words before it; or a
    rhetorical question's copula ('why is it so slow?', and elided: 'why so slow?')."""
    tok, before = toks[i], toks[i - 1] if i else ""
    subject = before in SAID_SUBJECTS or (i >= 2 and toks[i - 2] == "the" and before.isalpha()) \
        or (before == "one" and i >= 2 and toks[i - 2] in {"this", "that", "new", "latest"})  # "this one's sleepier"
    lead = i - (tok not in SAID_OPENERS and subject)  # where the subject starts
    if not subject and tok in PERCEIVED:  # "it doesn't feel warm", "it does not sound finished": denied
        j = _denied_subject(toks, i, start)
        subject, lead = j is not None, lead if j is None else j
    # "it doesn't really | swing": the verb is the quality, said after the last word that denies it
    acted = tok in DENYING_AUX and i + 1 < len(toks) and toks[i + 1] in ACTED and _denied_subject(toks, i + 1, start) is not None
    lead = _denied_subject(toks, i + 1, start) if acted else lead
    judged = tok in {"it", "this", "that"} and before in JUDGING  # 'I find it | slow'
    perceived = tok in PERCEIVING and i + 1 < len(toks) and toks[i + 1] in QUANTITIES  # "I don't hear | any joy"
    moved = tok == "me" and before in {"make", "makes"} and i >= 2 and (  # "it doesn't make me | want to dance"
        negator(toks[i - 2]) or split_contraction(toks[i - 3] if i >= 3 else "", toks[i - 2]))
    # "you've made it | sound like a kids' show": said from where 'you' stands (not 'you made it happier')
    made = tok == "it" and before == "made" and i >= 2 and toks[i - 2] in {"you", "you've", "ve", "u"} \
        and not any(comparative(t) and t not in AS_WRITTEN for t in toks[i + 1:i + 4])
    lead = i - 1 if judged or moved else (i - 2 - (toks[i - 2] == "ve") if made else lead)
    # what someone else said of the take is said of it: 'my partner says it sounds like a horror film'
    reported = max((k + 1 for k in range(start, lead) if toks[k] in REPORTING), default=start)
    opens = (tok in SAID_OPENERS or (tok in SAID_VERBS and (subject or i == start)) or judged or made or perceived
             or moved or acted) \
        and all(t in SAID_LEAD or (t == "can" and k + 1 < len(toks) and toks[k + 1] in {"t", "not"})
                or (t in {"nobody", "would", "could"} and {"nobody", "one"} & set(toks[max(start, k - 1):k + 1]))
                for k, t in enumerate(toks[reported:lead], start=reported))  # 'nobody would call this calm'
    rhetorical = toks[start] in RHETORICAL  # 'does it have to be so gloomy?', 'do we really need it this loud?'
    return opens or (tok in {"be", "is", "s"} and (rhetorical or toks[start:start + 2] == ["no", "way"])) \
        or (tok == "why" and i == start and toks[i + 1:i + 2] == ["so"]) \
        or (tok == "it" and before in {"need", "want"} and rhetorical and toks[start] != "why")


def _enough(toks: list[str], i: int) -> bool:
    """Whether the token at `i` is the X of 'not X enough' or 'not enough X' (not the 'not' of 'not enough going on',
    nor a half of "isn t" or the 'got' of "it's not got enough")."""
    before, after = toks[i - 1] if i else "", toks[i + 1] if i + 1 < len(toks) else ""
    if before == ENOUGH and toks[i] not in NOT_A_QUALITY:  # 'not enough warmth', 'nowhere near enough swing'
        lacked = {"got", "have", "has", "there", "there's", "theres"} & set(toks[max(0, i - 5):i - 1])  # _lacking reads
        return not lacked and any(_denial(toks, k) or toks[k] == "near" for k in range(max(0, i - 4), i - 1))
    return (after == ENOUGH or (i + 2 < len(toks) and toks[i + 2] == ENOUGH)) and not negator(toks[i]) \
        and not split_contraction(toks[i], after) and not split_contraction(before, toks[i]) and toks[i] not in HAVING


def _denied_subject(toks: list[str], i: int, start: int) -> int | None:
    """Where the take's name stands before the words that deny the verb at `i` ("it doesn't really feel", "no one
    would dance"), or None; the words between must deny it ('it could breathe more' is no denial)."""
    j = i - 1
    while j > start and toks[j] in DENYING_AUX:
        j -= 1
    run = toks[j:i]
    denied = any(negator(t) or split_contraction(a, t) for a, t in zip(["", *run], run))
    return j if denied and j < i - 1 and (toks[j] in SAID_SUBJECTS or toks[j] in {"nobody", "no", "you", "i", "u"}) else None


def _hedges(toks: list[str], i: int, pending: bool) -> bool:
    """Whether the token at `i` is a hedge between what opens a quality said of the take and the quality."""
    tok, before = toks[i], toks[i - 1] if i else ""
    after = toks[i + 1] if i + 1 < len(toks) else ""
    busy = {"going", "happening"} & set(toks[i + 1:i + 4])  # 'a lot (of stuff) going on' is said, not a hedge
    # "this isn't what I'd call relaxing": the judge's words between the copula and the quality
    called = "what" in toks[max(0, i - 3):i + 1] and "call" in toks[i:i + 4]
    lacking = tok in NONE_OF and _lacking(toks, i)  # "there's no urgency to it": the lack is the complaint's object
    return (tok in HEDGES and not (tok in {"lot", "much"} and busy) and not lacking) or called \
        or (tok in QUANTITIES and before in PERCEIVING) or (pending and tok in HAVING and before in {"not", "t"}) \
        or (tok in QUANTITIES and before == "there" and toks[i - 2:i - 1] in (["is"], ["was"])) \
        or (pending and ((tok == "in" and toks[i + 1:i + 3] == ["the", "least"]) or (tok == "least" and before == "the")
                         or (tok == "half" and after == "as") or (tok == "anything" and after == "but")
                         or (tok == "one" and before == "not" and after == "bit")
                         or (tok == "but" and before == "anything"))) \
        or (tok in {"want", "to", "feel"} and "me" in toks[max(0, i - 2):i]) \
        or (tok == "a" and after in {"bit", "little", "touch", "tad", "lot"}) \
        or (pending and tok in {"a", "an"} and before in {"like", "of", "exactly"}) \
        or (pending and tok in PERCEIVED and before == "it") \
        or (pending and tok in SAID_SUBJECTS and before not in QUANTITIES)  # "why is it so slow?"; not "any groove"


def _negates(toks: list[str], i: int, start: int, take: bool) -> bool:
    """Whether the token at `i` opens a negation over the rest of its clause: a negator (not 'lack' or 'has no'
    said of the take in chat: those ask for what is missing), a removal verb's object in chat, 'ease up on',
    'move away from'."""
    tok, before = toks[i], toks[i - 1] if i else ""
    if take and (_lacking(toks, i) or _asked_back(toks, i, start) or _cancelled(toks, i)):  # "it hasn't got much bite"
        return False
    reach = i + 1 + (toks[i + 1:i + 2] in (["possibly"], ["really"], ["even"], ["ever"]))  # 'could not possibly be'
    if toks[reach:reach + 1] and toks[reach] in REACHING and {reach + 1, reach + 2, reach + 3} & _extreme(toks):
        return False  # 'it could not be more boring': as boring as can be, no denial (_extreme)
    # 'it has no drive' lacks it (asked for); 'can we have no drums' asks them out
    return (negator(tok) and not (take and (tok in WANTING or (tok in NONE_OF and before in HAVING and toks[i + 1:i + 2]
                                                               != ["business"] and toks[i - 2:i - 1] != ["we"])))) \
        or split_contraction(before, tok) or f"{before} {tok}" in NEGATORS or (take and _removes(toks, i, start)) \
        or (tok in {"on", "with"} and tuple(toks[max(0, i - 2):i]) in LET_UP) \
        or (tok in {"over", "done"} and before in {"i'm", "im", "m", "so", "am", "totally", "kinda", "bit", "little"}
            and (toks[i + 1] if i + 1 < len(toks) else "") in {"the", "that", "this", "all", "with"}) \
        or (tok == "from" and before == "away" and i >= 2 and toks[i - 2] in TURN_AWAY) \
        or (tok == "last" and before == "the" and toks[i + 1:i + 2] in (["thing"], ["things"])) \
        or (tok == "enough" and before == "had" and toks[i + 1:i + 2] not in (["of"], ["with"], [])) \
        or (tok == "from" and {"keep", "stop", "prevent"} & set(toks[max(0, i - 3):i]))  # 'keep it from sounding sad'


KNOWING = frozenset({"guess", "guessed", "tell", "know", "knew", "known", "notice", "noticed", "realise", "realised",
                     "realize", "realized", "hear", "heard"})
INTENDING = frozenset({"meant", "supposed", "intended"})


def _reaffirmed(toks: list[str], i: int, start: int) -> bool:
    """Whether the token at `i` ends the denial before it in its clause: 'and' then a word of REAFFIRM ("less dreamy
    and more punchy"); a purpose after a wish denied ("not what we want for a wedding"); what the take is meant to
    be after a denied knowing ("I'd never have guessed it was meant to be sad": the denial is the guess's, and sad
    is wanted)."""
    tok, before = toks[i], toks[i - 1] if i else ""
    return (tok in REAFFIRM and before == "and") or (tok == "for" and "what" in toks[start:i - 1]) \
        or (tok in INTENDING and toks[i + 1:i + 2] == ["to"] and bool(KNOWING & set(toks[start:i])))


def _lacks(toks: list[str]) -> set[int]:
    """The places after a denial that the take has something, to its clause's end ("it's not got the darkness"): a
    quality said there is what it lacks, asked for."""
    out: set[int] = set()
    lacking = False
    for i, tok in enumerate(toks):
        if _ends_clause(tok, toks[i - 1] if i else "", toks[i + 1] if i + 1 < len(toks) else ""):
            lacking = False
        elif lacking:
            out.add(i)
        else:
            lacking = _lacking(toks, i)
    return out


# A question put negatively asks for what it denies: "shouldn't it be more upbeat?", "isn't it kind of boring?",
# "doesn't it need some warmth?", "is it not possible to make it faster?" read as their affirmatives (a 'why' question's
# denial is a complaint: "why isn't it happier?", _described); 'why not' suggests ("why not try it in minor?")
QUESTION_LEAD = frozenset({"so", "but", "and", "surely", "honestly", "ok", "okay", "hmm", "well", "um", "er", "like",
                           "yeah", "still", "now", "then", "just", "seriously", "really"})
QUESTION_AUX = frozenset({"is", "does", "do", "did", "can", "could", "would", "should", "will", "was", "are", "were",
                          "has", "have", "might", "must"})
QUESTION_SUBJECTS = frozenset({"it", "this", "that", "there", "the", "we", "you", "they", "i", "u", "these", "those",
                               "everything"})  # not the take's other names: "don't take out the piano" asks


ASKING = frozenset({"can", "could", "would", "will"})  # "can it not be so sleepy" asks it not to be


def _asked_back(toks: list[str], i: int, start: int) -> bool:
    """Whether the denial at `i` is a question's (QUESTION_AUX, above), or the 'not' of 'why not'."""
    tok, before = toks[i], toks[i - 1] if i else ""
    if tok == "not" and before == "why":
        return True
    first = start
    while first < i and toks[first] in QUESTION_LEAD:
        first += 1
    if first >= len(toks) or toks[first] in {"why", "how"}:
        return False
    subject_after = (toks[i + 1] if i + 1 < len(toks) else "") in QUESTION_SUBJECTS and toks[i + 2:i + 3] != ["dare"]
    if CONTRACTED.match(tok) or split_contraction(before, tok):  # "shouldn't it", "isn t it"
        return subject_after and first == i - (tok == "t")
    # "is it not possible", "does it not feel slow", "are the drums not too loud"
    return tok == "not" and toks[first] in QUESTION_AUX - ASKING and first + 1 < i <= first + 4 \
        and toks[first + 1] in QUESTION_SUBJECTS - {"you", "we", "u", "i"}  # "could you not make it so sad" asks less


def _denies(word: str, before: str) -> bool:
    """Whether a word denies in the narrow sense (DENIALS, "isn't", "isn t"), not as 'less', 'without' or 'stop' do."""
    return word in DENIALS or CONTRACTED.match(word) is not None or split_contraction(before, word)


def _denial(toks: list[str], i: int) -> bool:
    """Whether the token at `i` denies ('not', "isn't", "isn t")."""
    return negator(toks[i]) or split_contraction(toks[i - 1] if i else "", toks[i])


ASSERTING = frozenset({"getting", "denying", "doubt", "question", "hiding", "mistaking"})  # 'no denying it's slow'


def _cancelled(toks: list[str], i: int) -> bool:
    """Whether the denial at `i` is cancelled: by a second ("it's never not busy"), in a litotes that asks ("I
    wouldn't mind it faster", "wouldn't say no to more warmth", "it wouldn't hurt"), or by 'no reason' before it ("no
    reason it can't be happier")."""
    if not _denial(toks, i):
        return False
    before, after = toks[i - 1] if i else "", toks[i + 1:i + 3]
    if after[:1] == ["not"] or (toks[i] == "not" and i and _denial(toks, i - 1)):
        return True
    if (toks[i] == "no" and after[:1] and after[0] in ASSERTING) or after[:1] == ["saying"]:
        return True  # "there's no getting around how slow it is" says it is; "I'm not saying it's bad" disclaims
    if after[:1] in (["mind"], ["hurt"]) or after == ["say", "no"] or (toks[i] == "no" and before == "say"):
        return True
    if toks[i] == "no" and after[:1] == ["reason"]:
        return any(_denial(toks, k) for k in range(i + 2, min(i + 7, len(toks))))
    return "reason" in toks[max(0, i - 5):i] and "no" in toks[max(0, i - 6):i]


def _lacking(toks: list[str], i: int) -> bool:
    """Whether the negation at `i` denies the take has something ("it hasn't got much bite", "it doesn't have
    any drive", "there's no urgency to it"): what it lacks is asked for, as 'it has no drive' asks for drive."""
    tok, before = toks[i], toks[i - 1] if i else ""
    rest = [t for t in toks[i + 1:i + 4] if t not in ("t", "really", "even")]
    if tok in {"hasn't", "hasnt", "haven't", "havent"} or (tok == "t" and before in {"hasn", "haven"}):
        return True
    subject = toks[i - 2] if tok == "t" and i >= 2 else before  # "it doesn t have": the take, not 'we' or 'I'd rather'
    if (negator(tok) or split_contraction(before, tok)) and rest and rest[0] in HAVING and rest[1:2] != ["to"] \
            and tok not in {"no", "without"} \
            and (subject in {"it", "this", "that", "it's", "its", "doesn", "there"}
                 or (tok == "not" and before == "s" and i >= 2 and toks[i - 2] in {"it", "that", "this", "there"})):
        return True  # "it doesn't have any drive", "it's not got enough energy" (not "it doesn't have to be loud")
    there = before in {"there's", "theres"} or (before in {"s", "is"} and i >= 2 and toks[i - 2] == "there")
    if tok == "none" and toks[i + 1:i + 2] == ["of"] and PREVIOUS & set(toks[i:]):  # 'none of the warmth of the
        return True  # first take' misses it
    # "meh, no real groove to it": 'there's' elided before a lack said of the take
    elided = (not i or before in PUNCTUATION or before in STATED_LEAD) and _said_of_it(toks, i)
    if tok == "little" and (before == "too" or there):  # "there's too little warmth" lacks it ('a little' is some)
        return True
    if (tok == "without" and toks[i + 1:i + 2] in (["any"], ["much"]) and before in SAID_SUBJECTS) \
            or (before == "there" and tok in {"isn't", "isnt", "wasn't", "wasnt", "aren't", "arent"}) \
            or (tok == "t" and before in {"isn", "wasn", "aren"} and i >= 2 and toks[i - 2] == "there"):
        return True  # "it's a song without any energy", "there isn't a single happy note in it"
    if tok == "on" and before in {"short", "low"}:  # "it's a bit short on energy"
        return True
    return tok in NONE_OF | {"nothing", "not"} and (there or elided) \
        and not (toks[i + 1:i + 2] and toks[i + 1] in {"need", "point", "reason", "business", *ASSERTING})
    # "there's no need for the organ" asks it out


SAID_OF_IT = frozenset((p, o) for p in ("to", "about") for o in ("it", "this", "that"))


def _said_of_it(toks: list[str], i: int) -> bool:
    """Whether the clause from `i` ends on what it says of the take: 'to it', 'about this' (not 'in it': "no drums in
    it" asks them out)."""
    end = next((k for k in range(i + 1, len(toks)) if toks[k] in PUNCTUATION or toks[k] in BOUNDARY), len(toks))
    return tuple(toks[end - 2:end]) in SAID_OF_IT


def _contrasts(toks: list[str]) -> list[tuple[int, int, bool]]:
    """(denial, 'as', said) for each 'not so much X as Y' or 'not X so much as Y' (not 'not so much as a whisper'):
    in a request what follows 'as' is asked for ('make it not so much jazz as blues'); said of the take ("it's not
    so much slow as sleepy", 'not so much sad as sleepy') it is the complaint, and X is no complaint at all."""
    out = []
    for i, tok in enumerate(toks):
        if tok != "as":
            continue
        for p in range(max(0, i - 8), i - 1):
            if toks[p] in {"so", "as"} and toks[p + 1] == "much":
                denial = next((d for d in range(p - 1, max(-1, p - 6), -1) if _denial(toks, d)), None)
                if denial is not None and (p > denial + 1 or i > p + 2):
                    out.append((denial, i, not denial or bool(set(toks[:denial]) & (SAID_OPENERS | SAID_VERBS))))
                    break
    return out


def _contrasted(toks: list[str]) -> dict[int, bool]:
    """The places of the 'as' of each contrast (_contrasts), each with whether it is said of the take."""
    return {at: said for _denial, at, said in _contrasts(toks)}


def _ends_clause(tok: str, before: str, after: str) -> bool:
    """Punctuation or a clause word ends a clause, unless it belongs to a negator ('anything but', 'instead of')."""
    return (tok in PUNCTUATION or tok in BOUNDARY) and not {f"{tok} {after}", f"{before} {tok}"} & NEGATORS


def split_contraction(first: str, second: str) -> bool:
    """Whether two tokens are a negative contraction whose apostrophe was taken out ("don t", "isn t")."""
    return second == "t" and first.endswith("n")


def negator(word: str) -> bool:
    """Whether the word opens a negation ('no', 'without', "don't")."""
    word = word.lower()
    return word in NEGATORS or CONTRACTED.match(word) is not None


def negated(toks: list[str]) -> list[bool]:
    """For words already split (a cover line's words, its clause marks kept: 'no', 'guitars', ',', 'just'),
    whether each stands under a negation, by the same reader as typed text."""
    flags = [False] * len(toks)
    for word in Utterance(" ".join(toks), toks).words:
        flags[word.at] = word.negated
    return flags


@functools.lru_cache(maxsize=1024)
def read(text: str, take: bool = False) -> Utterance:
    """The text read once (cached: chat reads one message through several readers). `take`: a chat message about
    the take, where a quality said of it is a complaint (SAID_VERBS); a cover's words describe the music."""
    return Utterance(text, take=take)


# -- typing slips ----------------------------------------------------------------------------------------------
SLIP_MIN = 5              # shorter words are one letter from too many others to be corrected
SLIP_WRITTEN_MIN = 8       # a word the web writes is read as a slip only from this length
SLIP_RATIO = 50            # ... and written this many times as often as the slip (0 times for most slips)
SLIP_COMMON = 100_000     # ... and a slip is corrected only toward a word this common on the web (wordsegment)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@functools.cache
def wordsegment():
    """wordsegment's English unigram and bigram counts (Norvig's Google Web Trillion Word Corpus tables), loaded
    once, on first use (a run-together cover word, a typing slip); None when the package is missing."""
    try:
        import wordsegment as ws
    except ImportError:
        return None
    ws.load()
    return ws


def _one_edit_words(word: str) -> set[str]:
    splits = [(word[:k], word[k:]) for k in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in LETTERS} | {a + c + b for a, b in splits for c in LETTERS})


@functools.lru_cache(maxsize=4096)
def slip(word: str) -> str | None:
    """The word a typed word slipped from ('slowerr' -> 'slower', 'happpier' -> 'happier'): only a word the web
    never writes, whose lemma is no word either ('groovier' is 'groovy', 'synthy' stays), one letter from a common
    word, the commonest such; else None."""
    if len(word) < SLIP_MIN or not word.isalpha():
        return None
    if in_dictionary(word):  # a dictionary word (the web's counts need not be loaded)
        return None
    ws = wordsegment()
    counts = ws.UNIGRAMS if ws is not None else None
    if counts is None:
        return None
    seen = counts.get(word, 0.0)  # a common misspelling is written too ('repetative'), far less than its word
    if seen > 0 and len(word) < SLIP_WRITTEN_MIN:  # short written words are slang and names ('lowkey', 'washy')
        return None
    if lemma(word) != word and counts.get(lemma(word), 0.0) > 0:
        return None
    near = [(counts.get(w, 0.0), w) for w in _one_edit_words(word)]
    best = max(near, default=(0.0, ""))
    return best[1] if best[0] >= SLIP_COMMON and best[0] >= SLIP_RATIO * seen else None


def respelled(text: str, known: frozenset[str] = frozenset()) -> tuple[str, list[tuple[str, str]]]:
    """The text with its typing slips corrected, and the (slip, word) pairs, for the reply to say; a word the
    tables know (`known`, lower case: 'screamy', 'torchy', 'synthy') is no slip, however rare on the web."""
    fixed = []

    def fix(m: re.Match) -> str:
        word = m.group(0)
        if re.match(r"n?(?:['’]|\s+)t\b", text[m.end():]) and word.lower().endswith("n"):  # "mustn't", "needn t"
            return word
        right = None if word.lower() in known else slip(word.lower())
        if right is None:
            return word
        fixed.append((word, right))
        return right

    return re.sub(r"[A-Za-z]+", fix, text), fixed
