"""Writes tests/data/parity/umt5/ftfy_cases.json: inputs for ftfy.fix_text (default configuration) and for
its mojibake heuristic badness.is_bad, with what the real ftfy 6.3.1 returns for each. tests/model_text
checks talkgen's C++ port (src/model/umt5/ftfy_*.cpp) against every case.

    PYTHONPATH=/path/to/ftfy-6.3.1 /usr/bin/python3 tools/parity/gen_ftfy_cases.py

The fix_text inputs exercise each fix (quotes, widths, ligatures, controls, terminal escapes, HTML entities
with and without tags, mojibake from several codecs including the A0 and lossy cases, surrogates, line
breaks, NFC) and text that must come back unchanged; a seeded fuzz set adds mojibake of random phrases.
Cases holding lone surrogates (not valid in JSON strings) give `input_codepoints` instead of `input`.
"""
import argparse, json, os, random, sys, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

try:
    import ftfy
    from ftfy import badness
except ImportError as e:
    sys.exit(f"gen_ftfy_cases.py needs the real ftfy 6.3.1 on PYTHONPATH (a source checkout): {e}")
if ftfy.__version__ != "6.3.1":
    sys.exit(f"ftfy {ftfy.__version__} at {ftfy.__file__}: the cases must come from ftfy 6.3.1")

# (what it exercises, input)
HAND_CASES = [
    ("curly double and single quotes",
     "\u201cHello,\u201d she said. \u2018It\u2019s fine\u2019 \u201bx\u201f \u201ey\u201d"),
    ("modifier apostrophe and ligature n", "don\u02bct \u0149"),
    ("quotes in a prompt with a control character",
     "A woman says \u201cHello!\u201d while smiling\x07, then waves \u2019goodbye\u2019."),
    ("CJK fullwidth punctuation",
     "\u4f60\u597d\uff0c\u4e16\u754c\uff01\uff08\u6d4b\u8bd5\uff09\uff1a\u300c\u5f15\u53f7\u300d\u3002\uff1f"),
    ("fullwidth Latin, digits and ideographic space",
     "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33 \uff11\uff12\uff13\uff41\uff42"),
    ("halfwidth katakana (then NFC joins the voicing marks)",
     "\uff76\uff9e\uff77\uff9e \uff8a\uff9f\uff9d \uff35\uff80\uff70\uff9d"),
    ("halfwidth hangul and symbols", "\uffa1\uffa4\uffc2 \uffe0\uffe1\uffe5\uffe8\uffed"),
    ("Latin ligatures",
     "\ufb01nd \ufb02ow \ufb00 \ufb03 \ufb04 \ufb05 \ufb06 \u0132ssel \u0133 \u01c4 \u01c5 \u01c6 \u01c7 \u01c8"
     " \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3"),
    ("ligatures and entities from ftfy's docstring", "Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!"),
    ("C0 control characters (tab, LF, FF, CR kept)", "a\x00b\x01c\x07d\x08e\tf\x0bg\x0ch\x0ei\x1fj\x7fk"),
    ("C1 control characters", "price \x80 5, \x93quoted\x94, \x85 end"),
    ("C1 control that windows-1252 leaves undefined", "a\x81b\x8dc\x9dd"),
    ("deprecated format characters, BOM, interlinear annotation, object replacement",
     "\ufeffstart\u206a\u206fmid\ufff9\ufffa\ufffb\ufffcend"),
    ("joiners, bidi marks and tag characters are kept",
     "a\u200cb\u200dc\u200ed\u200fe\u202af\u202e \U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073"
     "\U000E007F"),
    ("terminal colour escapes", "\x1b[36;44mI'm blue, da ba dee\x1b[0m and \x1b[1mbold\x1b[m"),
    ("terminal escape with non-ASCII digits, and a bare ESC", "\x1b[\u0663\u0664mx\x1b[1;2 y \x1b z"),
    ("HTML entities without tags are decoded",
     "Tom &amp; Jerry &lt;3 caf&eacute; &EACUTE;T&EACUTE; &NTILDE; &nTILDE; BUNDESSTRA&SZLIG;E &#x2019;&#8217; "
     "&#12ab; &amp &hellip; &checkmark; &Jscr;"),
    ("HTML entities with tags are kept", "<p>Tom &amp; Jerry&hellip; caf&eacute;</p>"),
    ("the '<' rule applies from the line it appears on", "a &amp; b\n<p>c &amp; d</p>\ne &amp; f"),
    ("entities before any tag on other lines", "x &lt; y\nno tags &eacute;\n"),
    ("numeric references that do not end where the match does",
     "&#65; &#x41; &#0; &#x110000; &#99999999; &#128; &#x80; &#xd800;"),
    ("entity names longer than 24 characters", "&CounterClockwiseContourIntegral; &abcdefghijklmnopqrstuvwxyz;"),
    ("mojibake from ftfy's docstring", "\u00e2\u0153\u201d No problems"),
    ("mojibake with an entity", "&macr;\\_(\u00e3\x83\x84)_/&macr;"),
    ("windows-1252 mojibake", "\u00c3\u00a9t\u00c3\u00a9 \u00c3\u00a0 la plage, sch\u00c3\u00b6n, na\u00c3\u00afve"),
    ("latin-1 mojibake with C1 controls", "\u00e2\x80\x9cquoted\u00e2\x80\x9d text\u00e2\x80\xa6"),
    ("A0 turned into a space", "voil\u00c3 le travail, \u00c3 la mode, \u00c3 s vezes"),
    ("lossy mojibake ending in U+FFFD", "\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd"),
    ("lossy mojibake with '?'", "caf\u00c3? cr\u00c3?me"),
    ("double mojibake", "\u00c3\u0192\u00c2\u00a9t\u00c3\u0192\u00c2\u00a9"),
    ("windows-1251 mojibake", "\u0420\u0457\u0421\u0402\u0420\u0451\u0420\u0406\u0420\u00b5\u0421\u201a"),
    ("MacRoman mojibake", "\u201a\u00c4\u00fahello\u201a\u00c4\u00f9 caf\u221a\u00a9"),
    ("mojibake embedded in clean text", "Clean text \u2014 and then caf\u00c3\u00a9 \u2014 and more clean text \u2603"),
    ("CESU-8 emoji read as latin-1", "\u00ed\u00a0\u00bd\u00ed\u00b8\u0080 smile"),
    ("Java null read as latin-1", "null:\u00c0\u0080."),
    ("CRLF, CR, LS, PS and NEL line breaks", "a\r\nb\rc\u2028d\u2029e\x85f\r\n"),
    ("combining characters composed by NFC",
     "e\u0301 A\u030a n\u0303 o\u0308\u0304 \u1100\u1161\u11a8 \u0041\u0323\u0307 \u212b \u2126"),
    ("emoji, skin tones and ZWJ sequences",
     "\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F600\u2764\ufe0f"),
    ("clean Chinese",
     "\u4eba\u5de5\u667a\u80fd\u751f\u6210\u7684\u89c6\u9891\uff0c\u4e00\u4e2a\u4eba\u5728\u8bf4\u8bdd\u3002"),
    ("clean Arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"),
    ("clean Hindi", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e"),
    ("clean Korean, Japanese, Greek, Russian, Hebrew, Thai",
     "\ud55c\uad6d\uc5b4 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u0395\u03bb\u03bb\u03b7\u03bd\u03b9"
     "\u03ba\u03ac \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u05e2\u05d1\u05e8\u05d9\u05ea \u0e20\u0e32\u0e29"
     "\u0e32\u0e44\u0e17\u0e22"),
    ("legitimate \u00c3 and Latin-1 text left alone",
     "M\u00c3E S\u00c3O PAULO, P\u00c3O DE A\u00c7\u00daCAR, \u00c3 \u00e0 vontade"),
    ("Latin-1 punctuation left alone",
     "\u00a1Hola! \u00bfQu\u00e9? 2 \u00d7 3 = 6, \u00a35 \u20ac10 \u00a5100 25\u00b0C \u00bd \u00a7 4 \u00b6 2"
     " \u00a9 \u00ae \u2122"),
    ("Central European text left alone",
     "\u0141\u00f3d\u017a, \u017b\u00f3\u0142w, P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd"),
    ("kaomoji left alone", "(\u256f\u00b0\u25a1\u00b0)\u256f\ufe35 \u253b\u2501\u253b \u00af\\_(\u30c4)_/\u00af"),
    ("French and German left alone",
     "Libert\u00e9, \u00e9galit\u00e9, fraternit\u00e9. Stra\u00dfe, \u00dcbergr\u00f6\u00dfe"),
    ("a prompt with nothing to fix", "A man is talking to the camera in a bright studio, natural lighting."),
    ("empty", ""),
    ("only whitespace and newlines", " \n\n\t \n"),
]

SURROGATE_CASES = [
    ("a surrogate pair", [ord("a"), 0xD83D, 0xDE00, ord("b")]),
    ("lone and reversed surrogates", [0xDCA9, 0xD83D, ord("x"), 0xD800]),
]

FUZZ_PHRASES = [
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e", "na\u00efve r\u00e9sum\u00e9 \u2014 \u201cquoted\u201d text\u2026",
    "\u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "emoji \U0001F600 ok", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "Espa\u00f1ol: \u00bfQu\u00e9 tal?",
    "\u017b\u00f3\u0142w \u0141\u00f3d\u017a", "\u00e0 la mode", "\u00c5ngstr\u00f6m \u00b5m \u00b0C",
    "\u2018single\u2019 \u2022 bullet \u2122", "\u0645\u0631\u062d\u0628\u0627", "\u0928\u092e\u0938\u094d\u0924\u0947",
    "Stra\u00dfe \u00fcber", "\u00c9cole \u00e9t\u00e9", "\u00a3100 \u20ac5 \u00a5",
]
FUZZ_CODECS = ["windows-1252", "latin-1", "mac_roman", "cp1251", "cp1250", "cp437", "iso-8859-2", "cp1253",
               "cp1254", "cp1257", "sloppy-windows-1252"]


def fuzz_cases(rng, count):
    out = []
    for _ in range(count):
        phrase = " ".join(rng.sample(FUZZ_PHRASES, rng.randint(1, 3)))
        codec = rng.choice(FUZZ_CODECS)
        text = phrase.encode("utf-8").decode(codec, errors="replace")
        roll = rng.random()
        if roll < 0.15:
            text = text.replace("\xa0", " ")  # A0 lost to a space
        elif roll < 0.25:
            text = text + " " + rng.choice(FUZZ_PHRASES)  # mojibake next to clean text
        elif roll < 0.3:
            text = text.encode("utf-8").decode("latin-1")  # twice
        out.append((f"fuzz: {codec}", text))
    return out


def badness_alphabet():
    chars = set()
    for cat in badness.MOJIBAKE_CATEGORIES.values():
        import re
        rx = re.compile(f"[{cat}]", re.VERBOSE)
        chars.update(c for c in map(chr, range(0x3000)) if rx.match(c))
    # the characters BADNESS_RE names literally, and plain ones around them
    chars.update("\u00c2\u00c3\u00ce\u00d0\u00d8\u00d9\u00e0\u221a\u2248\u201a\u00c4\u0432\u0402\u0412\u0413\u0420"
                 "\u0421\u045e\u03b2\u20ac\u0386\u0392\u0393\u039e\u039f\u0101\u0152\u0153\u00d7\u00b2\u00b3\u00b0"
                 "\u00b5\u00f8\u00e2\u00f3\u00e4\u00ea\u03c0")
    chars.update("aezAZ .,?!\n\t\u3000\u00a0_1")
    return sorted(chars)


def is_bad_cases(rng, per_class):
    alphabet = badness_alphabet()
    bad, good = [], []
    seen = set()
    while len(bad) < per_class or len(good) < per_class:
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7)))
        if text in seen:
            continue
        seen.add(text)
        target = bad if badness.is_bad(text) else good
        if len(target) < per_class:
            target.append(text)
    return [{"input": t, "expected": True} for t in bad] + [{"input": t, "expected": False} for t in good]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "parity", "umt5", "ftfy_cases.json"))
    p.add_argument("--fuzz", type=int, default=150, help="random mojibake cases")
    p.add_argument("--is-bad", type=int, default=300, help="is_bad cases of each answer")
    args = p.parse_args()
    rng = random.Random(20260207)

    fix_cases = []
    for what, text in HAND_CASES + fuzz_cases(rng, args.fuzz):
        fix_cases.append({"what": what, "input": text, "expected": ftfy.fix_text(text)})
    for what, cps in SURROGATE_CASES:
        fixed = ftfy.fix_text("".join(map(chr, cps)))
        fix_cases.append({"what": what, "input_codepoints": cps, "expected": fixed})
    changed = sum(1 for c in fix_cases if c.get("input", None) != c["expected"])
    doc = {
        "about": "ftfy.fix_text (default TextFixerConfig) and ftfy.badness.is_bad outputs; "
                 "made by tools/parity/gen_ftfy_cases.py",
        "ftfy": ftfy.__version__,
        "python": sys.version.split()[0],
        "unicode": unicodedata.unidata_version,
        "fix_text": fix_cases,
        "is_bad": is_bad_cases(rng, args.is_bad),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {len(fix_cases)} fix_text cases ({changed} changed by ftfy), "
          f"{len(doc['is_bad'])} is_bad cases")


if __name__ == "__main__":
    main()
