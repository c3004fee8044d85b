"""Does the memory layout of q/k/v change the cuDNN attention kernel's speed at the DiT's 480p shape?

talkgen's DiT hands SDPA [B, H, L, D] views of [B, L, H, D] tensors (the GEMM outputs, no copy). This
times cuDNN's SDPA on those strided views against contiguous [B, H, L, D] tensors (what a kernel that
writes head-major rows would give), and reports the cuDNN version and the registered flash-attention
implementations of this PyTorch.

usage: python3 tools/parity/probe_attention_layout.py [--tokens 32760] [--heads 40]
"""
import argparse, json, time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def timeit(fn, reps=5):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def emit(**kw):
    print(json.dumps(kw), flush=True)


ap = argparse.ArgumentParser()
ap.add_argument("--tokens", type=int, default=32760)
ap.add_argument("--heads", type=int, default=40)
a = ap.parse_args()
L, H, D = a.tokens, a.heads, 128
dev, bf = torch.device("cuda"), torch.bfloat16
impls = None
try:
    from torch.nn.attention import list_flash_attention_impls
    impls = list_flash_attention_impls()
except Exception as e:  # older torch
    impls = f"n/a ({e})"
emit(what="env", torch=torch.__version__, cudnn=torch.backends.cudnn.version(), flash_impls=str(impls),
     gpu=torch.cuda.get_device_name(0))

flop = 4 * L * L * D * H
bshd = [torch.randn(1, L, H, D, device=dev, dtype=bf) for _ in range(3)]
layouts = {
    "BSHD views (talkgen today)": [t.transpose(1, 2) for t in bshd],
    "BHSD contiguous": [t.transpose(1, 2).contiguous() for t in bshd],
    "q,k BHSD contiguous, v BSHD view": [bshd[0].transpose(1, 2).contiguous(), bshd[1].transpose(1, 2).contiguous(),
                                         bshd[2].transpose(1, 2)],
}
for name, (q, k, v) in layouts.items():
    for backend_name, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION)):
        try:
            with sdpa_kernel([backend]):
                out = F.scaled_dot_product_attention(q, k, v)
                t = timeit(lambda: F.scaled_dot_product_attention(q, k, v))
            emit(what="sdpa", layout=name, backend=backend_name, seconds=round(t, 5),
                 tflops=round(flop / t / 1e12, 1), out_strides=list(out.stride()))
        except Exception as e:
            emit(what="sdpa", layout=name, backend=backend_name, error=str(e)[:200])
# What re-laying out costs: one [L, H*D] bf16 transpose copy.
t = timeit(lambda: bshd[2].transpose(1, 2).contiguous())
emit(what="transpose_copy", seconds=round(t, 6), gbps=round(2 * bshd[2].numel() * 2 / t / 1e9, 1))
