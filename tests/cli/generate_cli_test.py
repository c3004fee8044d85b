"""`talkgen generate` as a user runs it (demo model, CPU): Ctrl-C and SIGTERM cancel the job (exit 17, no
temporary file left), progress is one plain line per step when stderr is not a terminal, and
`--progress json` prints one JSON object per event whose ETA does not jump at the encoding stage.

    python3 generate_cli_test.py --talkgen build/talkgen --image examples/portrait.png --scratch DIR [Test.case]
"""
import argparse
import json
import math
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "browser"))
from serve_fixture import Server  # noqa: E402  `talkgen serve --model demo` on an ephemeral port

TALKGEN = IMAGE = SCRATCH = None
EXIT_CANCELLED = 17  # src/cli/exit_code.hpp: 10 + ErrorCode::cancelled
STEPS = 4            # --quality draft
SPEECH_SECONDS = 7.0  # 175 frames: 3 chunks of 81 (72 new after the first), so several steps and tails


def write_speech(path, seconds):
    """A 16 kHz mono WAV of a voiced-like tone (a 140 Hz buzz with harmonics, 4 Hz syllables)."""
    rate = 16000
    frames = bytearray()
    for i in range(int(seconds * rate)):
        t = i / rate
        envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)
        x = envelope * (math.sin(2 * math.pi * 140 * t) + 0.5 * math.sin(2 * math.pi * 280 * t))
        frames += struct.pack("<h", int(8000 * x))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def fresh_dir(name):
    path = os.path.join(SCRATCH, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def generate_args(out_dir, *extra):
    speech = os.path.join(SCRATCH, "speech.wav")
    return [TALKGEN, "generate", "--model", "demo", "--device", "cpu", "--quality", "draft", "--image", IMAGE,
            "--audio", speech, "-o", os.path.join(out_dir, "out.mp4"), *extra]


def default_signals():
    """For the child: SIGINT as a terminal's foreground job has it (a shell may have set it to be ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def temporary_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp") or n.endswith(".part"))


def read_lines_into(stream, sink):
    """For a reader thread: every line of `stream` into the queue `sink`, then None at its end."""
    for line in stream:
        sink.put(line)
    sink.put(None)


def next_line_where(lines, seen, wanted, timeout):
    """Takes lines from the queue `lines` (appending them to `seen`) until one is `wanted` (True), or the
    stream ends or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return False
        if line is None:
            lines.put(None)  # the end stays seen for the next caller
            return False
        seen.append(line)
        if wanted(line):
            return True


class SignalTest(unittest.TestCase):
    """A signal while the job samples: the library cancels it, the MP4 writer's temporary file goes."""

    def interrupt_while_sampling(self, name, signals):
        """Runs a job, sends `signals` once it samples; returns its stderr and how many signals were sent.

        A later signal goes once the one before it is seen handled (its note on stderr), not after a fixed
        pause, and only while the process still runs: on a busy machine the job may already have ended,
        cancelled by the first (exit 17, nothing left), which is what every caller checks."""
        out_dir = fresh_dir(name)
        process = subprocess.Popen(generate_args(out_dir, "--progress", "lines"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
        lines = queue.Queue()
        reader = threading.Thread(target=read_lines_into, args=(process.stderr, lines), daemon=True)
        reader.start()
        seen = []
        sent = 0
        try:
            # The first sampling step: the job is under way and the MP4 writer holds its temporary file.
            if not next_line_where(lines, seen, lambda line: line.startswith("progress:") and " sampling " in line,
                                   timeout=240):
                self.fail("no sampling progress line before the end:\n" + "".join(seen))
            self.assertEqual(len(temporary_files(out_dir)), 1,
                             "the job should be writing its hidden .tmp now: %s" % os.listdir(out_dir))
            for s in signals:
                if sent and not next_line_where(lines, seen, lambda line: "cancelling the job" in line, timeout=30):
                    break  # the process ended without the note: the checks below say what it did
                if process.poll() is not None:
                    break  # already ended, cancelled by the signal before
                process.send_signal(s)
                sent += 1
            status = process.wait(timeout=60)
            reader.join(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        while not lines.empty():
            line = lines.get()
            if line is not None:
                seen.append(line)
        stderr = "".join(seen)
        self.assertEqual(status, EXIT_CANCELLED, stderr)
        self.assertEqual(os.listdir(out_dir), [], "a cancelled job leaves nothing, temporary or not")
        return stderr, sent

    def test_ctrl_c_cancels_and_leaves_no_temporary_file(self):
        stderr, _ = self.interrupt_while_sampling("ctrl_c", [signal.SIGINT])
        self.assertIn("cancelling the job", stderr)
        self.assertIn("error (cancelled)", stderr)
        # Cancelled at the next step: no later chunk was sampled.
        self.assertNotIn("chunk 3/3", stderr)

    def test_sigterm_cancels_like_ctrl_c(self):
        stderr, _ = self.interrupt_while_sampling("sigterm", [signal.SIGTERM])
        self.assertIn("SIGTERM", stderr)
        self.assertIn("error (cancelled)", stderr)

    def test_second_ctrl_c_quits_at_once(self):
        # The second Ctrl-C as soon as the first is handled (the job stops only at its next step): it quits at
        # once, removing the MP4 writer's temporary file itself; still 17. If the job had already ended,
        # cancelled by the first, there is no second: exit 17 and nothing left is all there is to check.
        stderr, sent = self.interrupt_while_sampling("ctrl_c_twice", [signal.SIGINT, signal.SIGINT])
        self.assertIn("cancelling the job", stderr)
        if sent == 2:
            self.assertIn("again: quitting now", stderr)


class RemoteSignalTest(unittest.TestCase):
    """`generate --server`: Ctrl-C stops following the job, cancels it on the server, exits 17, writes nothing."""

    def test_ctrl_c_cancels_the_job_on_the_server(self):
        out_dir = fresh_dir("remote_ctrl_c")
        with Server(TALKGEN) as server:
            args = [TALKGEN, "generate", "--server", server.url, "--quality", "draft", "--image", IMAGE, "--audio",
                    os.path.join(SCRATCH, "speech.wav"), "-o", os.path.join(out_dir, "out.mp4"), "--progress", "lines"]
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       preexec_fn=default_signals)
            seen = []
            try:
                for line in process.stderr:
                    seen.append(line)
                    if line.startswith("progress:") and " sampling " in line:
                        break
                else:
                    self.fail("no sampling progress line from the server:\n" + "".join(seen))
                process.send_signal(signal.SIGINT)
                rest = process.stderr.read()
                status = process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            stderr = "".join(seen) + rest
            self.assertEqual(status, EXIT_CANCELLED, stderr)
            self.assertIn("was cancelled on", stderr)
            self.assertEqual(os.listdir(out_dir), [], "nothing written, no partial download")
            job_id = next(l.split()[1] for l in stderr.splitlines() if l.startswith("job "))
            deadline = time.time() + 30
            while True:
                with urllib.request.urlopen(server.url + "/v1/jobs/" + job_id, timeout=10) as r:
                    state = json.loads(r.read())["state"]
                if state == "cancelled" or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(state, "cancelled")


class ProgressTest(unittest.TestCase):
    def run_to_file(self, name, *extra):
        out_dir = fresh_dir(name)
        log_path = os.path.join(SCRATCH, name + ".stderr")
        with open(log_path, "w") as log:
            done = subprocess.run(generate_args(out_dir, *extra), stdout=subprocess.PIPE, stderr=log, text=True,
                                  timeout=240)
        with open(log_path, "rb") as f:
            raw = f.read()
        self.assertEqual(done.returncode, 0, raw.decode("utf-8", "replace"))
        self.assertIn("wrote ", done.stdout)
        self.assertEqual(os.listdir(out_dir), ["out.mp4"])
        self.assertNotIn(b"\r", raw, "no carriage returns when stderr is not a terminal")
        self.assertNotIn(b"\x1b", raw, "no terminal escapes when stderr is not a terminal")
        return raw.decode("utf-8")

    def test_one_plain_line_per_step_when_stderr_is_a_file(self):
        text = self.run_to_file("lines")  # no --progress: auto picks lines for a file
        lines = [l for l in text.splitlines() if l.startswith("progress: ")]
        sampling = [l for l in lines if " sampling " in l]
        expected = ["chunk %d/3 step %d/%d" % (c, s, STEPS) for c in (1, 2, 3) for s in range(1, STEPS + 1)]
        self.assertEqual([l.split(" sampling ")[1].split(",")[0] for l in sampling], expected, text)
        self.assertEqual(len(lines), len(set(lines)), "each step or stage once:\n" + text)
        stages = [m.group(1) for m in (re.match(r"progress: +\d+% (\w+)", l) for l in lines) if m]
        self.assertEqual(stages.count("decoding"), 3, text)
        self.assertEqual(stages.count("encoding"), 3, text)
        self.assertEqual(stages[0], "preparing", text)
        self.assertEqual(stages[-1], "done", text)
        self.assertEqual(lines[-1], "progress: succeeded")
        self.assertTrue(any(", eta " in l for l in sampling), "sampling lines carry an ETA:\n" + text)

    def test_progress_json_events_and_an_eta_without_jumps(self):
        text = self.run_to_file("json", "--progress", "json")
        events = []
        for line in text.splitlines():
            if line.strip():
                events.append(json.loads(line))  # every line on stderr is one JSON object
        progress = [e for e in events if e["event"] == "progress"]
        for key in ("job_id", "state", "stage", "chunk", "chunks", "step", "steps", "fraction", "eta_seconds",
                    "elapsed_seconds", "attempt", "gpus"):
            self.assertIn(key, progress[-1])
        running = [e for e in progress if e["state"] == "running"]
        fractions = [e["fraction"] for e in running]
        self.assertEqual(fractions, sorted(fractions), "fractions never go back")
        self.assertEqual(running[-1]["stage"], "done")
        self.assertEqual(running[-1]["fraction"], 1.0)
        self.assertEqual(progress[-1]["state"], "succeeded")
        steps = [(e["chunk"], e["step"]) for e in running if e["stage"] == "sampling"]
        self.assertEqual(steps, [(c, s) for c in range(3) for s in range(1, STEPS + 1)])
        elapsed = [e["elapsed_seconds"] for e in running]
        self.assertEqual(elapsed, sorted(elapsed))

        # The ETA at each encoding event: not (much) higher than the one before it (time passed, no work was
        # added).
        # The old single pace let the decode that ran in between inflate it.
        timed = [e for e in running if e["eta_seconds"] is not None]
        self.assertGreater(len(timed), 2 * STEPS)
        encoding = 0
        for before, at in zip(timed, timed[1:]):
            if at["stage"] != "encoding":
                continue
            encoding += 1
            # Relative, with some slack: the pace is wall-clock time on a machine that may run other work
            # beside this. The jump this catches was tenfold (1.75 s -> 17.1 s).
            self.assertLessEqual(at["eta_seconds"], before["eta_seconds"] * 1.25 + 0.5,
                                 "the ETA jumped at the encoding stage: %s -> %s" % (before, at))
        self.assertEqual(encoding, 3, "one encoding event per chunk")

    def test_progress_refuses_an_unknown_mode(self):
        out_dir = fresh_dir("bad_mode")
        done = subprocess.run(generate_args(out_dir, "--progress", "fancy"), capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 11, done.stderr)  # invalid_argument
        self.assertIn("--progress fancy: expected auto, none, bar, lines or json", done.stderr)
        self.assertEqual(os.listdir(out_dir), [])


class DefaultsTest(unittest.TestCase):
    """One default quality (the library's talkgen::default_quality) and one set of names on every path."""

    def help_of(self, command):
        done = subprocess.run([TALKGEN, command, "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_generate_and_plan_default_to_the_library_profile(self):
        for command in ("generate", "plan"):
            quality = [line for line in self.help_of(command).splitlines() if line.strip().startswith("--quality")]
            self.assertTrue(quality, command)  # the option's line comes first (the footer may name it too)
            self.assertIn("=balanced", quality[0], command)

    def test_max_retries_is_attempts_minus_one_and_not_both(self):
        out_dir = fresh_dir("retries")
        done = subprocess.run(generate_args(out_dir, "--attempts", "2", "--max-retries", "1"), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 2, done.stderr)  # usage
        self.assertIn("--max-retries", done.stderr)
        self.assertIn("--max-retries", self.help_of("generate"))

    def test_json_result_names_stage_times_timings(self):
        out_dir = fresh_dir("json_names")
        done = subprocess.run(generate_args(out_dir, "--clip", "--steps", "1", "--max-retries", "0", "--json",
                                            "--progress", "none"), capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout)
        self.assertNotIn("seconds", result)
        for stage in ("queued", "loading", "preparing", "sampling", "decoding", "encoding", "total"):
            self.assertIn(stage, result["timings"])
        self.assertEqual(result["attempts"], 1)


def main():
    global TALKGEN, IMAGE, SCRATCH
    parser = argparse.ArgumentParser()
    parser.add_argument("--talkgen", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--scratch", required=True)
    args, rest = parser.parse_known_args()
    TALKGEN, IMAGE, SCRATCH = os.path.abspath(args.talkgen), os.path.abspath(args.image), os.path.abspath(args.scratch)
    os.makedirs(SCRATCH, exist_ok=True)
    speech = os.path.join(SCRATCH, "speech.wav")
    if not os.path.exists(speech):
        partial = "%s.%d.part" % (speech, os.getpid())  # ctest may run several cases at once
        write_speech(partial, SPEECH_SECONDS)
        os.replace(partial, speech)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
