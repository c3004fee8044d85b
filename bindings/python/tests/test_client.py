"""talkgen.Client over the C ABI, on the demo model. Jobs are tiny (1 s of audio, draft, one chunk)."""
import dataclasses
import io
import math
import os
import struct
import tempfile
import threading
import unittest
import wave

import talkgen

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORTRAIT = os.path.join(ROOT, "examples", "portrait.png")


def tone_wav(seconds=1.0, rate=16000):
    """A WAV of a 220 Hz tone, as bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate)))
                               for i in range(int(seconds * rate))))
    return out.getvalue()


TINY = dict(image=PORTRAIT, audio=tone_wav(), quality="draft", mode="clip", preset="ultrafast")


class OptionsTest(unittest.TestCase):
    def test_no_default_is_restated_here(self):
        """None (or an empty collection) everywhere: the library's init_sized writes the defaults (test_api checks
        that a job of defaults runs the library's)."""
        for cls in (talkgen.Job, talkgen.ClientOptions, talkgen.EncodeOptions):
            for f in dataclasses.fields(cls):
                default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                with self.subTest(cls=cls.__name__, field=f.name):
                    self.assertIn(default, (None, (), {}))

    def test_bad_options_raise_their_error_class(self):
        with self.assertRaises(talkgen.InvalidArgumentError) as caught:
            talkgen.Client(model="demo", device="tpu")
        self.assertIn("tpu", str(caught.exception))
        self.assertIsNone(caught.exception.result)
        with self.assertRaises(talkgen.NotFoundError):
            talkgen.Client(model_dir="/nonexistent/talkgen-weights")
        with self.assertRaises(TypeError):
            talkgen.Client(model="demo", no_such_option=1)


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = talkgen.Client(model="demo", device="cpu", max_attempts=1)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def setUp(self):
        self.client.reset_stats()

    def test_pool_is_the_cpu(self):
        pool = self.client.devices
        self.assertEqual(pool.policy, "cpu")
        self.assertFalse(pool.cuda)
        self.assertEqual(pool.devices, ["cpu"])
        self.assertTrue(pool.untrained_model)

    def test_generate_to_bytes_with_progress_and_stats(self):
        seen = []
        result = self.client.generate(progress=seen.append, **TINY)
        self.assertTrue(result.ok)
        self.assertIsNone(result.error_code)
        self.assertRegex(result.job_id, r"^[0-9a-f]{32}$")
        self.assertIsNone(result.output)
        self.assertEqual(result.video[4:8], b"ftyp")
        self.assertEqual(result.frames, 25)
        self.assertAlmostEqual(result.duration_seconds, 1.0)
        self.assertEqual(result.duration, result.duration_seconds)  # the 0.1 name
        self.assertEqual((result.fps, result.chunks, result.seed, result.steps), (25.0, 1, 42, 4))
        self.assertEqual(result.quality, "draft")
        self.assertEqual(result.resolution, "480p")
        self.assertEqual(result.devices, ["cpu"])
        self.assertEqual(result.gpus, 1)
        self.assertTrue(result.untrained_model)
        self.assertIsNone(result.estimated_seconds)  # the planner cannot size the demo model
        self.assertGreater(result.timings.sampling, 0)
        self.assertGreaterEqual(result.timings.total, result.timings.sampling)
        self.assertEqual(result.cost_usd, 0.0)

        self.assertTrue(all(isinstance(p, talkgen.Progress) for p in seen))
        self.assertEqual({p.job_id for p in seen}, {result.job_id})
        self.assertIn("running", [p.state for p in seen])
        self.assertGreaterEqual(sum(p.stage == "sampling" for p in seen), 4)
        self.assertTrue(all(0.0 <= p.fraction <= 1.0 for p in seen))

        stats = self.client.stats()
        self.assertEqual((stats.jobs, stats.succeeded, stats.failed), (1, 1, 0))
        self.assertEqual(stats.success_rate, 1.0)
        self.assertGreater(stats.mean_seconds, 0)
        self.client.reset_stats()
        self.assertEqual(self.client.stats().jobs, 0)

    def test_two_speakers_one_after_another_and_their_boxes(self):
        job = dict(TINY, mode="streaming", audio2=tone_wav(0.6))
        result = self.client.generate(**job)
        self.assertEqual(result.frames, 40)  # 1.0 s then 0.6 s
        boxed = self.client.generate(**dict(job, speaker_timing="together", speaker1_box=(0, 0, 100, 200),
                                            speaker2_box=(100, 0, 200, 200)))
        self.assertEqual(boxed.frames, 25)  # side by side: the longer track
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.generate(**dict(job, speaker1_box=(0, 0, 10, 10)))
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.generate(**dict(job, speaker_timing="interleaved"))

    def test_progress_returning_false_cancels_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            output = os.path.join(d, "never.mp4")
            sampling = []

            def stop_at_first_step(p):
                if p.stage == "sampling" and p.state == "running":
                    sampling.append(p)
                    return False
                return None  # anything but False continues

            with self.assertRaises(talkgen.CancelledError) as caught:
                self.client.generate(progress=stop_at_first_step, output=output, job_id="py-cancel-cb", **TINY)
            self.assertEqual(caught.exception.result.state, "cancelled")
            self.assertEqual(caught.exception.result.job_id, "py-cancel-cb")
            self.assertEqual(len(sampling), 1)
            self.assertEqual(os.listdir(d), [])
        self.assertEqual(self.client.stats().cancelled, 1)

    def test_an_exception_in_the_progress_callback_cancels_and_is_reraised(self):
        def boom(p):
            raise KeyError("from the callback")

        with self.assertRaises(KeyError):
            self.client.generate(progress=boom, **TINY)

    def test_cancel_from_another_thread(self):
        started = threading.Event()
        outcome = {}

        def on_progress(p):
            if p.stage == "sampling":
                started.set()

        def run():
            try:
                self.client.generate(progress=on_progress, job_id="py-cancel-thread", **TINY)
            except talkgen.TalkgenError as e:
                outcome["error"] = e

        worker = threading.Thread(target=run)
        worker.start()
        self.assertTrue(started.wait(120))
        self.assertTrue(self.client.cancel("py-cancel-thread"))
        worker.join(120)
        self.assertIsInstance(outcome.get("error"), talkgen.CancelledError)
        self.assertEqual(outcome["error"].code, "cancelled")
        self.assertFalse(self.client.cancel("py-cancel-thread"))  # finished: nothing to cancel
        self.assertFalse(self.client.cancel("never-submitted"))

    def test_failures_raise_their_error_class_with_the_result(self):
        with self.assertRaises(talkgen.NotFoundError) as caught:
            self.client.generate(**dict(TINY, image="/nonexistent/face.png"))
        self.assertIn("face.png", str(caught.exception))
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.generate(**dict(TINY, quality="ultra"))
        with self.assertRaises(talkgen.UnsupportedError):
            self.client.generate(**dict(TINY, resolution="1080p"))
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.generate(**dict(TINY, gpus=0))  # None means automatic; 0 is a mistake
        with self.assertRaises(TypeError):
            self.client.generate(no_such_field=1, **TINY)

    def test_generate_batch_keeps_input_order_and_isolates_failures(self):
        with tempfile.TemporaryDirectory() as d:
            output = os.path.join(d, "good.mp4")
            with open(PORTRAIT, "rb") as f:
                portrait_bytes = f.read()
            jobs = [talkgen.Job(**dict(TINY, image=portrait_bytes, output=output, job_id="py-good")),
                    dict(TINY, image="/nonexistent/face.png", job_id="py-missing"),
                    dict(TINY, resolution="1080p")]
            results = self.client.generate_batch(jobs)
            self.assertEqual([r.state for r in results], ["succeeded", "failed", "failed"])
            self.assertEqual(results[0].job_id, "py-good")
            self.assertEqual(results[0].output, output)
            self.assertIsNone(results[0].video)
            self.assertGreater(os.path.getsize(output), 1000)
            self.assertEqual(results[1].job_id, "py-missing")
            self.assertEqual(results[1].error_code, "not_found")
            self.assertEqual(results[2].error_code, "unsupported")
            with self.assertRaises(talkgen.UnsupportedError):
                results[2].raise_for_error()
            self.assertIs(results[0].raise_for_error(), results[0])

    def test_duplicate_job_ids_in_a_batch_are_refused(self):
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.generate_batch([dict(TINY, job_id="same"), dict(TINY, job_id="same")])


class CloseTest(unittest.TestCase):
    def test_close_cancels_a_running_job_and_the_client_refuses_more_work(self):
        client = talkgen.Client(model="demo", device="cpu")
        started = threading.Event()
        outcome = {}

        def run():
            try:
                client.generate(progress=lambda p: started.set() if p.stage == "sampling" else None, **TINY)
            except talkgen.TalkgenError as e:
                outcome["error"] = e

        worker = threading.Thread(target=run)
        worker.start()
        self.assertTrue(started.wait(120))
        client.close()
        worker.join(120)
        self.assertIsInstance(outcome.get("error"), talkgen.CancelledError)
        self.assertTrue(client.closed)
        with self.assertRaises(talkgen.InvalidArgumentError):
            client.stats()
        client.close()  # idempotent

    def test_context_manager_closes(self):
        with talkgen.Client(model="demo", device="cpu") as client:
            self.assertEqual(client.stats().jobs, 0)
        self.assertTrue(client.closed)


if __name__ == "__main__":
    unittest.main()
