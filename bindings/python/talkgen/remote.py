"""RemoteClient: a ``talkgen serve`` host over HTTP, on the standard library only (urllib).

    client = talkgen.RemoteClient("http://gpu-host:8080", token="...")
    gpus = client.recommend_gpu_count(20, quality="balanced")
    result = client.generate(image="face.png", audio="speech.wav", output="out.mp4",
                             on_progress=lambda job: print(job["progress"]))

Method names follow the original multi-GPU system's client (recommendGpuCount -> recommend_gpu_count, ...).
Requests are retried with exponential backoff and jitter on connection errors, 429 and 5xx only; a job is
always submitted with a ``job_id`` (made here when none is given), so a retried submit returns the job
already made instead of running it twice. The API is described in docs/server-api.md.

Fields the API does not have are refused here, before any request (talkgen.UnknownFieldError, naming the field).
The bearer token goes only to the server's own origin: a redirect elsewhere is followed without it, and a
redirect from https to http is refused.
"""
import base64
import json
import os
import random
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from . import _fields
from .errors import TalkgenError

DEFAULT_TIMEOUT = 30 * 60.0  # seconds, for a whole generate()
DEFAULT_MAX_RETRIES = 3      # retries of a request after its first try (the TypeScript client's maxRetries)
_TERMINAL = ("succeeded", "failed", "cancelled")


class RemoteError(TalkgenError):
    """An error from the server (its ``{code, message}``) or on the way to it; a TalkgenError like the local ones.

    ``code`` is a talkgen error code (``invalid_argument``, ``not_found``, ``timeout``, ``cancelled``, ...), an
    HTTP-level one of the server (``unauthorized``, ``too_many_jobs``, ...), or ``connection_error``.
    ``status`` is the HTTP status here (0 when no answer came); ``job_id`` the server's job id when it has one.
    """

    def __init__(self, code, message, status=0, job_id=None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.job_id = job_id


def _retryable(status):
    return status == 429 or status >= 500


def _b64(source, what):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(source)).decode("ascii")
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as f:
                return base64.b64encode(f.read()).decode("ascii")
        except FileNotFoundError:
            raise RemoteError("not_found", f"{what}: no file '{source}'; give an existing file path or bytes")
        except OSError as e:
            raise RemoteError("io_error", f"{what}: cannot read '{source}' ({e}); give a readable file or bytes")
    raise TypeError(f"{what} must be a file path or bytes, got {type(source).__name__}")


def _request_body(request, where):
    """The server's JSON body from submit()'s keywords (paths and bytes become base64). Every name is checked
    before a file is read or anything is sent."""
    _fields.check(where, request, _fields.REMOTE_JOB)
    get = request.get
    body = {}
    image, ref_image_b64 = get("image"), get("ref_image_b64")
    if (image is None) == (ref_image_b64 is None):
        raise TypeError("give exactly one of image (a path or bytes) or ref_image_b64")
    body["ref_image_b64"] = ref_image_b64 if ref_image_b64 is not None else _b64(image, "image")
    if get("text") is not None and get("script_text") is not None:
        raise TypeError("give text or script_text (the same field), not both")
    audio, audio_b64 = get("audio"), get("audio_b64")
    text = get("text") if get("text") is not None else get("script_text")
    if sum(x is not None for x in (audio, audio_b64, text)) != 1:
        raise TypeError("give exactly one of audio (a path or bytes), audio_b64 or text")
    if audio is not None:
        body["audio_b64"] = _b64(audio, "audio")
    elif audio_b64 is not None:
        body["audio_b64"] = audio_b64
    else:
        body["script_text"] = str(text)
    # A second speaker: their recorded speech, the timing and (both or neither) the people's boxes.
    audio2, audio2_b64 = get("audio2"), get("audio2_b64")
    if audio2 is not None and audio2_b64 is not None:
        raise TypeError("give at most one of audio2 (a path or bytes) or audio2_b64")
    if audio2 is not None:
        body["audio2_b64"] = _b64(audio2, "audio2")
    elif audio2_b64 is not None:
        body["audio2_b64"] = audio2_b64
    for key in ("speaker1_box", "speaker2_box"):
        if get(key) is not None:
            body[key] = [float(v) for v in get(key)]
    for key in ("speaker_timing", "voice", "resolution", "quality", "prompt", "seed", "num_gpus", "max_duration_sec",
                "webhook_url"):
        if get(key) is not None:
            body[key] = get(key)
    # The idempotency key: a retried submit after a lost answer must find this job, not make another.
    body["job_id"] = get("job_id") or f"py-{uuid.uuid4()}"
    return body


def _origin(url):
    """(scheme, host, port) of a URL, with the scheme's default port filled in: the unit the token is bound to."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


class _TokenKeepingRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects that never carry the bearer token to another origin.

    urllib's own handler copies a request's headers, Authorization included, to wherever a redirect points.
    RemoteClient therefore sets the token as an "unredirected" header, which urllib does not copy, and this
    handler puts it back only when the new URL has the same scheme, host and port: the server's own redirects
    keep working, another host gets no token (requests' rule). From https to http nothing is followed at all:
    the request would continue in clear text.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(req.full_url).scheme == "https" and urllib.parse.urlsplit(newurl).scheme != "https":
            fp.close()
            raise RemoteError("insecure_redirect", f"{req.get_method()} {req.full_url}: the server redirected to "
                              f"{newurl}, from https to another scheme; refused (the request would leave TLS). "
                              "Give RemoteClient the URL the server really answers on", status=code)
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        token = req.unredirected_hdrs.get("Authorization")
        if redirected is not None and token and _origin(newurl) == _origin(req.full_url):
            redirected.add_unredirected_header("Authorization", token)
        return redirected


_OPENER = urllib.request.build_opener(_TokenKeepingRedirects)


def _urlopen(request, timeout):
    """Every request of RemoteClient goes through here (tests wrap it to count or answer requests)."""
    return _OPENER.open(request, timeout=timeout)


def _write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _Response:
    """What a finished request gave: status, headers and the (opened) body stream or bytes."""

    def __init__(self, status, headers, stream):
        self.status, self.headers, self.stream = status, headers, stream

    def read(self):
        try:
            return self.stream.read()
        finally:
            self.stream.close()


class RemoteClient:
    """A client of one ``talkgen serve`` server. Safe to share between threads."""

    def __init__(self, base_url, token=None, timeout=DEFAULT_TIMEOUT, max_retries=None, base_delay=0.5,
                 max_delay=30.0, request_timeout=60.0, poll_interval=1.0, *, max_attempts=None):
        """``max_retries``: retries of a request after its first try (connection errors, 429 and 5xx), default
        DEFAULT_MAX_RETRIES (3), the TypeScript client's name and default. ``max_attempts`` (the first try
        included, this package's name before 0.2) is accepted instead, not together with it."""
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"RemoteClient(base_url): expected an http(s) URL such as 'http://127.0.0.1:8080', "
                             f"got {base_url!r}")
        if max_retries is not None and max_attempts is not None:
            raise ValueError(f"give max_retries ({max_retries}) or max_attempts ({max_attempts}), not both: "
                             "max_attempts = max_retries + 1")
        if max_attempts is not None:
            if max_attempts < 1:
                raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
            max_retries = max_attempts - 1
        elif max_retries is None:
            max_retries = DEFAULT_MAX_RETRIES
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.request_timeout = request_timeout
        self.poll_interval = poll_interval

    @property
    def max_attempts(self):
        """Tries per request, the first included: max_retries + 1."""
        return self.max_retries + 1

    # -------------------------------------------------------------------------------------------------
    # HTTP with retries

    def _backoff(self, attempt, retry_after=0.0):
        """Seconds before attempt+1: jitter over an exponentially growing cap, at least Retry-After."""
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = cap / 2 + random.random() * cap / 2
        return max(delay, min(self.max_delay, retry_after)) if retry_after > 0 else delay

    @staticmethod
    def _sleep(seconds, cancel):
        if cancel is not None:
            if cancel.wait(seconds):
                raise RemoteError("cancelled", "cancelled by the caller")
        else:
            time.sleep(seconds)

    def _open(self, method, route, body=None, accept="application/json", cancel=None, timeout=None):
        """One API call with retries; returns a _Response (2xx). Raises RemoteError otherwise."""
        url = self.base_url + route
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = "application/json"
        last = None
        for attempt in range(1, self.max_attempts + 1):
            if cancel is not None and cancel.is_set():
                raise RemoteError("cancelled", "cancelled by the caller")
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            if self.token:  # unredirected: see _TokenKeepingRedirects
                request.add_unredirected_header("Authorization", f"Bearer {self.token}")
            try:
                stream = _urlopen(request, timeout or self.request_timeout)
                return _Response(stream.status, stream.headers, stream)
            except urllib.error.HTTPError as e:
                error = self._error_from(method, route, e)
                if not _retryable(e.code) or attempt == self.max_attempts:
                    raise error
                last = error
                try:
                    retry_after = float(e.headers.get("Retry-After") or 0)
                except ValueError:
                    retry_after = 0.0
                self._sleep(self._backoff(attempt, retry_after), cancel)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                reason = getattr(e, "reason", e)
                last = RemoteError("connection_error", f"{method} {url}: {reason}")
                if attempt < self.max_attempts:
                    self._sleep(self._backoff(attempt), cancel)
        last.args = (f"{last} (gave up after {self.max_attempts} attempts)",)
        raise last

    @staticmethod
    def _error_from(method, route, e):
        code, message = f"http_{e.code}", f"{e.code} {e.reason}"
        try:
            payload = json.loads(e.read().decode("utf-8"))
            code = payload.get("code", code)
            message = payload.get("message", message)
        except (ValueError, AttributeError, OSError):
            pass
        return RemoteError(code, f"{method} {route}: {message}", status=e.code)

    def _json(self, method, route, body=None, cancel=None):
        raw = self._open(method, route, body=body, cancel=cancel).read()
        return json.loads(raw) if raw else None

    # -------------------------------------------------------------------------------------------------
    # Planning

    def plan(self, duration_sec, quality=None, resolution=None, budget_usd=None, deadline_sec=None, gpu_type=None,
             gpus_available=None, **unknown):
        """The Planner's full answer: options per GPU count (time, cost, fits) and the recommendation. Any other
        keyword raises UnknownFieldError (naming it and these) before anything is sent."""
        _fields.check("RemoteClient.plan", unknown, _fields.REMOTE_PLAN_OPTIONS)
        if not duration_sec or duration_sec <= 0:
            raise ValueError(f"duration_sec must be > 0, got {duration_sec}")
        body = {"duration_sec": duration_sec}
        for key, value in (("quality", quality), ("resolution", resolution), ("budget_usd", budget_usd),
                           ("deadline_sec", deadline_sec), ("gpu_type", gpu_type), ("gpus_available", gpus_available)):
            if value is not None:
                body[key] = value
        return self._json("POST", "/v1/plan", body)

    def recommend_gpu_count(self, duration_sec, **plan_options):
        """How many GPUs to use for a job of duration_sec seconds (within budget/deadline when given)."""
        plan = self.plan(duration_sec, **plan_options)
        if plan.get("recommended_gpus") is None:
            raise RemoteError("invalid_argument",
                              f"no GPU count meets the request: {plan.get('recommendation') or 'see plan()'}")
        return plan["recommended_gpus"]

    def estimate_time(self, duration_sec, num_gpus, **plan_options):
        """Predicted wall time in seconds of a job of duration_sec on num_gpus GPUs."""
        if not isinstance(num_gpus, int) or num_gpus < 1:
            raise ValueError(f"num_gpus must be an integer >= 1, got {num_gpus!r}")
        plan_options["gpus_available"] = max(num_gpus, plan_options.get("gpus_available") or 0)
        plan = self.plan(duration_sec, **plan_options)
        for option in plan.get("options", []):
            if option.get("gpus") == num_gpus:
                return option["seconds"]
        raise RemoteError("invalid_argument", f"the plan has no option with {num_gpus} GPUs")

    # -------------------------------------------------------------------------------------------------
    # Jobs

    def submit(self, **request):
        """Submits a job (idempotent by job_id); returns the server's job object. The keywords are generate()'s
        request ones; any other name raises UnknownFieldError before anything is sent."""
        return self._json("POST", "/v1/jobs", _request_body(request, "RemoteClient.submit"))

    def get_job(self, job_id, wait=None):
        """The job object, by the server's id or the client's job_id. ``wait``: seconds (0 to 60) the server holds
        the answer while the job is unfinished (``?wait=N``); None answers at once."""
        route = f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}"
        if wait is not None:
            if not isinstance(wait, int) or not 0 <= wait <= 60:
                raise ValueError(f"wait must be whole seconds from 0 to 60, got {wait!r}")
            route += f"?wait={wait}"
        raw = self._open("GET", route, timeout=self.request_timeout + (wait or 0)).read()
        return json.loads(raw) if raw else None

    def list_jobs(self, limit=20, offset=0, state=None):
        query = {"limit": limit, "offset": offset}
        if state:
            query["state"] = state
        return self._json("GET", "/v1/jobs?" + urllib.parse.urlencode(query))

    def cancel(self, job_id):
        """Cancels an unfinished job, or deletes a finished one and its files."""
        return self._json("DELETE", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}")

    def _read_events(self, job_id, on_job, cancel, deadline):
        """Reads the job's Server-Sent Events until the stream ends, calling on_job with each job object.

        A quiet stream raises TimeoutError after a short read timeout (1 s when the caller may cancel, else
        20 s; the server sends a keep-alive every 15 s), so cancel and deadline are seen promptly."""
        quiet = 1.0 if cancel is not None else 20.0
        if deadline:
            quiet = max(0.2, min(quiet, deadline - time.monotonic()))
        response = self._open("GET", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}/events",
                              accept="text/event-stream", cancel=cancel, timeout=quiet)
        data = []
        with response.stream as stream:
            for raw in stream:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "" and data:
                    on_job(json.loads("\n".join(data)))
                    data = []
                if (cancel is not None and cancel.is_set()) or (deadline and time.monotonic() > deadline):
                    return

    def wait(self, job_id, on_progress=None, cancel=None, timeout=None):
        """Follows a job to its end (event stream, polling when it breaks); returns the final job object.

        Raises RemoteError("cancelled") when the threading.Event ``cancel`` is set and ("timeout") after
        ``timeout`` seconds; the job itself is left alone (generate() cancels it on the server)."""
        deadline = time.monotonic() + timeout if timeout else None
        last = {}
        failures = 0

        def update(job):
            if job.get("id") not in (None, job_id):
                return
            last.update(job)
            if on_progress is not None:
                on_progress(dict(last))

        while last.get("state") not in _TERMINAL:
            if cancel is not None and cancel.is_set():
                raise RemoteError("cancelled", "cancelled by the caller", job_id=job_id)
            if deadline and time.monotonic() > deadline:
                raise RemoteError("timeout", f"job {job_id} did not finish within {timeout} s", job_id=job_id)
            try:
                self._read_events(job_id, update, cancel, deadline)
                failures = 0
            except TimeoutError:
                continue  # a quiet stream: cancel and deadline are checked above, then listen again
            except RemoteError as e:
                if e.status and not _retryable(e.status):
                    raise
                failures += 1
            except (OSError, ValueError):  # a broken stream or a torn event: read the job and listen again
                failures += 1
            if last.get("state") in _TERMINAL or (cancel is not None and cancel.is_set()):
                continue
            update(self.get_job(job_id))
            if last.get("state") not in _TERMINAL:  # the stream ended early (restart, proxy): listen again soon
                self._sleep(min(self.max_delay, self.poll_interval * 2 ** min(failures, 5)), cancel)
        return dict(last)

    def download(self, job_id, output=None):
        """The finished job's MP4: written atomically to output (returns None), or returned as bytes."""
        for attempt in range(1, 2 * self.max_attempts + 1):
            try:
                data = self._open("GET", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}/video",
                                  accept="video/mp4", timeout=max(self.request_timeout, 300.0)).read()
                break
            except RemoteError as e:
                # The video can lag the event that said "succeeded" by a moment: not_ready is retried briefly.
                if e.code != "not_ready" or attempt == 2 * self.max_attempts:
                    raise
                time.sleep(min(2.0, 0.1 * 2 ** attempt))
        if output is None:
            return data
        _write_atomically(output, data)
        return None

    def generate(self, output=None, on_progress=None, cancel=None, timeout=None, download=True, **request):
        """Submits a job, follows it and returns its result with the video.

        request: image (path or bytes) or ref_image_b64; audio (path or bytes), audio_b64 or text; for a
            second speaker audio2 (path or bytes) or audio2_b64, speaker_timing ("one-after-another" or
            "together"), speaker1_box / speaker2_box ([x0, y0, x1, y1] pixels, both or neither); voice,
        resolution, quality, prompt, seed, num_gpus, max_duration_sec, job_id, webhook_url (POSTed the job when
        it finishes, if the server has a webhook secret) (any other name raises
        UnknownFieldError before anything is sent; a voice prompt, UnsupportedError). The MP4 is written atomically
        to ``output``, else returned as ``result["video"]`` (bytes). ``cancel`` is a threading.Event: setting
        it stops waiting and cancels the job on the server, as does running past ``timeout`` seconds
        (default: the client's, 30 min). Raises RemoteError (the job's own error code when it failed).
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit if limit else None
        job = self._json("POST", "/v1/jobs", _request_body(request, "RemoteClient.generate"))
        try:
            if on_progress is not None:
                on_progress(job)
            remaining = (deadline - time.monotonic()) if deadline else None
            job = self.wait(job["id"], on_progress=on_progress, cancel=cancel, timeout=remaining)
        except RemoteError as e:
            if e.code in ("timeout", "cancelled"):
                try:  # the caller stopped waiting: free the GPUs for others (best effort)
                    self._open("DELETE", f"/v1/jobs/{job['id']}")
                except RemoteError:
                    pass
            e.job_id = e.job_id or job["id"]
            raise
        if job["state"] != "succeeded":
            error = job.get("error") or {}
            raise RemoteError(error.get("code") or job["state"],
                              f"job {job['id']} {job['state']}: {error.get('message') or 'no reason given'}",
                              job_id=job["id"])
        result = _result_from(job, self.base_url)
        if download:
            data = self.download(job["id"], output)
            if output is None:
                result["video"] = data
            else:
                result["output"] = output
        return result

    def generate_batch(self, requests, max_workers=None, **options):
        """Runs several jobs at once (the server schedules them over its GPUs); returns, in input order, each
        job's result (``ok`` True) or ``{"ok": False, "job_id", "error": RemoteError}``: one failure does not
        sink the others. Each request is a dict of generate()'s keywords (output included)."""
        requests = list(requests)
        # Every request's names are checked before the first is sent: a typo in the last must not leave the others
        # running on the server.
        _fields.check("RemoteClient.generate_batch", options, _fields.REMOTE_JOB | _fields.REMOTE_GENERATE)
        for n, request in enumerate(requests):
            _fields.check(f"RemoteClient.generate_batch (request {n})", request,
                          _fields.REMOTE_JOB | _fields.REMOTE_GENERATE)

        def one(request):
            try:
                return self.generate(**dict(options, **request))
            except RemoteError as e:
                return {"ok": False, "job_id": e.job_id, "error": e}

        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=max_workers or min(32, len(requests))) as pool:
            return list(pool.map(one, requests))

    # -------------------------------------------------------------------------------------------------
    # Stats

    def stats(self):
        """The server's statistics: jobs, success rate, p50/p95 time, GPU-seconds, cost, queue (the local
        Client.stats() of the same name)."""
        return self._json("GET", "/v1/stats")

    def get_stats(self):
        """stats(), under the name of the original system's client (getStats)."""
        return self.stats()

    def reset_stats(self):
        """Resets the statistics; returns the (empty) stats."""
        return self._json("POST", "/v1/stats/reset", {})

    def health(self):
        """True when the server answers /healthz with 200."""
        try:
            with _urlopen(urllib.request.Request(self.base_url + "/healthz"), self.request_timeout) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError, RemoteError):  # RemoteError: a refused redirect
            return False


def _result_from(job, base_url):
    r = job.get("result") or {}
    return {
        "ok": True,
        "id": job["id"],
        "job_id": job.get("job_id"),
        "state": job["state"],
        "video_url": urllib.parse.urljoin(base_url + "/", r.get("video_url") or f"/v1/jobs/{job['id']}/video"),
        "bytes": r.get("bytes"),
        "frames": r.get("frames"),
        "width": r.get("width"),
        "height": r.get("height"),
        "fps": r.get("fps"),
        "duration_seconds": r.get("duration_seconds"),
        "gpus": r.get("gpus"),
        "devices": r.get("devices", []),
        "gpu_seconds": r.get("gpu_seconds"),
        "cost_usd": r.get("cost_usd"),
        "attempts": r.get("attempts"),
        "untrained_model": bool(r.get("untrained_model")),
        "estimated_seconds": (job.get("plan") or {}).get("estimated_seconds"),
        "timings": job.get("timings"),
        "job": job,
    }


__all__ = ["RemoteClient", "RemoteError", "DEFAULT_TIMEOUT", "DEFAULT_MAX_RETRIES"]
