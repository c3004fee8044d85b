"""The Python binding over the C ABI (run by ctest: python3 -m unittest discover)."""
import os
import tempfile
import unittest

import talkgen

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORTRAIT = os.path.join(ROOT, "examples", "portrait.png")


class EncodeTest(unittest.TestCase):
    def test_version_matches_the_package(self):
        self.assertRegex(talkgen.version(), r"^\d+\.\d+\.\d+$")
        self.assertIn("torch", talkgen.build_features())

    def test_encode_text_to_bytes_is_an_mp4(self):
        data = talkgen.encode_still(PORTRAIT, text="Hello.")
        self.assertGreater(len(data), 1000)
        self.assertEqual(data[4:8], b"ftyp")

    def test_encode_to_file_writes_it(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "still.mp4")
            self.assertIsNone(talkgen.encode_still(PORTRAIT, out, text="Hi.",
                                                   options=talkgen.EncodeOptions(crf=23, preset="ultrafast")))
            self.assertGreater(os.path.getsize(out), 1000)
            self.assertEqual(os.listdir(d), ["still.mp4"])  # no temp files left

    def test_missing_image_raises_not_found_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "never.mp4")
            with self.assertRaises(talkgen.NotFoundError) as caught:
                talkgen.encode_still(os.path.join(d, "missing.png"), out, text="Hi.")
            self.assertIn("missing.png", str(caught.exception))
            self.assertIsInstance(caught.exception, FileNotFoundError)
            self.assertEqual(os.listdir(d), [])

    def test_needs_exactly_one_speech_source(self):
        with self.assertRaises(ValueError):
            talkgen.encode_still(PORTRAIT, text="a", audio="b.wav")


if __name__ == "__main__":
    unittest.main()
