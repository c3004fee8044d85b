"""The web page in a real browser: Debian's headless Chromium driven by python3-selenium against
`talkgen serve --model demo`. Picks an image and audio, sees the plan, submits a tiny draft job, watches
the progress bar reach 100 %, and checks the finished video loads and plays.

    python3 browser_test.py --talkgen build/talkgen

Exit code 77 (ctest: skipped) only when no Chromium is installed; every other problem fails.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_fixture import PORTRAIT, Server, write_speech_wav  # noqa: E402

SKIP = 77
TALKGEN = None


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def find_chromedriver():
    return shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = find_chromium()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(find_chromedriver()), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(what, predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class WebPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="talkgen-browser-")
        cls.audio = write_speech_wav(os.path.join(cls.tmp, "speech.wav"), seconds=1.5)
        cls.audio2 = write_speech_wav(os.path.join(cls.tmp, "speech2.wav"), seconds=0.5)
        cls.server = Server(TALKGEN).__enter__()
        try:
            cls.driver = make_driver()
        except Exception:
            cls.server.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def el(self, element_id):
        return self.driver.find_element("id", element_id)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def browser_errors(self):
        """Severe console messages (uncaught exceptions, failed loads) — there should be none. API answers
        of 4xx the page handles (the demo server cannot plan for itself: 422) are not errors of the page."""
        return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"
                and not re.search(r"/v1/\S* - Failed to load resource: the server responded with a status of 4\d\d",
                                  e["message"])]

    def test_submit_follow_and_play(self):
        d = self.driver
        d.get(self.server.url + "/")
        self.assertEqual(d.title, "talkgen")
        wait_for("the health badge", lambda: "server ready" in self.el("health").text, 20)
        self.assertIn("cpu", self.el("pool").text, "the page shows the server's devices from /v1/stats")

        # Inputs: the file inputs take local paths; the page reads the audio's length for the plan.
        self.el("image").send_keys(PORTRAIT)
        self.el("audio").send_keys(self.audio)
        self.js("const q = document.getElementById('quality'); q.value = 'draft';"
                "q.dispatchEvent(new Event('change'));")
        wait_for("the audio length", lambda: re.search(r"1\.5 s of speech", self.el("audio-duration").text), 20)

        # The demo server has no GPUs to plan for: the page says so and how to plan for a GPU type...
        wait_for("the plan's answer", lambda: "Plan for" in self.el("plan").text, 20)
        # ...and planning for an H100 shows time and cost before anything is submitted.
        self.js("const s = document.getElementById('plan-gpu'); s.value = 'H100';"
                "s.dispatchEvent(new Event('change'));")
        summary = wait_for("the plan summary", lambda: self.js(
            "const e = document.getElementById('plan-summary'); return e && e.textContent;"), 20)
        self.assertRegex(summary, r"GPUs? on H100: about \d+.*\$\d", summary)

        # Submit and follow the progress bar to 100 %.
        self.assertTrue(self.el("submit").is_enabled())
        self.el("submit").click()
        job_id = wait_for("the job to appear", lambda: self.el("current-id").text.strip(), 30)
        self.assertRegex(job_id, r"^[0-9a-f]{32}$")
        seen = []
        def progressed():
            seen.append(float(self.el("progress").get_attribute("value")))
            state = self.el("current-state").text
            if state in ("failed", "cancelled"):
                raise AssertionError(f"the job {state}: {self.el('current-error').text}\n{self.server.logs()}")
            return state == "succeeded" and seen[-1] >= 100
        wait_for("the progress bar to reach 100% with state succeeded", progressed, 180, interval=0.05)
        self.assertEqual(seen, sorted(seen), "the progress bar never goes back")
        self.assertEqual(self.el("current-percent").text, "100%")
        self.assertGreater(len(set(seen)), 2, f"the bar moved through intermediate values (saw {sorted(set(seen))})")

        # The finished video loads and plays.
        wait_for("the video element", lambda: self.el("video").is_displayed(), 30)
        src = self.el("video").get_attribute("src")
        self.assertTrue(src.endswith(f"/v1/jobs/{job_id}/video"), src)
        ready = wait_for("the video to load (readyState >= 2)", lambda: self.js(
            "const v = document.getElementById('video'); return v.error ? 'error ' + v.error.code :"
            " (v.readyState >= 2 && v.duration > 0 ? v.readyState : 0);"), 60)
        self.assertNotIsInstance(ready, str, f"the video failed to load: {ready}")
        duration = self.js("return document.getElementById('video').duration;")
        self.assertGreater(duration, 0.5, "the video has the length of the speech")
        self.assertLess(duration, 5)
        start = self.js("const v = document.getElementById('video'); v.muted = true; v.play(); return v.currentTime;")
        wait_for("playback to advance", lambda: self.js(
            "return document.getElementById('video').currentTime;") > start + 0.2, 20)
        self.assertEqual(self.js("return document.getElementById('video').error;"), None)

        # The recent-jobs list shows it as succeeded.
        self.el("refresh-jobs").click()
        row = wait_for("the job in the list", lambda: self.js(
            "const r = document.querySelector(`tr[data-job='${arguments[0]}']`); return r && r.textContent;",
            job_id), 20)
        self.assertIn("succeeded", row)
        self.assertIn("100%", row)
        self.assertEqual(self.browser_errors(), [])


    def test_two_speakers(self):
        d = self.driver
        d.get(self.server.url + "/")
        wait_for("the health badge", lambda: "server ready" in self.el("health").text, 20)
        self.el("image").send_keys(PORTRAIT)
        self.el("audio").send_keys(self.audio)
        self.el("audio2").send_keys(self.audio2)
        wait_for("the second speaker's length", lambda: re.search(r"0\.5 s of speech", self.el("audio2-duration").text), 20)
        self.js("const q = document.getElementById('quality'); q.value = 'draft'; q.dispatchEvent(new Event('change'));"
                "const s = document.getElementById('plan-gpu'); s.value = 'H100'; s.dispatchEvent(new Event('change'));")
        # One after the other the video is 1.5 + 0.5 s long; together, the longer track's 1.5 s.
        self.assertAlmostEqual(self.js("return speechSeconds();"), 2.0, delta=0.05)
        self.js("const t = document.getElementById('speaker-timing'); t.value = 'together';"
                "t.dispatchEvent(new Event('change'));")
        self.assertAlmostEqual(self.js("return speechSeconds();"), 1.5, delta=0.05)
        wait_for("the plan summary", lambda: self.js(
            "const e = document.getElementById('plan-summary'); return e && e.textContent;"), 20)
        self.el("submit").click()
        job_id = wait_for("the job to appear", lambda: self.el("current-id").text.strip(), 30)
        job = json.loads(urllib.request.urlopen(f"{self.server.url}/v1/jobs/{job_id}", timeout=10).read())
        self.assertEqual(job["request"]["speakers"], 2)
        self.assertEqual(job["request"]["speaker_timing"], "together")
        wait_for("the job to succeed", lambda: self.el("current-state").text == "succeeded", 180)
        self.assertEqual(self.browser_errors(), [])


class TokenTest(unittest.TestCase):
    """A server with a token: the page opened as /?access_token=T keeps the token for the tab (and drops it
    from the address bar); the token field replaces it; a wrong token shows the 401 hint."""

    def test_token_from_the_link_and_the_field(self):
        token = "s3cret-token-for-test"
        with Server(TALKGEN, token=token) as server:
            driver = make_driver()
            try:
                el = lambda i: driver.find_element("id", i)  # noqa: E731
                driver.get(f"{server.url}/?access_token={token}")
                wait_for("the page", lambda: driver.title == "talkgen", 20)
                self.assertNotIn("access_token", driver.current_url)
                self.assertEqual(driver.execute_script("return sessionStorage.getItem('talkgen.token');"), token)
                wait_for("the devices from /v1/stats", lambda: "cpu" in el("pool").text, 20)
                wait_for("the (empty) jobs list", lambda: "none yet" in el("jobs-body").text, 20)
                self.assertEqual(el("jobs-error").text, "")
                # Without the token the API says 401 and nothing else.
                self.assertEqual(driver.execute_script(
                    "return fetch('/v1/jobs').then(r => r.status + ' ' + r.headers.get('WWW-Authenticate'));"),
                    "401 Bearer")
                # A wrong token in the field: the page says to enter the token.
                el("token").clear()
                el("token").send_keys("wrong")
                el("token-save").click()
                wait_for("the 401 hint", lambda: "token" in el("jobs-error").text, 20)
                # The right one: back to work.
                el("token").clear()
                el("token").send_keys(token)
                el("token-save").click()
                wait_for("the jobs list again", lambda: el("jobs-error").text == "", 20)
                self.assertEqual(driver.execute_script("return sessionStorage.getItem('talkgen.token');"), token)
            finally:
                driver.quit()


def main():
    global TALKGEN
    parser = argparse.ArgumentParser()
    parser.add_argument("--talkgen", required=True, help="the talkgen binary")
    args, rest = parser.parse_known_args()
    TALKGEN = os.path.abspath(args.talkgen)
    if not find_chromium():
        print("SKIPPED: no Chromium installed (apt-get install chromium chromium-driver python3-selenium; "
              "scripts/setup.sh installs them)")
        return SKIP
    if not find_chromedriver():
        print("FAILED: Chromium is installed but chromedriver is not: apt-get install chromium-driver")
        return 1
    try:
        import selenium  # noqa: F401
    except ImportError:
        print(f"FAILED: Chromium is installed but {sys.executable} has no selenium: apt-get install python3-selenium")
        return 1
    result = unittest.main(argv=[sys.argv[0], "-v"] + rest, exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
