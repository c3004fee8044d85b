# Compares regenerated parity data with the committed files: which tensors are equal, and the max abs difference of the rest.
# Usage: python3 tools/parity/verify_regen.py <committed tests/data/parity> <regenerated folder>
import json, os, struct, sys
import torch

def load_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n)); data = f.read()
    dt = {"F32": torch.float32, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32}
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dt[v["dtype"]]).reshape(v["shape"]) if b > a else torch.zeros(v["shape"], dtype=dt[v["dtype"]])
    return out

def diff(a, b):
    if a.shape != b.shape: return f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
    return f"{(a.double() - b.double()).abs().max().item() if a.numel() else 0.0:.3g}"

old, new = sys.argv[1], sys.argv[2]; ver = new  # committed parity dir, new stage
o = load_st(f"{old}/umt5/tokens.safetensors"); n = load_st(f"{new}/umt5/tokens.safetensors")
k = o["ids"].shape[0]
same = [i for i in range(k) if torch.equal(o["ids"][i], n["ids"][i]) and torch.equal(o["mask"][i], n["mask"][i])]
print("umt5 tokens: old prompts", k, "new", n["ids"].shape[0], "unchanged ids:", same, "changed:", [i for i in range(k) if i not in same])
so = torch.load(f"{old}/umt5/encoder.pth"); sn = torch.load(f"{new}/umt5/encoder.pth")
print("umt5 encoder.pth weights max diff:", max(float((so[x] - sn[x]).abs().max()) for x in so), "keys equal:", so.keys() == sn.keys())
eo = load_st(f"{old}/umt5/encoder.safetensors"); en = load_st(f"{new}/umt5/encoder.safetensors")
for i in range(eo["context"].shape[0]):
    print(f"umt5 encoder prompt {i}: ids equal {torch.equal(eo['ids'][i], en['ids'][i])}, context max diff {diff(eo['context'][i], en['context'][i])}")
po = load_st(f"{old}/pipeline/io.safetensors"); pv = load_st(f"{ver}/pipeline/io.safetensors")
print("pipeline keys equal:", po.keys() == pv.keys())
for x in sorted(po):
    if not x.startswith("noise_") or x.endswith("_000"): print(f"  {x}: {diff(po[x], pv[x])}")
print("  noise max diff:", max(float((po[x] - pv[x]).abs().max()) for x in po if x.startswith("noise_")))
for w in ("vae.pth", "clip.pth", "t5.pth"):
    a, b = torch.load(f"{old}/pipeline/{w}"), torch.load(f"{ver}/pipeline/{w}")
    print(f"pipeline {w} max diff:", max(float((a[x] - b[x]).abs().max()) for x in a))
for f in sorted(os.listdir(f"{old}/pipeline/dit")):
    if f.endswith(".safetensors"):
        a, b = load_st(f"{old}/pipeline/dit/{f}"), load_st(f"{ver}/pipeline/dit/{f}")
        print(f"pipeline dit/{f} max diff:", max(float((a[x] - b[x]).abs().max()) for x in a))
