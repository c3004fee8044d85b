"""talkgen.Client: load the model once, then run generation jobs on a pool of devices.

    with talkgen.Client(model="demo") as client:
        r = client.generate(image="face.png", audio="speech.wav", output="out.mp4", quality="draft",
                            progress=lambda p: print(p.state, p.stage, f"{p.fraction:.0%}"))
        print(r.frames, r.timings.total, r.devices)

Every method may be called from several threads; generate() releases the GIL while the job runs, so another
thread can cancel(job_id) it. submit() returns at once with a JobHandle to poll(), wait() for or cancel().
Failed or cancelled jobs raise the exception class of their error code (see talkgen.errors) with the job's
JobResult as `.result`; generate_batch() never raises for a job's failure.

Every option and job field defaults to None: "the library's default" (talkgen.h says which), never a copy of it
here, so the library defines each default once for C, C++, Python, Node and the CLI.
"""
import ctypes
import dataclasses
import os
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _capi, _fields
from .errors import InvalidArgumentError, JobTimeoutError, NotFoundError, from_status

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

_STATES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled")
_STAGES = ("preparing", "sampling", "decoding", "encoding", "done")


@dataclass
class ClientOptions:
    """How a Client is made. Durations are seconds; None: the library's default."""
    model: Optional[str] = None           # "demo": the tiny untrained model of the real architecture
    model_dir: Optional[PathLike] = None  # ... or the folder with the official weights
    demo_seed: Optional[int] = None
    device: Optional[str] = None          # "auto" (the default: CUDA if any, else CPU), "cuda" (or an error), "cpu"
    gpus: Sequence[int] = ()              # CUDA device indices of the pool; empty: every visible GPU
    cpu_ranks: Optional[int] = None       # ranks of the pool on the CPU
    collective_timeout: Optional[float] = None
    max_attempts: Optional[int] = None    # per job, the first included; only transient failures are retried
    max_retries: Optional[int] = None     # ... or the retries after the first attempt (max_attempts - 1); not both
    retry_base_delay: Optional[float] = None
    retry_max_delay: Optional[float] = None
    retry_jitter: Optional[float] = None
    job_timeout: Optional[float] = None   # default per-job wall-clock limit; None: none
    prices: Mapping[str, float] = field(default_factory=dict)  # USD per GPU-hour by GPU type
    calibration_directory: Optional[PathLike] = None
    multi_person_weights: Optional[bool] = None  # with model_dir: InfiniteTalk/multi/ (two speakers), not single/


@dataclass
class Job:
    """One generation job: exactly one of image / video and one of audio / text.

    `image` and `audio` are paths or the encoded bytes. Durations are seconds; None: the library's default."""
    image: Optional[Source] = None
    video: Optional[PathLike] = None      # a video to dub instead of an image
    audio: Optional[Source] = None
    text: Optional[str] = None            # spoken with espeak-ng
    voice: Optional[str] = None           # espeak-ng voice for text ("en")
    prompt: Optional[str] = None
    negative_prompt: Optional[str] = None
    resolution: Optional[str] = None      # "480p" (default) or "720p"
    quality: Optional[str] = None         # "draft", "balanced" (the default) or "quality"
    mode: Optional[str] = None            # "streaming" (default: to the end of the speech) or "clip" (one chunk)
    seed: Optional[int] = None
    steps: Optional[int] = None           # overrides of the quality profile
    shift: Optional[float] = None
    text_guidance: Optional[float] = None
    audio_guidance: Optional[float] = None
    color_correction: Optional[float] = None  # 0..1: match each chunk's colours to the portrait's
    job_id: Optional[str] = None          # None: a fresh unguessable id (32 hex digits)
    gpus: Optional[int] = None            # None: the planner's recommendation
    budget_usd: Optional[float] = None
    deadline: Optional[float] = None
    max_duration: Optional[float] = None  # cap on the seconds of speech turned into video
    timeout: Optional[float] = None       # None: the client's job_timeout
    output: Optional[PathLike] = None     # None: the MP4 comes back as JobResult.video
    crf: Optional[int] = None             # libx264 constant rate factor
    preset: Optional[str] = None          # libx264 preset
    nvenc: Optional[bool] = None          # h264_nvenc instead of libx264
    # A second speaker (two-person mode): their speech, how the two take turns, and optionally
    # both speakers' regions (x0, y0, x1, y1) in image pixels (default: the left and right halves).
    audio2: Optional[Source] = None
    speaker_timing: Optional[str] = None  # "one-after-another" (default) or "together"
    speaker1_box: Optional[Sequence[float]] = None
    speaker2_box: Optional[Sequence[float]] = None


@dataclass
class Progress:
    """Where a job is (passed to progress callbacks)."""
    job_id: str
    state: str          # "queued", "running", "retrying", ...
    attempt: int
    gpus: int
    stage: str          # "preparing", "sampling", "decoding", "encoding", "done"
    chunk: int
    chunks: int
    step: int
    steps: int
    fraction: float     # 0..1 of the whole job
    elapsed: float
    eta: Optional[float]  # None until the first step has been timed


@dataclass
class StageTimings:
    """Wall seconds per stage of the (last) attempt."""
    queued: float = 0.0
    loading: float = 0.0
    preparing: float = 0.0
    sampling: float = 0.0
    decoding: float = 0.0
    encoding: float = 0.0
    total: float = 0.0


@dataclass
class JobResult:
    job_id: str
    state: str                          # "succeeded", "failed" or "cancelled"
    error_code: Optional[str]           # None when succeeded, else e.g. "not_found"
    error_message: str
    attempts: int
    output: Optional[str]               # the MP4 written, or None when it is in `video`
    video: Optional[bytes] = field(repr=False)
    frames: int
    width: int
    height: int
    fps: float
    duration_seconds: float             # of the video
    chunks: int
    seed: int
    resolution: str
    quality: str
    steps: int                          # the sampler settings actually run
    shift: float
    text_guidance: float
    audio_guidance: float
    untrained_model: bool               # the demo model: the video is noise
    model_name: str
    gpus: int
    devices: List[str]                  # "cuda:0", ... / "cpu", one per rank
    timings: StageTimings
    estimated_seconds: Optional[float]  # the planner's figure (None when it cannot size the model)
    actual_seconds: float
    gpu_seconds: float
    cost_usd: float

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"

    @property
    def duration(self) -> float:
        """duration_seconds (this package's name before 0.2)."""
        return self.duration_seconds

    def raise_for_error(self) -> "JobResult":
        """Raises the exception of a failed or cancelled job; returns self when it succeeded."""
        if not self.ok:
            raise from_status(_status_of(self.error_code), self.error_message, self)
        return self


@dataclass
class Stats:
    jobs: int = 0                       # finished jobs
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    retries: int = 0
    success_rate: float = 0.0
    mean_seconds: float = 0.0           # total time of succeeded jobs
    p50_seconds: float = 0.0
    p95_seconds: float = 0.0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0
    queued: int = 0                     # now
    running: int = 0


@dataclass
class DevicePool:
    policy: str                         # "auto", "cuda" or "cpu"
    cuda: bool
    devices: List[str]
    gpu_name: str
    gpu_type: str
    note: str
    untrained_model: bool


@dataclass
class PlanOption:
    """One GPU count of the pool, as the Planner sees it."""
    gpus: int
    estimated_seconds: float
    gpu_seconds: float
    cost_usd: float
    within_budget: bool                 # True without a budget
    within_deadline: bool               # True without a deadline
    fits: bool                          # the job fits in the memory of each of these GPUs


@dataclass
class Plan:
    """The Planner's answer for a job on this client's pool (Client.plan)."""
    gpu_type: str                       # the pool's GPU type as the Planner knows it ("H100", ...)
    video_seconds: float
    chunks: int
    quality: str
    resolution: str
    recommended_gpus: Optional[int]     # None when no option meets the budget / deadline
    estimated_seconds: Optional[float]  # of the recommendation (None without one)
    cost_usd: Optional[float]
    reason: str                         # why this recommendation, or why none
    options: List[PlanOption]           # every GPU count of the pool


ProgressCallback = Callable[[Progress], Optional[bool]]


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def _status_of(code: Optional[str]) -> int:
    from .errors import BY_CODE
    return BY_CODE[code].status if code in BY_CODE else 10


def _path(p) -> Optional[bytes]:
    return os.fsencode(os.fspath(p)) if p is not None else None


def _utf8(text: Optional[str]) -> Optional[bytes]:
    return text.encode("utf-8") if text is not None else None


def _set_given(struct, **values) -> None:
    """Sets the fields whose value is not None; the others keep what the library's init wrote (its defaults)."""
    for name, value in values.items():
        if value is not None:
            setattr(struct, name, value)


def _optional(value, name, zero_means):
    """None -> 0 (the C ABI's "default"); an explicit 0 or less is refused rather than silently ignored."""
    if value is None:
        return 0
    if value <= 0:
        raise InvalidArgumentError(f"{name}={value!r}: expected a positive number, or None for {zero_means}")
    return value


def _progress_from_c(p: _capi.Progress) -> Progress:
    return Progress(job_id=_text(p.job_id), state=_STATES[p.state] if 0 <= p.state < len(_STATES) else "unknown",
                    attempt=p.attempt, gpus=p.gpus,
                    stage=_STAGES[p.stage] if 0 <= p.stage < len(_STAGES) else "unknown", chunk=p.chunk,
                    chunks=p.chunks, step=p.step, steps=p.steps, fraction=p.fraction, elapsed=p.elapsed_sec,
                    eta=p.eta_sec if p.eta_sec >= 0 else None)


def _take_result(pointer) -> Optional[JobResult]:
    """Copies a library-owned talkgen_result into a JobResult and frees it."""
    if not pointer:
        return None
    try:
        r = pointer.contents
        t = r.timings
        video = ctypes.string_at(r.video.data, r.video.size) if r.video.size else None
        return JobResult(
            job_id=_text(r.job_id), state=_STATES[r.state], error_code=None if r.error_code == 0 else
            _text(_capi.lib.talkgen_status_name(r.error_code)), error_message=_text(r.error_message),
            attempts=r.attempts, output=_text(r.output_path) if r.output_path else None, video=video,
            frames=r.frames, width=r.width, height=r.height, fps=r.fps, duration_seconds=r.duration_sec,
            chunks=r.chunks,
            seed=r.seed, resolution=_text(r.resolution), quality=_text(r.quality), steps=r.steps, shift=r.shift,
            text_guidance=r.text_guidance, audio_guidance=r.audio_guidance, untrained_model=r.untrained_model,
            model_name=_text(r.model_name), gpus=r.gpus, devices=[_text(r.devices[i]) for i in range(r.device_count)],
            timings=StageTimings(t.queued_sec, t.loading_sec, t.preparing_sec, t.sampling_sec, t.decoding_sec,
                                 t.encoding_sec, t.total_sec),
            estimated_seconds=r.estimated_sec if r.estimated_sec >= 0 else None, actual_seconds=r.actual_sec,
            gpu_seconds=r.gpu_sec, cost_usd=r.cost_usd)
    finally:
        _capi.lib.talkgen_result_free(pointer)


class _JobParams:
    """A talkgen_job_params and the Python objects its pointers point into (kept alive with it).

    It starts as the library's talkgen_job_params_init_sized wrote it (its defaults); only the fields given
    (not None) are set."""

    def __init__(self, job: Job):
        self.keep = []
        p = _capi.init_sized(_capi.lib.talkgen_job_params_init_sized, _capi.JobParams)
        p.image_path, p.image_data, p.image_size = self._source(job.image)
        p.video_path = _path(job.video)
        p.audio_path, p.audio_data, p.audio_size = self._source(job.audio)
        p.text = _utf8(job.text)
        p.voice = _utf8(job.voice)
        p.prompt = _utf8(job.prompt)
        p.negative_prompt = _utf8(job.negative_prompt)
        p.resolution = _utf8(job.resolution)
        p.quality = _utf8(job.quality)
        p.mode = _utf8(job.mode)
        _set_given(p, seed=job.seed, color_correction=job.color_correction, crf=job.crf, use_nvenc=job.nvenc)
        p.steps = _optional(job.steps, "steps", "the quality profile's")
        p.shift = _optional(job.shift, "shift", "the quality profile's")
        p.text_guidance = _optional(job.text_guidance, "text_guidance", "the quality profile's")
        p.audio_guidance = _optional(job.audio_guidance, "audio_guidance", "the quality profile's")
        p.job_id = job.job_id.encode()
        p.gpus = _optional(job.gpus, "gpus", "the planner's choice")
        p.budget_usd = _optional(job.budget_usd, "budget_usd", "no budget")
        p.deadline_sec = _optional(job.deadline, "deadline", "no deadline")
        p.max_duration_sec = _optional(job.max_duration, "max_duration", "the default cap")
        p.timeout_sec = _optional(job.timeout, "timeout", "the client's job_timeout")
        p.output_path = _path(job.output)
        p.preset = _utf8(job.preset)
        p.audio2_path, p.audio2_data, p.audio2_size = self._source(job.audio2)
        p.speaker_timing = _utf8(job.speaker_timing)
        if (job.speaker1_box is None) != (job.speaker2_box is None):
            raise InvalidArgumentError("speaker1_box and speaker2_box: give both or neither")
        if job.speaker1_box is not None:
            for name, box in (("speaker1_box", job.speaker1_box), ("speaker2_box", job.speaker2_box)):
                if len(box) != 4:
                    raise InvalidArgumentError(f"{name}={box!r}: expected (x0, y0, x1, y1) in pixels")
            p.has_speaker_boxes = True
            p.speaker1_box[:] = [float(v) for v in job.speaker1_box]
            p.speaker2_box[:] = [float(v) for v in job.speaker2_box]
        self.params = p

    def _source(self, value):
        """(path, data, size) for a path or for bytes held in memory."""
        if value is None:
            return None, None, 0
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if not data:
                raise InvalidArgumentError("an input given as bytes is empty")
            holder = ctypes.c_char_p(data)  # points into `data`, no copy
            self.keep += [data, holder]
            return None, ctypes.cast(holder, ctypes.c_void_p).value, len(data)
        return _path(value), None, 0


class Client:
    """Loads the model once and runs jobs on a pool of devices. Use it as a context manager (or call close())."""

    def __init__(self, model: Optional[str] = None, model_dir: Optional[PathLike] = None, *,
                 options: Optional[ClientOptions] = None, **option_fields):
        _fields.check("talkgen.Client", option_fields, _fields.CLIENT_OPTIONS)
        options = dataclasses.replace(options or ClientOptions(), **option_fields)
        if model is not None:
            options.model = model
        if model_dir is not None:
            options.model_dir = model_dir
        self.options = options
        self._lock = threading.Condition()
        self._in_flight: Dict[str, threading.Event] = {}  # job id -> cancel request, while generate runs
        self._closed = False
        self._handle = None
        self._submitted: "weakref.WeakSet[JobHandle]" = weakref.WeakSet()  # handles not yet released
        # Progress callbacks of submitted jobs: the library may call one until its job has finished, even after
        # the JobHandle is dropped, so they live here until wait() has the result or the client is closed.
        self._callbacks: Dict[int, object] = {}

        if options.max_attempts is not None and options.max_retries is not None:
            raise InvalidArgumentError(f"give max_attempts ({options.max_attempts}) or max_retries "
                                       f"({options.max_retries}), not both: max_attempts = max_retries + 1")
        if options.max_retries is not None and options.max_retries < 0:
            raise InvalidArgumentError(f"max_retries={options.max_retries}: expected 0 or more")
        o = _capi.init_sized(_capi.lib.talkgen_client_options_init_sized, _capi.ClientOptions)
        o.model = _utf8(options.model)
        o.model_dir = _path(options.model_dir)
        o.device = _utf8(options.device)
        gpus = (ctypes.c_int * len(options.gpus))(*options.gpus)
        o.gpus, o.gpu_count = (gpus, len(options.gpus)) if options.gpus else (None, 0)
        _set_given(o, demo_seed=options.demo_seed, cpu_ranks=options.cpu_ranks,
                   collective_timeout_sec=options.collective_timeout,
                   max_attempts=options.max_retries + 1 if options.max_retries is not None else options.max_attempts,
                   retry_base_delay_sec=options.retry_base_delay, retry_max_delay_sec=options.retry_max_delay,
                   retry_jitter=options.retry_jitter, multi_person_weights=options.multi_person_weights)
        o.job_timeout_sec = _optional(options.job_timeout, "job_timeout", "no limit")
        prices = (_capi.Price * len(options.prices))(*[_capi.Price(k.encode(), v) for k, v in options.prices.items()])
        o.prices, o.price_count = (prices, len(options.prices)) if options.prices else (None, 0)
        o.calibration_directory = _path(options.calibration_directory)
        handle = ctypes.c_void_p()
        _capi.check(_capi.lib.talkgen_client_create(ctypes.byref(o), ctypes.byref(handle)))
        self._handle = handle

    # ---- lifetime -------------------------------------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 (interpreter shutdown)
            pass

    def close(self) -> None:
        """Cancels the jobs still running (their generate calls and JobHandle.wait raise CancelledError), waits
        for them, and releases the models. JobHandles of this client refuse further use. Idempotent. Do not call it
        from a progress callback."""
        with self._lock:
            if self._closed or self._handle is None:
                self._closed = True
                return
            self._closed = True
            ids = list(self._in_flight)
            for event in self._in_flight.values():
                event.set()
        for job_id in ids:
            _capi.lib.talkgen_client_cancel(self._handle, job_id.encode())
        for job in list(self._submitted):
            job._release(cancel=True)
        with self._lock:
            self._lock.wait_for(lambda: not self._in_flight)
            handle, self._handle = self._handle, None
        _capi.lib.talkgen_client_free(handle)  # cancels and joins every job: no callback runs after it
        self._callbacks.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def _open_handle(self):
        if self._closed:
            raise InvalidArgumentError("this talkgen.Client is closed: make a new one")
        return self._handle

    # ---- jobs -----------------------------------------------------------------------------------------

    def generate(self, job: Optional[Job] = None, *, progress: Optional[ProgressCallback] = None,
                 **job_fields) -> JobResult:
        """Runs one job and returns its JobResult. `job` or keyword fields of Job (or both: the fields win).

        `progress(p: Progress)` is called from the job's worker thread after every state change and sampling
        step; returning False cancels the job (None or True continue); an exception it raises cancels the job
        and is re-raised here. Raises the error code's exception (with `.result`) when the job fails, and before
        any work UnknownFieldError for a keyword Job does not have (UnsupportedError for a voice prompt)."""
        job = self._identified(job, job_fields, "Client.generate")
        params = _JobParams(job)
        errors: List[BaseException] = []
        callback = self._trampoline(progress, errors)
        with self._running([job.job_id]):
            result_pointer = ctypes.POINTER(_capi.Result)()
            status = _capi.lib.talkgen_client_generate(self._open_handle(), ctypes.byref(params.params), callback,
                                                       None, ctypes.byref(result_pointer))
            message = _capi.last_error()  # thread-local: read before anything else calls the library
            result = _take_result(result_pointer)
        if errors:
            raise errors[0]
        if status != 0:
            raise from_status(status, message, result)
        return result

    def generate_batch(self, jobs: Iterable[Union[Job, Mapping]], *,
                       progress: Optional[ProgressCallback] = None) -> List[JobResult]:
        """Runs every job at once over the device pool; results in input order. Never raises for a job's
        failure (look at JobResult.ok / error_code / raise_for_error()). `progress` is shared by all jobs."""
        jobs = [self._identified(j if isinstance(j, Job) else None, {} if isinstance(j, Job) else dict(j),
                                 f"Client.generate_batch (job {n})") for n, j in enumerate(jobs)]
        params = [_JobParams(j) for j in jobs]
        errors: List[BaseException] = []
        callback = self._trampoline(progress, errors)
        pointers = (ctypes.POINTER(_capi.JobParams) * len(params))(*[ctypes.pointer(p.params) for p in params])
        results = (ctypes.POINTER(_capi.Result) * len(params))()
        with self._running([j.job_id for j in jobs]):
            status = _capi.lib.talkgen_client_generate_batch(self._open_handle(), pointers, len(params), callback,
                                                             None, results)
            message = _capi.last_error()
            taken = [_take_result(results[i]) for i in range(len(params))]
        if status != 0:
            raise from_status(status, message)
        if errors:
            raise errors[0]
        return taken

    def submit(self, job: Optional[Job] = None, *, progress: Optional[ProgressCallback] = None,
               **job_fields) -> "JobHandle":
        """Starts one job and returns at once with its JobHandle (poll(), wait(), cancel()). The arguments are
        generate()'s; an exception `progress` raises cancels the job and is re-raised by wait()."""
        job = self._identified(job, job_fields, "Client.submit")
        params = _JobParams(job)
        errors: List[BaseException] = []
        callback = self._trampoline(progress, errors) if progress is not None else _capi.PROGRESS_FN()
        pointer = ctypes.c_void_p()
        with self._lock:
            handle = self._open_handle()
            status = _capi.lib.talkgen_client_submit(handle, ctypes.byref(params.params), callback, None,
                                                     ctypes.byref(pointer))
            message = _capi.last_error()
            if status != 0:
                raise from_status(status, message)
            submitted = JobHandle(self, pointer, _text(_capi.lib.talkgen_job_id(pointer)), callback, errors)
            if progress is not None:
                self._callbacks[id(callback)] = callback
            self._submitted.add(submitted)
        return submitted

    def cancel(self, job_id: str) -> bool:
        """Cancels a queued or running job of this client, from any thread. False when no such unfinished job."""
        with self._lock:
            event = self._in_flight.get(job_id)
            if event is not None:
                event.set()  # also stops a job whose generate call has not reached the library yet
        status = _capi.lib.talkgen_client_cancel(self._open_handle(), job_id.encode())
        if status == NotFoundError.status:
            return event is not None
        _capi.check(status)
        return True

    # ---- planning ------------------------------------------------------------------------------------

    def plan(self, duration_sec: float, *, quality: Optional[str] = None, resolution: Optional[str] = None,
             budget_usd: Optional[float] = None, deadline_sec: Optional[float] = None) -> Plan:
        """The Planner's answer for a job of `duration_sec` seconds of speech on this client's pool: every GPU count
        with its time and cost, and the recommendation (within budget_usd / deadline_sec when given). None: the
        library's default quality and resolution, no budget, no deadline. UnsupportedError where the Planner cannot
        size the pool (the demo model, the CPU); limits no option meets are no error (recommended_gpus None)."""
        pointer = ctypes.POINTER(_capi.Plan)()
        _capi.check(_capi.lib.talkgen_client_plan(
            self._open_handle(), float(duration_sec), _utf8(quality), _utf8(resolution),
            _optional(budget_usd, "budget_usd", "no budget"), _optional(deadline_sec, "deadline_sec", "no deadline"),
            ctypes.byref(pointer)))
        try:
            p = pointer.contents
            recommended = p.recommended_gpus if p.recommended_gpus > 0 else None
            return Plan(gpu_type=_text(p.gpu_type), video_seconds=p.video_sec, chunks=p.chunks,
                        quality=_text(p.quality), resolution=_text(p.resolution), recommended_gpus=recommended,
                        estimated_seconds=p.estimated_sec if recommended else None,
                        cost_usd=p.cost_usd if recommended else None, reason=_text(p.reason),
                        options=[PlanOption(gpus=o.gpus, estimated_seconds=o.estimated_sec, gpu_seconds=o.gpu_sec,
                                            cost_usd=o.cost_usd, within_budget=o.within_budget,
                                            within_deadline=o.within_deadline, fits=o.fits)
                                 for o in (p.options[i] for i in range(p.option_count))])
        finally:
            _capi.lib.talkgen_plan_free(pointer)

    def recommend_gpu_count(self, duration_sec: float, **plan_options) -> int:
        """plan()'s recommended GPU count; InvalidArgumentError (with the reason) when no count meets the limits."""
        plan = self.plan(duration_sec, **plan_options)
        if plan.recommended_gpus is None:
            raise InvalidArgumentError(f"no GPU count meets the request: {plan.reason}")
        return plan.recommended_gpus

    def estimate_time(self, duration_sec: float, num_gpus: int, **plan_options) -> float:
        """The Planner's wall seconds for a job of `duration_sec` on `num_gpus` devices of the pool."""
        plan = self.plan(duration_sec, **plan_options)
        for option in plan.options:
            if option.gpus == num_gpus:
                return option.estimated_seconds
        raise InvalidArgumentError(f"num_gpus={num_gpus}: the pool offers {[o.gpus for o in plan.options]}")

    # ---- pool and statistics --------------------------------------------------------------------------

    def preload(self) -> None:
        """Loads the weights onto every device of the pool now instead of on first use."""
        _capi.check(_capi.lib.talkgen_client_preload(self._open_handle()))

    @property
    def devices(self) -> DevicePool:
        pool = _capi.DevicePool(struct_size=ctypes.sizeof(_capi.DevicePool))
        _capi.check(_capi.lib.talkgen_client_devices(self._open_handle(), ctypes.byref(pool)))
        return DevicePool(policy=_text(pool.device_policy), cuda=pool.cuda,
                          devices=[_text(pool.devices[i]) for i in range(pool.device_count)],
                          gpu_name=_text(pool.gpu_name), gpu_type=_text(pool.gpu_type), note=_text(pool.note),
                          untrained_model=pool.untrained_model)

    def stats(self) -> Stats:
        s = _capi.Stats(struct_size=ctypes.sizeof(_capi.Stats))
        _capi.check(_capi.lib.talkgen_client_stats(self._open_handle(), ctypes.byref(s)))
        return Stats(jobs=s.jobs, succeeded=s.succeeded, failed=s.failed, cancelled=s.cancelled, retries=s.retries,
                     success_rate=s.success_rate, mean_seconds=s.mean_sec, p50_seconds=s.p50_sec,
                     p95_seconds=s.p95_sec, gpu_seconds=s.gpu_sec, cost_usd=s.cost_usd, queued=s.queued,
                     running=s.running)

    def reset_stats(self) -> None:
        """Forgets finished jobs and zeroes the counters."""
        _capi.check(_capi.lib.talkgen_client_reset_stats(self._open_handle()))

    # ---- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _identified(job: Optional[Job], fields: Mapping, where: str) -> Job:
        """The job with the fields applied (a name Job lacks is refused, naming it) and a job id: made here (as the
        library would, 32 hex digits from a CSPRNG) so that cancel() can reach the job before the library has seen
        it."""
        _fields.check(where, fields, _fields.JOB)
        job = dataclasses.replace(job or Job(), **fields)
        if job.job_id is None:
            job.job_id = secrets.token_hex(16)
        return job

    def _running(self, job_ids: List[str]):
        client = self

        class _Running:
            def __enter__(self):
                with client._lock:
                    client._open_handle()
                    duplicate = [i for i in job_ids if i in client._in_flight] or \
                        [i for n, i in enumerate(job_ids) if i in job_ids[:n]]
                    if duplicate:
                        raise InvalidArgumentError(f"job id {duplicate[0]!r} is already queued or running: "
                                                   "give each job its own id (or leave job_id None)")
                    for job_id in job_ids:
                        client._in_flight[job_id] = threading.Event()

            def __exit__(self, *exc):
                with client._lock:
                    for job_id in job_ids:
                        client._in_flight.pop(job_id, None)
                    client._lock.notify_all()

        return _Running()

    def _trampoline(self, progress: Optional[ProgressCallback], errors: List[BaseException]):
        """The C progress callback: cancel requests first, then the user's callback (its exceptions cancel)."""
        in_flight = self._in_flight

        def on_progress(pointer, _user_data):
            p = pointer.contents
            event = in_flight.get(_text(p.job_id))
            if event is not None and event.is_set():
                return False
            if progress is None:
                return True
            try:
                return progress(_progress_from_c(p)) is not False
            except BaseException as e:  # noqa: BLE001 (re-raised on the caller's thread)
                errors.append(e)
                return False

        return _capi.PROGRESS_FN(on_progress)


class JobHandle:
    """A job started with Client.submit(): `id`, poll(), wait(timeout), cancel(). Safe to use from several threads.

    Dropping the handle does not cancel the job. Closing the client cancels it and the handle refuses further use.
    """

    def __init__(self, client: Client, pointer: ctypes.c_void_p, job_id: str, callback, errors: List[BaseException]):
        self._client = client
        self._pointer = pointer
        self._callback = callback
        self._errors = errors     # exceptions of the progress callback, raised by wait()
        self._state = threading.Condition()
        self._busy = 0            # calls into the library using the handle now
        self._released = False
        self.id = job_id

    def __repr__(self) -> str:
        return f"<talkgen.JobHandle {self.id}>"

    def _enter(self):
        with self._state:
            if self._released:
                raise InvalidArgumentError(f"job {self.id}: its talkgen.Client is closed")
            self._busy += 1
        return self._pointer

    def _leave(self):
        with self._state:
            self._busy -= 1
            self._state.notify_all()

    def poll(self) -> Progress:
        """Where the job is now (state, stage, fraction, ...), without waiting."""
        progress = _capi.Progress(struct_size=ctypes.sizeof(_capi.Progress))
        pointer = self._enter()
        try:
            _capi.check(_capi.lib.talkgen_job_poll(pointer, ctypes.byref(progress)))
            return _progress_from_c(progress)
        finally:
            self._leave()

    def done(self) -> bool:
        return self.poll().state in ("succeeded", "failed", "cancelled")

    def wait(self, timeout: Optional[float] = None) -> JobResult:
        """Blocks until the job has finished (at most `timeout` seconds; None: as long as it takes) and returns its
        JobResult. Raises the job's error class (with `.result`) when it failed or was cancelled, as generate()
        does, and JobTimeoutError with `.result` None when it is still running after `timeout` (wait again or
        cancel it). May be called again: each call returns the result."""
        if timeout is not None and timeout < 0:
            raise InvalidArgumentError(f"timeout={timeout!r}: expected seconds >= 0, or None to wait until it ends")
        result_pointer = ctypes.POINTER(_capi.Result)()
        pointer = self._enter()
        try:
            status = _capi.lib.talkgen_job_wait(pointer, -1.0 if timeout is None else float(timeout),
                                                ctypes.byref(result_pointer))
            message = _capi.last_error()
            result = _take_result(result_pointer)
        finally:
            self._leave()
        if result is None and status == JobTimeoutError.status:  # still running (the library's message says so)
            raise JobTimeoutError(message)
        if result is not None:  # finished: the library calls its progress callback no more
            self._client._callbacks.pop(id(self._callback), None)
        if self._errors:
            raise self._errors[0]
        if status != 0:
            raise from_status(status, message, result)
        return result

    def cancel(self) -> bool:
        """Cancels the job if it has not finished (a queued job never runs); False when it had already finished."""
        pointer = self._enter()
        try:
            status = _capi.lib.talkgen_job_cancel(pointer)
            message = _capi.last_error()
        finally:
            self._leave()
        if status == NotFoundError.status:
            return False
        if status != 0:
            raise from_status(status, message)
        return True

    def _release(self, cancel: bool) -> None:
        """Frees the library's handle once no call uses it; with `cancel`, cancels the job first so waits end."""
        with self._state:
            if self._released:
                return
            if cancel:
                _capi.lib.talkgen_job_cancel(self._pointer)  # a finished job has nothing to cancel: status ignored
            self._state.wait_for(lambda: self._busy == 0)
            self._released = True
        _capi.lib.talkgen_job_free(self._pointer)

    def __del__(self):
        try:
            self._release(cancel=False)
        except Exception:  # noqa: BLE001 (interpreter shutdown)
            pass
