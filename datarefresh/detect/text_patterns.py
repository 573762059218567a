"""Pattern and gazetteer finders for free text, Unicode-aware and offline.

Each finder takes a text and returns (start, end, entity, score) tuples. They cover
what spaCy's small English model misses: person names from any locale (the
multi-locale gazetteer, capitalisation and context, with common words discounted by
their frequency), street addresses in US/UK/European layouts (street types from
pyap's USPS list, postcode-line layouts), phone numbers (phonenumbers' lenient
matcher), checksummed cards and IBANs in any case, SSNs, dates of birth by context
and licence numbers by context.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import regex as re

from datarefresh.detect import gazetteer

Found = tuple[int, int, str, float]

# ---------------------------------------------------------------- names

PARTICLES = {
    "van",
    "der",
    "den",
    "de",
    "da",
    "das",
    "do",
    "dos",
    "di",
    "del",
    "della",
    "des",
    "du",
    "la",
    "le",
    "lo",
    "ter",
    "ten",
    "von",
    "zu",
    "vom",
    "bin",
    "binti",
    "ibn",
    "al",
    "el",
    "abu",
    "abd",
    "mac",
    "mc",
    "ó",
    "ní",
    "nic",
    "y",
    "e",
    "st",
    "san",
    "bint",
}
CUE_WORDS = {
    "dear",
    "hi",
    "hello",
    "hey",
    "hiya",
    "thanks",
    "regards",
    "cheers",
    "sincerely",
    "name",
    "customer",
    "caller",
    "agent",
    "attn",
    "signed",
    "from",
    "to",
    "cc",
    "spoke",
    "with",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "sir",
    "madam",
    "mx",
    "herr",
    "frau",
    "mme",
    "mlle",
    "sr",
    "sra",
    "patient",
    "cardholder",
    "applicant",
    "contact",
    "client",
    "user",
    "tenant",
    "beneficiary",
    "holder",
    "greetings",
    "morning",
    "afternoon",
    "evening",
    "yours",
    "kind",
    "best",
    "warm",
    "warmly",
    "good",
    # form labels and roles (issue 13 dev templates): context, never a name
    "dob",
    "ssn",
    "street",
    "phone",
    "tel",
    "email",
    "mobile",
    "address",
    "renter",
    "policyholder",
    "attendees",
    "landlord",
    "landlady",
    "billing",
    "delivery",
    "escalated",
    "reported",
    "assigned",
    "guest",
    "owner",
    "passenger",
    "recipient",
    "sender",
    "requester",
    "witness",
    "insured",
}
TITLES = r"(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Madam|Mme|Mlle|M|Herr|Frau|Sr|Sra|Srta|Hr|Fr|Dhr|Mevr)"
# A word: letters (any script) with inner apostrophes or hyphens (O'Brien, Jean-Luc, Al-Farsi).
_WORD = re.compile(
    r"(?<![\p{L}\p{M}\p{N}_@./\\-])(?<![\p{L}\p{N}]['’])\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*"
    r"(?![\p{L}\p{M}\p{N}_@/\\]|\.[\p{L}\p{N}]|-\p{N})"
)
# Words before a name that say a person follows (on the same line).
_BEFORE = re.compile(
    rf"(?i:\b(?:{TITLES}\.?|dear|hi|hello|hey|hiya|morning|afternoon|evening|greetings|thanks|thank you|thx|ty|"
    r"regards|cheers|sincerely|best|yours|love|name(?:'s| is)?|named|full name|surname|forename|first name|"
    r"last name|given name|customer|client|caller|patient|applicant|tenant|holder|cardholder|account holder|"
    r"beneficiary|contact|attn|attention|from|to|for|by|with|agent|rep|user|member|employee|spoke (?:to|with)|"
    r"call(?:ed)? (?:with|from)|talked to|i'm|i am|im|it's|its|this is|signed|behalf of|mother|father|son|"
    r"daughter|wife|husband|sister|brother|partner|friend|neighbour|neighbor|ask for|asked for|visit for|cc|"
    r"reference for|left vm for|vm for|message from|msg from|sorry|ok|okay|c/o|care of|per|attendees?|"
    r"participants?|renter|landlord|landlady|owner|guest|passenger|recipient|sender|requester|requested by|"
    r"reported by|approved by|assigned to|escalated to|handled by|signed by|witness|policyholder|insured|"
    r"driver|nurse|doctor|panel|interviewer|candidate|neighbour|(?:full|first|last|given|customer|user)[_ ]?name))"
    r"[ \t]*(?:[:=#\-–—,.!]+[ \t]*|[\"'“‘(]+[ \t]*)*$"
)
# Line-level cues: a sign-off line before, a "Name:"-style label, a chat speaker.
_DASH_SIGNATURE = re.compile(r"^[ \t]*(?:--|—|–|~|-)[ \t]*$")  # "-- Roy Little" closing an e-mail
_SIGNOFF = re.compile(
    r"(?i:(?:thanks|thank you|regards|cheers|sincerely|best|yours|love|warmly|respectfully|"
    r"kind regards|best regards|many thanks|ty|thx|rgds|br|--|—|~)[ \t!.,]*)$"
)
_AFTER = re.compile(
    r"^(?:[ \t]*(?:\(|<|,[ \t]*(?:born|dob|d\.o\.b)|[ \t]+(?:here|joined|said|wrote|called|"
    r"asked|says|from|visited|showed|rented|reported|emailed|e-mailed|phoned|paid|ordered|requested|"
    r"confirmed|complained|signed|agreed|wants|wanted|needs|needed|returned|came|arrived|bought|"
    r"booked|cancell?ed|moved|lives|lived|works|worked|replied|responded|mentioned|told|explained|"
    r"went|picked|dropped|cannot|can't|won't|didn't|doesn't|\()\b))",
    re.I,
)
_SPEAKER = re.compile(r"^[ \t]*:")
_CELL_BEFORE = re.compile(r"(?:^|[;|\t\"]|,(?! ))[ \t]*$")
_CELL_AFTER = re.compile(r"^[ \t]*(?:[;|\t\"]|,(?! )|$)")


_GAP = re.compile(r"[ \t]{1,2}")
_INITIAL_GAP = re.compile(r"\.[ \t]{1,2}")
_TITLE_BEFORE = re.compile(rf"(?i:\b{TITLES}\.?)[ \t]+$")
_INNER = re.compile(r"['’-]")
_NON_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s")


@lru_cache(maxsize=200_000)
def _token_evidence(token: str) -> tuple[float, bool]:
    """(name evidence, is a very common word) for one token, case-insensitive."""
    parts = [p for p in _INNER.split(token) if p]
    best = 0.0
    common = False
    for i, p in enumerate(parts):
        if len(p) == 1 or (
            i == 0 and p.lower() in ("o", "d", "l", "al", "el", "abd", "abu", "ben", "bin") and len(parts) > 1
        ):
            continue
        rank = gazetteer.name_rank(p)
        freq = gazetteer.word_frequency(p)
        if rank is not None and freq < 3.8:
            best = max(best, 2.0)
        elif rank is not None and (freq < 4.6 or (rank <= 150 and freq < 5.6)):  # 'James', 'Chris', 'Park'
            best = max(best, 1.0)
            continue
            best = max(best, 1.0)
        elif rank is None and freq < 1.5 and len(p) >= 3:
            best = max(best, 0.75)  # an unknown word: in Title case, likely a name nobody listed
        if freq >= 5.0 and len(parts) == 1 and best < 1.0:
            common = True
    return best, common


def _casing(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    if not letters or upper == 0:
        return "lower"
    return "upper" if upper / len(letters) > 0.8 else "mixed"


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def find_names(text: str) -> list[Found]:
    casing = _casing(text)
    tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    runs: list[list[tuple[int, int, str]]] = []
    for tok in tokens:
        s, e, w = tok
        low = w.lower()
        initial = len(w) == 1 and text[e : e + 1] == "." and (w.isupper() or casing == "lower")  # "J. Smith"
        if low in CUE_WORDS:
            ok = False  # "Dear", "Thanks", "Name": context for the next words, not a name
        elif initial:
            ok = True
        elif casing == "mixed":
            ok = w[0].isupper() or (low in PARTICLES)
        else:
            ok = _token_evidence(w)[0] > 0 or low in PARTICLES
        gap = text[runs[-1][-1][1] : s] if runs and runs[-1] else ""
        joined = _GAP.fullmatch(gap) or (_INITIAL_GAP.fullmatch(gap) and len(runs[-1][-1][2]) == 1)
        if ok and runs and runs[-1] and joined and len(runs[-1]) < 6:
            runs[-1].append(tok)
        elif ok:
            runs.append([tok])
        else:
            runs.append([])
    out: list[Found] = []
    for run in runs:
        while run and (run[-1][2].lower() in PARTICLES or len(run[-1][2]) == 1):
            run = run[:-1]
        if not run or all(len(t[2]) == 1 for t in run):
            continue
        line = text[_line_start(text, run[0][0]) : run[0][0]]
        if _TITLE_BEFORE.search(line) and len(run) <= 4 and (casing != "mixed" or run[0][2][0].isupper()):
            out.append((run[0][0], run[-1][1], "PERSON", 0.7))  # "Mrs Moon": after a title, a surname
            continue
        if (
            (_BEFORE.search(line) or _DASH_SIGNATURE.search(line))
            and len(run) <= 3
            and _token_evidence(run[0][2])[0] >= 1.0
            and all(gazetteer.name_rank(t[2]) for t in run)
        ):
            out.append(
                (run[0][0], run[-1][1], "PERSON", 0.7)
            )  # "Thanks, Roy Little": common words, but names here
            continue
        for piece in _split_run(run):
            out.extend(_judge(text, piece, casing))
    return out


def _split_run(run):
    """Cut a run of capitalised words at very common words ('Thanks', 'Please', 'The')."""
    pieces, cur = [], []
    for tok in run:
        ev, common = _token_evidence(tok[2])
        if common and ev < 1.0 and tok[2].lower() not in PARTICLES:
            if cur:
                pieces.append(cur)
            cur = []
        else:
            cur.append(tok)
    if cur:
        pieces.append(cur)
    return pieces


def _judge(text: str, run, casing: str) -> list[Found]:
    line = text[_line_start(text, run[0][0]) : run[0][0]]
    before = _BEFORE.search(line) is not None or _DASH_SIGNATURE.search(line) is not None
    if not before:  # "van der Sloot" after a title keeps its particles; elsewhere a name starts capitalised
        while run and run[0][2].lower() in PARTICLES and not (casing == "mixed" and run[0][2][0].isupper()):
            run = run[1:]
    names = [t for t in run if t[2].lower() not in PARTICLES or (casing == "mixed" and t[2][0].isupper())]
    if not names:
        return []
    evidence = [
        _token_evidence(t[2])[0] if len(t[2]) > 1 else 0.5 for t in names
    ]  # an initial: some evidence
    score = sum(evidence) + (0.5 * sum(1 for v in evidence if v == 0) if casing == "mixed" else 0)
    start, end = run[0][0], run[-1][1]
    if text[end - 2 : end] in ("'s", "’s") and end - start > 3:
        end -= 2
    line = text[_line_start(text, start) : start]
    prev_line_end = _line_start(text, start) - 1
    prev_line = (
        text[_line_start(text, max(prev_line_end, 0)) : max(prev_line_end, 0)].strip()
        if prev_line_end > 0
        else ""
    )
    own_line = not line.strip() and (end == len(text) or text[end : end + 1] in "\n,")
    signed = own_line and (
        _SIGNOFF.search(prev_line) is not None or prev_line.endswith(":") or end >= len(text.rstrip()) - 1
    )
    tail = text[end : end + 12]
    after = _AFTER.search(tail) is not None
    # a chat speaker ("Ana: hi"): a name at the line start before a colon, not a field label ("Delivery:")
    speaker = (
        not line.strip()
        and _SPEAKER.search(tail) is not None
        and max(evidence) > 0
        and (
            all(v in (0.75, 2.0) for v in evidence)
            or text.count("\n" + text[start:end] + ":") + text.startswith(text[start:end] + ":") >= 2
        )
    )
    cell = _CELL_BEFORE.search(line) is not None and _CELL_AFTER.search(tail) is not None
    if len(names) >= 2 and score >= 2.5 and max(evidence) >= 1.0:
        return [(start, end, "PERSON", 0.75)]
    if (before or signed or after) and max(evidence) > 0 and score >= 1.0 or speaker:
        return [(start, end, "PERSON", 0.7)]
    if cell and len(names) >= 2 and score >= 1.5:
        return [(start, end, "PERSON", 0.6)]
    if (before or signed) and all(gazetteer.word_frequency(t[2]) < 3.0 for t in names):
        return [(start, end, "PERSON", 0.55)]
    return []


_CELL_SPLIT = re.compile(r"[,;|\t]")
_INVERTED_LINE = re.compile(r"^[ \t]*([^\n,\d]{2,40}),[ \t]+([^\n,\d]{2,40}?)[ \t]*$", re.M)


def _name_part_ok(part: str, casing: str) -> tuple[bool, float]:
    """Is `part` (a cell, or one side of 'Last, First') one to three name words? (ok, evidence)."""
    words = _WORD.findall(part)
    if (
        not 1 <= len(words) <= 3
        or _WORD.sub("", part).strip(" \t'’.-\"")
        or any(w.lower() in CUE_WORDS for w in words)
    ):
        return False, 0.0
    names = [w for w in words if w.lower() not in PARTICLES]
    if (
        not names
        or (casing == "mixed" and not all(w[0].isupper() for w in names))
        or _STATE_NAME.fullmatch(part.strip())
        or part.strip().upper() in _STATES
    ):
        return False, 0.0
    ev = [_token_evidence(w) for w in names]
    if any(common and e < 1.0 for e, common in ev):
        return False, 0.0
    values = [e for e, _ in ev]
    return min(values) > 0 or casing == "mixed", sum(values) + (
        0.5 * values.count(0) if casing == "mixed" else 0
    )


def find_name_pairs(text: str) -> list[Found]:
    """Names split over two fields: 'Last, First' on a line of its own (a letter's address block), and
    surname and given name in two adjacent cells of a delimited line ('T1,Kaniaková,Könül,MD')."""
    casing = _casing(text)
    out: list[Found] = []
    for m in _INVERTED_LINE.finditer(text):
        (ok1, e1), (ok2, e2) = _name_part_ok(m.group(1), casing), _name_part_ok(m.group(2), casing)
        if ok1 and ok2 and e1 + e2 >= 2.0 and max(e1, e2) >= 1.0:
            out.append((*m.span(1), "PERSON", 0.6))
            out.append((*m.span(2), "PERSON", 0.6))
    for line_m in re.finditer(r"[^\n]+", text):
        line = line_m.group()
        if len(_CELL_SPLIT.findall(line)) < 3 or ", " in line:
            continue
        cells, pos = [], line_m.start()
        for piece in _CELL_SPLIT.split(line):
            cells.append((pos, pos + len(piece), piece))
            pos += len(piece) + 1
        for (s1, t1, c1), (s2, t2, c2) in pairwise(cells):
            (ok1, e1), (ok2, e2) = _name_part_ok(c1, casing), _name_part_ok(c2, casing)
            if ok1 and ok2 and e1 + e2 >= 2.0 and max(e1, e2) >= 1.0:
                for cs, ct, c in ((s1, t1, c1), (s2, t2, c2)):
                    lead = len(c) - len(c.lstrip(" \t\"'"))
                    trail = len(c) - len(c.rstrip(" \t\"'"))
                    out.append((cs + lead, ct - trail, "PERSON", 0.55))
    return out


def repeated_names(text: str, found: list[tuple[int, int, str]]) -> list[Found]:
    """A word of a person found elsewhere in the same text is that person again ('Merva Faivre ... Merva
    (guest)', 'Cheers\nadesua'): whole-word, case-insensitive, unless it is a common word."""
    covered = [(s, e) for s, e, _ in found]
    words = {}
    for s, e, ent in found:
        if ent != "PERSON":
            continue
        for m in _WORD.finditer(text, s, e):
            w = m.group()
            if (
                len(w) >= 3
                and w.lower() not in PARTICLES
                and w.lower() not in CUE_WORDS
                and gazetteer.word_frequency(w) < 4.0
            ):
                words[w.casefold()] = w
    out: list[Found] = []
    if not words:
        return out
    for m in _WORD.finditer(text):
        if m.group().casefold() in words and not any(cs < m.end() and m.start() < ce for cs, ce in covered):
            out.append((m.start(), m.end(), "PERSON", 0.6))
    return out


def trim_person(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A person span from elsewhere (spaCy) without cue words or common words at its edges;
    None when nothing name-like is left."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text, start, end)]

    def weak(w: str) -> bool:
        ev, _ = _token_evidence(w)
        return w.lower() in CUE_WORDS or (ev == 0 and gazetteer.word_frequency(w) >= 4.5)

    while words and weak(words[0][2]):
        words.pop(0)
    while words and weak(words[-1][2]):
        words.pop()
    if not words:
        return None
    return words[0][0], max(words[-1][1], end if words[-1][1] == end else words[-1][1])


# ---------------------------------------------------------------- addresses


@lru_cache(maxsize=1)
def _street_types() -> str:
    from pyap.source_US.data import street_type_list

    words = set(street_type_list) - {"Ext", "Exts", "Un", "Via"} | {
        "Close",
        "Crescent",
        "Mews",
        "Gardens",
        "Grove",
        "Row",
        "Walk",
        "Green",
        "Wharf",
        "Parade",
        "Rise",
        "Hill",
        "Lane",
        "Terrace",
        "Square",
        "Quay",
        "Embankment",
        "Gate",
        "Yard",
        "Drove",
        "Chase",
        "Mount",
        "Approach",
    }
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_EU_TAIL = (
    r"stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|hof|steig|pfad|markt|"
    r"straat|laan|plein|kade|singel|dijk|gracht|hof|park|steeg|baan|dreef|pad|"
    r"vej|gade|stræde|allé|torv|plads|gatan|vägen|gränd|stigen|torget|backen|gata|gate|veien|vegen|"
    r"katu|kuja|tie|polku|rinne|raitti|kaari|"
    r"utca|út|ulica|ulice|náměstí|třída|nábřeží"
)
_EU_HEAD = (
    r"rue|avenue|av\.|bd|boulevard|place|chemin|allée|impasse|quai|cours|route|"
    r"calle|c/|avenida|avda\.|paseo|plaza|camino|carrer|ronda|travesía|cuesta|acceso|cañada|pasaje|pasadizo|"
    r"rambla|glorieta|urbanización|vial|callejón|carretera|"
    r"via|viale|piazza|piazzale|corso|vicolo|largo|strada|contrada|borgo|stretto|rotonda|traversa|"
    r"rua|r\.|praça|travessa|estrada|alameda|beco|rampa|"
    r"ul\.|al\.|aleja|plac|os\.|na|v|u|pod|nad"
)
_W = r"[\p{L}\p{M}0-9'’.-]+"
_NUM = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?"
_UNIT = (
    r"(?:,?[ \t]*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Flat|Rm|Room|Bldg|Building|Lot|#|Piso|Puerta|"
    r"Appartamento|Piano|Scala|Interno|Int|Esc|Bus|Etage|Stg|Top|Whg|Lgh|Bte)\.?[ \t]*#?[ \t]*"
    r"[A-Za-z0-9-]{1,6}\b)"
)
_POSTCODE_LINE = (
    r"(?:[ \t]*(?:,[ \t]*|\n[ \t]*|[ \t]+))"
    r"(?=(?:\d{4,5}|\d{2}-\d{3}|\d{3}[ ]\d{2}|\d{4}[ ]?[A-Z]{2})[ \t]+\p{Lu}|"
    r"(?:[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d[A-Z][ ]?\d[A-Z]\d)\b|[\p{L} .'-]{2,30},[ \t]+[A-Z]{2}[ \t]+\d{5}\b)"
)


@lru_cache(maxsize=1)
def _address_patterns():
    types = _street_types()
    flags = re.IGNORECASE
    number_first = re.compile(
        rf"(?<![\w.-])(?<!\d,)(?:(?:Flat|Unit|Apt)\.?[ \t]*\w{{1,5}},[ \t]*)?{_NUM},?[ \t]+(?:[NSEW]\.?[ \t]+)?"
        rf"(?:\p{{L}}{_W}[ \t]+){{0,4}}?(?:{types})\b\.?(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?{_UNIT}{{0,2}}",
        flags,
    )
    eu_tail = re.compile(
        rf"(?<![\w-])(?:(?!(?:at|to|in|on|from|and|the|is|of|for)\b){_W}[ \t]+){{0,2}}?[\p{{L}}\p{{M}}'’-]*(?:{_EU_TAIL})(?:[ \t]+{_NUM}|,?[ \t]+{_NUM})\b",
        flags,
    )
    eu_head = re.compile(
        rf"(?:(?<![\w-]){_NUM},?[ \t]+)?(?<![\w-])(?:{_EU_HEAD})[ \t]+(?:{_W}[ \t]+){{0,4}}?{_W}"
        rf"(?:,?[ \t]+{_NUM}\b){_UNIT}{{0,2}}",
        flags,
    )
    eu_head_numfirst = re.compile(
        rf"(?<![\w-]){_NUM},?[ \t]+(?:{_EU_HEAD})[ \t]+(?:(?:de|du|des|la|le|del|della|di|da|do)"
        rf"[ \t]+|l['’]|d['’])*\p{{L}}{_W}(?:[ \t]+\p{{Lu}}{_W}){{0,3}}",
        flags,
    )
    # "arrived at Tygobaan 8", a CSV cell "K Dýmači 838": capitalised words and a house number
    at_words_number = re.compile(
        r"(?<=\b(?i:at|to|address|street|addr)[:;]?[ \t]+)(?:\p{Lu}[\p{L}\p{M}.'’-]*[ \t]+){1,4}"
        rf"{_NUM}\b{_UNIT}{{0,2}}"
        r"|(?<=(?:^|[,;|\t\"])[ \t]*)(?:\p{Lu}[\p{L}\p{M}.'’-]*[ \t]+){1,4}\d{1,5}[a-zA-Z]?"
        r"(?:[/-]\d{1,4})?(?=[ \t]*(?:[,;|\t\"]|$))",
        re.M,
    )
    # "<words> <number>" or "<number> <words>" right before a postcode line: a street by layout
    layout = re.compile(
        rf"(?<![\w-])(?:\p{{L}}{_W}[ \t]+){{1,4}}{_NUM}(?:[ \t]*[/-][ \t]*\d+)?{_POSTCODE_LINE}"
        rf"|(?<![\w-]){_NUM}[ \t]+(?:\p{{L}}{_W}[ \t]*){{1,4}}{_POSTCODE_LINE}"
    )
    po_box = re.compile(
        r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|POB|Post[ \t]+Office[ \t]+Box|Postfach|Apartado|Casella postale)"
        r"\.?[ \t]*#?[ \t]*\d{1,7}\b",
        flags,
    )
    city_line = re.compile(
        r"(?<![\w-])[\p{L}][\p{L}\p{M} .'-]{1,30},[ \t]+[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b"
        r"|(?<![\w-])(?:\d{4,5}|\d{2}-\d{3}|\d{3}[ ]\d{2}|\d{4}[ ]?[A-Z]{2})[ \t]\p{Lu}[\p{L}\p{M}'-]{2,}"
        r"(?:[ \t-]+(?:\p{Lu}[\p{L}\p{M}'-]+|am|an|der|de|la|le|sur|im|bei|upon|on))*"
        r"|\b[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}\b"
    )
    return number_first, eu_tail, eu_head, eu_head_numfirst, layout, po_box, city_line, at_words_number


_ADDRESS_CUE = re.compile(
    r"(?i:\b(?:address(?: is)?|addr|moved to|lives? at|living at|ship(?:ped)? to|deliver(?:ed|y)? to|"
    r"send (?:it )?to|sent to|located at|staying at|residing at|went to)\b[ \t]*:?[ \t]*)"
)


_CUE_REST = re.compile(r"[^\n,;()]{3,60}")
_HAS_DIGIT = re.compile(r"\d")
_HAS_WORD = re.compile(r"\p{L}{3,}")
_MONEY_END = re.compile(r"[.]\d{2}$")


def find_addresses(text: str) -> list[Found]:
    number_first, eu_tail, eu_head, eu_head_numfirst, layout, po_box, city_line, at_number = (
        _address_patterns()
    )
    out: list[Found] = []
    for rx, score in (
        (number_first, 0.75),
        (eu_tail, 0.7),
        (eu_head, 0.7),
        (eu_head_numfirst, 0.7),
        (layout, 0.6),
        (po_box, 0.8),
        (at_number, 0.5),
    ):
        for m in rx.finditer(text):
            s, e = m.span()
            while e > s and text[e - 1] in " \t\n,.":
                e -= 1
            if any(c.isdigit() for c in text[s:e]) and any(c.isalpha() for c in text[s:e]):
                out.append((s, e, "STREET_ADDRESS", score))
    for m in _ADDRESS_CUE.finditer(text):  # "address is 12 Foo Bar, ..." up to the first comma or line end
        rest = _CUE_REST.match(text, m.end())
        if rest and _HAS_DIGIT.search(rest.group()) and _HAS_WORD.search(rest.group()):
            s, e = m.end(), m.end() + len(rest.group().rstrip(" ."))
            out.append((s, e, "STREET_ADDRESS", 0.5))
    for m in city_line.finditer(text):
        out.append((m.start(), m.end(), "LOCATION", 0.5))
    return out


# ---------------------------------------------------------------- numbers

_PHONE_CUE = re.compile(
    r"(?i:\b(?:phone|ph|tel|telephone|mobile|mob|cell|cellphone|call|ring|number|no|nr|fax|whatsapp|"
    r"contact|contoct|reach|reached|text|sms|landline|vm|cb|on|at|from|via|or|customer|callback|"
    r"office|home|work)\b\.?[ \t:#=]*$)"
)
_PHONE_REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "SE",
    "DK",
    "NO",
    "PL",
    "IN",
    "AU",
    "BR",
    "JP",
    "CH",
    "IE",
    "MX",
    "FI",
    "AT",
    "BE",
    "PT",
    "CZ",
)
_DIGITS = re.compile(r"(?<![\p{L}\p{N}_])\+?\(?\d[\d \t().\-/]{5,22}\d")  # not glued to a word (B5973428)
_EXTENSION = re.compile(r"[ \t]*(?:ext\.?|extension|x)[ \t]*\d{1,6}\b", re.I)
_DATEISH = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{1,2}:\d{2}")


def _own_line_after_name(text: str, start: int, end: int) -> bool:
    """A number alone on its line right under a signature-like line (a capitalised name): a phone."""
    if (
        text[_line_start(text, start) : start].strip()
        or text[end : text.find("\n", end) if "\n" in text[end:] else len(text)].strip()
    ):
        return False
    prev_end = _line_start(text, start) - 1
    if prev_end <= 0:
        return False
    prev = text[_line_start(text, prev_end) : prev_end].strip()
    words = prev.split()
    return 1 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not any(c.isdigit() for c in prev)


def find_phones(text: str) -> list[Found]:
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberMatcher

    out: list[Found] = []
    for m in _DIGITS.finditer(text):
        chunk = m.group()
        digits = sum(c.isdigit() for c in chunk)
        if digits < 7 or digits > 15 or _DATEISH.search(chunk.strip()):
            continue
        cue = (
            _PHONE_CUE.search(text[max(0, m.start() - 24) : m.start()]) is not None
            or text[m.start() - 1 : m.start()] == "("
            or chunk.startswith("(")
            or _own_line_after_name(text, m.start(), m.end())
        )
        # a leading 0 / + with 9+ digits is a national or international number of some country
        cue = cue or (chunk[0] in "0+" and digits >= 9)
        found = False
        for region in ("US",) + (_PHONE_REGIONS[1:] if (cue or chunk.startswith("+")) else ()):
            for pm in PhoneNumberMatcher(chunk, region, leniency=Leniency.POSSIBLE):
                s, e = m.start() + pm.start, m.start() + pm.end
                ext = _EXTENSION.match(text, e)
                e = ext.end() if ext else e
                out.append((s, e, "PHONE_NUMBER", 0.7 if cue or chunk.startswith("+") else 0.55))
                found = True
            if found:
                break
        if not found and cue and 8 <= digits <= 13 and not _MONEY_END.search(chunk):
            ext = _EXTENSION.match(text, m.end())
            out.append((m.start(), ext.end() if ext else m.end(), "PHONE_NUMBER", 0.5))
    _ = phonenumbers
    return out


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD = re.compile(r"(?<![\d-])\d{4}(?:[ \t-]?\d{2,6}){2,4}(?![\d-])")
_IBAN = re.compile(r"(?i)(?<![\w])[A-Z]{2}\d{2}(?:[ \t]?[A-Z0-9]{1,4}){3,8}(?![\w])")
_SSN = re.compile(r"(?<![\d-])(\d{3})([- \t]?)(\d{2})\2(\d{4})(?![\d-])")
_SSN_CUE = re.compile(r"(?i:\b(?:ssn|social(?: security)?(?: number| no\.?| #)?|ss#|tin)\b[^\d\n]{0,16}$)")
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|"
    r"(?:\d{1,2}[ \t]+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?[ \t]+(?:\d{1,2},?[ \t]+)?\d{4})"
)
_DOB = re.compile(
    rf"(?i:\b(?:dob|d0b|do8|d\.o\.b\.?|date of birth|birth ?date|birthday|b-?day|born(?: on)?|geb\.?|"
    rf"né[e]? le)\b(?:[ \t]+(?:is|was|of))?"
    rf"[ \t:;=,.\-\"'(]*(?P<v>{_DATE}))"
)
_LICENSE = re.compile(
    r"(?i:\b(?:driver'?s?[ \t]+licen[cs]e|\bDL\b|licen[cs]e)(?:[ \t]+(?:number|no\.?|#))?)[ \t]*[:#]?[ \t]*"
    r"(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,17})\b",
    re.I,
)


def _iban_ok(value: str) -> bool:
    s = _SPACE.sub("", value).upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def find_numbers(text: str) -> list[Found]:
    out: list[Found] = []
    for m in _CARD.finditer(text):
        d = _NON_DIGIT.sub("", m.group())
        if 13 <= len(d) <= 19 and _luhn(d):
            out.append((m.start(), m.end(), "CREDIT_CARD", 0.8))
    for m in _IBAN.finditer(text):
        v = m.group()
        while v and not _iban_ok(v) and " " in v:  # a trailing word may have been swallowed
            v = v[: v.rfind(" ")]
        if _iban_ok(v):
            out.append((m.start(), m.start() + len(v), "IBAN_CODE", 0.9))
    for m in _SSN.finditer(text):
        area = int(m.group(1))
        cue = _SSN_CUE.search(text[max(0, m.start() - 30) : m.start()]) is not None
        if (m.group(2) == "-" or cue) and area not in (0, 666) and area < 900:
            out.append((m.start(), m.end(), "US_SSN", 0.7 if cue else 0.6))
    for m in _DOB.finditer(text):
        out.append((*m.span("v"), "DATE_OF_BIRTH", 0.7))
    for m in _LICENSE.finditer(text):
        out.append((*m.span("v"), "US_DRIVER_LICENSE", 0.7))
    return out


# ---------------------------------------------------------------- licences without a cue word

# Shapes from the states' published licence formats: 1-3 letters then digits (CA A+7, FL/MD/MI/MN A+12,
# IL A+11, WI A+13, NJ A+14, OH AB+6, AZ/VA/MA/KY A+8), WA's WDL+9, FL's printed A123-456-78-901-2,
# and digits only (NY/GA/CO 9, TX/PA 8, NC up to 12; NY printed 123 456 789).
_LIC_LETTERS = re.compile(
    r"(?<![\w-])(?:(?i:WDL)[A-Za-z0-9]{9}|(?i:[A-Z])\d{3}-\d{3}-\d{2}-\d{3}-\d"
    r"|(?i:[A-Z]{1,2})\d{7,14}|(?i:[A-Z]{2})\d{6})(?![\w-])"
)
_LIC_DIGITS = re.compile(r"(?<![\w.:/+$£€-])(?:\d{7,13}|\d{3} \d{3} \d{3})(?![\w:/-]|\.\d|[ \t]\d)")
_LIC_STRONG = re.compile(r"(?i:\b(?:driver'?s?|driving|licen[cs]e|lic|DLN?|DL#|permit)\b)")
_LIC_WEAK = re.compile(r"(?i:\bid\b|\bid[_ ]?(?:number|no|num)\b|identification|\bdoc(?:ument)?\b)")
_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
).split()
# codes that are also common English words: in ALL CAPS or lowercase text they count only as a whole field
_STATE_WORDS = {
    "AL",
    "AR",
    "DE",
    "HI",
    "ID",
    "IN",
    "LA",
    "MA",
    "ME",
    "OH",
    "OK",
    "OR",
    "PA",
    "CO",
    "GA",
    "MO",
}
_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|"
    "Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|"
    "Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|"
    "North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|"
    "South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
)
_STATE_CODE = re.compile(r"(?<![\p{L}\p{N}_-])(?P<c>" + "|".join(_STATES) + r")(?![\p{L}\p{N}_-])", re.I)
_STATE_NAME = re.compile(rf"(?i:\b(?:{_STATE_NAMES})\b)")
_FIELD_EDGE_BEFORE = re.compile(r"(?:^|[,;|\t\"'=(:\[])[ \t]*$")
_FIELD_EDGE_AFTER = re.compile(r"^[ \t]*(?:$|[,;|\t\"')\]\n])|^[ \t]+\w+=")  # or the next key=value
# Each state's licence layouts (letters L, digits as counts), after the states' published formats; a state next
# to a code counts as evidence only when the code has that state's layout (a part number next to "FL" does not).
_STATE_LAYOUTS = {
    "AL": r"\d{7,8}",
    "AK": r"\d{1,7}",
    "AZ": r"L\d{8}|\d{9}",
    "AR": r"\d{4,9}",
    "CA": r"L\d{7}",
    "CO": r"\d{9}|L\d{3,6}|LL\d{2,5}",
    "CT": r"\d{9}",
    "DE": r"\d{1,7}",
    "DC": r"\d{7}|\d{9}",
    "FL": r"L\d{12}",
    "GA": r"\d{7,9}",
    "HI": r"L\d{8}|\d{9}",
    "ID": r"LL\d{6}L|\d{9}",
    "IL": r"L\d{11,12}",
    "IN": r"L\d{9}|\d{9,10}",
    "IA": r"\d{9}|\d{3}LL\d{4}",
    "KS": r"L\d{8}|\d{9}",
    "KY": r"L\d{8,9}|\d{9}",
    "LA": r"\d{1,9}",
    "ME": r"\d{7,8}L?",
    "MD": r"L\d{12}",
    "MA": r"L\d{8}|\d{9}",
    "MI": r"L\d{10}|L\d{12}",
    "MN": r"L\d{12}",
    "MS": r"\d{9}",
    "MO": r"L\d{5,10}|\d{9}",
    "MT": r"L\d{8}|\d{9}|\d{13,14}",
    "NE": r"L\d{6,8}",
    "NV": r"\d{9,10}|\d{12}|X\d{8}",
    "NH": r"\d{2}LLL\d{5}",
    "NJ": r"L\d{14}",
    "NM": r"\d{8,9}",
    "NY": r"L\d{7}|L\d{18}|\d{8,9}|\d{16}",
    "NC": r"\d{1,12}",
    "ND": r"LLL\d{6}|\d{9}",
    "OH": r"L\d{4,8}|LL\d{3,7}|\d{8}",
    "OK": r"L\d{9}|\d{9}",
    "OR": r"\d{1,9}",
    "PA": r"\d{8}",
    "RI": r"\d{7}|L\d{6}",
    "SC": r"\d{5,11}",
    "SD": r"\d{6,10}|\d{12}",
    "TN": r"\d{7,9}",
    "TX": r"\d{7,8}",
    "UT": r"\d{4,10}",
    "VT": r"\d{8}|\d{7}A",
    "VA": r"L\d{8,11}|\d{9}",
    "WA": r"WDL[A-Z0-9]{9}|[A-Z*]{7}[A-Z0-9*]{5}",
    "WV": r"\d{7}|LL?\d{5,6}",
    "WI": r"L\d{13}",
    "WY": r"\d{9,10}",
}
_STATE_LAYOUT_RX = {
    k: re.compile("(?i:" + re.sub(r"(?<!WD)L", "[A-Z]", v) + ")") for k, v in _STATE_LAYOUTS.items()
}
_STATE_BY_NAME = {
    n.lower(): c
    for n, c in zip(
        _STATE_NAMES.split("|"),
        [
            "AL",
            "AK",
            "AZ",
            "AR",
            "CA",
            "CO",
            "CT",
            "DE",
            "FL",
            "GA",
            "HI",
            "ID",
            "IL",
            "IN",
            "IA",
            "KS",
            "KY",
            "LA",
            "ME",
            "MD",
            "MA",
            "MI",
            "MN",
            "MS",
            "MO",
            "MT",
            "NE",
            "NV",
            "NH",
            "NJ",
            "NM",
            "NY",
            "NC",
            "ND",
            "OH",
            "OK",
            "OR",
            "PA",
            "RI",
            "SC",
            "SD",
            "TN",
            "TX",
            "UT",
            "VT",
            "VA",
            "WA",
            "WV",
            "WI",
            "WY",
        ],
    )
}
_LIC_SEPARATORS = re.compile(r"[ -]")
LIC_WINDOW = 16  # characters between a licence and a state code/name that are "next to" it
LIC_PERSON_WINDOW = 40


def _state_near(text: str, start: int, end: int, casing: str) -> bool:
    """A US state (code or name) next to text[start:end], whose licence layout the code has."""
    lo, hi = max(0, start - LIC_WINDOW - 14), min(len(text), end + LIC_WINDOW + 14)
    code_text = _LIC_SEPARATORS.sub("", text[start:end])

    def fits(state: str) -> bool:
        return _STATE_LAYOUT_RX[state].fullmatch(code_text) is not None

    for m in _STATE_CODE.finditer(text, lo, hi):
        if m.end() < start - LIC_WINDOW or m.start() > end + LIC_WINDOW:
            continue
        code = m.group("c")
        if casing == "mixed" and not code.isupper():
            continue
        if (
            code.upper() in _STATE_WORDS
            and (casing != "mixed" or code.upper() in ("IN", "OR", "ME", "OK", "HI"))
            and not (
                _FIELD_EDGE_BEFORE.search(text, lo, m.start()) and _FIELD_EDGE_AFTER.match(text[m.end() : hi])
            )
        ):
            continue
        if fits(code.upper()):
            return True
    return any(
        m.end() >= start - LIC_WINDOW
        and m.start() <= end + LIC_WINDOW
        and fits(_STATE_BY_NAME[" ".join(m.group().lower().split())])
        for m in _STATE_NAME.finditer(text, lo, hi)
    )


def find_licences(text: str, found: list[tuple[int, int, str]]) -> list[Found]:
    """US driver's licence numbers that no cue word announces, from their shape and what is next to them.

    Evidence, added up: a licence word before it (driver/licence/DL/permit, 2; a generic one: ID, document,
    number, #, 1); a US state code or name within LIC_WINDOW characters (1); a person or a date of birth
    found in the same text within LIC_PERSON_WINDOW characters (1); a letter prefix (1), as digits alone are
    mostly order numbers, amounts and phone fragments. Two points make a licence. So a bare 9-digit number
    is never one, a letter+digits code is one next to a state or a name, digits are one next to a cue word, or next to a state and a
    person. The precision cost (codes next to a state or a name scrubbed) is measured in bench/text_recall.py."""
    casing = _casing(text)
    covered = [(s, e) for s, e, _ in found]
    personal = [(s, e) for s, e, ent in found if ent in ("PERSON", "DATE_OF_BIRTH")]
    out: list[Found] = []
    for rx, shape_points in ((_LIC_LETTERS, 1), (_LIC_DIGITS, 0)):
        for m in rx.finditer(text):
            s, e = m.span()
            if any(cs < e and s < ce for cs, ce in covered):
                continue
            if shape_points and not any(c.isdigit() for c in text[s + 3 : e]):
                continue
            before = text[max(0, s - 30) : s]
            points = shape_points
            if _LIC_STRONG.search(before):
                points += 2
            elif _LIC_WEAK.search(before[-16:]):
                points += 1
            if _state_near(text, s, e, casing):
                points += 1
            if any(ps - LIC_PERSON_WINDOW <= e and s <= pe + LIC_PERSON_WINDOW for ps, pe in personal):
                points += 1
            if points >= 2:
                out.append((s, e, "US_DRIVER_LICENSE", 0.4 + 0.1 * min(points, 4)))
                covered.append((s, e))
    return out


def find_all(text: str) -> list[Found]:
    return (
        find_names(text)
        + find_name_pairs(text)
        + find_addresses(text)
        + find_phones(text)
        + find_numbers(text)
    )
