"""RemoteClient never hands its bearer token to another origin: redirects between two local servers (another
port of 127.0.0.1 is another origin) record whether Authorization arrived."""
import io
import json
import threading
import unittest
import urllib.request
from unittest import mock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import talkgen
from talkgen import remote

TOKEN = "py-redirect-token-0123456789"
STATS = {"jobs": 0, "succeeded": 0}


class RecordingServer:
    """An HTTP server on 127.0.0.1 (ephemeral port) that records every request (method, path, Authorization, body)
    and answers `answer(request_record) -> (status, headers, body)`."""

    def __init__(self, answer):
        self.requests = []
        records = self.requests

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                record = {"method": self.command, "path": self.path, "authorization": self.headers.get("Authorization"),
                          "body": self.rfile.read(length) if length else b""}
                records.append(record)
                status, headers, body = answer(record)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = do_HEAD = handle_any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def json_answer(payload, status=200):
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def redirect_to(url, status=307):
    return status, {"Location": url}, b""


class RedirectTest(unittest.TestCase):
    def setUp(self):
        self.other = RecordingServer(lambda r: json_answer(STATS))
        self.addCleanup(self.other.close)

    def server_redirecting(self, where):
        """The API server: every request is redirected to where(record) (a URL), except /moved/... answered here."""
        server = RecordingServer(lambda r: json_answer(STATS) if r["path"].startswith("/moved/") else
                                 redirect_to(*where(r)))
        self.addCleanup(server.close)
        return server

    def test_the_setup_sees_a_leak_where_there_is_one(self):
        # urllib's default redirect handler (what RemoteClient used to rely on) copies Authorization to the other
        # host: the servers below would record it, so the "None" the other tests assert is a real observation.
        origin = self.server_redirecting(lambda r: (self.other.url + r["path"],))
        request = urllib.request.Request(origin.url + "/v1/stats", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            self.assertEqual(json.load(response), STATS)
        self.assertEqual(self.other.requests[0]["authorization"], f"Bearer {TOKEN}")

    def test_a_redirect_to_another_origin_is_followed_without_the_token(self):
        for status in (301, 302, 303, 307, 308):
            with self.subTest(status=status):
                origin = self.server_redirecting(lambda r: (self.other.url + r["path"], status))
                self.other.requests.clear()
                client = talkgen.RemoteClient(origin.url, token=TOKEN, max_attempts=1)
                self.assertEqual(client.get_stats(), STATS)
                self.assertEqual([r["authorization"] for r in origin.requests], [f"Bearer {TOKEN}"])
                self.assertEqual([(r["path"], r["authorization"]) for r in self.other.requests], [("/v1/stats", None)])

    def test_a_redirect_within_the_origin_keeps_the_token(self):
        origin = self.server_redirecting(lambda r: ("/moved" + r["path"],))  # relative Location, same origin
        client = talkgen.RemoteClient(origin.url, token=TOKEN, max_attempts=1)
        self.assertEqual(client.get_stats(), STATS)
        self.assertEqual([(r["path"], r["authorization"]) for r in origin.requests],
                         [("/v1/stats", f"Bearer {TOKEN}"), ("/moved/v1/stats", f"Bearer {TOKEN}")])
        self.assertEqual(self.other.requests, [])

    def test_back_to_the_origin_from_another_host_gets_no_token(self):
        # origin -> bounce -> origin: the second Location comes from another host, so the token stays withheld.
        hosts = {}
        bounce = RecordingServer(lambda r: redirect_to(hosts["origin"] + "/moved/v1/stats"))
        self.addCleanup(bounce.close)
        origin = self.server_redirecting(lambda r: (bounce.url + "/bounce",))
        hosts["origin"] = origin.url
        client = talkgen.RemoteClient(origin.url, token=TOKEN, max_attempts=1)
        self.assertEqual(client.get_stats(), STATS)
        self.assertEqual([(r["path"], r["authorization"]) for r in bounce.requests], [("/bounce", None)])
        self.assertEqual([(r["path"], r["authorization"]) for r in origin.requests],
                         [("/v1/stats", f"Bearer {TOKEN}"), ("/moved/v1/stats", None)])

    def test_a_post_is_not_redirected(self):
        # urllib follows redirects for GET and HEAD only: a redirected submit is an error, and nothing (not the
        # token, not the media) reaches the other host.
        origin = self.server_redirecting(lambda r: (self.other.url + r["path"],))
        client = talkgen.RemoteClient(origin.url, token=TOKEN, max_attempts=1)
        with self.assertRaises(talkgen.RemoteError) as caught:
            client.submit(ref_image_b64="aW1n", script_text="Hi.")
        self.assertEqual((caught.exception.code, caught.exception.status), ("http_307", 307))
        self.assertEqual(self.other.requests, [])

    def test_https_to_http_is_refused(self):
        # No TLS server here: the redirect step itself, as urllib calls it for a 302 from an https URL.
        handler = remote._TokenKeepingRedirects()
        request = urllib.request.Request("https://api.example.test/v1/stats")
        request.add_unredirected_header("Authorization", f"Bearer {TOKEN}")
        with self.assertRaises(talkgen.RemoteError) as caught:
            handler.redirect_request(request, io.BytesIO(b""), 302, "Found", {}, "http://api.example.test/v1/stats")
        self.assertEqual((caught.exception.code, caught.exception.status), ("insecure_redirect", 302))
        # https to https on another host: followed, without the token; on the same host and port: with it.
        elsewhere = handler.redirect_request(request, io.BytesIO(b""), 302, "Found", {}, "https://cdn.example.test/x")
        self.assertIsNone(elsewhere.get_header("Authorization"))
        same = handler.redirect_request(request, io.BytesIO(b""), 302, "Found", {}, "https://API.example.test:443/y")
        self.assertEqual(same.get_header("Authorization"), f"Bearer {TOKEN}")

    def test_health_reports_false_for_a_refused_redirect(self):
        with mock.patch.object(remote, "_urlopen", side_effect=remote.RemoteError("insecure_redirect", "x")):
            self.assertFalse(talkgen.RemoteClient("https://api.example.test").health())


if __name__ == "__main__":
    unittest.main()
