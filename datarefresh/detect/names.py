"""Column-name rules: what a column's name says it holds, in any naming convention.

A name is first split into lower-case words: snake_case, kebab-case, camelCase,
PascalCase, acronym runs (`CCExpires` -> cc expires, `NationalID` -> national id),
digits (`address1` -> address 1), then run-together words (`GIVENNAME`, `PATIENTID`,
`DEATHDATE`) are segmented against a vocabulary: the words the rules use (English and
common Spanish, German, French, Italian, Portuguese and Dutch ones) plus wordfreq's
30,000 most frequent English words (a committed extract: scripts/make_wordlists.py). A token
that is itself a word is never split.

The rules then match the words joined with `_`. A rule is *weak* when the name alone is
not enough (`name` may be a product name, `customer` an id): the classifier applies it
only when the values agree. Rules never look at values; nothing here sees a raw value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

# Words the rules are written with; they seed the segmentation vocabulary, so that a
# run-together name splits into rule words rather than into other English words.
RULE_WORDS = """
email mail address addr line street city town state province region county country zip code postal post postcode plz
phone telephone tel mobile cell fax number num no nr first last given middle family full display name names surname
maiden mother mothers birth date day month year death dead deceased dob dod born age ssn social security national
tax vat id ids key uuid guid passport driver drivers license licence card credit cc cvv cvv2 cvc csc verification
exp expiry expires expiration iban account bank routing user login password pwd token secret ip remote lat lon lng
latitude longitude geo gender sex race ethnicity marital nationality citizenship language patient customer contact
employee person client member owner holder billing shipping emergency manager assistant provider requester
submitter assignee recipient sender street place birthplace initial prefix suffix title salutation nickname handle
screen contact owner insurance payer encounter organization visitor visit session device mac imei plate vin tracking
nombre apellido apellidos telefono correo direccion ciudad fecha nacimiento vorname nachname strasse geburtsdatum
telefon adresse courriel prenom nom ville naissance cognome indirizzo citta nascita codice fiscale voornaam
achternaam geslacht sobrenome endereco cidade nascimento data de di del la le
boolean integer indicator flag status type count verified reference value
"""

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


@cache
def _vocabulary() -> dict[str, float]:
    """word -> a score (Zipf frequency; rule words get a bonus so they win ties)."""
    import math

    from datarefresh.detect.gazetteer import wordlist

    # rank-based score (cheap to load; only the order matters for tie-breaking); the list is
    # wordfreq's top_n_list("en", 30_000), committed (scripts/make_wordlists.py)
    vocab = {
        w: 7.0 - math.log10(rank + 1)
        for rank, w in enumerate(wordlist("words_en_top.txt.gz"))
        if len(w) >= 3 and w.isalpha()
    }
    for w in RULE_WORDS.split():
        vocab[w] = max(vocab.get(w, 0.0), 3.0) + 2.0
    return vocab


@cache
def _foreign_words() -> frozenset[str]:
    from datarefresh.detect.gazetteer import wordlist

    return frozenset(wordlist("words_foreign_common.txt.gz"))


def _foreign_word(token: str) -> bool:
    """`provincia`, `telefoonnummer`: a word of another common language, not a run-together name.
    Plain words of 5 letters or more come from the committed extract; others ask wordfreq."""
    if token.isascii() and token.isalpha() and token.islower() and len(token) >= 5:
        return token in _foreign_words()
    from wordfreq import zipf_frequency

    return any(zipf_frequency(token, lang) >= 3.0 for lang in ("es", "de", "fr", "it", "pt", "nl"))


@lru_cache(maxsize=4096)
def _segment(token: str) -> tuple[str, ...]:
    """Split a run-together token into vocabulary words (fewest words, then most frequent);
    the token unchanged when it is a word itself or cannot be fully segmented."""
    vocab = _vocabulary()
    if len(token) < 5 or token in vocab or not token.isalpha():
        return (token,)
    n = len(token)
    best: list[tuple[int, float, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0, 0.0, ())
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            prev = best[start]
            piece = token[start:end]
            if prev is None or piece not in vocab:
                continue
            cand = (prev[0] + 1, prev[1] - vocab[piece], prev[2] + (piece,))
            if best[end] is None or cand[:2] < best[end][:2]:
                best[end] = cand
    # a foreign word stays whole; asked last, as only a token that splits needs the answer
    return best[n][2] if best[n] and not _foreign_word(token) else (token,)


def words(name: str) -> list[str]:
    """'billingAddress1' -> ['billing', 'address', '1']; 'PATIENTID' -> ['patient', 'id']."""
    out: list[str] = []
    for part in re.split(r"[^0-9A-Za-z\u00c0-\u024f]+", name):
        for tok in _CAMEL.sub(" ", part).split():
            out.extend(_segment(tok.lower()))
    return [_ascii(w) for w in out if w]


def _ascii(word: str) -> str:
    from datarefresh.detect.gazetteer import fold

    return fold(word)


def tokens(name: str) -> str:
    """The words of a name joined with '_': 'MothersMaiden' -> 'mothers_maiden'."""
    return "_".join(words(name))


@dataclass(frozen=True)
class NameRule:
    pattern: str
    action: str
    entity: str | None = None
    params: tuple = ()
    weak: bool = False  # the values must agree before the rule applies


_B, _E = r"(?:^|_)", r"(?:$|_)"  # word boundaries inside a joined name
_PERSON_ROLE = (
    r"(?:customer|contact|client|user|person|patient|employee|member|guest|passenger|owner|holder|"
    r"account_holder|card_holder|cardholder|buyer|seller|recipient|sender|requester|submitter|"
    r"assignee|"
    r"author|agent|manager|assistant|supervisor|spouse|parent|guardian|beneficiary|"
    r"emergency_contact|"
    r"physician|doctor|nurse|provider|practitioner|student|teacher|tenant|subscriber|insured|"
    r"billing|"
    r"shipping|card|legal|preferred|display|full|maiden|mothers_maiden|mother_maiden|father|"
    r"mother)"
)

# Modifiers that turn a PII word into metadata about it: `email_verified`, `phone_type`,
# `card_brand`, `has_email`, `number_of_addresses`. Values still decide these columns.
_META = re.compile(
    r"(?:^|_)(?:type|types|status|flag|count|verified|confirmed|consent|opt_in|optin|opt_out|optout|opted|"
    r"bounced|"
    r"bounce|marketing|format|domain|length|valid|validated|enabled|preference|preferences|provider|kind|"
    r"brand|"
    r"funding|network|issuer|last4|last_4|last_four|fingerprint_status|cvc_status|check|avs|category|source|"
    r"reason|template|country_code|boolean|bool|indicator|ind|integer|method|campaign|subscribed|"
    r"unsubscribed|is_primary|hash_algorithm|zodiac|tropical_zodiac)$"
    r"|^(?:is|has|accepts|accept|do_not|num|number_of|total|count|n)_"
    # lookup codes, not people: gender_concept_id, marital_status_id, region_id, website_id
    r"|(?:^|_)(?:concept|type|status|class|category|gender|marital_status|married|score|level|region|country|"
    r"state|province|website|store|currency|language|locale|group|perf_score)_id$"
)

NAME_RULES: list[NameRule] = [
    NameRule(
        rf"{_B}(?:e_?mail|email_?address|mail|mail_?address|courriel|correo(?:_electronico)?|"
        rf"mail_?adresse|emailadresse|e_?post|e_?mail_?adresse){_E}",
        "fake",
        "EMAIL_ADDRESS",
    ),
    NameRule(
        rf"{_B}(?:ip|ip_?address|ip_?addr|ipv4|ipv6|remote_?addr|remote_?ip|x_forwarded_for|client_?ip){_E}",
        "fake",
        "IP_ADDRESS",
    ),
    NameRule(
        rf"{_B}(?:phone|phone_?number|telephone|telephone_?number|tel|tel_?(?:no|nr|number)|mobile|"
        rf"mobile_?(?:phone|number)|cell|cell_?phone|cellphone|fax|msisdn|handy|telefon|telefono|"
        rf"telefonnummer|telefoonnummer|portable|celular|movil|cellulare|telefoon|mobiel|whatsapp|"
        rf"contact_?number|"
        rf"telecom(?:_value)?)(?:_(?:number|no|nr|num|\d))?$",
        "fake",
        "PHONE_NUMBER",
    ),
    NameRule(
        rf"{_B}(?:cvv2?|cvc2?|csc|cvn|card_?verification(?:_?(?:value|code|number))?|security_?code|"
        rf"card_?code){_E}",
        "null",
        "CARD_SECURITY_CODE",
    ),
    NameRule(
        rf"{_B}(?:cc|card|credit_card)_(?:\w+_)?(?:exp|expiry|expires|expiration|expire|valid_thru)"
        rf"(?:_(?:date|month|year|mm|yy|yyyy))?$",
        "generalize",
        "CARD_EXPIRY",
        (("to", "year"),),
    ),
    NameRule(
        rf"{_B}(?:card_?(?:number|num|no|nr)|cc_?(?:number|num|no|nr)|ccnumber|credit_?card(?:_?number)?|"
        rf"pan|kreditkarte(?:nnummer)?|tarjeta|numero_tarjeta){_E}",
        "fake",
        "CREDIT_CARD",
    ),
    NameRule(r"^(?:card|cc)$", "fake", "CREDIT_CARD", weak=True),
    NameRule(rf"{_B}iban{_E}", "fake", "IBAN_CODE"),
    NameRule(
        rf"{_B}(?:ssn|social_?security(?:_?(?:number|no|num))?|sozialversicherungsnummer){_E}",
        "fake",
        "US_SSN",
    ),
    NameRule(
        rf"{_B}(?:national_?id|nat_?id|national_?(?:identity|identification)(?:_?(?:number|no))?|tax_?id|"
        rf"tax_?(?:number|no)|tax_?vat|vat_?(?:id|number)|tin|nin|nino|ni_?number|"
        rf"national_?insurance(?:_?number)?|"
        rf"sin|nif|nie|dni|cpf|curp|rfc|bsn|personnummer|steuer_?id|steuernummer|codice_?fiscale|"
        rf"aadhaar|pesel|"
        rf"insee|nir|nhs_?(?:number|no)|medicare_?(?:number|no|id)|id_?number|id_?card(?:_?number)?|"
        rf"identity_?(?:number|card|document)|personal_?id(?:_?number)?|citizen_?id){_E}",
        "fake",
        "NATIONAL_ID",
    ),
    NameRule(
        rf"{_B}(?:passport(?:_?(?:number|no|num|nr|id))?|pasaporte|reisepass|passeport){_E}",
        "fake",
        "US_PASSPORT",
    ),
    NameRule(
        rf"{_B}(?:drivers(?:_?licen[cs]e(?:_?(?:number|no|num))?)?|driver_?licen[cs]e(?:_?(?:number|no|num))?|"
        rf"driving_?licen[cs]e(?:_?(?:number|no|num))?|dl|dl_?(?:number|no|num)|licen[cs]e_?(?:number|"
        rf"no|num)|"
        rf"fuhrerschein(?:nummer)?|permis(?:_de_conduire)?|licencia(?:_de_conducir)?)$",
        "fake",
        "US_DRIVER_LICENSE",
    ),
    NameRule(
        rf"{_B}(?:(?:bank_)?account_?(?:number|no|num|nr)|acct_?(?:number|no|num)|bank_?account|"
        rf"kontonummer|mrn|medical_?record(?:_?(?:number|no))?|policy_?(?:number|no)|"
        rf"member_?(?:number|no)|subscriber_?(?:number|no)|mtcn|\w*_mtcn|ups|tracking_?(?:number|no)|"
        rf"vin|licen[cs]e_?plate|plate_?(?:number|no)?|number_?plate|kennzeichen|matricula|imei|"
        rf"mac|mac_?address|idfa|gaid|advertising_?id|npi|dea|fingerprint|card_fingerprint){_E}",
        "hmac",
        "ID",
    ),
    NameRule(
        rf"{_B}(?:username|user_?name|login(?:_?name)?|user_?login|handle|screen_?name|nickname|benutzername|"
        rf"usuario|remote_user)$",
        "fake",
        "USERNAME",
    ),
    NameRule(
        rf"{_B}(?:password|passwd|pwd|pass_?word|password_?hash|secret|api_?key|access_?token|refresh_?token|"
        rf"auth_?token|token|pin|passwort|contrasena|mot_de_passe){_E}",
        "redact",
        "PASSWORD",
    ),
    # Identifiers: pseudonymized consistently so joins survive (key discovery decides what they reference).
    NameRule(r"(?:^|_)(?:id|ids|key|uuid|guid|identifier|identifier_value|reference|ref)$", "hmac", "ID"),
    NameRule(
        rf"{_B}(?:first_?name|given_?names?|fname|forename|first|middle_?name|middle_?initial|middle|mi|"
        rf"name_given|given|nombre|vorname|prenom|nome|voornaam|primer_nombre|first_name_\d)$",
        "fake",
        "FIRST_NAME",
    ),
    NameRule(
        rf"{_B}(?:last_?name|surnames?|family_?name|lname|maiden(?:_?name)?|mothers?_?maiden(?:_?name)?|"
        rf"mother_?s_?maiden(?:_?name)?|name_family|apellidos?|nachname|familienname|cognome|achternaam|"
        rf"sobrenome|segundo_apellido)$|^(?:last|nom|family)$",
        "fake",
        "LAST_NAME",
    ),
    NameRule(
        rf"^(?:full_?name|display_?name|nombre_completo|nom_complet|nome_completo|vollstandiger_name|"
        rf"{_PERSON_ROLE}_?(?:full_)?names?|name_of_{_PERSON_ROLE}|contact_person|"
        rf"(?:\w+_)?{_PERSON_ROLE}_?(?:full_)?name)$",
        "fake",
        "PERSON",
    ),
    NameRule(
        rf"^(?:name|names|{_PERSON_ROLE}|requested_by|created_by_name|assigned_to)$",
        "fake",
        "PERSON",
        weak=True,
    ),
    # Places, most specific first: `card_address_zip` is a postcode, not a street.
    NameRule(
        rf"{_B}(?:zip|zip_?code|zipcode|zip_?plus_?4|postal|postal_?code|postcode|post_?code|plz|"
        rf"postleitzahl|codigo_?postal|code_?postal|cod_?postal|cep|pin_?code|eircode)$|^(?:cp|cap)$",
        "generalize",
        "ZIP_CODE",
        (("to", "zip3"),),
    ),
    NameRule(
        rf"{_B}(?:birth_?place|place_of_birth|birthplace|lugar_de_nacimiento|geburtsort|lieu_de_naissance|"
        rf"city|town|ciudad|ort|stadt|ville|citta|cidade|municipality|locality|wohnort|localidad|"
        rf"plaats)$",
        "fake",
        "CITY",
    ),
    NameRule(
        rf"{_B}(?:state|state_?full|state_?code|province|province_?code|region|region_?code|county|fips|"
        rf"bundesland|estado|provincia|departement)$",
        "keep",
        "STATE",
    ),
    NameRule(
        rf"{_B}(?:country|country_?code|country_?full|country_?name|pais|land|pays|paese|nation)$",
        "keep",
        "COUNTRY",
    ),
    NameRule(
        rf"{_B}(?:nationality|citizenship|citizen_?desc|nationalite|nacionalidad|staatsangehorigkeit|"
        rf"ethnicity|race|race_?desc|hispanic_?latino|marital|marital_?status|marital_?desc|"
        rf"estado_civil|"
        rf"familienstand|language|preferred_language|blood_?type|religion)$",
        "keep",
        "DEMOGRAPHIC",
    ),
    NameRule(
        rf"{_B}(?:street|street_?address|street_?name|address|addr|address_?line(?:_?\d)?|address_?\d|"
        rf"line_?\d|adresse|direccion|domicilio|strasse|calle|indirizzo|endereco|rue|house_?number|"
        rf"hausnummer|straat|anschrift){_E}",
        "fake",
        "STREET_ADDRESS",
    ),
    NameRule(
        rf"{_B}(?:lat|latitude|lon|lng|longitude|geo_?lat|geo_?lon|geo_?lng|lat_?lon|lat_?lng|lat_?long|"
        rf"latlng|coordinates|geo_?location|geolocation|geo_?point|breitengrad|langengrad)$|^long$",
        "generalize",
        "GEO_COORDINATE",
        (("to", "round"), ("digits", 1)),
    ),
    NameRule(
        rf"{_B}(?:(?:month|day|mon|dd|mm)_of_birth|birth_(?:month|day)|dob_(?:month|day))$",
        "null",
        "DATE_OF_BIRTH",
    ),
    NameRule(
        rf"{_B}(?:birth|birthdate|birth_?date(?:time)?|dob|date_of_birth|birthday|born|born_on|"
        rf"year_of_birth|birth_?year|geburtsdatum|geburtstag|fecha_?(?:de_)?nacimiento|"
        rf"date_?de_?naissance|data_?di_?nascita|data_?de_?nascimento|naissance|nacimiento|"
        rf"geboortedatum){_E}",
        "generalize",
        "DATE_OF_BIRTH",
        (("to", "year"),),
    ),
    NameRule(
        rf"{_B}(?:death|deathdate|death_?date(?:time)?|date_of_death|dod|deceased|deceased_?date(?:time)?|"
        rf"died|died_on|fecha_?(?:de_)?defuncion|sterbedatum|date_?de_?deces){_E}",
        "generalize",
        "DATE_OF_DEATH",
        (("to", "year"),),
    ),
    NameRule(
        r"^(?:age|ages|edad|alter|idade|age_?years|age_?in_?years|patient_?age|current_?age|age_at_\w+|"
        r"\w+_age)$",
        "generalize",
        "AGE",
        (("to", "age_band"),),
    ),
    NameRule(rf"{_B}(?:gender|sex|geschlecht|sexo|genre|gender_?identity|geslacht|sesso)$", "keep", "GENDER"),
]

# Entities a rule may `keep`: quasi-identifiers, watched by the k-anonymity gate, not replaced.
KEPT_ENTITIES = {"STATE", "COUNTRY", "DEMOGRAPHIC", "GENDER"}

_COMPILED = [(re.compile(r.pattern), r) for r in NAME_RULES]


def name_rule(name: str) -> NameRule | None:
    """The first rule the column name matches, or None (metadata about PII matches none)."""
    tok = tokens(name)
    if not tok or _META.search(tok):
        return None
    for rx, rule in _COMPILED:
        if rx.search(tok):
            return rule
    return None


def name_entity(name: str) -> str | None:
    """The entity the name alone points to (weak rules included); None for no PII. Kept
    quasi-identifiers (state, country, gender...) count as no PII. Used by the name benchmark."""
    rule = name_rule(name)
    if rule is None or rule.entity in KEPT_ENTITIES:
        return None
    return rule.entity
