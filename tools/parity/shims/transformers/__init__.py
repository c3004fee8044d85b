"""Stand-in for transformers' AutoTokenizer, for machines where transformers cannot be installed.

tools/parity/harness.py uses it only when the real transformers is missing (the GPU machine has it and
uses it). The reference (wan/modules/tokenizers.py, HuggingfaceTokenizer) loads a T5 tokenizer folder with
AutoTokenizer.from_pretrained and calls it. For a folder with a tokenizer.json, transformers' fast
tokenizer is a thin wrapper over Hugging Face's Rust `tokenizers` crate: for the arguments the reference
passes it sets truncation and padding on the Rust tokenizer, calls encode_batch and turns the encodings'
ids and attention masks into tensors. One exception: transformers 5's T5Tokenizer replaces the file's
pre-tokenizer by its own (see _as_transformers_5_builds_it). This stand-in does the same with the same
crate, through its official Node binding (tools/parity/hf_tokenizers.js, npm tokenizers@0.23.2), and
nothing else: every argument, attribute or class the reference does not use raises NotImplementedError, so
it can never silently differ from transformers. tests/data/parity/README.md ("The tokenizer without transformers")
says why the numbers are the same and how that was checked.

What transformers (PreTrainedTokenizerFast.__call__ -> _batch_encode_plus) does for these arguments:
  truncation=True, max_length=N  -> backend.enable_truncation(max_length=N, stride=0,
                                    strategy="longest_first", direction=truncation_side ("right"))
  padding="max_length"           -> backend.enable_padding(length=N, direction=padding_side ("right"),
                                    pad_id=pad_token_id, pad_type_id=0, pad_token=pad_token, pad_to_multiple_of=None)
  padding=False, truncation=None -> backend.no_truncation(), backend.no_padding()
  then encode_batch(texts, add_special_tokens=...) and, per encoding, input_ids = encoding.ids and
  attention_mask = encoding.attention_mask (1 for every token including </s>, 0 for padding); T5's
  model_input_names are input_ids and attention_mask (no token_type_ids). return_tensors="pt" makes
  int64 tensors; a single string gives plain lists (the batch's only row).
"""
import atexit, json, os, shutil, subprocess

__all__ = ["AutoTokenizer"]

STAND_IN = True  # harness.py reports which transformers a generator ran with
HERE = os.path.dirname(os.path.abspath(__file__))
BRIDGE = os.path.join(HERE, "..", "..", "hf_tokenizers.js")
# tokenizer_config.json classes the stand-in builds as transformers 5's T5Tokenizer does (the only classes the
# reference's umT5 folders name); any other class is refused.
T5_CLASSES = ("T5Tokenizer", "T5TokenizerFast")


class NotInStandIn(ImportError, NotImplementedError):
    """What the stand-in lacks: an ImportError too, so `from transformers import X` fails as if X were missing
    (callers that fall back on a missing transformers still do)."""


def _not_implemented(what):
    return NotInStandIn(f"{what}: the transformers stand-in (tools/parity/shims/transformers) implements "
                               "only what the reference's HuggingfaceTokenizer uses; install transformers for more")


def run_rust_tokenizer(tokenizer_file, calls, token_ids=()):
    """One request to hf_tokenizers.js (see there for the format); returns its answer."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the transformers stand-in needs Node.js (`node`) and the npm tokenizers package")
    request = {"tokenizer_file": os.path.abspath(tokenizer_file), "token_ids": list(token_ids), "calls": calls}
    # UTF-8 as the Python binding takes it: a string that cannot be encoded (lone surrogates) is an error there too.
    data = json.dumps(request, ensure_ascii=False).encode("utf-8")
    proc = subprocess.run([node, BRIDGE], input=data, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"hf_tokenizers.js failed: {proc.stderr.decode(errors='replace').strip()}")
    return json.loads(proc.stdout)


class BatchEncoding(dict):
    """The part of transformers' BatchEncoding the reference reads: keys, and the same values as attributes."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        raise _not_implemented(f"BatchEncoding.{name}")


class T5TokenizerFast:
    """A tokenizer.json folder, called as the reference calls it."""

    def __init__(self, folder):
        self.folder = folder
        self.tokenizer_file = os.path.join(folder, "tokenizer.json")
        config_path = os.path.join(folder, "tokenizer_config.json")
        if not os.path.isfile(self.tokenizer_file):
            raise _not_implemented("a tokenizer folder without tokenizer.json (converting a slow tokenizer such as "
                                   "spiece.model is transformers' own code)")
        config = {}
        if os.path.isfile(config_path):
            with open(config_path, encoding="utf-8") as f:
                config = json.load(f)
        cls = config.get("tokenizer_class")
        if cls not in T5_CLASSES:
            raise _not_implemented(f"tokenizer_class {cls!r} in {config_path}")
        self.pad_token = config.get("pad_token", "<pad>")
        if isinstance(self.pad_token, dict):  # an AddedToken written out
            self.pad_token = self.pad_token["content"]
        self.padding_side = config.get("padding_side", "right")
        self.truncation_side = config.get("truncation_side", "right")
        self.tokenizer_file = self._as_transformers_5_builds_it(self.tokenizer_file)
        info = run_rust_tokenizer(self.tokenizer_file, [], token_ids=[self.pad_token])
        self.pad_token_id = info["token_ids"][self.pad_token]
        if self.pad_token_id is None:
            raise ValueError(f"pad token {self.pad_token!r} is not in {self.tokenizer_file}")
        self.pad_token_type_id = 0
        # PreTrainedTokenizerFast.vocab_size: the backend's size without added tokens.
        self.vocab_size = info["vocab_size"]
        self.binding = info["binding"]

    @staticmethod
    def _as_transformers_5_builds_it(path):
        """transformers 5's T5Tokenizer does not run tokenizer.json's pre-tokenizer: it takes the vocabulary (and
        post-processor) from the file and sets its own pre-tokenizer, WhitespaceSplit then Metaspace("▁",
        prepend_scheme="always", split=True). With the 2023 layout's Metaspace(add_prefix_space) a space before a
        special token written in the text becomes a "▁" token; transformers 5.17 gave none (gen_umt5.py's
        stand-in check, prompt 9). Returns a copy of the file with that pre-tokenizer."""
        import tempfile
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        if j.get("model", {}).get("type") != "Unigram":
            raise _not_implemented(f"{path}: a {j.get('model', {}).get('type')} model (T5 is Unigram)")
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
        fd, out = tempfile.mkstemp(prefix="t5-backend-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False)
        atexit.register(os.unlink, out)
        return out

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _not_implemented(f"tokenizer.{name}")

    def __call__(self, text, text_pair=None, add_special_tokens=True, padding=False, truncation=None,
                 max_length=None, stride=0, is_split_into_words=False, pad_to_multiple_of=None, padding_side=None,
                 return_tensors=None, return_token_type_ids=None, return_attention_mask=None, **kwargs):
        if kwargs:
            raise _not_implemented(f"tokenizer arguments {sorted(kwargs)}")
        if text_pair is not None or is_split_into_words or stride != 0 or pad_to_multiple_of is not None \
                or padding_side is not None or return_token_type_ids or return_attention_mask is False:
            raise _not_implemented("text pairs, pre-split words, stride, pad_to_multiple_of, padding_side, "
                                   "token type ids or return_attention_mask=False")
        if return_tensors not in (None, "pt"):
            raise _not_implemented(f"return_tensors={return_tensors!r}")
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise _not_implemented("inputs other than a string or a list of strings")
        if not single and return_tensors is None:
            raise _not_implemented("a batch without return_tensors")
        call = {"texts": texts, "add_special_tokens": bool(add_special_tokens)}
        # Truncation: True / "longest_first" with max_length, or none at all (no max_length either).
        if truncation in (True, "longest_first") and isinstance(max_length, int):
            call["truncation"] = {"max_length": max_length, "stride": 0, "strategy": "longest_first",
                                  "direction": self.truncation_side}
        elif truncation in (None, False, "do_not_truncate") and max_length is None:
            call["truncation"] = None
        else:
            raise _not_implemented(f"truncation={truncation!r} with max_length={max_length!r}")
        # Padding: "max_length" to max_length, or none.
        if padding == "max_length" and isinstance(max_length, int):
            call["padding"] = {"length": max_length, "direction": self.padding_side, "pad_id": self.pad_token_id,
                               "pad_type_id": self.pad_token_type_id, "pad_token": self.pad_token,
                               "pad_to_multiple_of": None}
        elif padding in (False, "do_not_pad"):
            call["padding"] = None
        else:
            raise _not_implemented(f"padding={padding!r} with max_length={max_length!r}")
        (encodings,) = run_rust_tokenizer(self.tokenizer_file, [call])["results"]
        ids = [e["ids"] for e in encodings]
        mask = [e["attention_mask"] for e in encodings]
        if return_tensors == "pt":
            import torch
            if len({len(r) for r in ids}) > 1:
                raise ValueError("rows of different lengths cannot be one tensor: pad or truncate")
            return BatchEncoding(input_ids=torch.tensor(ids, dtype=torch.long),
                                 attention_mask=torch.tensor(mask, dtype=torch.long))
        return BatchEncoding(input_ids=ids[0], attention_mask=mask[0])


class AutoTokenizer:
    @classmethod
    def from_pretrained(cls, name, **kwargs):
        if kwargs:
            raise _not_implemented(f"AutoTokenizer.from_pretrained arguments {sorted(kwargs)}")
        if not os.path.isdir(name):
            raise _not_implemented(f"{name!r} is not a local folder (downloading from the Hub)")
        return T5TokenizerFast(name)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _not_implemented(f"transformers.{name}")
