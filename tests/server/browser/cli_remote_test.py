"""`talkgen generate --server URL`: the job runs on a `talkgen serve --model demo` started here, the MP4
arrives at -o atomically, and failures exit with the same codes as local runs.

    python3 cli_remote_test.py --talkgen build/talkgen
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_fixture import PORTRAIT, Server, write_speech_wav  # noqa: E402

TALKGEN = None
EXIT_INVALID_ARGUMENT, EXIT_IO_ERROR = 11, 19  # 10 + ErrorCode (src/cli/exit_code.hpp)


def run(*args, timeout=300):
    return subprocess.run([TALKGEN, *args], capture_output=True, text=True, timeout=timeout)


class CliRemoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="talkgen-cli-remote-")
        cls.audio = write_speech_wav(os.path.join(cls.tmp, "speech.wav"), seconds=1.0)
        cls.server = Server(TALKGEN, token="cli-test-token-0123456789").__enter__()
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(cls.token_file, "w") as f:
            f.write("cli-test-token-0123456789\n")

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def out_dir(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        return d

    def test_generates_and_downloads_atomically(self):
        d = self.out_dir("ok")
        out = os.path.join(d, "remote.mp4")
        r = run("generate", "--server", self.server.url, "--token-file", self.token_file, "--image", PORTRAIT,
                "--audio", self.audio, "--quality", "draft", "--seed", "7", "-o", out, "--json")
        self.assertEqual(r.returncode, 0, r.stderr + self.server.logs())
        job = json.loads(r.stdout)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["output"], out)
        self.assertEqual(job["request"]["quality"], "draft")
        self.assertEqual(job["request"]["seed"], 7)
        with open(out, "rb") as f:
            data = f.read()
        self.assertEqual(data[4:8], b"ftyp")
        self.assertEqual(len(data), job["result"]["bytes"])
        self.assertEqual(os.listdir(d), ["remote.mp4"], "no temp files left")

    def test_two_speakers(self):
        d = self.out_dir("two")
        out = os.path.join(d, "two.mp4")
        r = run("generate", "--server", self.server.url, "--token-file", self.token_file, "--image", PORTRAIT,
                "--audio", self.audio, "--audio2", self.audio, "--speaker-timing", "together",
                "--speaker1-box", "0,0,256,512", "--speaker2-box", "256,0,512,512", "--quality", "draft",
                "-o", out, "--json")
        self.assertEqual(r.returncode, 0, r.stderr + self.server.logs())
        job = json.loads(r.stdout)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["request"]["speakers"], 2)
        self.assertEqual(job["request"]["speaker_timing"], "together")
        self.assertEqual(job["request"]["speaker2_box"], [256, 0, 512, 512])
        r = run("generate", "--server", self.server.url, "--token-file", self.token_file, "--image", PORTRAIT,
                "--audio", self.audio, "--speaker1-box", "0,0,256,512", "--speaker2-box", "256,0,512,512",
                "-o", os.path.join(d, "no.mp4"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--audio2", r.stderr)

    def test_same_job_id_twice_runs_once(self):
        d = self.out_dir("idempotent")
        ids = []
        for name in ("a.mp4", "b.mp4"):
            r = run("generate", "--server", self.server.url, "--token-file", self.token_file, "--image", PORTRAIT,
                    "--text", "Hi.", "--quality", "draft", "--job-id", "cli-same-key", "-o", os.path.join(d, name),
                    "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            ids.append(json.loads(r.stdout)["id"])
        self.assertEqual(ids[0], ids[1])
        with open(os.path.join(d, "a.mp4"), "rb") as a, open(os.path.join(d, "b.mp4"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_corrupt_image_exits_invalid_argument_and_writes_nothing(self):
        d = self.out_dir("corrupt")
        bad = os.path.join(self.tmp, "corrupt.png")
        with open(bad, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        r = run("generate", "--server", self.server.url, "--token-file", self.token_file, "--image", bad,
                "--audio", self.audio, "--quality", "draft", "-o", os.path.join(d, "never.mp4"))
        self.assertEqual(r.returncode, EXIT_INVALID_ARGUMENT, r.stderr)
        self.assertIn("422", r.stderr)
        self.assertEqual(os.listdir(d), [])

    def test_wrong_token_is_refused(self):
        d = self.out_dir("unauthorized")
        wrong = os.path.join(self.tmp, "wrong-token")
        with open(wrong, "w") as f:
            f.write("not-the-token")
        r = run("generate", "--server", self.server.url, "--token-file", wrong, "--image", PORTRAIT,
                "--audio", self.audio, "-o", os.path.join(d, "never.mp4"))
        self.assertEqual(r.returncode, EXIT_INVALID_ARGUMENT, r.stderr)
        self.assertIn("401", r.stderr)
        self.assertIn("--token-file", r.stderr)
        self.assertEqual(os.listdir(d), [])

    def test_unreachable_server_is_an_io_error_after_retries(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        d = self.out_dir("unreachable")
        r = run("generate", "--server", f"http://127.0.0.1:{port}", "--image", PORTRAIT, "--audio", self.audio,
                "-o", os.path.join(d, "never.mp4"), timeout=120)
        self.assertEqual(r.returncode, EXIT_IO_ERROR, r.stderr)
        self.assertIn("gave up after", r.stderr)
        self.assertEqual(os.listdir(d), [])


def main():
    global TALKGEN
    parser = argparse.ArgumentParser()
    parser.add_argument("--talkgen", required=True)
    args, rest = parser.parse_known_args()
    TALKGEN = os.path.abspath(args.talkgen)
    result = unittest.main(argv=[sys.argv[0], "-v"] + rest, exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
