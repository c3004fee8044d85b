"""Proves on a machine with torch >= 2.1 (the GPU machine) that gen_quant.py's numpy float8 code is torch's.

    python3 tools/parity/check_quant_torch2.py [--fixtures tests/data/parity/quant] [--quanto PATH]

1. decode: every one of the 256 e4m3fn bytes, viewed as torch.float8_e4m3fn and cast to float32 (CPU and,
   when present, CUDA), equals gen_quant.decode_e4m3fn (NaN where torch has NaN, signs of zeros included).
2. encode: torch's cast float32 -> float8_e4m3fn (CPU and CUDA) equals gen_quant.encode_e4m3fn bit for bit on
   every finite bfloat16 value, +-inf / NaN, every float32 within 2048 ulps of each rounding midpoint and of
   each e4m3fn value (ties, both sides), the overflow region 448..480 and beyond, and 2 M random float32s
   over 2^-20..2^10.
3. fixtures: the committed tests/data/parity/quant files are re-made from `source/<module>` with torch's
   own float8 (quanto's quantize_symmetric steps, LightX2V's converter steps) and must be equal byte for byte
   (_data / weight, _scale / weight_scale), and the dequantised weights must equal expected.safetensors.
4. with --quanto PATH (a checkout of huggingface/optimum-quanto, or an installed optimum-quanto): quanto
   itself quantizes the same float weights (quantize + freeze), and its state dict and quantization_map()
   must equal the fixtures; requantize() of the fixture files (on CPU and CUDA) must give the expected
   dequantised weights bit for bit and quanto's forward of x the expected `.y` (within 1e-5 for float32,
   2e-2 for bfloat16: torch 2.11's matmul against torch 1.13's). quanto's CPU forward for bf16 x int8 is
   not run: its torch._weight_int8pack_mm path killed the process on torch 2.11 (the reference runs on CUDA).
Prints one line per check and exits non-zero on the first mismatch.
"""
import argparse, json, os, struct, sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_quant import LINEARS, decode_e4m3fn, encode_e4m3fn  # noqa: E402

assert hasattr(torch, "float8_e4m3fn"), "needs torch >= 2.1 (torch.float8_e4m3fn); this is " + torch.__version__
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
_FROM = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I8": torch.int8, "U8": torch.uint8,
         "F8_E4M3": torch.float8_e4m3fn}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.uint8) if end > begin else torch.empty(0, dtype=torch.uint8)
        out[name] = raw.view(_FROM[e["dtype"]]).reshape(e["shape"]).clone()
    return out


def ok(label, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + label + (f": {detail}" if detail and not cond else ""))
    if not cond:
        sys.exit(1)


def check_decode():
    codes = torch.arange(256, dtype=torch.uint8)
    want = decode_e4m3fn(codes.numpy())
    for device in DEVICES:
        got = codes.to(device).view(torch.float8_e4m3fn).float().cpu().numpy()
        same = np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(
            np.nan_to_num(got).view(np.uint32), np.nan_to_num(want).view(np.uint32))
        ok(f"decode all 256 bytes ({device})", same, str(np.nonzero(got != want)[0][:8]))


def encode_inputs():
    bf16 = torch.arange(-(1 << 15), 1 << 15, dtype=torch.int32).to(torch.int16).view(torch.bfloat16).float().numpy()
    values = decode_e4m3fn(np.arange(256, dtype=np.uint8))
    finite = np.unique(values[np.isfinite(values)]).astype(np.float64)
    mids = (finite[1:] + finite[:-1]) / 2  # rounding midpoints (exact in float32)
    anchors = np.concatenate([mids, finite, [464.0, 472.0, 480.0, 496.0, 512.0]]).astype(np.float32)
    bits = anchors.view(np.int32)[:, None] + np.arange(-2048, 2049, dtype=np.int32)[None, :]
    near = bits.reshape(-1).view(np.float32)
    rng = np.random.default_rng(0)
    rand = (np.exp2(rng.uniform(-20, 10, 2_000_000)) * rng.choice([-1.0, 1.0], 2_000_000)).astype(np.float32)
    special = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1e30, -1e30], dtype=np.float32)
    return np.concatenate([bf16, near, -near, rand, special]).astype(np.float32)


def check_encode():
    xs = encode_inputs()
    want = encode_e4m3fn(xs)
    for device in DEVICES:
        got = torch.from_numpy(xs).to(device).to(torch.float8_e4m3fn).view(torch.uint8).cpu().numpy()
        # torch's NaN output is 0x7F with the input's sign: compare NaN-ness for NaN results, bits otherwise.
        nan_got, nan_want = (got & 0x7F) == 0x7F, (want & 0x7F) == 0x7F
        bad = np.nonzero((nan_got != nan_want) | (~nan_got & (got != want)))[0]
        ok(f"encode {len(xs)} float32 values ({device}) equal torch's cast", len(bad) == 0,
           ", ".join(f"{xs[i]!r}: torch {got[i]:#04x} numpy {want[i]:#04x}" for i in bad[:8]))


def requantize_quanto(w, float8):
    """quanto's steps with torch's own float8 (library/quantize.py quantize_symmetric, absmax scale)."""
    qmax = torch.finfo(torch.float8_e4m3fn).max if float8 else 127
    rmax = torch.max(torch.abs(w)) if w.shape[0] == 1 else torch.amax(torch.abs(w), dim=[1], keepdim=True)
    scale = rmax / qmax
    data = w / scale
    if not float8:
        data = torch.round(data)
    info = torch.finfo(torch.float8_e4m3fn) if float8 else torch.iinfo(torch.int8)
    data = torch.clamp(data, min=info.min, max=info.max).to(torch.float8_e4m3fn if float8 else torch.int8)
    return data, scale


def requantize_lightx2v(w, float8):
    max_val = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-5)
    if float8:
        scales = max_val / torch.finfo(torch.float8_e4m3fn).max
        data = torch.clip(w / scales, -448.0, 448.0).to(torch.float8_e4m3fn)
    else:
        scales = max_val / 127
        data = torch.clamp(torch.round(w / scales), -128, 127).to(torch.int8)
    return data, scales.view(w.shape[0], -1)


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.contiguous().view(-1).view(torch.uint8), b.contiguous().view(-1).view(torch.uint8))


def check_fixtures(folder):
    expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
    for fixture in ("quanto_int8_f32", "quanto_fp8_f32", "quanto_int8_bf16", "quanto_fp8_bf16"):
        t = read_safetensors(os.path.join(folder, fixture + ".safetensors"))
        float8 = "fp8" in fixture
        dtype = torch.bfloat16 if "bf16" in fixture else torch.float32
        for module, _, _, quantized in LINEARS:
            if not quantized:
                continue
            data, scale = requantize_quanto(expected[f"source/{module}"].to(dtype), float8)
            ok(f"{fixture} {module} data and scale = torch's quantization",
               same_bits(data, t[module + ".weight._data"]) and same_bits(scale, t[module + ".weight._scale"]))
            dq = scale * data.to(scale.dtype) if float8 else scale * data
            ok(f"{fixture} {module} dequantised = expected", same_bits(dq, expected[f"{fixture}/{module}.weight"]))
    for fixture in ("lightx2v_fp8", "lightx2v_int8"):
        t = read_safetensors(os.path.join(folder, fixture + ".safetensors"))
        for module, out, _, quantized in LINEARS:
            if not quantized or out == 1:
                continue
            data, scales = requantize_lightx2v(expected[f"source/{module}"], fixture.endswith("fp8"))
            ok(f"{fixture} {module} weight and weight_scale = torch's quantization",
               same_bits(data, t[module + ".weight"]) and same_bits(scales, t[module + ".weight_scale"]))


def build_model(dtype):
    """A module tree with the fixture's Linear names (quanto quantizes by named_modules)."""
    root = torch.nn.Module()
    for module, out, inp, _ in LINEARS:
        parent = root
        parts = module.split(".")
        for part in parts[:-1]:
            if not hasattr(parent, part):
                parent.add_module(part, torch.nn.Module())
            parent = getattr(parent, part)
        parent.add_module(parts[-1], torch.nn.Linear(inp, out, dtype=dtype))
    return root


def check_quanto(folder, quanto_path):
    if quanto_path and os.path.isdir(quanto_path):
        sys.path.insert(0, quanto_path)
    from optimum import quanto  # noqa: E402
    print(f"quanto {quanto.__version__} from {os.path.dirname(quanto.__file__)}")
    expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
    for fixture, qtype in (("quanto_int8_f32", quanto.qint8), ("quanto_fp8_f32", quanto.qfloat8),
                           ("quanto_int8_bf16", quanto.qint8), ("quanto_fp8_bf16", quanto.qfloat8)):
        dtype = torch.bfloat16 if "bf16" in fixture else torch.float32
        t = read_safetensors(os.path.join(folder, fixture + ".safetensors"))
        qmap_file = json.load(open(os.path.join(folder, fixture + ".json")))
        model = build_model(dtype)
        with torch.no_grad():
            for module, _, _, _ in LINEARS:
                lin = model.get_submodule(module)
                lin.weight.copy_(expected[f"source/{module}"].to(dtype) if f"source/{module}" in expected else t[module + ".weight"])
                lin.bias.copy_(t[module + ".bias"])
        quanto.quantize(model, weights=qtype, exclude=["text_embedding.0"])
        quanto.freeze(model)
        sd = model.state_dict()
        for key, value in t.items():
            if key.startswith("blocks.0.norm3") or key.startswith("blocks.0.modulation"):
                continue
            ok(f"quanto {fixture} state_dict[{key}] = fixture", key in sd and same_bits(sd[key], value))
        ok(f"quanto {fixture} quantization_map() = fixture map", quanto.quantization_map(model) == qmap_file,
           json.dumps(quanto.quantization_map(model)))
        # requantize from the fixture file, as wan/multitalk.py does (on each device), then dequantise and
        # run quanto's forward.
        state = {k: v for k, v in t.items() if not k.startswith("blocks.0.norm3") and not k.startswith("blocks.0.modulation")}
        for device in DEVICES:
            with torch.device("meta"):
                fresh = build_model(dtype)
            quanto.requantize(fresh, dict(state), qmap_file, device=device)
            for module, _, inp, quantized in LINEARS:
                if not quantized:
                    continue
                lin = fresh.get_submodule(module)
                ok(f"requantize {fixture} {module} ({device}) dequantize() = expected",
                   same_bits(lin.weight.dequantize().cpu(), expected[f"{fixture}/{module}.weight"]))
                if device == "cpu" and dtype == torch.bfloat16 and "int8" in fixture:
                    # quanto's CPU kernel for bf16 x int8 is torch._weight_int8pack_mm (library/qbytes_mm.py
                    # qbytes_mm_impl_cpu), which killed the process on torch 2.11; the reference runs on CUDA.
                    print(f"skip requantize {fixture} {module} forward (cpu): quanto's _weight_int8pack_mm path")
                    continue
                y = lin(expected["x"][:, :inp].to(device).to(dtype)).cpu()
                want = expected[f"{fixture}/{module}.y"]
                diff = (y.float() - want.float()).abs().max().item()
                bound = 1e-5 if dtype == torch.float32 else 2e-2
                ok(f"requantize {fixture} {module} forward ({device}) ~ expected y (max diff {diff:.2e})",
                   y.dtype == want.dtype and diff <= bound, f"dtype {y.dtype}, max diff {diff}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "tests", "data", "parity", "quant"))
    p.add_argument("--quanto", help="path holding optimum/quanto (a checkout's top level); runs check 4")
    args = p.parse_args()
    print(f"torch {torch.__version__}, devices {DEVICES}")
    check_decode()
    check_encode()
    check_fixtures(args.fixtures)
    if args.quanto:
        check_quanto(args.fixtures, args.quanto)
    else:
        print("quanto itself: not run (pass --quanto PATH to a checkout of huggingface/optimum-quanto)")
    print("all checks passed")


if __name__ == "__main__":
    main()
