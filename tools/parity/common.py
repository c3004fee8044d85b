"""Shared plumbing for the parity generators (tools/parity/gen_*.py).

Each generator builds a tiny config of one reference component with random weights (fixed seed),
saves the weights in the official file format and key layout, runs the reference on fixed inputs
and saves inputs + outputs as safetensors under tests/data/parity/<component>/.

    python3 tools/parity/gen_vae.py --ref .ref/infinitetalk --out tests/data/parity

The reference checkout is given by path and never committed (see tools/parity/README.md).
"""
import argparse, json, math, os, struct, subprocess, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (imports the reference with the shims for missing packages)


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--ref", required=True, help="path to a reference InfiniteTalk checkout (wan/ and src/)")
    p.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data", "parity"))
    p.add_argument("--device", default="cpu", help="where the reference runs (cpu or cuda); fp32 either way")
    p.add_argument("--full", action="store_true", help="full-size config (GPU machine only; not committed)")
    if extra:
        extra(p)
    return p.parse_args()


_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
           torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL", torch.float64: "F64"}


def save_safetensors(tensors, path, metadata=None):
    """Writes a .safetensors file (uses the safetensors package when present, else the same format by hand)."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        from safetensors.torch import save_file
        save_file(tensors, path, metadata=metadata)
        return
    except ImportError:
        pass
    write_safetensors(path, [(k, v.dtype, v.shape, lambda v=v: v) for k, v in tensors.items()], metadata)


def _raw(t):
    """A contiguous CPU tensor's bytes as a buffer (numpy has no bfloat16: its bits go out as int16)."""
    return t.view(torch.uint8).numpy() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy()


def write_safetensors(path, entries, metadata=None):
    """Writes a .safetensors file one tensor at a time, without the safetensors package: `entries` is a list
    of (name, dtype, shape, fetch), fetch() returning that tensor on any device, called just before its bytes
    are written, so host memory holds one tensor, never the whole file (the full-size DiT's shards are ~5 GB).
    The header and the data keep the order given."""
    header, offset = {}, 0
    for name, dtype, shape, _ in entries:
        n = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        header[name] = {"dtype": _DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name, dtype, shape, fetch in entries:
            t = fetch().detach()
            assert t.dtype == dtype and list(t.shape) == list(shape), (name, t.dtype, list(t.shape), dtype, shape)
            t = t.contiguous().cpu()
            if t.numel():
                f.write(_raw(t.reshape(-1)).data)
            del t


def reference_commit(ref_dir):
    """The reference checkout's commit: its git HEAD when ref_dir is a repository's top level, else
    TALKGEN_REF_COMMIT (an exported tree such as .ref/infinitetalk has no .git of its own, and asking git there
    would answer with the enclosing talkgen repository's HEAD)."""
    try:
        top, head = subprocess.check_output(["git", "-C", ref_dir, "rev-parse", "--show-toplevel", "HEAD"],
                                            text=True, stderr=subprocess.DEVNULL).split()
        if os.path.realpath(top) == os.path.realpath(ref_dir):
            return head
    except Exception:  # noqa: BLE001 - not a git checkout
        pass
    return os.environ.get("TALKGEN_REF_COMMIT", "unknown")


def provenance(args, component, config, seed):
    """Metadata stored in every parity file: what made it, so the data can be reproduced."""
    return {"component": component, "reference_commit": reference_commit(args.ref), "torch": torch.__version__,
            "device": args.device, "seed": str(seed), "config": json.dumps(config, sort_keys=True),
            "generator": os.path.basename(sys.argv[0])}
