"""Per-language word lists for the alignment checks: number words (with a small parser) and negation markers.

Numbers: the values a text states, as digits (whole tokens: "4x" and "200g" state 4 and 200, "x2" and "mp3"
are names and state nothing; "2/4", "14:10" and dates are several values; "1,299.50" and "1.299,50" are
the same value) and as number words (zero to twenty, the tens, hundred, thousand and their compounds:
"twenty-five", "vinte e cinco", "fünfundzwanzig", "quatre-vingt-dix", "二十五", "ยี่สิบห้า"). Words for one
are not counted on their own: they double as articles ("um", "une", "ein") and pronouns ("the red one").
In Chinese and Thai, which write no spaces, a numeral counts only before a classifier ("三个", "สามคน"),
so "三明治" (sandwich) and "สามารถ" (can) state nothing.

Negation: markers counted per sentence (not/no/never/n't/without ... and their equivalents); in Chinese and
Thai by substring, minus the words that merely contain one ("不同" different, "非常" very, "อย่าง" kind).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator


def _word_class() -> str:
    # \w misses the combining vowel signs of Devanagari, Thai and Arabic ("नहीं" would split in three).
    marks = "".join(chr(c) for lo, hi in ((0x0300, 0x036F), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F))
                    for c in range(lo, hi + 1) if unicodedata.category(chr(c))[0] == "M")
    return rf"[\w{re.escape(marks)}]"


_W = _word_class()
# Words, with internal apostrophes kept (don't, n'est, l'eau) and hyphens split (twenty-five -> two words).
_WORD_RE = re.compile(rf"{_W}+(?:['’]{_W}+)*")
# A number written in digits: not glued after a Latin letter (x2, mp3, h264 are names), separators inside.
_DIGITS_RE = re.compile(r"(?<![A-Za-z_\d.,])\d+(?:[.,]\d+)*")
# An identifier: a name with a capital, then digits, with or without a hyphen (COVID-19, F-16, MP3, CO2): its
# digits name a thing, and translators drop the hyphen ("COVID19"). Compared whole, as "id:COVID19".
_IDENTIFIER_RE = re.compile(r"(?<![\w.,-])([A-Za-z]*[A-Z][A-Za-z]*)-?(\d+)(?![\w.,]?\d)")
# A unit's power written three ways (cm^2, cm², cm2): the power is one stated value.
_UNIT_POWER_RE = re.compile(r"(?<![A-Za-z])(mm|cm|dm|km|m|in|ft|yd|mi)(?:\^([23])|([²³])|([23]))(?!\w)")
_SUPERSCRIPTS = {"²": "2", "³": "3"}


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.casefold())


# --- number words ---------------------------------------------------------------------------------------------

def _table(spec: str) -> dict[str, int]:
    """'zero:0 two|dois:2 ...' -> {word: value}."""
    out: dict[str, int] = {}
    for item in spec.split():
        names, value = item.rsplit(":", 1)
        for name in names.split("|"):
            out[name] = int(value)
    return out


NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": _table(
        "zero:0 one:1 two:2 three:3 four:4 five:5 six:6 seven:7 eight:8 nine:9 ten:10 eleven:11 twelve:12 "
        "thirteen:13 fourteen:14 fifteen:15 sixteen:16 seventeen:17 eighteen:18 nineteen:19 twenty:20 "
        "thirty:30 forty:40 fifty:50 sixty:60 seventy:70 eighty:80 ninety:90 hundred:100 thousand:1000 "
        "twice:2 thrice:3 dozen:12"),
    "pt": _table(
        "zero:0 um|uma:1 dois|duas:2 três|tres:3 quatro:4 cinco:5 seis:6 sete:7 oito:8 nove:9 dez:10 onze:11 "
        "doze:12 treze:13 catorze|quatorze:14 quinze:15 dezesseis|dezasseis:16 dezessete|dezassete:17 "
        "dezoito:18 dezenove|dezanove:19 vinte:20 trinta:30 quarenta:40 cinquenta:50 sessenta:60 setenta:70 "
        "oitenta:80 noventa:90 cem|cento:100 duzentos|duzentas:200 trezentos|trezentas:300 "
        "quatrocentos|quatrocentas:400 quinhentos|quinhentas:500 seiscentos|seiscentas:600 "
        "setecentos|setecentas:700 oitocentos|oitocentas:800 novecentos|novecentas:900 mil:1000"),
    "es": _table(
        "cero:0 uno|una|un:1 dos:2 tres:3 cuatro:4 cinco:5 seis:6 siete:7 ocho:8 nueve:9 diez:10 once:11 "
        "doce:12 trece:13 catorce:14 quince:15 dieciséis|dieciseis:16 diecisiete:17 dieciocho:18 "
        "diecinueve:19 veinte:20 veintiuno:21 veintidós|veintidos:22 veintitrés|veintitres:23 "
        "veinticuatro:24 veinticinco:25 veintiséis|veintiseis:26 veintisiete:27 veintiocho:28 "
        "veintinueve:29 treinta:30 cuarenta:40 cincuenta:50 sesenta:60 setenta:70 ochenta:80 noventa:90 "
        "cien|ciento:100 doscientos|doscientas:200 trescientos|trescientas:300 cuatrocientos|cuatrocientas:400 "
        "quinientos|quinientas:500 seiscientos|seiscientas:600 setecientos|setecientas:700 "
        "ochocientos|ochocientas:800 novecientos|novecientas:900 mil:1000"),
    "fr": _table(
        "zéro:0 un|une:1 deux:2 trois:3 quatre:4 cinq:5 six:6 sept:7 huit:8 neuf:9 dix:10 onze:11 douze:12 "
        "treize:13 quatorze:14 quinze:15 seize:16 vingt|vingts:20 trente:30 quarante:40 cinquante:50 "
        "soixante:60 septante:70 huitante|octante:80 nonante:90 cent|cents:100 mille:1000"),
    "de": _table(
        "null:0 eins|ein|eine:1 zwei:2 drei:3 vier:4 fünf:5 sechs:6 sieben:7 acht:8 neun:9 zehn:10 elf:11 "
        "zwölf:12 dreizehn:13 vierzehn:14 fünfzehn:15 sechzehn:16 siebzehn:17 achtzehn:18 neunzehn:19 "
        "zwanzig:20 dreißig|dreissig:30 vierzig:40 fünfzig:50 sechzig:60 siebzig:70 achtzig:80 neunzig:90 "
        "hundert|einhundert:100 tausend|eintausend:1000"),
    "ar": _table(
        "صفر:0 واحد|واحدة|أحد|إحدى:1 اثنان|اثنين|اثنتان|اثنتين|اثنا|اثنتا:2 ثلاثة|ثلاث:3 أربعة|أربع:4 "
        "خمسة|خمس:5 ستة|ست:6 سبعة|سبع:7 ثمانية|ثماني|ثمان:8 تسعة|تسع:9 عشرة|عشر:10 عشرون|عشرين:20 "
        "ثلاثون|ثلاثين:30 أربعون|أربعين:40 خمسون|خمسين:50 ستون|ستين:60 سبعون|سبعين:70 ثمانون|ثمانين:80 "
        "تسعون|تسعين:90 مائة|مئة:100 مائتان|مائتين|مئتان|مئتين:200 ثلاثمائة|ثلاثمئة:300 أربعمائة|أربعمئة:400 "
        "خمسمائة|خمسمئة:500 ستمائة|ستمئة:600 سبعمائة|سبعمئة:700 ثمانمائة|ثمانمئة:800 تسعمائة|تسعمئة:900 "
        "ألف|الف:1000"),
    "hi": _table(
        "शून्य:0 एक:1 दो:2 तीन:3 चार:4 पांच|पाँच:5 छह|छः|छे:6 सात:7 आठ:8 नौ:9 दस:10 ग्यारह:11 बारह:12 "
        "तेरह:13 चौदह:14 पंद्रह|पन्द्रह:15 सोलह:16 सत्रह:17 अठारह:18 उन्नीस:19 बीस:20 तीस:30 चालीस:40 "
        "पचास:50 साठ:60 सत्तर:70 अस्सी:80 नब्बे:90 सौ:100 हज़ार|हजार:1000"),
    "zh": _table("零:0 〇:0 一:1 二:2 两:2 三:3 四:4 五:5 六:6 七:7 八:8 九:9 十:10 百:100 千:1000 万:10000"),
    "th": _table(
        "ศูนย์:0 หนึ่ง:1 เอ็ด:1 สอง:2 ยี่:2 สาม:3 สี่:4 ห้า:5 หก:6 เจ็ด:7 แปด:8 เก้า:9 สิบ:10 ร้อย:100 "
        "พัน:1000 หมื่น:10000"),
}
# Values a language may state with no number word at all: one everywhere (an article), two in Arabic (the
# dual: "يومين" is "two days"). Number words with these values are not compared.
IMPLICIT_VALUES: dict[str, frozenset[int]] = {"ar": frozenset({1, 2})}
# Words that are a number only inside a longer one: "cento e vinte" is 120, "por cento" is per cent.
COMPOUND_ONLY = frozenset({"cento", "ciento"})
_CONNECTORS = {"en": {"and"}, "pt": {"e"}, "es": {"y"}, "fr": {"et"}, "de": {"und"}, "ar": set(), "hi": set()}
# Chinese and Thai: a numeral counts before one of these classifiers / units only.
_CLASSIFIERS = {
    "zh": ("个", "次", "天", "年", "月", "周", "星期", "小时", "分钟", "秒", "种", "步", "杯", "克", "公斤", "千克",
           "米", "公里", "人", "本", "件", "条", "只", "张", "位", "倍", "岁", "项", "类", "份", "块", "片", "勺",
           "碗", "章", "页", "句", "段", "遍", "名", "家", "点", "层", "元", "美元", "度", "升", "毫升", "道", "部"),
    "th": ("คน", "ครั้ง", "วัน", "ปี", "เดือน", "สัปดาห์", "อาทิตย์", "ชั่วโมง", "นาที", "วินาที", "ข้อ", "อย่าง",
           "ชนิด", "ประเภท", "ขั้นตอน", "ส่วน", "ชิ้น", "ลูก", "ตัว", "อัน", "เท่า", "แก้ว", "ถ้วย", "กรัม",
           "กิโล", "เมตร", "ช้อน", "ใบ", "เล่ม", "หน้า", "บท", "ภาษา", "ประการ", "ประเทศ", "เม็ด", "บาท",
           "ขวบ", "องศา", "ลิตร"),
}
# ... or before "or"/"to" and the next numeral ("สองหรือสามครั้ง", two or three times).
_NUMERAL_LINKS = {"zh": ("或", "到", "至"), "th": ("หรือ", "ถึง")}
_UNSPACED_NUMERAL_RE = {
    lang: re.compile("(?<!第)((?:" + "|".join(sorted(NUMBER_WORDS[lang], key=len, reverse=True)) + ")+)(?="
                     + "|".join(_CLASSIFIERS[lang] + _NUMERAL_LINKS[lang]) + ")")
    for lang in _CLASSIFIERS
}


def digit_key(token: str) -> str:
    """One stated value in digits, its separators dropped: 1,299.50 == 1.299,50; 05 == 5."""
    digits = "".join(str(unicodedata.digit(c)) for c in token if c.isdigit())
    return digits.lstrip("0") or "0"


def digit_values(text: str) -> Iterator[str]:
    def identifier(m: re.Match) -> str:
        found.append(f"id:{m.group(1).upper()}{m.group(2)}")
        return " "

    def power(m: re.Match) -> str:
        value = m.group(2) or _SUPERSCRIPTS.get(m.group(3) or "", "") or m.group(4)
        return f"{m.group(1)} {value}"

    found: list[str] = []
    text = _IDENTIFIER_RE.sub(identifier, _UNIT_POWER_RE.sub(power, text))
    yield from found
    for m in _DIGITS_RE.finditer(text):
        yield digit_key(m.group())


_ROMAN_RE = re.compile(r"\b(?=[MDCLXVI]{2,}\b)M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})\b"
                       r"|(?<=[Ss]éculo )[IVX]\b|(?<=[Ss]éculos )[IVX]\b")
_ROMAN = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


def roman_values(text: str) -> Counter:
    """Values written as Roman numerals of two letters or more (XIX, IV; "século V" too): a translation writes
    centuries and ordinals so ("20th century" -> "século XX"). Only used to reconcile a mismatch."""
    out: Counter = Counter()
    for m in _ROMAN_RE.finditer(text):
        letters, total = m.group(), 0
        if not letters:  # the lookahead saw capitals that are no numeral in order (e.g. "DIM"): nothing matched
            continue
        for a, b in zip(letters, letters[1:] + " ", strict=True):
            total += -_ROMAN[a] if b != " " and _ROMAN[b] > _ROMAN[a] else _ROMAN[a]
        out[str(total)] += 1
    return out


def _de_compound(word: str, table: dict[str, int]) -> int | None:
    """fünfundzwanzig, zweihundertdrei, dreitausend (German writes numbers as one word)."""
    if word in table:
        return table[word]
    for mult, value in (("tausend", 1000), ("hundert", 100)):
        if mult in word:
            left, right = word.split(mult, 1)
            lv = _de_compound(left, table) if left else 1
            rv = _de_compound(right, table) if right else 0
            return None if lv is None or rv is None else lv * value + rv
    if "und" in word:
        left, right = word.split("und", 1)
        lv, rv = table.get(left), table.get(right)
        if lv is not None and rv is not None and lv < 10 and rv % 10 == 0:
            return lv + rv
    return None


def _combine(values: list[int]) -> int:
    total, current = 0, 0
    for v in values:
        if v in (100,):
            current = max(current, 1) * v
        elif v >= 1000:
            total += max(current, 1) * v
            current = 0
        else:
            current += v
    return total + current


def _joins(prev: int, v: int, lang: str) -> bool:
    """Whether number word v continues the number that ended with prev ("twenty five", "cinco mil")."""
    if v in (100, 1000, 10000):
        return True
    if lang == "ar" and prev < 10 and v % 10 == 0 and v < 100:  # ثلاثة عشر, خمسة وعشرون: unit first
        return True
    return v < prev and prev >= 10


# A word, or one punctuation mark (which ends a number: "twenty, five" is two); hyphens join words.
_TOKEN_RE = re.compile(rf"{_W}+(?:['’]{_W}+)*|[^\s\w\-‐]")


def _word_value(token: str, lang: str, table: dict[str, int]) -> int | None:
    if lang == "de":
        return _de_compound(token, table)
    if lang == "ar" and token not in table and token[:1] in ("و", "ف"):
        return table.get(token[1:])  # و/ف (and) written on the number word
    return table.get(token)


def _spaced_word_numbers(text: str, lang: str) -> Iterator[int]:
    table, connectors = NUMBER_WORDS[lang], _CONNECTORS.get(lang, set())
    run: list[int] = []
    first = ""  # the run's first word
    after_connector = False

    def value_of(run: list[int], first: str) -> Iterator[int]:
        if run and not (len(run) == 1 and first in COMPOUND_ONLY):
            yield _combine(run)

    for m in _TOKEN_RE.finditer(text.casefold()):
        token = m.group()
        value = _word_value(token, lang, table)
        if value is not None:
            if run and lang == "fr" and run[-1] == 4 and value == 20:
                run[-1] = 80  # quatre-vingt(s)
            elif run and _joins(run[-1], value, lang):
                run.append(value)
            else:
                yield from value_of(run, first)
                run, first = [value], token
            after_connector = False
        elif run and token in connectors and not after_connector:
            after_connector = True
        else:
            yield from value_of(run, first)
            run, after_connector = [], False
    yield from value_of(run, first)


def _unspaced_value(numeral: str, lang: str) -> int:
    table = NUMBER_WORDS[lang]
    parts = re.findall("|".join(sorted(table, key=len, reverse=True)), numeral)
    total, digit = 0, 0
    for part in parts:
        v = table[part]
        if v >= 10:
            total += max(digit, 1) * v
            digit = 0
        else:
            digit = digit * 10 + v if lang == "zh" and part in ("零", "〇") else v
    return total + digit


def word_values(text: str, lang: str) -> Iterator[int]:
    """Values written as number words in `text` (see the module docstring for what counts)."""
    if lang not in NUMBER_WORDS:
        return
    if lang in _UNSPACED_NUMERAL_RE:
        values: Iterator[int] = (_unspaced_value(m.group(1), lang) for m in _UNSPACED_NUMERAL_RE[lang].finditer(text))
    else:
        values = _spaced_word_numbers(text, lang)
    yield from values


def number_values(text: str, lang: str, implicit: frozenset[int] = frozenset({1})) -> Counter:
    """Multiset of the values a text states (digits and number words, keyed as digit strings); number words
    whose value is in `implicit` are left out (see IMPLICIT_VALUES)."""
    out: Counter = Counter(digit_values(text))
    out.update(str(v) for v in word_values(text, lang) if v not in implicit)
    return out


def implicit_values(*langs: str) -> frozenset[int]:
    return frozenset({1}).union(*(IMPLICIT_VALUES.get(lang, frozenset()) for lang in langs))


# --- negation -------------------------------------------------------------------------------------------------

NEGATION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("not no never without cannot nor neither none nobody nothing nowhere".split()),
    "pt": frozenset("não nao nunca jamais nem sem nenhum nenhuma nenhuns nenhumas ninguém nada".split()),
    "es": frozenset("no nunca jamás jamas ni sin ningún ninguno ninguna ningunos ningunas nadie nada tampoco".split()),
    # French negates with ne/n' (+ pas, jamais, rien, aucun): ne is counted, its partner is not.
    "fr": frozenset("ne sans ni non".split()),
    "de": frozenset("nicht nie niemals ohne weder nichts niemand kein keine keinen keinem keiner keines".split()),
    "ar": frozenset("لا لم لن ليس ليست لست ليسوا ليسا لسنا لستم بدون دون بلا".split()),
    "hi": frozenset("नहीं नही न ना मत बिना".split()),
}
# Prefixes/suffixes that carry a negation inside a word.
_NEGATION_AFFIX = {
    "en": re.compile(r"n['’]t$"),  # don't, can't, won't
    "fr": re.compile(r"^n['’]"),  # n'est, n'a
    "ar": re.compile(r"^[وف](?:لا|لم|لن|ليس|ليست|بدون|بلا)$"),  # و/ف (and/so) written on the marker
}
# Unspaced languages: substrings, minus the words that only contain a marker.
NEGATION_SUBSTRINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "zh": (("不", "没", "沒", "别", "別", "无", "無", "未", "勿", "莫", "非"),
           # words whose English has no negation: different, however, good, continuously, soon, many,
           # regardless, otherwise, very, unless, future, others, other, special, difference, respectively,
           # farewell, have to, almost, amazing, sorry, countless, boring
           ("不同", "不过", "不過", "不错", "不錯", "不断", "不斷", "不久", "不少", "不管", "不然", "无论", "無論",
            "非常", "除非", "未来", "未來", "别人", "別人", "别的", "別的", "特别", "特別", "区别", "區別", "分别",
            "分別", "告别", "告別", "不得不", "差不多", "了不起", "对不起", "對不起", "无数", "無數", "无聊", "無聊")),
    # อย่าง (kind, manner) contains อย่า (don't); ไม่ว่า is "regardless".
    "th": (("ไม่", "อย่า", "ปราศจาก", "ไร้", "ห้าม"), ("อย่าง", "ไม่ว่า")),
}


def negation_count(text: str, lang: str) -> int | None:
    """Negation markers in `text`; None for a language without a list."""
    if lang in NEGATION_SUBSTRINGS:
        markers, exclusions = NEGATION_SUBSTRINGS[lang]
        for word in exclusions:
            text = text.replace(word, " ")
        return sum(text.count(m) for m in markers)
    if lang not in NEGATION_WORDS:
        return None
    marks, affix = NEGATION_WORDS[lang], _NEGATION_AFFIX.get(lang)
    return sum(w in marks or (affix is not None and affix.search(w) is not None) for w in words(text))


# English words negated by an affix (non-renewable, unchecked, gluten-free, harmless): translations often
# write the negation as a word ("não renovável", "sem glúten"), so each may stand for one marker of
# AFFIX_MARKERS in the translation's sentence.
_NEGATIVE_AFFIX_RE = re.compile(
    r"\b(?:non-?[a-z]{3,}|un(?!der|til|ion|it|iv|iq|if|ique|less|cle)[a-z]{4,}|[a-z]{3,}less|[a-z]+-free)\b", re.I)
# Not negations, though shaped like one: -less words whose translation has no negation word.
_NOT_NEGATIVE = frozenset("unless regardless nevertheless nonetheless bless blessed".split())
AFFIX_MARKERS: dict[str, frozenset[str]] = {
    "pt": frozenset({"não", "nao", "sem"}),
    "es": frozenset({"no", "sin"}),
    "fr": frozenset({"non", "sans"}),
    "de": frozenset({"nicht", "ohne"}),
}


def negative_affixes(text: str) -> int:
    """English words carrying a negative affix (see _NEGATIVE_AFFIX_RE)."""
    return sum(m.group().casefold() not in _NOT_NEGATIVE for m in _NEGATIVE_AFFIX_RE.finditer(text))


def affix_markers(text: str, lang: str) -> int:
    """Negation markers in `text` that may translate an English negative affix."""
    marks = AFFIX_MARKERS.get(lang, frozenset())
    return sum(w in marks for w in words(text)) if marks else 0

