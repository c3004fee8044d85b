#!/usr/bin/env python3
"""Loopback load test of `talkgen serve`: N concurrent clients submit M tiny demo jobs and poll their
status until every job is finished, then the run is checked and measured:

  * jobs lost       accepted jobs that did not finish as succeeded, or are missing from the server (must be 0)
  * duplicate runs  jobs run more than once: extra ids for one job_id, attempts > 1, restarts > 0, or the
                    server's Client finishing more jobs than were submitted (must be 0)
  * latencies       p50/p99 of status calls (GET /v1/jobs/{id}) made while jobs run, and of submits
  * server RSS      before the first submit and after the last job finished (Linux /proc)

Every 10th job is submitted a second time with the same job_id, as a client retry would be, and must
come back as the same job (200) without running again. Standard library only; loopback only.

    python3 tools/loadtest/loadtest.py --talkgen build/talkgen              # starts its own server
    python3 tools/loadtest/loadtest.py --url http://127.0.0.1:8080 --pid 1234  # an already running one

Exit code 0 when nothing was lost or run twice, 1 otherwise.
"""
import argparse
import base64
import http.client
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor

TERMINAL = ("succeeded", "failed", "cancelled")


# -------------------------------------------------------------------------------------------------------
# Inputs: a small portrait-sized PNG and a short tone, made here so the test needs no files.

def tiny_png(width=96, height=96):
    """An RGB gradient PNG (above the server's 64-pixel minimum side), encoded with zlib."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
                    for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tone_wav(seconds, rate=16000):
    path = tempfile.mktemp(suffix=".wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 140 * i / rate)))
                               for i in range(int(seconds * rate))))
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


# -------------------------------------------------------------------------------------------------------
# HTTP: one keep-alive connection per client thread.

class Api:
    def __init__(self, url, token):
        parsed = urllib.parse.urlparse(url)
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"loadtest: {url} is not a loopback address; this test only runs on loopback")
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.local = threading.local()

    def call(self, method, path, body=None):
        """Returns (status, parsed JSON or text, seconds). Reconnects once on a dropped keep-alive."""
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.headers)
                response = conn.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - start
            kind = response.getheader("Content-Type") or ""
            return response.status, (json.loads(raw) if "json" in kind and raw else raw.decode("utf-8", "replace")), seconds


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# -------------------------------------------------------------------------------------------------------

class Run:
    def __init__(self, api, args):
        self.api = api
        self.args = args
        self.prefix = f"load-{uuid.uuid4().hex[:8]}"
        self.lock = threading.Lock()
        self.submit_latency = []
        self.status_latency = []     # status calls made while at least one job was running
        self.status_errors = 0
        self.accepted = {}           # job_id -> server id
        self.final = {}              # job_id -> final job object
        self.rejected = []           # (job_id, status, body): submits the server refused
        self.duplicate_ids = []      # a resubmitted job_id that came back as another job
        self.running_now = 0
        image_b64 = base64.b64encode(tiny_png()).decode()
        audio_b64 = base64.b64encode(tone_wav(args.audio_seconds)).decode()
        self.template = {"ref_image_b64": image_b64, "audio_b64": audio_b64, "quality": args.quality,
                         "resolution": "480p"}

    def submit(self, job_id, seed):
        body = dict(self.template, job_id=job_id, seed=seed)
        for _ in range(60):  # 429 (queue full) and 503 are retried with the same job_id, as clients do
            status, answer, seconds = self.api.call("POST", "/v1/jobs", body)
            if status in (429, 503):
                time.sleep(1)
                continue
            return status, answer, seconds
        return status, answer, seconds

    def client(self, index):
        """One client: submits its share of the jobs one after another, polling each to its end."""
        for n in range(index, self.args.jobs, self.args.clients):
            job_id = f"{self.prefix}-{n:04d}"
            status, job, seconds = self.submit(job_id, seed=n)
            with self.lock:
                self.submit_latency.append(seconds)
            if status != 201:
                with self.lock:
                    self.rejected.append((job_id, status, job))
                continue
            with self.lock:
                self.accepted[job_id] = job["id"]
            if n % 10 == 0:  # a client retry of the same job: must be the same job, answered 200
                again_status, again, _ = self.submit(job_id, seed=n)
                if again_status != 200 or again.get("id") != job["id"]:
                    with self.lock:
                        self.duplicate_ids.append((job_id, job["id"], again_status, again))
            while True:
                time.sleep(self.args.poll_interval)
                status, job, seconds = self.api.call("GET", f"/v1/jobs/{job['id']}")
                with self.lock:
                    if status == 200 and self.running_now > 0:
                        self.status_latency.append(seconds)
                    if status != 200:
                        self.status_errors += 1
                if status == 200 and job["state"] in TERMINAL:
                    with self.lock:
                        self.final[job_id] = job
                    break

    def watch_running(self, stop):
        """Tracks whether jobs are running (from /v1/stats), so status latencies are those under load."""
        while not stop.is_set():
            status, stats, _ = self.api.call("GET", "/v1/stats")
            if status == 200:
                with self.lock:
                    self.running_now = stats.get("running", 0)
            stop.wait(0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--talkgen", help="talkgen binary: start `talkgen serve --model demo` on 127.0.0.1")
    parser.add_argument("--url", help="an already running server (loopback)")
    parser.add_argument("--pid", type=int, help="its process id, for RSS")
    parser.add_argument("--token", help="bearer token of that server")
    parser.add_argument("--serve-args", default="", help="extra `talkgen serve` flags when starting one")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--audio-seconds", type=float, default=0.5)
    parser.add_argument("--quality", default="draft")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if bool(args.talkgen) == bool(args.url):
        parser.error("give --talkgen (start a server) or --url (use a running one)")

    server, tmp = None, None
    if args.talkgen:
        tmp = tempfile.mkdtemp(prefix="talkgen-loadtest-")
        log = open(os.path.join(tmp, "server.log"), "wb")
        server = subprocess.Popen([args.talkgen, "serve", "--model", "demo", "--host", "127.0.0.1", "--port", "0",
                                   "--data-dir", os.path.join(tmp, "data")] + args.serve_args.split(),
                                  stdout=subprocess.PIPE, stderr=log)
        line = server.stdout.readline()
        if not line:
            raise SystemExit(f"loadtest: talkgen serve did not start; see {tmp}/server.log")
        args.url = json.loads(line)["url"]
        args.pid = server.pid
        threading.Thread(target=server.stdout.read, daemon=True).start()

    api = Api(args.url, args.token)
    try:
        status, stats_before, _ = api.call("GET", "/v1/stats")
        if status != 200:
            raise SystemExit(f"loadtest: GET /v1/stats answered {status}: {stats_before}")
        _, metrics_before, _ = api.call("GET", "/metrics")
        run = Run(api, args)
        rss_before = rss_mib(args.pid) if args.pid else float("nan")
        stop = threading.Event()
        watcher = threading.Thread(target=run.watch_running, args=(stop,), daemon=True)
        watcher.start()
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for future in [pool.submit(run.client, i) for i in range(args.clients)]:
                future.result()
        wall = time.monotonic() - start
        stop.set()
        watcher.join()
        rss_after = rss_mib(args.pid) if args.pid else float("nan")
        _, stats_after, _ = api.call("GET", "/v1/stats")

        # Every accepted job must exist on the server, once, and have succeeded exactly once.
        listed = {}
        offset = 0
        while offset is not None:
            _, page, _ = api.call("GET", f"/v1/jobs?limit=100&offset={offset}")
            for job in page["jobs"]:
                if job.get("job_id", "").startswith(run.prefix):
                    listed.setdefault(job["job_id"], []).append(job["id"])
            offset = page.get("next_offset")
        lost = sorted(j for j in run.accepted if run.final.get(j, {}).get("state") != "succeeded"
                      or j not in listed)
        reran = sorted(j for j, job in run.final.items()
                       if (job.get("result") or {}).get("attempts", 1) != 1 or job.get("restarts", 0) != 0)
        extra_ids = sorted(j for j, ids in listed.items() if len(set(ids)) != 1)
        finished_delta = stats_after["jobs"] - stats_before["jobs"]
        duplicates = len(reran) + len(extra_ids) + len(run.duplicate_ids) + max(0, finished_delta - len(run.accepted))

        report = {
            "server": args.url, "clients": args.clients, "jobs": args.jobs, "audio_seconds": args.audio_seconds,
            "quality": args.quality, "cpu_cores": os.cpu_count(), "wall_seconds": round(wall, 1),
            "accepted": len(run.accepted), "rejected": len(run.rejected), "succeeded": sum(
                1 for j in run.final.values() if j["state"] == "succeeded"),
            "jobs_lost": len(lost), "duplicate_runs": duplicates,
            "server_jobs_finished": finished_delta,
            "status_calls_while_running": len(run.status_latency), "status_errors": run.status_errors,
            "status_ms": {"p50": round(percentile(run.status_latency, 50) * 1000, 2),
                          "p99": round(percentile(run.status_latency, 99) * 1000, 2),
                          "max": round(max(run.status_latency, default=float("nan")) * 1000, 2)},
            "submit_ms": {"p50": round(percentile(run.submit_latency, 50) * 1000, 2),
                          "p99": round(percentile(run.submit_latency, 99) * 1000, 2),
                          "max": round(max(run.submit_latency, default=float("nan")) * 1000, 2)},
            "server_rss_mib": {"before": round(rss_before, 1), "after": round(rss_after, 1)},
            "jobs_per_minute": round(len(run.final) / wall * 60, 1),
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"talkgen serve load test: {args.clients} clients, {args.jobs} jobs of {args.audio_seconds} s "
                  f"({args.quality}), {os.cpu_count()} CPU cores, {wall:.0f} s")
            print(f"  accepted {report['accepted']}, rejected {report['rejected']}, succeeded {report['succeeded']}")
            print(f"  jobs lost: {report['jobs_lost']}   duplicate runs: {report['duplicate_runs']}")
            print(f"  status calls while jobs run: p50 {report['status_ms']['p50']} ms, p99 {report['status_ms']['p99']} "
                  f"ms, max {report['status_ms']['max']} ms ({len(run.status_latency)} calls, "
                  f"{run.status_errors} errors)")
            print(f"  submit: p50 {report['submit_ms']['p50']} ms, p99 {report['submit_ms']['p99']} ms, "
                  f"max {report['submit_ms']['max']} ms")
            print(f"  server RSS: {report['server_rss_mib']['before']} MiB before, "
                  f"{report['server_rss_mib']['after']} MiB after")
        for job_id, status, body in run.rejected[:5]:
            print(f"  rejected {job_id}: {status} {body}", file=sys.stderr)
        for job_id in lost[:5]:
            print(f"  lost {job_id}: {run.final.get(job_id)}", file=sys.stderr)
        for entry in run.duplicate_ids[:5]:
            print(f"  resubmit made another job: {entry}", file=sys.stderr)
        return 0 if not lost and duplicates == 0 and not run.rejected else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(120)
            except subprocess.TimeoutExpired:
                server.kill()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
