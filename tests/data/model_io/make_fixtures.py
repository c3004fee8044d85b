#!/usr/bin/python3
"""Writes the tiny checkpoints tests/model_io reads. Run with a python that has torch:

    /usr/bin/python3 tests/data/model_io/make_fixtures.py            # everything (Debian torch 1.13)
    python3 tests/data/model_io/make_fixtures.py --torch2 OUT_DIR     # torch >= 2: torch2/ files only

The torch2/ files (torch.save from PyTorch 2.x, float8 tensors, and safetensors written by the official
`safetensors` package) were made on the GPU machine (PyTorch 2.11) with the second form.

Every value is a formula the C++ tests recompute (arange / 8, exact in bf16 and fp16), so the files
need no companion expected-value dumps. safetensors files are written by hand (the format is 8 bytes of
header length, the JSON header, the data) so the script needs no safetensors package.
"""
import collections
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


def ramp(shape, dtype=torch.float32, scale=8.0):
    """arange(numel) / scale, reshaped: the value the C++ side recomputes."""
    n = 1
    for d in shape:
        n *= d
    t = torch.arange(n, dtype=torch.float64).reshape(shape)
    if dtype.is_floating_point:
        t = t / scale
    return t.to(dtype)


def raw_bytes(t):
    t = t.contiguous()
    # numpy has no bfloat16: view the bits as int16 first.
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # align the data section as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def safetensors_fixtures():
    tensors = collections.OrderedDict()
    for dtype in DTYPES:
        tensors["t_" + DTYPES[dtype].lower()] = ramp((2, 3), dtype)
    tensors["scalar"] = torch.tensor(2.5, dtype=torch.float32)
    tensors["empty"] = torch.zeros((0, 4), dtype=torch.float32)
    write_safetensors(os.path.join(HERE, "dtypes.safetensors"), tensors, {"format": "pt", "note": "talkgen"})

    # Three shards + index, keys spread over them out of order.
    names = [("layer.%d.weight" % i, (4, 3 + i)) for i in range(6)]
    shards = collections.OrderedDict()
    for i, (name, shape) in enumerate(names):
        shard = "model-%05d-of-00003.safetensors" % (i % 3 + 1)
        shards.setdefault(shard, collections.OrderedDict())[name] = ramp(shape, torch.bfloat16, scale=8.0 + i)
    weight_map = {}
    for shard, ts in shards.items():
        write_safetensors(os.path.join(HERE, "sharded", shard), ts)
        for name in ts:
            weight_map[name] = shard
    with open(os.path.join(HERE, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


def torch2_fixtures(out):
    """Files only a newer torch (and the official safetensors package) can write."""
    os.makedirs(out, exist_ok=True)
    base = ramp((4, 6))
    sd = collections.OrderedDict()
    sd["weight"] = ramp((3, 4), torch.bfloat16)
    sd["half"] = ramp((5,), torch.float16)
    sd["steps"] = torch.arange(7, dtype=torch.int64)
    sd["view.transposed"] = base.t()
    sd["view.block"] = base[1:3, 2:5]
    sd["param"] = torch.nn.Parameter(ramp((2, 3)))
    torch.save(sd, os.path.join(out, "state_dict.pth"))
    torch.save({"w": ramp((4,), torch.float8_e4m3fn)}, os.path.join(out, "float8.pth"))

    from safetensors.torch import save_file
    save_file({"bf16": ramp((2, 3), torch.bfloat16), "f16": ramp((2, 3), torch.float16), "f32": ramp((2, 3)),
               "i64": ramp((2, 3), torch.int64), "bool": ramp((2, 3), torch.bool)},
              os.path.join(out, "official.safetensors"), metadata={"format": "pt"})
    save_file({"f8": ramp((4,), torch.float8_e4m3fn), "f8b": ramp((4,), torch.float8_e5m2)},
              os.path.join(out, "float8.safetensors"))


def pth_fixtures():
    # A plain state dict of mixed dtypes, with views sharing one storage.
    base = ramp((4, 6))  # one float32 storage of 24 elements
    sd = collections.OrderedDict()
    sd["plain.weight"] = ramp((3, 4), torch.bfloat16)
    sd["plain.half"] = ramp((5,), torch.float16)
    sd["plain.double"] = ramp((2, 2), torch.float64)
    sd["plain.steps"] = torch.arange(7, dtype=torch.int64)
    sd["plain.mask"] = torch.tensor([True, False, True])
    sd["plain.bytes"] = torch.arange(4, dtype=torch.uint8)
    sd["view.whole"] = base                      # the storage itself
    sd["view.transposed"] = base.t()             # non-contiguous, strides (1, 6)
    sd["view.row2"] = base[2]                    # storage offset 12
    sd["view.column3"] = base[:, 3]              # offset 3, stride 6
    sd["view.block"] = base[1:3, 2:5]            # offset 8, strides (6, 1)
    sd["param"] = torch.nn.Parameter(ramp((2, 3)))  # saved through _rebuild_parameter
    sd["scalar"] = torch.tensor(1.25)
    torch.save(sd, os.path.join(HERE, "state_dict.pth"), _use_new_zipfile_serialization=True)

    # Nested: a training checkpoint with the weights under 'state_dict' and non-tensor extras.
    inner = collections.OrderedDict([("encoder.weight", ramp((2, 2))), ("encoder.bias", ramp((2,), torch.bfloat16))])
    torch.save({"epoch": 3, "lr": 0.5, "name": "run", "state_dict": inner}, os.path.join(HERE, "wrapped.pth"))

    # Nested dicts and lists flattened with '.': {'a': {'b': t}, 'list': [t, t]}.
    torch.save({"a": {"b": ramp((2,))}, "list": [ramp((1,)), ramp((3,))]}, os.path.join(HERE, "nested.pth"))

    # A module's own state_dict (OrderedDict with _metadata), as pytorch_model.bin files are.
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    with torch.no_grad():
        module[0].weight.copy_(ramp((2, 3)))
        module[0].bias.copy_(ramp((2,)))
        module[1].running_mean.copy_(ramp((2,)))
        module[1].running_var.fill_(1.0)
        module[1].weight.fill_(1.0)
        module[1].bias.zero_()
        module[1].num_batches_tracked.fill_(5)
    torch.save(module.state_dict(), os.path.join(HERE, "module_state.bin"))

    # The pre-1.6 format, which talkgen refuses with advice.
    torch.save({"w": ramp((2,))}, os.path.join(HERE, "legacy.pth"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--torch2":
        torch2_fixtures(sys.argv[2])
        print("torch", torch.__version__, "wrote", sorted(os.listdir(sys.argv[2])))
        sys.exit(0)
    os.makedirs(os.path.join(HERE, "sharded"), exist_ok=True)
    safetensors_fixtures()
    pth_fixtures()
    print("torch", torch.__version__, "wrote fixtures under", HERE)
