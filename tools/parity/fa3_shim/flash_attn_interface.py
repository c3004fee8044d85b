# FlashAttention-3's Python entry (flash_attn_interface.flash_attn_varlen_func, what the reference's
# wan/modules/attention.py uses when FA3 is installed) over talkgen's FA3 build, to time the reference
# with FA3 on a machine that cannot install the flash_attn_3 package. bench_ref.py --fa3-lib puts this
# folder on sys.path and names the library (libtalkgen_fa3_c.so) in TALKGEN_FA3_C_LIB.
#
# Takes what talkgen's build instantiates (bf16, head dim 128, no mask, equal sequence lengths, as the
# i2v model passes); anything else goes to torch SDPA, and the calls of each kind are counted.
import ctypes
import os
from collections import Counter

import torch
import torch.nn.functional as F

CALLS = Counter()
_lib = ctypes.CDLL(os.environ["TALKGEN_FA3_C_LIB"])
_fn = _lib.talkgen_fa3_forward
_fn.restype = ctypes.c_int
_i64p = ctypes.POINTER(ctypes.c_int64)
_fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_void_p] + [ctypes.c_int] * 4 + [_i64p] * 4 + \
    [ctypes.c_float, ctypes.c_void_p]


def _strides(t):  # [B, L, H, D] -> (batch, row, head)
    return (ctypes.c_int64 * 3)(t.stride(0), t.stride(1), t.stride(2))


def _fa3(q, k, v, scale):
    b, lq, h, d = q.shape
    out = torch.empty(b, lq, h, d, dtype=q.dtype, device=q.device)
    lse = torch.empty(b, h, lq, dtype=torch.float32, device=q.device)
    rc = _fn(q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), ctypes.cast(lse.data_ptr(), ctypes.POINTER(ctypes.c_float)),
             b, lq, k.shape[1], h, _strides(q), _strides(k), _strides(v), _strides(out), scale,
             ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))
    if rc != 0:
        raise RuntimeError(f"talkgen_fa3_forward failed: cudaError {rc}")
    return out, lse


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, seqused_q=None, seqused_k=None,
                           max_seqlen_q=None, max_seqlen_k=None, softmax_scale=None, causal=False,
                           deterministic=False, **kw):
    b = cu_seqlens_q.numel() - 1
    lq, lk = q.shape[0] // b, k.shape[0] // b
    assert lq * b == q.shape[0] and lk * b == k.shape[0], "unequal lengths not supported"
    scale = softmax_scale if softmax_scale is not None else q.shape[-1] ** -0.5
    qq, kk, vv = (t.view(n_b, n_l, *t.shape[1:]) for t, n_b, n_l in ((q, b, lq), (k, b, lk), (v, b, lk)))
    fits = (not causal and q.dtype == torch.bfloat16 and k.dtype == v.dtype == q.dtype and q.shape[-1] == 128
            and k.shape[1] == q.shape[1] and q.is_cuda)
    if fits:
        CALLS["fa3"] += 1
        out, lse = _fa3(qq, kk, vv, scale)
        return out.reshape(b * lq, *q.shape[1:]), lse
    CALLS["sdpa"] += 1
    out = F.scaled_dot_product_attention(qq.transpose(1, 2), kk.transpose(1, 2), vv.transpose(1, 2), scale=scale,
                                         is_causal=causal).transpose(1, 2)
    return out.reshape(b * lq, *q.shape[1:]), None
