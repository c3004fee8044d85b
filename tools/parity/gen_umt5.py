"""Parity data for the umT5-XXL text encoder and its tokenizer (src/model/umt5/).

    python3 tools/parity/gen_umt5.py --train-spm                  # once, locally: needs Debian's spm_train
    python3 tools/parity/gen_umt5.py --html-entities              # once: src/model/umt5/html_entities.inc
    python3 tools/parity/gen_umt5.py --ref .ref/infinitetalk       # tokens + encoder outputs (GPU machine, or
                                                                   # here with the transformers stand-in)
    python3 tools/parity/gen_umt5.py --ref .ref/infinitetalk --full --device cuda --out /tmp/umt5_full

The real tokenizer (google/umt5-xxl) cannot be downloaded, so --train-spm trains a small sentencepiece
unigram model (English, Chinese incl. the reference's default negative prompt; byte fallback on as in
mT5/umT5) and writes tests/data/parity/umt5/spiece.model, which is committed.

The default run turns that model into a Hugging Face tokenizer folder laid out like google/umt5-xxl
(spiece.model + tokenizer.json + tokenizer_config.json), tokenizes PROMPTS with the reference's
HuggingfaceTokenizer(seq_len=512, clean='whitespace') and saves ids + masks. The tokenizer.json is written
here in the layout transformers' T5 converter gave in 2023, when google/umt5-xxl was uploaded (Precompiled
charsmap + Replace(" {2,}"), Metaspace, Unigram without byte fallback, "$A </s>"); the ids are cross-checked
against transformers' own conversion of spiece.model and against today's converter layout, and any
disagreement is printed and stored in the metadata. Then a tiny umT5 encoder (T5Encoder, shared_pos=False:
a relative position embedding in every block) with random weights is saved as a torch.save .pth in the
official key layout and run in fp32 on three of the prompts.

Without transformers, harness.py uses the stand-in in shims/transformers; then check_stand_in first requires
it to reproduce, bit for bit, the ids and masks transformers 5.17 made for the first 16 prompts
(TRANSFORMERS_TOKENS_COMMIT), and nothing is written otherwise.
"""
import base64, copy, json, os, shutil, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMPONENT = "umt5"
SEQ_LEN = 512
EXTRA_IDS = 100  # sentinel tokens <extra_id_N>, as T5Tokenizer adds them (umt5-xxl's folder has its own count)

NEG_PROMPT = ("色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
              "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
              "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走")

# Training text for the small sentencepiece model. Characters that appear here are in its vocabulary.
CORPUS = [
    NEG_PROMPT,
    "一个女人正在对着镜头说话，她的表情自然，嘴唇的动作与声音同步。",
    "一位年轻的男子坐在书桌前，微笑着讲述他的故事，背景是明亮的房间。",
    "高质量，清晰的细节，自然的光线，真实的皮肤纹理，稳定的镜头。",
    "这是一个测试句子，用于训练分词模型。我们需要中文和英文的文本。",
    "A woman is talking to the camera with a natural expression and clear lip movements.",
    "A young man sits at his desk, smiling while he tells a story in a bright room.",
    "The portrait is lit by soft window light; the background is slightly blurred.",
    "High quality, sharp details, natural lighting, realistic skin texture, stable camera.",
    "She speaks slowly and clearly, nodding now and then, and her eyes follow the lens.",
    "In the video, a man in a blue shirt explains the weather forecast for tomorrow.",
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.",
    "Numbers and dates: 2024-05-17, 3.14159, 42 people, 100% sure, 7 o'clock.",
    "Questions? Answers! Quotes \"like this\" and 'that', parentheses (yes) [no] {maybe}.",
    "Talking head videos need accurate lip sync, steady heads and consistent identity.",
    "The speaker wears glasses and a grey jacket; a bookshelf stands behind her.",
    "Tom & Jerry < 3 > 2, email me at someone@example.com, or visit the web page.",
    "Tabs\tand spaces are whitespace; so are new lines.",
    "Café, naïve, résumé, façade, jalapeño, Über, smörgåsbord, crème brûlée.",
    "An old man with a white beard laughs and talks about his childhood by the sea.",
    "A news anchor reads the headlines in a calm voice under studio lights.",
    "Close-up of a face, the mouth opens and closes in time with the speech audio.",
]


def corpus_text():
    # Repeat so the trainer sees enough sentences; the ordering is fixed, so training is reproducible.
    return "\n".join(CORPUS * 8) + "\n"


def train_spm(out_dir):
    """Trains the small unigram model with Debian's spm_train (T5 layout: pad 0, eos 1, unk 2, no bos)."""
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(corpus_text())
        prefix = os.path.join(tmp, "spiece")
        subprocess.check_call([
            "spm_train", f"--input={corpus}", f"--model_prefix={prefix}", "--model_type=unigram",
            "--vocab_size=700", "--character_coverage=1.0", "--byte_fallback=true",
            "--normalization_rule_name=nmt_nfkc", "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1",
            "--pad_piece=<pad>", "--eos_piece=</s>", "--unk_piece=<unk>", "--split_digits=false",
            "--num_threads=1", "--seed_sentencepiece_size=100000", "--shuffle_input_sentence=false",
            "--minloglevel=1"])
        shutil.copy(prefix + ".model", os.path.join(out_dir, "spiece.model"))
    print("wrote", os.path.join(out_dir, "spiece.model"))


def write_html_entities(path):
    """src/model/umt5/html_entities.inc: the tables Python's html.unescape uses (the reference cleans
    prompts with html.unescape twice), so the C++ cleaning matches it entity for entity."""
    import html, html.entities

    def cstr(text):
        out, prev_hex = "", False
        for b in text.encode("utf-8"):
            c = chr(b)
            if 32 <= b < 127 and c not in '"\\?':
                out += ('""' if prev_hex and c in "0123456789abcdefABCDEF" else "") + c
                prev_hex = False
            else:
                out += "\\x%02x" % b
                prev_hex = True
        return '"' + out + '"'

    lines = [f"// Generated by tools/parity/gen_umt5.py --html-entities from Python {sys.version.split()[0]}'s",
             "// html.entities.html5, html._invalid_charrefs and html._invalid_codepoints. Do not edit.",
             "// clang-format off", "static const HtmlEntity kHtml5Entities[] = {"]
    lines += ["  {%s, %s}," % (cstr(k), cstr(v)) for k, v in sorted(html.entities.html5.items())]
    lines += ["};", "static const InvalidCharref kInvalidCharrefs[] = {"]
    lines += ["  {0x%X, 0x%X}," % (k, ord(v)) for k, v in sorted(html._invalid_charrefs.items())]
    lines += ["};", "static const uint32_t kInvalidCodepoints[] = {"]
    cps = sorted(html._invalid_codepoints)
    lines += ["  " + " ".join("0x%X," % c for c in cps[i:i + 8]) for i in range(0, len(cps), 8)]
    lines += ["};", "// clang-format on"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


# Prompts tokenized by the reference. The first three also go through the encoder.
PROMPTS = [
    "A woman is talking to the camera with a natural expression.",
    NEG_PROMPT,
    "Emoji 😀😀 and 🎉 in the middle, 你好 👋🏽 world ❤️",
    "",
    "   \n\t  ",
    "  Leading,   trailing\tand\nnewlines\u3000ideographic\u00a0nbsp  ",
    "Tom &amp; Jerry &lt;3 &amp;amp; &eacute;t&eacute; &#x1F600; &#128512; &notit; &copy 2024 &#0; &#x110000; &bogus;",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３ and ﬁ ligature ½ ① ™",
    "Combining e\u0301 vs é, A\u00a8B, \u200bzero width, \x1cfile sep\x1d",
    "Special tokens </s> and <pad> and <unk> and <extra_id_0> inside text",
    "Unknown scripts: Ωμέγα Кириллица こんにちは 안녕하세요 ۞ ✓",
    "Numbers 2024-05-17 3.14159 100% $5 #7 @home ~tilde `tick` ^caret |pipe \\backslash",
    "The quick brown fox jumps over the lazy dog. " * 60,
    "一个女人正在对着镜头说话" * 40,
    "MiXeD CaSe WoRdS and ALLCAPS and lowercase",
    "quotes “curly” ‘single’ «guillemets» — em dash – en dash … ellipsis",
    # Prompts that ftfy.fix_text changes (the reference cleans with it first), one or two fixes each.
    "A woman says \u201cHello!\u201d\x07 and smiles\x1b[0m \u2014 it\u2019s fine\x00.",
    "ＣＪＫ：你好，世界！（测试）\u3000ｶﾞｷﾞ ﾊﾟﾝ and ＦＵＬＬ１２３",
    "\ufb01ne \ufb02owers, \u0133, \u01c6 ligatures\ufeff and \u206abidi\ufffc marks",
    "Line one\r\nline two\rline three\u2028four\u2029five\x85six",
    "Mojibake: Ã©tÃ© cafÃ© naÃ¯ve â€œquotedâ€\x9d voilÃ le travail Ð¿Ñ€Ð¸Ð²ÐµÑ‚",
    "Lossy: â€œ like this â€\ufffd and C1 \x93controls\x94 \x80 5",
    "P&EACUTE;REZ &NTILDE; &eacute;t&eacute; &#x2019; &hellip; without tags",
    "<b>P&EACUTE;REZ</b> &NTILDE; &amp;amp; with a tag\nnext line &EACUTE;",
    "NFC: e\u0301 A\u030a n\u0303 \u1100\u1161\u11a8 \u212b and \x1b[36;44mcolour\x1b[0m",
    "Unchanged: SÃO PAULO, MÃE, Łódź, £5 €10 25°C ¡Hola! مرحبا नमस्ते 안녕하세요",
]


# --- a minimal protobuf wire-format reader for sentencepiece ModelProto (no protobuf package needed) ---
def _varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, val


def read_spm_model(path):
    """pieces [(piece, score, type)], unk_id, byte_fallback, precompiled charsmap of a sentencepiece .model."""
    buf = open(path, "rb").read()
    pieces, unk_id, byte_fallback, charsmap = [], 0, False, b""
    for num, _, val in _fields(buf):
        if num == 1:  # SentencePiece
            piece, score, typ = "", 0.0, 1
            for n, _, v in _fields(val):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
                elif n == 3:
                    typ = v
            pieces.append((piece, score, typ))
        elif num == 2:  # TrainerSpec
            for n, _, v in _fields(val):
                if n == 40:
                    unk_id = v
                elif n == 35:
                    byte_fallback = bool(v)
        elif num == 3:  # NormalizerSpec
            for n, _, v in _fields(val):
                if n == 2:
                    charsmap = v
    return pieces, unk_id, byte_fallback, charsmap


def _added(id_, content):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(model_path, layout="2023"):
    """tokenizer.json for a T5 spm model, as transformers' T5Converter writes it.
    layout "2023": Precompiled + Replace(" {2,}", " ") and Metaspace(add_prefix_space) (umt5-xxl's era);
    layout "now": Precompiled + Strip(right) + Replace(" {2,}", "▁") and Metaspace(prepend_scheme always)."""
    pieces, unk_id, _, charsmap = read_spm_model(model_path)
    vocab = [[p, s] for p, s, _ in pieces] + [[f"<extra_id_{i}>", 0.0] for i in range(EXTRA_IDS - 1, -1, -1)]
    n = len(pieces)
    added = [_added(i, p) for i, (p, _, t) in enumerate(pieces) if t in (2, 3)]  # unknown, control
    added += [_added(n + k, f"<extra_id_{EXTRA_IDS - 1 - k}>") for k in range(EXTRA_IDS)]
    pre = [{"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()}] if charsmap else []
    if layout == "2023":
        norm = pre + [{"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]
        pretok = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
        decoder = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
    else:
        norm = pre + [{"type": "Strip", "strip_left": False, "strip_right": True},
                      {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]
        pretok = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
        decoder = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    eos = pieces[1][0]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": norm},
        "pre_tokenizer": pretok,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": eos, "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": eos, "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 0}},
                                    {"SpecialToken": {"id": eos, "type_id": 0}}],
                           "special_tokens": {eos: {"id": eos, "ids": [1], "tokens": [eos]}}},
        "decoder": decoder,
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": False},
    }


def write_tokenizer_folder(model_path, folder, with_json=True, layout="2023"):
    os.makedirs(folder, exist_ok=True)
    shutil.copy(model_path, os.path.join(folder, "spiece.model"))
    extra = [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
    config = {"tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
              "extra_ids": EXTRA_IDS, "additional_special_tokens": extra, "model_max_length": 1000000000000000019884624838656,
              "sp_model_kwargs": {}}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                   "additional_special_tokens": extra}, f, indent=2)
    if with_json:
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(model_path, layout), f, ensure_ascii=False)


# The commit whose umt5/tokens.safetensors transformers 5.17 made on the GPU machine (torch 2.11.0+cu130), from
# the first 16 PROMPTS cleaned with an identity stand-in for ftfy (prompts.json "cleaned" there). Where the
# transformers stand-in tokenizes, it must give those ids and masks back bit for bit before anything is written.
TRANSFORMERS_TOKENS_COMMIT = "14d8591354211663ab995114b762e3fafdf2fca9"


def read_safetensors_bytes(raw):
    """{name: tensor} and the metadata of a .safetensors file's bytes (no safetensors package needed)."""
    import torch
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"I64": torch.int64, "F32": torch.float32}
    data = raw[8 + n:]
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dtypes[v["dtype"]]).reshape(v["shape"])
    return out, meta


def check_stand_in(ref, folder, model_path):
    """Proof that the transformers stand-in tokenizes as transformers did: re-tokenizes the prompts of
    TRANSFORMERS_TOKENS_COMMIT from their identity-ftfy cleaning, through the reference's HuggingfaceTokenizer
    (same seq_len, clean=None as the text is cleaned already), and requires its ids and masks bit for bit."""
    import html
    import torch
    repo = os.path.join(HERE, "..", "..")

    def blob(path):
        try:
            return subprocess.check_output(["git", "-C", repo, "show", f"{TRANSFORMERS_TOKENS_COMMIT}:{path}"],
                                           stderr=subprocess.PIPE)
        except subprocess.CalledProcessError as e:
            sys.exit(f"the stand-in check needs commit {TRANSFORMERS_TOKENS_COMMIT} in this repository's history "
                     f"(a full clone): {e.stderr.decode(errors='replace').strip()}")
    data = "tests/data/parity/umt5/"
    if blob(data + "spiece.model") != open(model_path, "rb").read():
        sys.exit(f"spiece.model differs from {TRANSFORMERS_TOKENS_COMMIT}'s: the stand-in check needs the same one")
    old = json.loads(blob(data + "prompts.json"))
    old_tokens, old_meta = read_safetensors_bytes(blob(data + "tokens.safetensors"))
    assert old_meta.get("torch", "").startswith("2.11") and "ftfy" not in old, old_meta  # made by transformers
    assert old["prompts"] == PROMPTS[:len(old["prompts"])], "the first prompts must be the committed ones"
    # The reference's cleaning with ftfy.fix_text as the identity: what cleaned those prompts.
    identity = [ref.tokenizers.whitespace_clean(html.unescape(html.unescape(p)).strip()) for p in old["prompts"]]
    assert identity == old["cleaned"], "identity-ftfy cleaning does not give the committed cleaned strings"
    tok = ref.tokenizers.HuggingfaceTokenizer(name=folder, seq_len=SEQ_LEN, clean=None)
    ids, mask = tok(identity, return_mask=True, add_special_tokens=True)
    same_ids = [i for i in range(len(identity)) if torch.equal(ids[i], old_tokens["ids"][i])]
    same_mask = [i for i in range(len(identity)) if torch.equal(mask[i], old_tokens["mask"][i])]
    ok = (ids.dtype == mask.dtype == old_tokens["ids"].dtype == old_tokens["mask"].dtype == torch.int64
          and ids.shape == old_tokens["ids"].shape and mask.shape == old_tokens["mask"].shape
          and len(same_ids) == len(same_mask) == len(identity))
    line = (f"stand-in check: {len(identity)} prompts of {TRANSFORMERS_TOKENS_COMMIT[:7]} (identity-ftfy cleaning), "
            f"ids {tuple(ids.shape)} {ids.dtype} and masks through the stand-in vs transformers 5.17's "
            f"(torch {old_meta['torch']}): ids equal on {len(same_ids)}, masks on {len(same_mask)}, "
            f"lengths {mask.sum(1).tolist()}")
    print(line)
    if not ok:
        sys.exit("the transformers stand-in does not reproduce transformers' tokens: not writing anything")
    return line


def tokenize_reference(ref, folder, prompts):
    tok = ref.tokenizers.HuggingfaceTokenizer(name=folder, seq_len=SEQ_LEN, clean="whitespace")
    ids, mask = tok(prompts, return_mask=True, add_special_tokens=True)
    return tok, ids.long(), mask.long()


def cross_checks(ref, tok, model_path, prompts, ids, mask):
    """Other builds of the same tokenizer; returns {name: indices of prompts whose ids differ, or why not run}."""
    import torch
    report = {}
    cleaned = [tok._clean(p) for p in prompts]
    want = [ids[i][mask[i] > 0].tolist() for i in range(len(prompts))]
    # Today's converter layout (Strip + Replace("▁") + Metaspace prepend_scheme), through tokenizers directly.
    try:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            # No Python binding here (no transformers either): the same crate through the stand-in's Node bridge.
            transformers = sys.modules["transformers"]
            if not getattr(transformers, "STAND_IN", False):
                raise
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "tokenizer.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(tokenizer_json(model_path, "now"), f, ensure_ascii=False)
                call = {"texts": cleaned, "add_special_tokens": True, "padding": None,
                        "truncation": {"max_length": SEQ_LEN, "stride": 0, "strategy": "longest_first",
                                       "direction": "right"}}
                (got,) = transformers.run_rust_tokenizer(path, [call])["results"]
            report["converter_layout_now"] = [i for i, c in enumerate(cleaned) if got[i]["ids"] != want[i]]
        else:
            t = Tokenizer.from_str(json.dumps(tokenizer_json(model_path, "now")))
            t.enable_truncation(SEQ_LEN)
            report["converter_layout_now"] = [i for i, c in enumerate(cleaned) if t.encode(c).ids != want[i]]
    except Exception as e:  # noqa: BLE001 - a cross-check only reports
        report["converter_layout_now"] = f"not run: {e!r}"
    # transformers' own conversion of spiece.model (no tokenizer.json in the folder).
    with tempfile.TemporaryDirectory() as tmp:
        try:
            write_tokenizer_folder(model_path, tmp, with_json=False)
            _, ids2, _ = tokenize_reference(ref, tmp, prompts)
            report["transformers_conversion"] = [i for i in range(len(prompts)) if not torch.equal(ids[i], ids2[i])]
        except Exception as e:  # noqa: BLE001
            report["transformers_conversion"] = f"not run: {e!r}"
    # Plain sentencepiece with byte-fallback runs folded into one <unk> (what the C++ tokenizer builds on).
    # Expected to differ only on prompts that write special tokens literally.
    try:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=model_path)
        bad = []
        for i, c in enumerate(cleaned):
            got = []
            for t in sp.encode(c):
                if sp.is_byte(t):
                    if not got or got[-1] != -1:
                        got.append(-1)
                else:
                    got.append(t)
            got = [sp.unk_id() if t == -1 else t for t in got][:SEQ_LEN - 1] + [sp.eos_id()]
            if got != want[i]:
                bad.append(i)
        report["plain_sentencepiece"] = bad
    except Exception as e:  # noqa: BLE001
        report["plain_sentencepiece"] = f"not run: {e!r}"
    for k, v in report.items():
        if v:
            print(f"cross-check {k}: differs on prompts {v}" if isinstance(v, list) else f"cross-check {k}: {v}")
    return report


TINY = dict(dim=32, dim_attn=32, dim_ffn=64, num_heads=2, num_layers=2, num_buckets=32)
FULL = dict(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64, num_layers=24, num_buckets=32)
ENCODER_PROMPTS = [0, 1, 2]


def build_encoder(ref, cfg, seed, device):
    import torch
    torch.manual_seed(seed)  # initialised on the CPU generator, so the weights do not depend on the device
    model = ref.t5.T5Encoder(shared_pos=False, dropout=0.1, **cfg).eval().requires_grad_(False)
    # init_weights leaves the RMS-norm gains at one; randomise them so a missing gain shows.
    for name, p in model.named_parameters():
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
            p.copy_(1.0 + 0.2 * torch.randn_like(p))
    return model.to(device)


def main():
    if "--html-entities" in sys.argv:
        write_html_entities(os.path.join(HERE, "..", "..", "src", "model", "umt5", "html_entities.inc"))
        return
    if "--train-spm" in sys.argv:
        train_spm(os.path.join(HERE, "..", "..", "tests", "data", "parity", COMPONENT))
        return
    sys.path.insert(0, HERE)
    import torch
    from common import parse_args, save_safetensors, provenance
    import harness
    args = parse_args(__doc__.splitlines()[0])
    ref = harness.import_reference(args.ref, names=("t5", "tokenizers"))
    data_dir = os.path.join(HERE, "..", "..", "tests", "data", "parity", COMPONENT)
    model_path = os.path.join(data_dir, "spiece.model")
    out = os.path.join(args.out, COMPONENT) if not args.full else args.out
    os.makedirs(out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    if args.full:
        # Full size: random weights rounded to bf16 (the official file is bf16), reference run in fp32 and bf16.
        cfg = FULL
        model = build_encoder(ref, cfg, 0, args.device)
        model.to(torch.bfloat16).float()
        g = torch.Generator().manual_seed(5)
        lens = [77, 300, 512]
        ids = torch.zeros(3, SEQ_LEN, dtype=torch.long)
        mask = torch.zeros(3, SEQ_LEN, dtype=torch.long)
        for i, n in enumerate(lens):
            ids[i, :n] = torch.randint(3, cfg["vocab"], (n,), generator=g)
            ids[i, n - 1] = 1
            mask[i, :n] = 1
        with torch.no_grad():
            ctx = model(ids.to(args.device), mask.to(args.device)).float().cpu()
            ctx_bf16 = model.to(torch.bfloat16)(ids.to(args.device), mask.to(args.device)).float().cpu()
        sd = {k: v.to(torch.bfloat16).cpu() for k, v in model.state_dict().items()}
        torch.save(sd, os.path.join(out, "models_t5_umt5-xxl-enc-bf16.pth"))
        meta = provenance(args, COMPONENT, cfg, 0)
        save_safetensors({"ids": ids, "mask": mask, "context": ctx, "context_bf16": ctx_bf16},
                         os.path.join(out, "encoder_full.safetensors"), meta)
        print("bf16 vs fp32 reference max abs diff:", (ctx - ctx_bf16).abs().max().item(),
              "ref max:", ctx.abs().max().item())
        return

    # Tokenizer parity.
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "umt5-tiny")
        write_tokenizer_folder(model_path, folder)
        stand_in = getattr(sys.modules["transformers"], "STAND_IN", False)
        proof = check_stand_in(ref, folder, model_path) if stand_in else None
        tok, ids, mask = tokenize_reference(ref, folder, PROMPTS)
        report = cross_checks(ref, tok, model_path, PROMPTS, ids, mask)
        cleaned = [tok._clean(p) for p in PROMPTS]
    # The tokenizer.json the test loads beside spiece.model (it reads the added tokens from it).
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(model_path, "2023"), f, ensure_ascii=False)
    if os.path.abspath(os.path.join(out, "spiece.model")) != os.path.abspath(model_path):
        shutil.copy(model_path, os.path.join(out, "spiece.model"))
    with open(os.path.join(out, "prompts.json"), "w", encoding="utf-8") as f:
        # "ftfy": the version that cleaned them (harness.import_real_ftfy refuses any other, and stand-ins).
        json.dump({"prompts": PROMPTS, "cleaned": cleaned, "ftfy": harness.FTFY_VERSION}, f, ensure_ascii=False,
                  indent=1)
    meta = provenance(args, COMPONENT, {"seq_len": SEQ_LEN, "extra_ids": EXTRA_IDS, "clean": "whitespace"}, 0)
    meta["cross_checks"] = json.dumps(report)
    meta["ftfy"] = harness.FTFY_VERSION
    meta["transformers"] = harness.transformers_in_use()
    if proof:
        meta["stand_in_check"] = proof
    save_safetensors({"ids": ids, "mask": mask}, os.path.join(out, "tokens.safetensors"), meta)
    print("tokens:", ids.shape, "lengths:", mask.sum(1).tolist())

    # Encoder parity: tiny config, random weights, official key layout, fp32.
    pieces, _, _, _ = read_spm_model(model_path)
    cfg = dict(TINY, vocab=len(pieces) + EXTRA_IDS)
    model = build_encoder(ref, cfg, 0, args.device)
    torch.save(model.state_dict(), os.path.join(out, "encoder.pth"))
    sel = torch.tensor(ENCODER_PROMPTS)
    e_ids, e_mask = ids[sel], mask[sel]
    with torch.no_grad():
        ctx = model(e_ids.to(args.device), e_mask.to(args.device)).float().cpu()
    seq_lens = e_mask.gt(0).sum(dim=1).long()
    meta = provenance(args, COMPONENT, cfg, 0)
    save_safetensors({"ids": e_ids, "mask": e_mask, "context": ctx, "seq_lens": seq_lens},
                     os.path.join(out, "encoder.safetensors"), meta)
    print("context:", tuple(ctx.shape), "max |x|:", ctx.abs().max().item())


if __name__ == "__main__":
    main()
