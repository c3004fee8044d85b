"""Still videos: an image held for the length of the speech (no model needed)."""
import ctypes
import os
from dataclasses import dataclass
from typing import Optional, Union

from . import _capi


@dataclass
class EncodeOptions:
    """None: the library's default (talkgen.h's talkgen_encode_params says which)."""
    fps: Optional[float] = None
    crf: Optional[int] = None        # libx264 constant rate factor (the default is visually lossless)
    preset: Optional[str] = None     # libx264 preset
    voice: Optional[str] = None      # espeak-ng voice when speaking `text`
    use_nvenc: Optional[bool] = None  # h264_nvenc; raises DeviceUnavailableError where the GPU has none


def _path(p):
    return os.fsencode(p) if p is not None else None


def encode_still(image: Union[str, os.PathLike], output: Optional[Union[str, os.PathLike]] = None, *,
                 audio: Optional[Union[str, os.PathLike]] = None, text: Optional[str] = None,
                 options: Optional[EncodeOptions] = None) -> Optional[bytes]:
    """Encodes `image` for the length of `audio` (a file) or of `text` spoken by espeak-ng.

    Writes `output` (atomically) and returns None, or returns the MP4 bytes when `output` is None.
    """
    if (audio is None) == (text is None):
        raise ValueError("give exactly one of audio= or text=")
    options = options or EncodeOptions()
    params = _capi.init_sized(_capi.lib.talkgen_encode_params_init_sized, _capi.EncodeParams)
    params.image_path = _path(image)
    params.audio_path = _path(audio)
    params.text = text.encode("utf-8") if text is not None else None
    for name, value in (("voice", options.voice), ("preset", options.preset)):
        if value is not None:
            setattr(params, name, value.encode())
    for name, value in (("fps", options.fps), ("crf", options.crf), ("use_nvenc", options.use_nvenc)):
        if value is not None:
            setattr(params, name, value)
    if output is not None:
        _capi.check(_capi.lib.talkgen_encode_to_file(ctypes.byref(params), _path(output)))
        return None
    buffer = _capi.Buffer()
    _capi.check(_capi.lib.talkgen_encode_to_buffer(ctypes.byref(params), ctypes.byref(buffer)))
    return _capi.take_buffer(buffer)
