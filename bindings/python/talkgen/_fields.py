"""The field names each call of the package takes, in one place. A name not listed is refused (UnknownFieldError,
naming it and the accepted ones) before any work or request, never dropped or passed on: a typo, or a field of
another version, must not change a video silently.

The local sets are the fields of client.py's dataclasses; the remote ones are the JSON fields that
docs/server-api.md documents for `POST /v1/jobs` and `POST /v1/plan`, plus the forms RemoteClient turns into
them (image -> ref_image_b64, ...). tests/test_fields.py checks both against their sources.
"""
from .errors import UnknownFieldError, UnsupportedError

# Voice cloning from a recorded voice prompt is planned, not built: these names get "not supported yet" rather
# than "unknown", and never a video spoken by espeak-ng as if the prompt had been used.
VOICE_PROMPT = frozenset({"voice_prompt", "voice_prompt_wav", "voice_prompt_wav_b64"})

# talkgen.Client(**options): the fields of ClientOptions.
CLIENT_OPTIONS = frozenset({
    "model", "model_dir", "demo_seed", "device", "gpus", "cpu_ranks", "collective_timeout", "max_attempts", "max_retries",
    "retry_base_delay", "retry_max_delay", "retry_jitter", "job_timeout", "prices", "calibration_directory",
    "multi_person_weights"})

# Client.generate(**fields) and the dicts of Client.generate_batch: the fields of Job.
JOB = frozenset({
    "image", "video", "audio", "text", "voice", "prompt", "negative_prompt", "resolution", "quality", "mode", "seed",
    "steps", "shift", "text_guidance", "audio_guidance", "color_correction", "job_id", "gpus", "budget_usd",
    "deadline", "max_duration", "timeout", "output", "crf", "preset", "nvenc", "audio2", "speaker_timing",
    "speaker1_box", "speaker2_box"})

# POST /v1/jobs as documented (JSON body).
SERVER_JOB = frozenset({
    "ref_image_b64", "audio_b64", "script_text", "voice", "resolution", "max_duration_sec", "num_gpus", "seed",
    "job_id", "quality", "prompt", "audio2_b64", "speaker_timing", "speaker1_box", "speaker2_box", "webhook_url"})

# RemoteClient.submit(**request): the server's fields, or a path / bytes in place of each base64 one, and `text`
# for script_text.
REMOTE_JOB = SERVER_JOB | {"image", "audio", "audio2", "text"}

# RemoteClient.generate's own keywords, besides the request's (generate_batch takes both in each dict).
REMOTE_GENERATE = frozenset({"output", "on_progress", "cancel", "timeout", "download"})

# POST /v1/plan as documented; RemoteClient.plan(duration_sec, **options) takes the others as keywords.
SERVER_PLAN = frozenset({"duration_sec", "quality", "resolution", "budget_usd", "deadline_sec", "gpu_type",
                         "gpus_available"})
REMOTE_PLAN_OPTIONS = SERVER_PLAN - {"duration_sec"}


def check(where, given, accepted):
    """Refuses every name of `given` (keyword names or dict keys) that `accepted` lacks: UnsupportedError for a
    voice prompt, UnknownFieldError (an InvalidArgumentError and a TypeError) for anything else."""
    for name in given:
        if name in accepted:
            continue
        if name in VOICE_PROMPT:
            raise UnsupportedError(
                f"{where}: {name!r}: voice cloning from a voice prompt is not supported yet; leave it out (text is "
                "spoken by espeak-ng, with the voice named by 'voice') or give the recorded speech itself as audio")
        names = sorted(accepted)
        raise UnknownFieldError(f"{where}: unknown field {name!r}; accepted fields: {', '.join(names)}",
                                field=name, accepted=names)
