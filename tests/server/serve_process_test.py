#!/usr/bin/env python3
"""`talkgen serve` as a process: port 0 + the listening line, token auth (and the warning about a token
file others can read), the non-loopback refusal and --insecure-no-token, SIGKILL with queued jobs then
restart (all finish, nothing runs twice), SIGTERM drain (exit 0).

Standard library only. Usage: serve_process_test.py --talkgen build/talkgen --scratch DIR
"""
import argparse
import base64
import json
import math
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

ARGS = None
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def speech_wav(seconds=1.0, rate=16000):
    """16-bit mono WAV of a syllable-rhythm tone."""
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        t = i / rate
        v = 0.4 * math.sin(2 * math.pi * 180 * t) * (0.5 + 0.5 * math.sin(2 * math.pi * 4 * t))
        frames += struct.pack('<h', int(v * 32767))
    header = b'RIFF' + struct.pack('<I', 36 + len(frames)) + b'WAVE'
    header += b'fmt ' + struct.pack('<IHHIIHH', 16, 1, 1, rate, rate * 2, 2, 16)
    header += b'data' + struct.pack('<I', len(frames))
    return header + bytes(frames)


PORTRAIT = open(os.path.join(SOURCE_DIR, 'examples', 'portrait.png'), 'rb').read()
WAV = speech_wav()


def job_body(job_id=None, seed=1):
    body = {'ref_image_b64': base64.b64encode(PORTRAIT).decode(), 'audio_b64': base64.b64encode(WAV).decode(),
            'quality': 'draft', 'seed': seed}
    if job_id:
        body['job_id'] = job_id
    return body


class Serve:
    """One `talkgen serve` process on an ephemeral port."""

    def __init__(self, data_dir, *extra, token=None, token_mode=0o600):
        self.token = token
        self.log_path = data_dir + '.log'
        cmd = [ARGS.talkgen, 'serve', '--model', 'demo', '--device', 'cpu', '--port', '0', '--data-dir', data_dir,
               '--test-tiny-jobs', *extra]
        if token:
            token_file = os.path.join(data_dir, '..', os.path.basename(data_dir) + '.token')
            with open(token_file, 'w') as f:
                f.write(token + '\n')
            os.chmod(token_file, token_mode)
            cmd += ['--token-file', token_file]
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if not line:
            raise AssertionError('serve exited before listening (see %s.log)' % data_dir)
        listening = json.loads(line)
        assert listening['event'] == 'listening', line
        self.port = listening['port']
        self.url = listening['url']

    def request(self, method, path, body=None, token=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        token = token if token is not None else self.token
        if token:
            req.add_header('Authorization', 'Bearer ' + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if r.headers.get_content_type() == 'application/json' else raw)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def wait_finished(self, job_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, job = self.request('GET', '/v1/jobs/' + job_id)
            assert status == 200, job
            if job['state'] in ('succeeded', 'failed', 'cancelled'):
                return job
            time.sleep(0.1)
        raise AssertionError('job %s did not finish in %d s' % (job_id, timeout))

    def logs(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def close(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()


def fresh(name):
    path = os.path.join(ARGS.scratch, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


class ServeProcessTest(unittest.TestCase):
    def test_listening_line_and_token(self):
        server = Serve(fresh('auth'), token='process-token-0123456789')
        try:
            self.assertGreater(server.port, 0)
            status, body = server.request('GET', '/healthz', token='')
            self.assertEqual((status, body), (200, {'status': 'ok'}))
            status, body = server.request('GET', '/v1/jobs', token='')
            self.assertEqual(status, 401)
            self.assertEqual(body['code'], 'unauthorized')
            status, body = server.request('GET', '/v1/jobs', token='wrong-token-0123456789')
            self.assertEqual(status, 401)
            status, body = server.request('GET', '/v1/jobs')
            self.assertEqual(status, 200)
            self.assertEqual(body['total'], 0)
        finally:
            self.assertEqual(server.close(), 0)
        self.assertNotIn('chmod 600', server.logs())  # a 0600 token file is fine

    def test_warns_about_a_token_file_others_can_read(self):
        server = Serve(fresh('auth_shared'), token='process-token-0123456789', token_mode=0o644)
        try:
            self.assertEqual(server.request('GET', '/v1/jobs')[0], 200)  # it still starts
        finally:
            self.assertEqual(server.close(), 0)
        self.assertIn('chmod 600', server.logs())

    def test_refuses_open_address_without_token(self):
        r = subprocess.run([ARGS.talkgen, 'serve', '--model', 'demo', '--host', '0.0.0.0', '--port', '0',
                            '--data-dir', fresh('open')], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 11)  # invalid_argument
        self.assertIn(b'--token-file', r.stderr)
        self.assertIn(b'--insecure-no-token', r.stderr)
        self.assertEqual(r.stdout, b'')

    def test_insecure_no_token_starts_with_a_warning(self):
        data = fresh('insecure')
        server = Serve(data, '--host', '0.0.0.0', '--insecure-no-token')
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/healthz' % server.port, timeout=30) as r:
                self.assertEqual(r.status, 200)
        finally:
            self.assertEqual(server.close(), 0)
        self.assertIn('WITHOUT A TOKEN', server.logs())

    def test_sigkill_with_queued_jobs_then_restart(self):
        data = fresh('kill')
        server = Serve(data)
        ids = []
        for i in range(3):
            status, job = server.request('POST', '/v1/jobs', job_body('kill-%d' % i, seed=i))
            self.assertEqual(status, 201, job)
            ids.append(job['id'])
        server.close(signal.SIGKILL)  # no chance to clean up: at most the first job has started
        with sqlite3.connect(os.path.join(data, 'jobs.db')) as db:
            states = dict(db.execute('SELECT id, state FROM jobs').fetchall())
        self.assertEqual(set(states), set(ids))
        self.assertTrue(all(s in ('queued', 'running') for s in states.values()), states)

        server = Serve(data)
        try:
            for job_id in ids:
                job = server.wait_finished(job_id)
                self.assertEqual(job['state'], 'succeeded', job)
                status, video = server.request('GET', '/v1/jobs/%s/video' % job_id)
                self.assertEqual(status, 200)
                self.assertEqual(video[4:8], b'ftyp')
            # A client retrying its submit after the crash gets the same job back, not a new run.
            status, job = server.request('POST', '/v1/jobs', job_body('kill-0', seed=0))
            self.assertEqual((status, job['id']), (200, ids[0]))
            status, stats = server.request('GET', '/v1/stats')
            self.assertEqual(stats['jobs'], 3)  # each ran to the end once in this process
        finally:
            self.assertEqual(server.close(), 0)
        # Finished videos are still served after yet another restart.
        server = Serve(data)
        try:
            status, _ = server.request('GET', '/v1/jobs/%s/video' % ids[2])
            self.assertEqual(status, 200)
        finally:
            server.close()

    def test_sigterm_drains(self):
        data = fresh('term')
        server = Serve(data, '--drain-timeout', '120')
        status, job = server.request('POST', '/v1/jobs', job_body('term-1'))
        self.assertEqual(status, 201)
        status, queued = server.request('POST', '/v1/jobs', job_body('term-2', seed=2))
        self.assertEqual(status, 201)
        deadline = time.time() + 60
        while server.request('GET', '/v1/jobs/' + job['id'])[1]['state'] != 'running' and time.time() < deadline:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        # Once /healthz says draining, new jobs are refused. (If the running job was quicker than this
        # loop, the server has already exited: nothing more to check here.)
        try:
            while server.request('GET', '/healthz', timeout=10)[0] != 503:
                time.sleep(0.005)
            status, body = server.request('POST', '/v1/jobs', job_body('term-3'), timeout=10)
            self.assertEqual((status, body['code']), (503, 'draining'))
        except (urllib.error.URLError, ConnectionError):
            pass
        self.assertEqual(server.close(timeout=120), 0)
        with sqlite3.connect(os.path.join(data, 'jobs.db')) as db:
            states = dict(db.execute('SELECT client_key, state FROM jobs').fetchall())
        self.assertEqual(states['term-1'], 'succeeded')
        self.assertIn(states['term-2'], ('queued', 'succeeded'))
        self.assertNotIn('term-3', states)


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--talkgen', required=True)
    parser.add_argument('--scratch', required=True)
    ARGS, rest = parser.parse_known_args()
    os.makedirs(ARGS.scratch, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
