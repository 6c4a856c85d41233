"""What the words on a cover state outright about the music: a key and mode ("in D minor", "Op. 9 in E flat"),
a tempo ("120 BPM"), a genre by name or by its idiom words (riddim, rave, requiem, mixtape), and instruments
or ensembles (banjo, saxophone quartet, orchestra and choir).

A statement is evidence of its own kind: the prior obeys it over the colours (associations.yaml
`statements.weight`), and the decision cites it. The tables are prompts/associations.yaml `statements`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from tools.analysis import PITCHES
from tools.vocab import prompt_table, vocabulary

NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTAL = {"sharp": 1, "#": 1, "♯": 1, "flat": -1, "b": -1, "♭": -1, "": 0}
MODE_WORDS = {"major": "major", "maj": "major", "dur": "major", "minor": "minor", "min": "minor", "moll": "minor"}
# "in D minor", "E-flat major", "in F♯", "Op. 3 in E flat": any tonic before a mode word, or a capital tonic
# after "in" that ends the line or comes before a catalogue number ("Op.", "No.", "BWV"). "LIVE IN A CAVE" is
# not a key. A mode word as OCR misreads its letters ('minol', 'mlnor', 'maj0r': l for r, l or 1 for i, 0 for o)
# is the mode; 'manor' is not.
KEY = re.compile(r"(?<![A-Za-z0-9])(?P<tonic>[A-G])(?P<acc>\s*-?\s*(?:sharp|flat)(?:\b|(?=maj|min|dur|moll))|[#♯♭]|b(?![A-Za-z]))?"
                 r"(?:\s*(?P<mode>" + "|".join(("major", "minor", "m[il1|][nm][o0][rl]", "ma[jy][o0][rl]", "maj", "min", "dur", "moll"))
                 + r")\b\.?|(?![A-Za-z0-9#♯♭]))", re.IGNORECASE)  # 'Aminor': OCR lost the space
# where OCR dropped a space: a small letter before a capital, a letter beside a digit ('rollersat174BPM',
# 'inDminor', 'No.3inCminor'); a key or tempo is looked for with spaces put back there
SPACE_LOST = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
AFTER_BARE_KEY = re.compile(r"\s*(?:$|[,;:/()]|op\b|no\b|bwv\b|k\.?\s*\d)", re.IGNORECASE)
# 'BPM' needs no word end: OCR runs the next word on ('174BPMdrum&bass'), and a number then 'bpm' is a tempo
TEMPO = re.compile(r"(?<![\d.])(?P<bpm>\d{2,3})\s*(?:bpm|b\.p\.m\.?|beats per minute\b)|♩\s*=\s*(?P<mm>\d{2,3})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One thing the cover's words state: the field, its value and the words as read."""

    field: str   # key | tempo_bpm | genre | instruments
    value: Any
    phrase: str
    mode: str | None = None  # a key's mode, when the words name it ("in D minor")
    source: str | None = None  # where a name's genre comes from, when not AlbumGen's own tables
    negated: bool = False  # the words rule it out ('NO GUITARS', 'NOT METAL', 'without drums')

    def describe(self, line: str) -> str:
        """'the cover states key D minor ("in D minor")': the words as read, once; a name from the genre tree
        with its branch ('genre tree: electronic > hardcore > happy hardcore')."""
        shown = ", ".join(self.value) if isinstance(self.value, (list, tuple)) else self.value
        shown = f"{shown} {self.mode}" if self.mode else shown
        where = f'"{line}"' if self.phrase.lower() == line.strip().lower() else f'"{self.phrase}" in "{line}"'
        says = "rules out" if self.negated else "states"
        return f"the cover {says} {self.field.replace('_bpm', '')} {shown} ({where}{'; ' + self.source if self.source else ''})"


@functools.cache
def statement_table() -> dict[str, Any]:
    """associations.yaml `statements`, checked against the vocabulary."""
    table = prompt_table("associations.yaml")["statements"]
    vocab = vocabulary()
    assert set(table["genres"]) | set(table["subgenres"]) <= set(vocab.genres), "statements name unknown genres"
    assert set(table["tree"]["genres"].values()) <= set(vocab.genres), "statements.tree names unknown genres"
    for name, instruments in table["ensembles"].items():
        assert set(instruments) <= set(vocab.instruments), (name, instruments)
    return table


@functools.cache
def suggestive_words() -> dict[str, list[str]]:
    """Each genre's suggestive words (associations.yaml `words.genres`), with the instruments the line-up lacks
    that its records feature (`words.played`: 'harmonica' is blues', folk's and country's)."""
    words = prompt_table("associations.yaml")["words"]
    vocab = vocabulary()
    table = {g: [str(p) for p in ps] for g, ps in words["genres"].items()}
    for name, genres in words["played"].items():
        assert set(genres) <= set(vocab.genres) and name not in vocab.instruments, (name, genres)
        for genre in genres:
            table.setdefault(genre, []).append(str(name))
    return table


def _tonic(letter: str, accidental: str) -> str:
    """The tonic as the cover spells it, where the plan's vocabulary has that spelling ('G flat' is Gb, not F#);
    else the pitch class's one spelling ('E sharp' is F)."""
    shift = ACCIDENTAL[(accidental or "").lower()]
    spelled = letter.upper() + {1: "#", -1: "b", 0: ""}[shift]
    return spelled if spelled in vocabulary().tonics else PITCHES[(NATURAL[letter.upper()] + shift) % 12]


def key_statements(line: str) -> list[Statement]:
    """A key (and mode, when named) stated in one line of cover text."""
    for m in KEY.finditer(line):
        letter, mode = m.group("tonic"), (m.group("mode") or "").lower()
        mode = mode if mode in MODE_WORDS or not mode else "major" if mode.startswith("ma") else "minor"
        after_in = re.search(r"\bin\s+$", line[:m.start()], re.IGNORECASE) is not None
        bare = after_in and letter.isupper() and AFTER_BARE_KEY.match(line[m.end():]) is not None
        if not (mode or bare):
            continue
        accidental = re.sub(r"[\s-]", "", m.group("acc") or "")
        phrase = ("in " if after_in else "") + m.group(0).strip()
        return [Statement("key", _tonic(letter, accidental), phrase, MODE_WORDS[mode] if mode else None)]
    return []


def tempo_statements(line: str) -> list[Statement]:
    low, high = vocabulary().tempo_range  # the spec's own bounds (tools.spec reads them from here too)
    m = TEMPO.search(line)
    if m is None:
        return []
    bpm = int(m.group("bpm") or m.group("mm"))
    return [Statement("tempo_bpm", bpm, m.group(0).strip())] if low <= bpm <= high else []


@functools.cache
def _tree() -> dict[str, set[tuple[str, str]]]:
    """Every name of the genre tree (prompts/genre_tree.yaml) with the (genre, branch) of each place it sits:
    the genre of its nearest node listed in associations.yaml `statements.tree.genres`, '' under none."""
    listed = statement_table()["tree"]["genres"]
    found: dict[str, set[tuple[str, str]]] = {}

    def walk(node: Any, path: tuple[str, ...], genre: str | None) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child, path, genre)
        elif isinstance(node, dict):
            for name, children in node.items():
                here = listed.get(str(name), genre)
                _add(str(name), path + (str(name),), here)
                walk(children, path + (str(name),), here)
        elif node is not None:
            _add(str(node), path + (str(node),), listed.get(str(node), genre))

    def _add(name: str, path: tuple[str, ...], genre: str | None) -> None:
        for alias in _aliases(name):
            found.setdefault(alias, set()).add((genre, " > ".join(path)) if genre else ("", ""))

    walk(prompt_table("genre_tree.yaml"), (), None)
    return found


@functools.cache
def _own_names() -> dict[str, str]:
    """The names of associations.yaml `statements` genres and subgenres, lower case, with their genre."""
    table = statement_table()
    return {str(p).lower(): g for group in ("genres", "subgenres") for g, ps in table[group].items() for p in ps}


@functools.cache
def tree_names() -> dict[str, tuple[str, str]]:
    """The genre tree's names that state one of AlbumGen's genres, each with that genre and its branch:
    {'happy hardcore': ('electronic', 'electronic > hardcore > happy hardcore')}. Read as associations.yaml
    `statements.tree` says: the nearest listed node decides; a name AlbumGen's own tables hold, an ordinary
    word, an instrument or ensemble, and a name two listed nodes disagree on are left out."""
    table, vocab = statement_table(), vocabulary()
    taken = set(_own_names()) | {str(w) for w in table["tree"]["ordinary"]} | set(vocab.instruments) \
        | set(table["ensembles"]) | set(vocab.genres)
    return {name: (genre, f"genre tree: {min(b for _, b in options)}") for name, options in _tree().items()
            if name not in taken and (genre := _one_genre(options))}


def _one_genre(options: set[tuple[str, str]]) -> str | None:
    """The genre every place of a tree name agrees on, or None (two genres, or a place under no listed node)."""
    genres = {g for g, _ in options}
    return genres.pop() if len(genres) == 1 and "" not in genres else None


@functools.cache
def style_words() -> dict[str, str]:
    """Words that name a style only when a request asks for one ('make it jungle', 'turn it into an aria'): the
    genre tree's ordinary words ('jungle', 'trap', 'swing'; on a cover they are as often a place or a verb) and
    the scene words of one genre alone ('aria' is classical's), each with its genre."""
    table, own = statement_table(), _own_names()
    ordinary = {str(w) for w in table["tree"]["ordinary"]} - set(own)  # 'trap' states hip hop outright
    out = {name: genre for name, options in _tree().items() if name in ordinary and (genre := _one_genre(options))}
    owners: dict[str, set[str]] = {}
    for genre, words in suggestive_words().items():
        for word in words:
            owners.setdefault(word.lower(), set()).add(genre)
    out.update({w: next(iter(gs)) for w, gs in owners.items() if len(gs) == 1 and w not in out and w not in own})
    return out


@functools.cache
def genre_names() -> dict[str, str]:
    """Every name a cover or a request states a genre by, with its genre: associations.yaml `statements`
    genres and subgenres, and the genre tree's names."""
    return {**{name: genre for name, (genre, _branch) in tree_names().items()}, **_own_names()}


@functools.cache
def subgenre_names() -> dict[str, str]:
    """Every name of a style within a genre, with its genre: associations.yaml `statements.subgenres`, the
    genre tree's names ('zydeco' -> country), and the names of `statements.genres` the tree lists as genres
    ('deep house', 'black metal'); a genre's idiom words ('riddim', 'juke joint') and own names are not styles."""
    table, vocab = statement_table(), vocabulary()
    named = {str(p).lower(): g for g, ps in table["genres"].items() for p in ps if str(p).lower() in _tree()}
    own = {str(p).lower(): g for g, ps in table["subgenres"].items() for p in ps}
    styles = {**named, **{name: genre for name, (genre, _branch) in tree_names().items()}, **own}
    return {name: genre for name, genre in styles.items() if name not in vocab.genres}


def by_name(phrase: str, genre: str) -> bool:
    """Whether a genre statement names its genre outright (the genre's own name, a style's, an artist's), not by
    an idiom word its scenes use ('warehouse', 'riddim', 'requiem')."""
    name = phrase.lower()
    return name == genre or name in subgenre_names() or name in artist_names() or name in vocabulary().genres


@functools.cache
def artist_names() -> dict[str, str]:
    """prompts/artists.yaml: each artist's name as a cover prints it or a listener types it (lower case), with the
    genre they are best known for. A leading 'the' is optional ('Ramones', 'The Ramones'), unless the rest is a
    dictionary word: 'the clash' names the band, 'clash' does not, and a one-word dictionary name without its
    'the' (Queen, Drake) is left out. A name two genres claim is left out."""
    from tools.language import in_dictionary, lemma

    table, genres = prompt_table("artists.yaml")["artists"], set(vocabulary().genres)
    assert set(table) <= genres, f"artists.yaml names unknown genres: {sorted(set(table) - genres)}"
    found: dict[str, set[str]] = {}
    for genre, names in table.items():
        for name in (" ".join(str(n).lower().split()) for n in names):
            core = name[4:] if name.startswith("the ") else name
            common = " " not in core and (in_dictionary(core) or in_dictionary(lemma(core)))
            if common and name == core:  # a one-word dictionary name without its 'the'
                continue
            for form in {name} if common else {name, core}:
                found.setdefault(form, set()).add(genre)
    return {name: next(iter(gs)) for name, gs in found.items() if len(gs) == 1}


@functools.cache
def likened_artists() -> dict[str, str]:
    """prompts/artists.yaml `likened`: one-word names that are dictionary words (Nirvana, Slayer, Drake), each with
    its genre, read only in a likeness a listener asks for ('like Nirvana'), never on a sleeve."""
    table, genres = prompt_table("artists.yaml").get("likened", {}), set(vocabulary().genres)
    assert set(table) <= genres, f"artists.yaml `likened` names unknown genres: {sorted(set(table) - genres)}"
    return {str(name).lower(): genre for genre, names in table.items() for name in names}


ARTIST_SOURCE = "artist: prompts/artists.yaml"


def _squashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@functools.cache
def _squashed_artists() -> dict[str, tuple[str, str]]:
    """Each artist name with its spaces and marks taken out ('drdre', 'howlinwolf'), with the name and genre."""
    return {_squashed(name): (name, genre) for name, genre in artist_names().items() if len(_squashed(name)) >= 5}


def artist_statements(line: str, found: list[Statement]) -> list[Statement]:
    """An artist's name where OCR ran its words together ("DR.DRE", "HOWLIN'WOLF", "JDILLA"): the line, its spaces
    and marks taken out, is the name, or begins or ends with a name of eight letters or more
    ("MUSICBYHANSZIMMER"). Nothing where the line's words already named the artist."""
    squashed, table = _squashed(line), _squashed_artists()
    if any(s.source == ARTIST_SOURCE for s in found) or len(squashed) < 5:
        return []
    hit = table.get(squashed) or next((v for k, v in table.items() if len(k) >= 8 and squashed != k
                                       and (squashed.startswith(k) or squashed.endswith(k))), None)
    return [Statement("genre", hit[1], hit[0], source=ARTIST_SOURCE)] if hit else []


def _aliases(name: str) -> list[str]:
    """A tree name as the words a cover would print: 'cowboy/western music' is 'cowboy music' and 'western
    music'; 'progressive house/trance' is 'progressive house' and 'progressive trance'."""
    name = name.lower()
    if "/" not in name:
        return [name]
    first, last = name.split("/", 1)
    if " " in last and " " not in first:
        first = f"{first} {last.split(' ', 1)[1]}"
    elif " " in first and " " not in last:
        last = f"{first.rsplit(' ', 1)[0]} {last}"
    return [first, last]


def _find(words: list[str], keys: list[str], phrase: str, used: set[int]) -> range | None:
    """Where the phrase's words occur among a line's word lemmas, not overlapping words a longer phrase took.
    Lemmas, not stems: a name must not match its neighbours ('classics' is not 'classical'). A one-word name
    that is itself an inflected form is matched as written: 'blues' is a genre, 'BLUE CANYON' is a colour."""
    from tools.language import as_written, lemma

    want = [lemma(w) for w in phrase.lower().replace(" & ", " and ").split()]
    exact = as_written(phrase)
    for i in range(len(keys) - len(want) + 1):
        span = range(i, i + len(want))
        # as written, but for a dropped g's apostrophe: "JACKIN'" is the table's 'jackin'
        if keys[i:i + len(want)] == want and not used & set(span) and exact in (None, words[i].lower().rstrip("'")):
            return span
    return None


def word_statements(words: list[str]) -> list[Statement]:
    """Genres named or evoked by their idiom words, and instruments or ensembles named, in a line's words; a
    longer phrase takes its words first ('string quartet' is classical strings, not a jazz quartet). A phrase
    under a negation is ruled out ('NO GUITARS, JUST A PIANO': guitar out, piano in)."""
    from tools.language import lemma, negated

    table, vocab = statement_table(), vocabulary()
    keys, negations = [lemma(w) for w in words], negated(words)
    named = {g: [*table["genres"].get(g, []), *table["subgenres"].get(g, [])] for g in vocab.genres}
    phrases = [(str(p), "genre", genre, None) for genre, ps in named.items() for p in ps]
    phrases += [(name, "genre", genre, branch) for name, (genre, branch) in tree_names().items()]
    phrases += [(name, "genre", genre, ARTIST_SOURCE) for name, genre in artist_names().items()]
    phrases += [(name, "instruments", tuple(table["ensembles"][name]), None) for name in table["ensembles"]]
    phrases += [(name, "instruments", (name,), None) for name in vocab.instruments]
    phrases += [(p, "scene", None, None) for ps in suggestive_words().values() for p in dict.fromkeys(ps)
                if " " in p]  # a longer scene phrase is not its instrument: 'blast beats', 'slap bass'
    used: dict[str, set[int]] = {"genre": set(), "instruments": set()}  # a phrase may state both
    found: list[tuple[int, Statement]] = []
    for phrase, field_name, value, source in sorted(phrases, key=lambda p: -len(p[0].split())):
        span = _find(words, keys, phrase, used["instruments" if field_name == "scene" else field_name])
        if field_name == "scene":
            used["instruments"] |= set(span or ())
            continue
        if span is not None and not any(s.field == field_name and s.value == value for _i, s in found):
            used[field_name] |= set(span)
            ruled_out = negations[span.start]
            if ruled_out and field_name == "instruments":
                value = _family(phrase, value)
            found.append((span.start, Statement(field_name, value, phrase, source=source, negated=ruled_out)))
    return [s for _i, s in sorted(found, key=lambda f: f[0])]


KINDS = {"bass guitar": ("bass",)}  # what a name is a kind of, where not every word of it: 'no guitars' keeps the bass


def _family(phrase: str, named: tuple[str, ...]) -> tuple[str, ...]:
    """What a one-word instrument name rules out: every instrument of the line-up named by that word ('no
    guitars': electric, acoustic and distorted guitar; 'no synths': lead, pad and bass; 'no drums': the kit and the
    machine). A longer name rules out itself ('no drum machines, real drums')."""
    from tools.language import lemma

    if " " in phrase.strip():
        return named
    word = lemma(phrase.lower())
    kinds = {i: KINDS.get(i, tuple(i.split())) for i in vocabulary().instruments}
    return tuple(dict.fromkeys([*named, *(i for i, ks in kinds.items() if word in {lemma(k) for k in ks})]))


def statements(line: str, words: list[str]) -> list[Statement]:
    """Everything one line of cover text states: key and mode, tempo, genres, instruments."""
    spaced = SPACE_LOST.sub(" ", line)
    found = word_statements(words)
    return key_statements(spaced) + tempo_statements(spaced) + found + artist_statements(line, found)


def music_words(found: list[Statement]) -> frozenset[str]:
    """The words that name who plays (instruments, ensembles): they state, they do not feel, so the emotion
    lexicon does not read them ('orchestra' is not joy, 'choir' is not trust). A genre's idiom keeps its
    feeling: a requiem is sad."""
    return frozenset(w for s in found if s.field == "instruments" for w in s.phrase.lower().split())


@functools.cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """The given names and surnames of the 1990 US census (the `names` package's data files, read, not imported),
    lower case; empty where the package is missing."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        return frozenset(), frozenset()
    folder = Path(spec.origin).parent

    def read(*files: str) -> frozenset[str]:
        return frozenset(line.split()[0].lower() for f in files if (folder / f).exists()
                         for line in (folder / f).read_text(encoding="ascii").splitlines() if line.strip())

    return read("dist.male.first", "dist.female.first"), read("dist.all.last")


@functools.cache
def music_phrases() -> frozenset[str]:
    """The phrases that state or suggest a genre (associations.yaml `statements` genres and subgenres, the
    genre tree's names, `words` genres and the instruments they name), lower case."""
    return frozenset(p.lower() for phrases in suggestive_words().values() for p in phrases) | set(genre_names())


def person_words(words: list[str]) -> set[int]:
    """The places of a person's name in a cover line: two to four words, the first a census given name and one of
    them a census name that neither a dictionary nor the genre tables hold ('Darla Mae Rhodes', 'Maren Lund'; not
    'Summer Rain', whose words are words, nor 'Yung Tavo'); each census name of such a line ('Eddie Marsh' of
    'Eddie Marsh Sextet', not 'Sextet'). A name says who, not how it sounds: 'Rhodes' there is no electric piano."""
    from tools.language import in_dictionary

    given, surnames = census_names()
    words = [w.lower().strip(".,'") for w in words]
    if not (2 <= len(words) <= 4 and words[0] in given
            and any((w in given or w in surnames) and not in_dictionary(w) and w not in music_phrases() for w in words)):
        return set()  # a stage name's marker the tables read licenses none ('Yung Tavo' is rap's naming)
    return {k for k, w in enumerate(words) if w in given or w in surnames}


def band_name(lines: list[list[str]]) -> tuple[str, int] | None:
    """The name of a band and the line it starts on, as groups have named themselves since the beat groups: "the"
    and a plural noun, two to four words ('THE REVOLVERS', 'The Groove Merchants'), on one line or over two where
    OCR broke the name ('THE PARKING' / 'TICKETS', 'THE' / 'DIRTBAGS'). `lines`: each text line's words, lower
    case. A title made the same way ('THE FOUR SEASONS') reads as one too; the lean it carries is small
    (associations.yaml `band_name`), and a statement outweighs it."""
    from tools.language import lemma

    def plural(word: str) -> bool:  # 'revolvers', 'highwaymen'
        return word.endswith(("s", "men")) and not word.endswith(("ss", "'s")) and lemma(word) != word

    for i, words in enumerate(lines):
        if not words or words[0] != "the" or len(words) > 4:
            continue
        if not plural(words[-1]) and i + 1 < len(lines) and len(words) + len(lines[i + 1]) <= 4:
            words = [*words, *lines[i + 1]]  # 'THE PARKING' / 'TICKETS', 'THE' / 'DIRTBAGS'
        if len(words) >= 2 and plural(words[-1]):
            return " ".join(words), i
    return None
