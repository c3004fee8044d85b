"""Tiny quantized checkpoints in the official layouts, for tests/model_io/quant_*_test.cpp.

    /usr/bin/python3 tools/parity/gen_quant.py [--out tests/data/parity/quant]

Writes, from random weights (fixed seed):
  quanto_{int8,fp8}_{f32,bf16}.safetensors + .json   optimum-quanto's layout (InfiniteTalk's quant_models):
      the weights quantized exactly as quanto's weight-only path does it, from a model whose Linears are
      float32 or bfloat16, and the quantization map quanto's `quantization_map()` gives.
  lightx2v_{fp8,int8}.safetensors                    LightX2V's per-channel layout (tools/convert/converter.py).
  expected.safetensors   per fixture `<fixture>/<module>.weight`: the reference's dequantised weight;
                         for quanto `<fixture>/<module>.y`: quanto's forward of `x[:, :in]` (its qbytes_mm formula);
                         `source/<module>`: the float32 weights that were quantized (the bf16 fixtures cast them
                         to bf16 first; check_quant_torch2.py re-quantizes them with torch's float8 to prove the
                         bytes); `x`; `e4m3fn/values`: the value of every e4m3fn byte (NaN for 0x7F / 0xFF).

quanto is followed function by function (optimum-quanto @ e33f820, paths under optimum/quanto/), written out
here because this machine's torch 1.13 cannot import it (no float8 dtype):
  nn/qmodule.py QModuleMixin.__init__   optimizer = AbsmaxOptimizer() for 8-bit weights; input_scale and
                                        output_scale buffers = ones((), dtype=weight.dtype)
  nn/qmodule.py QModuleMixin.qweight    scale = optimizer(weight, qtype, axis=0); quantize_weight(...)
  tensor/optimizers/symmetric_optimizer.py SymmetricOptimizer.__call__  axis -> None when shape[axis] == 1
  tensor/optimizers/absmax_optimizer.py AbsmaxOptimizer.optimize  rmax = amax(|w|, dim=1, keepdim) (or max
                                        over all when axis is None); scale = rmax / qtype.qmax, in w's dtype
  tensor/weights/quantization.py quantize_weight  axis -> None when t.shape[axis] == 1
  library/quantize.py quantize_symmetric data = base / scale; round() for integer qtypes; clamp to the
                                        storage dtype's [min, max] (iinfo(int8) / finfo(float8_e4m3fn):
                                        +-448, so the float8 cast never sees an out-of-range value);
                                        .to(dtype)
  tensor/qtype.py                       qint8: qmax 127, storage int8; qfloat8_e4m3fn: qmax 448.0
  tensor/qbytes.py QBytesDequantizer    float8: scale * data.to(scale.dtype); int8: scale * data
  library/qbytes_mm.py qbytes_mm        activations.to(scale.dtype); weights = scale * weights (float8 cast
                                        to the scale dtype first); matmul(activations, weights.t()); then
                                        `output + bias` (tensor/weights/qbytes.py WeightQBytesLinearFunction)
  quantize.py quantization_map          {name: {"weights": qtype.name, "activations": "none"}}
  tensor/weights/qbytes.py __tensor_flatten__ + qtensor.py save_to_state_dict + nn/qmodule.py
                                        _save_to_state_dict: keys m.weight._data, m.weight._scale, m.bias,
                                        m.input_scale, m.output_scale
The one step torch 1.13 lacks, the cast to float8_e4m3fn, is `encode_e4m3fn` below: round to nearest, ties
to even, as torch's cast (c10/util/Float8_e4m3fn.h fp8e4m3fn_from_fp32_value); check_quant_torch2.py proves
it equal to torch's cast bit for bit on the GPU machine.

LightX2V (ModelTC/LightX2V @ f8aee98): tools/convert/quant/quant.py QuantWeightINT8.load_int8_weight and
QuantWeightFP8.load_fp8_weight: max_val = |w|.amax(dim=1, keepdim).clamp(min=1e-5); scales = max_val / qmax
(127 / 448); int8: clamp(round(w / scales), -128, 127); fp8: clip(w / scales, -448, 448) then rounded to
e4m3 (LightX2V rounds with qtorch's float_quantize; here torch's cast rounding is used: the loader reads
whatever bytes are stored, so this does not change what the test proves); scales.view(out, -1) -> [out, 1],
key `m.weight_scale` next to `m.weight`; other tensors cast to the non-linear dtype (bfloat16 here).
Dequantised as lightx2v/utils/quant_utils.py FloatQuantizer.dequant: data.float() * scales.float().
"""
import argparse, json, os, struct, sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261207

# ------------------------------------------------------------------------------------------ e4m3fn in numpy

E4M3FN_MAX = 448.0


def decode_e4m3fn(codes):
    """uint8 array -> float32 values (1 sign, 4 exponent bits bias 7, 3 mantissa; 0x7F/0xFF NaN)."""
    codes = np.asarray(codes, dtype=np.uint8).astype(np.int64)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exponent = (codes >> 3) & 0xF
    mantissa = codes & 0x7
    magnitude = np.where(exponent == 0, mantissa * 2.0 ** -9, (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7.0))
    magnitude = np.where((exponent == 0xF) & (mantissa == 0x7), np.nan, magnitude)
    return (sign * magnitude).astype(np.float32)


def encode_e4m3fn(values):
    """float32 array -> e4m3fn bytes, rounding to nearest with ties to even, like torch's cast: values
    whose rounded magnitude exceeds 448 become NaN (0x7F | sign), as torch's non-saturating cast does, so
    callers clamp first as quanto and LightX2V do. NaN in -> NaN out."""
    with np.errstate(invalid="ignore"):  # NaN inputs are fine: they encode as NaN below
        x = np.asarray(values, dtype=np.float32).astype(np.float64)  # every float32 is exact in float64
    sign = np.signbit(x).astype(np.int64) << 7
    special = ~np.isfinite(x)
    a = np.where(special, 0.0, np.abs(x))  # NaN / inf are encoded below; keep the arithmetic finite
    # The spacing of e4m3 values around a: 2^(e-3) for a normal exponent e, 2^-9 below 2^-6 (subnormals).
    _, exp2 = np.frexp(np.where(a > 0, a, 1.0))  # a = f * 2^exp2, f in [0.5, 1): floor(log2 a) = exp2 - 1
    e = np.maximum(exp2 - 1, -6)
    quantum = np.ldexp(1.0, e - 3)
    steps = np.rint(a / quantum)  # a / quantum is exact (power of two); rint rounds half to even
    r = steps * quantum  # the rounded magnitude (may carry into the next binade: still exact)
    out = np.zeros(x.shape, dtype=np.int64)
    sub = r < 2.0 ** -6
    out = np.where(sub, np.rint(np.where(sub, r, 0.0) / 2.0 ** -9).astype(np.int64), out)  # subnormal codes 0..7
    _, rexp = np.frexp(np.where(r > 0, r, 1.0))
    re = rexp - 1
    rm = np.rint((r / np.ldexp(1.0, re) - 1.0) * 8.0).astype(np.int64)
    normal = (re + 7 << 3) | rm
    out = np.where(sub, out, normal)
    overflow = (r > E4M3FN_MAX) | special
    out = np.where(overflow, 0x7F, out)
    return (out | sign).astype(np.uint8)


# ------------------------------------------------------------------------------------------- safetensors

_ST = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int8: "I8", torch.uint8: "U8"}


def _bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, entries, metadata=None):
    """entries: (name, tensor) or (name, "F8_E4M3", uint8 tensor of e4m3fn bytes). Order kept."""
    header, blobs, offset = {}, [], 0
    for entry in entries:
        if len(entry) == 3:
            name, dtype, t = entry
        else:
            name, t = entry
            dtype = _ST[t.dtype]
        raw = _bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


# ------------------------------------------------------------------------------------------ the tiny model

# (module, out, in, quantized): names as in the DiT; "probe.one_row" is the one-output Linear quanto
# quantizes per tensor (a scalar scale); "text_embedding.0" stays unquantized (a plain Linear).
LINEARS = [
    ("blocks.0.self_attn.q", 8, 12, True),
    ("blocks.0.ffn.0", 16, 8, True),
    ("blocks.0.ffn.2", 8, 16, True),
    ("head.head", 4, 8, True),
    ("probe.one_row", 1, 8, True),
    ("text_embedding.0", 8, 4, False),
]
OTHERS = [("blocks.0.norm3.weight", (8,)), ("blocks.0.modulation", (1, 6, 8))]
TOKENS = 5


def make_weights(gen):
    """Float32 weights with the features quantization has to get right: ordinary rows, a row with one large
    outlier (its other values land in e4m3's subnormals and int8's small codes), a row of equal magnitudes."""
    weights = {}
    for module, out, inp, _ in LINEARS:
        w = torch.randn(out, inp, generator=gen) * 0.05
        if out > 2:
            w[1] *= 0.0005
            w[1, 3] = 1.5  # outlier: the rest of the row is < 2^-6 of it after scaling
            w[2] = torch.where(w[2] >= 0, torch.tensor(0.03), torch.tensor(-0.03))
        weights[module] = w
        weights[module + ".bias"] = torch.randn(out, generator=gen) * 0.1
    for name, shape in OTHERS:
        weights[name] = torch.randn(*shape, generator=gen)
    return weights


# ------------------------------------------------------------------------------------------- quanto path

QTYPES = {"qint8": dict(float8=False, qmax=127, lo=-128, hi=127),
          "qfloat8_e4m3fn": dict(float8=True, qmax=E4M3FN_MAX, lo=-E4M3FN_MAX, hi=E4M3FN_MAX)}


def quanto_scale(w, qtype):
    """SymmetricOptimizer.__call__ + AbsmaxOptimizer.optimize (axis 0; None for a one-row weight)."""
    base = torch.abs(w)
    if w.shape[0] == 1:
        rmax = torch.max(base)
    else:
        rmax = torch.amax(torch.abs(base), dim=list(range(1, base.ndim)), keepdim=True)
    scale = rmax / QTYPES[qtype]["qmax"]
    assert scale.dtype == w.dtype
    return scale


def quanto_quantize(w, qtype):
    """quantize_symmetric: (data, scale); float8 data as e4m3fn bytes (uint8)."""
    q = QTYPES[qtype]
    scale = quanto_scale(w, qtype)
    data = w / scale
    if not q["float8"]:
        data = torch.round(data)
    data = torch.clamp(data, min=q["lo"], max=q["hi"])
    if q["float8"]:
        # .to(torch.float8_e4m3fn): from the clamped value in w's dtype (exact as float32).
        return torch.from_numpy(encode_e4m3fn(data.float().numpy())), scale
    return data.to(torch.int8), scale


def quanto_dequantize(data, scale, qtype):
    """QBytesDequantizer.forward."""
    if QTYPES[qtype]["float8"]:
        return scale * torch.from_numpy(decode_e4m3fn(data.numpy())).to(scale.dtype)
    return scale * data


def quanto_forward(x, data, scale, bias, qtype):
    """qbytes_mm (+ bias as WeightQBytesLinearFunction.forward)."""
    activations = x.to(scale.dtype)
    weights = data
    if QTYPES[qtype]["float8"]:
        weights = torch.from_numpy(decode_e4m3fn(data.numpy())).to(scale.dtype)
    weights = scale * weights
    return torch.matmul(activations, weights.t()) + bias


def write_quanto(out_dir, name, qtype, dtype, weights, x, expected):
    entries, qmap = [], {}
    for module, out, inp, quantized in LINEARS:
        w = weights[module].to(dtype)
        bias = weights[module + ".bias"].to(dtype)
        if not quantized:
            entries += [(module + ".weight", w), (module + ".bias", bias)]
            continue
        data, scale = quanto_quantize(w, qtype)
        if QTYPES[qtype]["float8"]:
            entries.append((module + ".weight._data", "F8_E4M3", data))
        else:
            entries.append((module + ".weight._data", data))
        ones = torch.ones((), dtype=dtype)
        entries += [(module + ".weight._scale", scale), (module + ".bias", bias),
                    (module + ".input_scale", ones), (module + ".output_scale", ones)]
        qmap[module] = {"weights": qtype, "activations": "none"}
        expected[f"{name}/{module}.weight"] = quanto_dequantize(data, scale, qtype)
        expected[f"{name}/{module}.y"] = quanto_forward(x[:, :inp], data, scale, bias, qtype)  # x[:, :in] feeds it
    for other, _ in OTHERS:
        entries.append((other, weights[other].to(dtype)))
    meta = {"generator": "tools/parity/gen_quant.py", "layout": "optimum-quanto", "seed": str(SEED)}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), entries, meta)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(qmap, f)


# ----------------------------------------------------------------------------------------- LightX2V path

def lightx2v_quantize(w, float8):
    max_val = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-5)
    if float8:
        scales = max_val / E4M3FN_MAX
        scaled = torch.clip(w / scales, -E4M3FN_MAX, E4M3FN_MAX)
        data = torch.from_numpy(encode_e4m3fn(scaled.float().numpy()))
    else:
        scales = max_val / 127
        data = torch.clamp(torch.round(w / scales), -128, 127).to(torch.int8)
    return data, scales.view(w.shape[0], -1)


def lightx2v_dequantize(data, scales, float8):
    values = torch.from_numpy(decode_e4m3fn(data.numpy())) if float8 else data.to(torch.float32)
    return values * scales.to(torch.float32)


def write_lightx2v(out_dir, name, float8, weights, expected):
    entries = []
    for module, out, inp, quantized in LINEARS:
        w = weights[module]  # float32, as the converter quantizes
        bias = weights[module + ".bias"].to(torch.bfloat16)
        if not quantized or out == 1:  # LightX2V has no one-row Linears; keep the fixture to its layout
            entries += [(module + ".weight", w.to(torch.bfloat16)), (module + ".bias", bias)]
            continue
        data, scales = lightx2v_quantize(w, float8)
        entries.append((module + ".weight", "F8_E4M3", data) if float8 else (module + ".weight", data))
        entries += [(module + ".weight_scale", scales), (module + ".bias", bias)]
        expected[f"{name}/{module}.weight"] = lightx2v_dequantize(data, scales, float8)
    for other, _ in OTHERS:
        entries.append((other, weights[other].to(torch.bfloat16)))
    meta = {"generator": "tools/parity/gen_quant.py", "layout": "lightx2v", "seed": str(SEED)}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), entries, meta)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data", "parity", "quant"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    weights = make_weights(gen)
    x = torch.randn(TOKENS, 16, generator=gen)  # columns [:in] feed each Linear
    expected = {}
    for qtype, tag in (("qint8", "int8"), ("qfloat8_e4m3fn", "fp8")):
        for dtype, dtag in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
            write_quanto(args.out, f"quanto_{tag}_{dtag}", qtype, dtype, weights, x, expected)
    write_lightx2v(args.out, "lightx2v_fp8", True, weights, expected)
    write_lightx2v(args.out, "lightx2v_int8", False, weights, expected)
    expected["x"] = x
    for module, _, _, quantized in LINEARS:
        if quantized:
            expected[f"source/{module}"] = weights[module]  # float32; the bf16 fixtures quantized it cast to bf16
    expected["e4m3fn/values"] = torch.from_numpy(decode_e4m3fn(np.arange(256, dtype=np.uint8)))
    write_safetensors(os.path.join(args.out, "expected.safetensors"), sorted(expected.items()),
                      {"generator": "tools/parity/gen_quant.py", "seed": str(SEED), "torch": torch.__version__})
    print(f"wrote {len(LINEARS)} Linears x 6 fixtures to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    sys.exit(main())
