'use strict';
// A real `talkgen serve --model demo --port 0` for the tests (the talkgen binary: TALKGEN_CLI, which CTest sets,
// else build/talkgen of the source tree), and speech to send it.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const root = path.join(__dirname, '..', '..', '..', '..');

function talkgenBinary() {
  const candidates = [];
  if (process.env.TALKGEN_CLI) candidates.push(process.env.TALKGEN_CLI);
  candidates.push(path.join(root, 'build', 'talkgen'));
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`no talkgen binary (tried ${candidates.join(', ')}): build talkgen_cli or set TALKGEN_CLI`);
  return found;
}

/** A 16 kHz mono WAV of `seconds` of a voiced-like tone. */
function speechWav(seconds) {
  const rate = 16000, n = Math.round(seconds * rate);
  const data = Buffer.alloc(44 + n * 2);
  data.write('RIFF', 0); data.writeUInt32LE(36 + n * 2, 4); data.write('WAVE', 8);
  data.write('fmt ', 12); data.writeUInt32LE(16, 16); data.writeUInt16LE(1, 20); data.writeUInt16LE(1, 22);
  data.writeUInt32LE(rate, 24); data.writeUInt32LE(rate * 2, 28); data.writeUInt16LE(2, 32); data.writeUInt16LE(16, 34);
  data.write('data', 36); data.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const x = (0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t)) * (Math.sin(2 * Math.PI * 140 * t) + Math.sin(2 * Math.PI * 280 * t) / 2);
    data.writeInt16LE(Math.round(8000 * x), 44 + i * 2);
  }
  return data;
}

async function startServer({ token } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-remote-'));
  const args = ['serve', '--model', 'demo', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(dir, 'data')];
  if (token) {
    fs.writeFileSync(path.join(dir, 'token'), token + '\n', { mode: 0o600 });
    args.push('--token-file', path.join(dir, 'token'));
  }
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(talkgenBinary(), args, { stdio: ['ignore', 'pipe', log] });
  const lines = readline.createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('talkgen serve did not report listening within 120 s: ' +
      fs.readFileSync(path.join(dir, 'server.log'), 'utf8'))), 120000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`talkgen serve exited with ${code}: ` +
      fs.readFileSync(path.join(dir, 'server.log'), 'utf8'))); });
    lines.once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line).url); });
  });
  child.removeAllListeners('exit');
  lines.on('line', () => {});  // keep draining stdout
  return {
    url,
    logs: () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
        await exited;
        clearTimeout(timer);
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { speechWav, startServer };
