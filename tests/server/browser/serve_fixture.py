"""Starts `talkgen serve --model demo` on 127.0.0.1 with an ephemeral port, for the tests in this folder.

    with Server(talkgen_binary) as server:
        server.url   # "http://127.0.0.1:41234"

The server prints one JSON line once listening (docs/server-api.md); its logs go to a file in the data
folder, printed when a test fails so the reason is visible in ctest's output.
"""
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
import wave

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORTRAIT = os.path.join(SOURCE_DIR, "examples", "portrait.png")


class Server:
    def __init__(self, talkgen, extra_args=(), token=None, start_timeout=120):
        if not os.path.isfile(talkgen):
            raise FileNotFoundError(f"talkgen binary '{talkgen}' not found: build the talkgen_cli target first")
        self.talkgen = talkgen
        self.extra_args = list(extra_args)
        self.token = token
        self.start_timeout = start_timeout
        self.process = None
        self.dir = None
        self.url = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="talkgen-serve-test-")
        args = [self.talkgen, "serve", "--model", "demo", "--host", "127.0.0.1", "--port", "0",
                "--data-dir", os.path.join(self.dir, "data")] + self.extra_args
        if self.token:
            token_file = os.path.join(self.dir, "token")
            with open(token_file, "w") as f:
                f.write(self.token + "\n")
            os.chmod(token_file, 0o600)
            args += ["--token-file", token_file]
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        line = self._first_line()
        try:
            listening = json.loads(line)
        except ValueError:
            self._fail(f"expected the JSON 'listening' line on stdout, got {line!r}")
        if listening.get("event") != "listening" or not listening.get("port"):
            self._fail(f"expected {{'event': 'listening', 'port': N}}, got {listening}")
        self.url = f"http://127.0.0.1:{listening['port']}"
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: self.process.stdout.read(), daemon=True).start()
        return self

    def _first_line(self):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if not result or not result[0]:
            self._fail(f"talkgen serve did not report listening within {self.start_timeout} s "
                       f"(exit code {self.process.poll()})")
        return result[0].decode("utf-8", "replace").strip()

    def _fail(self, message):
        self.stop()
        raise RuntimeError(f"{message}\n--- server log ---\n{self.logs()}")

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-8000:]
        except OSError:
            return "(no log)"

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()
        if getattr(self, "log", None):
            self.log.close()

    def __exit__(self, kind, value, tb):
        self.stop()
        if kind is not None:
            sys.stderr.write(f"--- server log ---\n{self.logs()}\n")
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def write_speech_wav(path, seconds=1.5, rate=16000):
    """A short voiced-like test signal (a 140 Hz tone with harmonics, amplitude-modulated like syllables)."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            t = i / rate
            envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)
            x = sum(math.sin(2 * math.pi * 140 * k * t) / k for k in (1, 2, 3))
            frames += struct.pack("<h", int(8000 * envelope * x))
        w.writeframes(bytes(frames))
    return path
