"""Unknown fields are refused (naming the field and the accepted ones) by talkgen.Client and talkgen.RemoteClient
before any work or request; a voice prompt is "not supported yet"; the accepted sets match their sources."""
import dataclasses
import inspect
import json
import os
import re
import unittest

import talkgen
from talkgen import _fields

from test_client import TINY
from test_remote_safety import RecordingServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORTRAIT = os.path.join(ROOT, "examples", "portrait.png")


def documented_fields():
    """The JSON fields docs/server-api.md gives for POST /v1/jobs and POST /v1/plan."""
    with open(os.path.join(ROOT, "docs", "server-api.md"), encoding="utf-8") as f:
        doc = f.read()
    jobs = re.search(r"### `POST /v1/jobs`.*?```json\n(.*?)```", doc, re.S)
    plan = re.search(r"`POST /v1/plan` `(\{.*?\})`", doc, re.S)
    return set(re.findall(r'^\s*"(\w+)"\s*:', jobs.group(1), re.M)), set(json.loads(plan.group(1)))


class AcceptedSetsTest(unittest.TestCase):
    def test_local_sets_are_the_dataclass_fields(self):
        self.assertEqual(_fields.JOB, {f.name for f in dataclasses.fields(talkgen.Job)})
        self.assertEqual(_fields.CLIENT_OPTIONS, {f.name for f in dataclasses.fields(talkgen.ClientOptions)})

    def test_remote_sets_are_the_documented_server_fields(self):
        jobs, plan = documented_fields()
        self.assertEqual(_fields.SERVER_JOB, jobs - _fields.VOICE_PROMPT)  # the docs may list the prompt as unsupported
        self.assertEqual(_fields.SERVER_PLAN, plan)

    def test_plan_keywords_are_the_documented_ones(self):
        parameters = inspect.signature(talkgen.RemoteClient.plan).parameters
        named = {n for n, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD} - {"self", "duration_sec"}
        self.assertEqual(named, _fields.REMOTE_PLAN_OPTIONS)

    def test_unknown_field_error_is_an_invalid_argument_and_a_type_error(self):
        with self.assertRaises(talkgen.UnknownFieldError) as caught:
            _fields.check("here", {"quality": 1, "qualty": 2}, _fields.JOB)
        e = caught.exception
        self.assertIsInstance(e, talkgen.InvalidArgumentError)
        self.assertIsInstance(e, talkgen.TalkgenError)
        self.assertIsInstance(e, TypeError)
        self.assertIsInstance(e, ValueError)
        self.assertEqual((e.code, e.field), ("invalid_argument", "qualty"))
        self.assertEqual(e.accepted, tuple(sorted(_fields.JOB)))
        self.assertIn("'qualty'", str(e))
        self.assertIn("quality", str(e))


class LocalClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = talkgen.Client(model="demo", device="cpu", max_attempts=1)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_unknown_client_option(self):
        with self.assertRaises(talkgen.UnknownFieldError) as caught:
            talkgen.Client(model="demo", device="cpu", max_atempts=2)
        self.assertEqual(caught.exception.field, "max_atempts")
        self.assertIn("max_attempts", str(caught.exception))
        self.assertIn("max_retries", str(caught.exception))

    def test_unknown_job_field_runs_nothing(self):
        with self.assertRaises(talkgen.UnknownFieldError) as caught:
            self.client.generate(qualty="balanced", **TINY)
        self.assertEqual(caught.exception.field, "qualty")
        self.assertIn("Client.generate", str(caught.exception))
        self.assertIn("negative_prompt", str(caught.exception))  # the accepted names are listed
        with self.assertRaises(talkgen.UnknownFieldError) as caught:
            self.client.generate_batch([TINY, dict(TINY, sed=3)])
        self.assertEqual(caught.exception.field, "sed")
        self.assertIn("job 1", str(caught.exception))
        self.assertEqual(self.client.stats().jobs, 0)  # the good job of the batch did not run either

    def test_voice_prompt_is_not_supported_yet(self):
        for name in sorted(_fields.VOICE_PROMPT):
            with self.subTest(name=name):
                with self.assertRaises(talkgen.UnsupportedError) as caught:
                    self.client.generate(**dict(TINY, audio=None, text="Hello there.", **{name: b"RIFF"}))
                self.assertIn("voice cloning from a voice prompt is not supported yet", str(caught.exception))
                self.assertIn(repr(name), str(caught.exception))
        with self.assertRaises(talkgen.UnsupportedError):
            self.client.generate_batch([dict(TINY, voice_prompt_wav="me.wav")])
        self.assertEqual(self.client.stats().jobs, 0)


class RemoteClientTest(unittest.TestCase):
    """Against a local server that records every request: refusals must come before anything is sent."""

    def setUp(self):
        job = {"id": "0" * 32, "job_id": "k", "state": "queued"}
        self.server = RecordingServer(lambda request: (201, {"Content-Type": "application/json"},
                                                       json.dumps(job).encode()))
        self.client = talkgen.RemoteClient(self.server.url, token="t0ken", max_attempts=1)
        with open(PORTRAIT, "rb") as f:
            self.portrait = f.read()

    def tearDown(self):
        self.server.close()

    def test_a_good_request_reaches_the_server_with_documented_fields_only(self):
        # The control: the recording server does see requests, so "nothing sent" below means something.
        self.client.submit(image=self.portrait, text="Hi.", quality="draft", num_gpus=1, max_duration_sec=2.0)
        self.assertEqual(len(self.server.requests), 1)
        body = json.loads(self.server.requests[0]["body"])
        self.assertLessEqual(set(body), _fields.SERVER_JOB)
        self.assertEqual(body["script_text"], "Hi.")

    def test_unknown_request_field_is_refused_before_sending(self):
        for call in (lambda: self.client.submit(image=self.portrait, text="Hi.", qualty="draft"),
                     lambda: self.client.generate(image=self.portrait, text="Hi.", qualty="draft", download=False),
                     lambda: self.client.generate_batch([dict(image=self.portrait, text="One."),
                                                         dict(image=self.portrait, text="Two.", qualty="draft")])):
            with self.assertRaises(talkgen.UnknownFieldError) as caught:
                call()
            self.assertEqual(caught.exception.field, "qualty")
            self.assertIn("quality", str(caught.exception))
            self.assertIn("ref_image_b64", str(caught.exception))
        with self.assertRaises(talkgen.UnknownFieldError) as caught:
            self.client.plan(20, gpu_typ="H100")
        self.assertIn("gpu_type", str(caught.exception))
        with self.assertRaises(talkgen.UnknownFieldError):
            self.client.recommend_gpu_count(20, budget=1.0)
        with self.assertRaises(talkgen.UnknownFieldError):
            self.client.generate_batch([dict(image=self.portrait, text="One.")], on_progres=print)
        with self.assertRaises(TypeError):  # two names of one field
            self.client.submit(image=self.portrait, text="Hi.", script_text="Hello.")
        self.assertEqual(self.server.requests, [])

    def test_voice_prompt_is_refused_before_sending(self):
        for name in sorted(_fields.VOICE_PROMPT):
            with self.subTest(name=name):
                with self.assertRaises(talkgen.UnsupportedError) as caught:
                    self.client.generate(image=self.portrait, text="Hi.", **{name: "UklGRg=="})
                self.assertIn("voice cloning from a voice prompt is not supported yet", str(caught.exception))
        self.assertEqual(self.server.requests, [])


if __name__ == "__main__":
    unittest.main()
