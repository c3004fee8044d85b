#!/usr/bin/python3
"""Builds the seed corpora under corpus/ from the model_io test fixtures (rerun after make_fixtures.py)."""
import os
import shutil
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data", "model_io")


def seed(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header_file(text, data=b""):
    return struct.pack("<Q", len(text)) + text + data


for f in ["dtypes.safetensors"] + ["sharded/" + n for n in sorted(os.listdir(os.path.join(DATA, "sharded")))
                                   if n.endswith(".safetensors")]:
    seed("fuzz_safetensors_header", os.path.basename(f), open(os.path.join(DATA, f), "rb").read())
seed("fuzz_safetensors_header", "overlap", header_file(
    b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
    bytes(12)))
seed("fuzz_safetensors_header", "metadata", header_file(b'{"__metadata__":{"format":"pt"}}'))
seed("fuzz_safetensors_header", "empty_tensor", header_file(b'{"e":{"dtype":"I64","shape":[0,3],"data_offsets":[0,0]}}'))

seed("fuzz_index_json", "index.json", open(os.path.join(DATA, "sharded", "model.safetensors.index.json"), "rb").read())
seed("fuzz_index_json", "escape.json", b'{"weight_map":{"a":"../x.safetensors","b":"sub/y.safetensors"}}')

for f in ["state_dict.pth", "wrapped.pth", "nested.pth", "module_state.bin", "torch2/state_dict.pth",
          "torch2/float8.pth"]:
    with zipfile.ZipFile(os.path.join(DATA, f)) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        seed("fuzz_torch_pickle", f.replace("/", "_").split(".")[0] + ".pkl", z.read(pkl))
for f in ["torch2/official.safetensors", "torch2/float8.safetensors"]:
    seed("fuzz_safetensors_header", f.replace("/", "_"), open(os.path.join(DATA, f), "rb").read())
print("corpus written under", os.path.join(HERE, "corpus"))
