"""Split a prompt into the object it names and the attributes it gives that object.

ReDream retrieves *geometry*: "a green sports car" must find cars, whatever colour the library's
cars are, and never a green cap. So retrieval ranks by the object phrase ("sports car") and lets the
attributes ("green") only order assets of that object. The split is deliberately simple: an owned
word list of colours, materials, finishes, styles and sizes, articles dropped, and the head noun
phrase taken from before the first clause ("with ...", "made of ...", "in a ..."). Prompts that
name no object up front ("something to sit on at a dinner table") keep their whole text as the
object description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from splatdream.colours import COLOURS, MATERIALS, SHADES

FINISHES = frozenset(
    """
shiny glossy matte polished rusty weathered worn painted striped checkered chequered plaid tartan
polka-dot spotted dotted patterned textured floral camouflage glazed sparkly glittery transparent
translucent
""".split()
)
STYLES = frozenset(
    """
modern vintage antique retro rustic futuristic cartoon cartoonish realistic photorealistic stylised
stylized low-poly toy miniature cute fancy elegant ornate simple plain old new classic medieval
fantasy sci-fi steampunk
""".split()
)
SIZES = frozenset("small big large tiny tall short huge little long wide narrow mini giant".split())
ATTRIBUTE_WORDS = COLOURS | MATERIALS | FINISHES | STYLES | SIZES
"""Words that describe how an object looks, never which object it is."""
ARTICLES = frozenset("a an the some one two three this that".split())
CLAUSE_WORDS = frozenset(
    "with made covered in on of from for that which wearing holding sitting standing".split()
)
"""Words that end the head noun phrase: what follows describes the object, it is not the object."""
GENERIC_HEADS = frozenset(
    """
something thing object item piece what where who kind type sort vehicle animal pet creature fruit food
vessel container tool instrument furniture plant building structure device figure sculpture
""".split()
)
"""Heads that name no particular object (or only its kind): the whole prompt then describes the object."""
MAX_HEAD_WORDS = 3
"""A longer head phrase ('backless seat you perch') is a description, not an object's name."""
ATTRIBUTE_CLAUSES = re.compile(r"\b(?:made (?:of|from|out of)|covered (?:in|with)|painted)\b")

CATEGORY_SYNONYMS: dict[str, frozenset[str]] = {
    category: frozenset(words.split())
    for category, words in {
        "airplane": "aeroplane plane airliner jetliner aircraft",
        "armchair": "recliner wingback",
        "ball": "football soccerball basketball volleyball beachball",
        "banana": "plantain",
        "bed": "bunk cot bedstead",
        "bench": "pew",
        "bicycle": "bike cycle tandem",
        "bird": "songbird sparrow robin finch parrot pigeon crow owl eagle canary",
        "boat": "sailboat yacht dinghy canoe rowboat ship",
        "bookshelf": "bookcase shelves shelf shelving",
        "bottle": "flask decanter",
        "bowl": "basin",
        "bus": "coach minibus omnibus",
        "cactus": "cacti saguaro succulent",
        "cake": "gateau cheesecake",
        "car": "automobile auto sedan hatchback coupe convertible roadster racecar",
        "castle": "fortress fort citadel",
        "cat": "kitten kitty feline tomcat",
        "clock": "timepiece",
        "cup": "teacup",
        "desk": "workstation bureau",
        "dog": "puppy pup hound canine terrier poodle labrador",
        "donut": "doughnut",
        "door": "doorway entrance entryway",
        "dragon": "wyvern",
        "fence": "railing palisade picket",
        "fish": "goldfish trout salmon carp",
        "hammer": "mallet gavel sledgehammer",
        "hat": "fedora bowler beanie sombrero stetson",
        "horse": "pony stallion mare foal steed",
        "house": "home cottage dwelling bungalow cabin villa",
        "ice cream cone": "cornet gelato",
        "kettle": "teakettle",
        "ladder": "stepladder",
        "lamp": "lampshade",
        "lighthouse": "beacon",
        "mug": "tankard stein",
        "mushroom": "fungus fungi toadstool",
        "piano": "pianoforte",
        "pine tree": "fir spruce conifer evergreen",
        "potted plant": "houseplant",
        "rabbit": "bunny hare",
        "robot": "android droid automaton mech",
        "rocket": "spaceship spacecraft missile",
        "shoe": "sneaker trainer loafer footwear",
        "sofa": "couch settee loveseat divan",
        "stool": "barstool footstool",
        "sword": "sabre saber katana rapier cutlass",
        "tree": "sapling maple birch",
        "truck": "lorry pickup",
        "umbrella": "parasol brolly",
        "vase": "urn",
    }.items()
}
"""Other words that name each starter category's object (synonyms, kinds of it): 'a lorry' names a truck.

Used only by the weak-match flag, which otherwise false-alarms on a correct hit whose caption never
uses the prompt's word (docs/retrieval.md). Single words, each naming that object and no other starter
category; a word that also names an object the library lacks stays out ('light': a traffic light;
'blade', 'mill'), or the flag would hide a real miss. Extend it with the library's categories.
"""


_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


@dataclass(frozen=True)
class ParsedPrompt:
    """A prompt split for retrieval; ``prompt`` is kept whole for the prior."""

    prompt: str
    object: str
    """The head noun phrase, e.g. 'sports car' (matched against category names)."""
    description: str
    """The prompt without its attribute words (matched against captions): the object and its parts."""
    attributes: tuple[str, ...]
    """Attribute words and clauses that only order assets of that object, e.g. ('green',)."""
    names_object: bool = True
    """The prompt names its object in a short head phrase ('a red pickup truck'), rather than describing it."""

    @property
    def head_words(self) -> tuple[str, ...]:
        """The object phrase's words (singular too), for checking that an asset names the object; () if none named."""
        if not self.names_object:
            return ()
        words = self.object.split()
        return tuple(dict.fromkeys(words + [singular(w) for w in words]))


def singular(word: str) -> str:
    """A rough singular of an English plural ('boxes' -> 'box', 'cars' -> 'car'); other words unchanged."""
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words_of(text: str) -> set[str]:
    """Lower-case words of ``text`` and their singulars."""
    found = _WORD.findall(text.lower())
    return set(found) | {singular(w) for w in found} | {p for w in found for p in w.split("-")}


def parse_prompt(prompt: str) -> ParsedPrompt:
    """The object phrase and attributes of ``prompt`` ('a green sports car' -> 'sports car', ('green',))."""
    words = _WORD.findall(prompt.lower())
    attributes: list[str] = []
    head: list[str] = []
    i = 0
    while i < len(words) and words[i] in ARTICLES:
        i += 1
    while i < len(words) and words[i] not in CLAUSE_WORDS:
        (attributes if _is_attribute(words[i], words[i + 1 : i + 2]) else head).append(words[i])
        i += 1
    rest = words[i:]
    if rest:
        attributes.append(" ".join(rest))
    text = ATTRIBUTE_CLAUSES.sub(" ", " ".join(words)).split()
    kept = [w for j, w in enumerate(text) if not _is_attribute(w, text[j + 1 : j + 2])]
    description = " ".join(kept) or prompt.strip()
    if (
        not head or head[0] in GENERIC_HEADS or head[-1] in GENERIC_HEADS
    ):  # no object named: the prompt describes it
        attrs = tuple(w for j, w in enumerate(words) if _is_attribute(w, words[j + 1 : j + 2]))
        return ParsedPrompt(prompt, description, description, attrs, names_object=False)
    return ParsedPrompt(
        prompt, " ".join(head), description, tuple(attributes), names_object=len(head) <= MAX_HEAD_WORDS
    )


def _is_attribute(word: str, following: list[str]) -> bool:
    if word in ATTRIBUTE_WORDS:
        return True
    if word in SHADES:
        return bool(following) and following[0] in COLOURS
    parts = word.split("-")  # "dark-green", "blue-and-white"
    return len(parts) > 1 and all(p in ATTRIBUTE_WORDS or p in SHADES or p == "and" for p in parts)
