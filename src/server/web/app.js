// talkgen web page: plan, submit, follow and play jobs of this server's /v1 API (docs/server-api.md).
// Plain browser JavaScript, no build step and no external URLs: every request goes to this origin.
'use strict';

const TOKEN_KEY = 'talkgen.token';     // sessionStorage: gone when the tab closes
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const WORDS_PER_SECOND = 2.5;          // espeak-ng's default 150 words per minute, for plans of typed text

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------------------------------
// HTTP

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function authHeaders(extra) {
  const headers = Object.assign({}, extra || {});
  if (token()) headers.Authorization = `Bearer ${token()}`;
  return headers;
}

/** An API error: the server's JSON {code, message}, or what went wrong on the way. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorFrom(response) {
  let code = 'http_' + response.status, message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    const e = body.error && typeof body.error === 'object' ? body.error : body;
    if (e.code) code = e.code;
    if (e.message) message = e.message;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) message += ' (enter the server\'s token at the top right)';
  return new ApiError(response.status, code, message);
}

async function api(method, path, body) {
  const init = { method, headers: authHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

// ------------------------------------------------------------------------------------------------
// Formatting

function seconds(s) {
  if (s === undefined || s === null || !isFinite(s) || s < 0) return '';
  s = Math.ceil(s);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function usd(x) {
  if (x === undefined || x === null || !isFinite(x)) return '';
  return x < 0.01 && x > 0 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`;
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// The job fields the page reads, whatever optional parts a record lacks.
function jobView(job) {
  const progress = Number(job.progress) || 0;
  return {
    id: job.id,
    state: job.state || 'unknown',
    percent: Math.max(0, Math.min(100, progress * 100)),
    stage: job.stage || '',
    eta: job.eta_seconds,
    error: job.error ? (job.error.message || String(job.error)) : '',
    created: job.created_at,
    duration: job.result && job.result.duration_seconds,
  };
}

// ------------------------------------------------------------------------------------------------
// Server health and token

async function checkHealth() {
  const h = $('health');
  try {
    const r = await fetch('/healthz');
    const body = await r.json().catch(() => ({}));
    h.className = 'health ' + (r.ok ? 'ok' : 'bad');
    h.textContent = r.ok ? 'server ready' : `server ${body.status || r.status}`;
  } catch (e) {
    h.className = 'health bad';
    h.textContent = 'server unreachable';
  }
}

function setupToken() {
  // Opened as /?access_token=T (a server with a token that guards the page too): keep the token for this
  // tab's API calls and take it out of the address bar, history and any copied link.
  const params = new URLSearchParams(location.search);
  if (params.has('access_token')) {
    sessionStorage.setItem(TOKEN_KEY, params.get('access_token'));
    params.delete('access_token');
    history.replaceState(null, '', location.pathname + (params.toString() ? `?${params}` : '') + location.hash);
  }
  $('token').value = token();
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    refreshJobs();
    loadPool();
    updatePlan();
  });
}

// ------------------------------------------------------------------------------------------------
// The form: inputs, speech length, plan

const form = { audioSeconds: null, audio2Seconds: null, planSeq: 0, plan: null };

function speechMode() { return document.querySelector('input[name=speech]:checked').value; }

/** Speech length in seconds: the audio file's duration, or an estimate for typed text; null if unknown. */
function speechSeconds() {
  if (speechMode() === 'audio') {
    // Two speakers: the video holds both tracks, one after the other or side by side.
    if (!form.audioSeconds || !$('audio2').files.length) return form.audioSeconds;
    if (!form.audio2Seconds) return null;
    return $('speaker-timing').value === 'together' ? Math.max(form.audioSeconds, form.audio2Seconds)
                                                     : form.audioSeconds + form.audio2Seconds;
  }
  const words = $('text').value.trim().split(/\s+/).filter(Boolean).length;
  return words ? Math.max(1, words / WORDS_PER_SECOND) : null;
}

function mediaDuration(file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const media = document.createElement('audio');
    media.preload = 'metadata';
    const done = (value) => { URL.revokeObjectURL(url); resolve(value); };
    media.onloadedmetadata = () => done(isFinite(media.duration) ? media.duration : null);
    media.onerror = () => done(null);  // the server decodes it anyway; the plan just waits for it
    media.src = url;
  });
}

function readyToSubmit() {
  const hasImage = $('image').files.length > 0;
  const hasSpeech = speechMode() === 'audio' ? $('audio').files.length > 0 : $('text').value.trim() !== '';
  return hasImage && hasSpeech;
}

function chosenGpus() {
  const v = $('gpus').value;
  return v === 'auto' ? null : Number(v);
}

function renderPlan(plan) {
  const box = $('plan');
  box.replaceChildren();
  box.className = 'plan';
  const options = plan.options || [];
  const want = chosenGpus() || plan.recommended_gpus;
  const chosen = options.find((o) => o.gpus === want);
  const where = plan.gpu_type ? ` on ${plan.gpu_type}` : '';
  if (chosen) {
    box.append(el('div', { class: 'summary', id: 'plan-summary' },
      `${chosen.gpus} GPU${chosen.gpus > 1 ? 's' : ''}${where}: about ${seconds(chosen.seconds)}, ${usd(chosen.cost_usd)}` +
      (plan.calibrated ? '' : ' (uncalibrated estimate)')));
    if (chosen.fits === false || chosen.why_not) box.append(el('div', { class: 'error' }, chosen.why_not || 'does not fit'));
  } else if (want) {
    box.append(el('div', { class: 'error' }, `The plan has no option with ${want} GPUs${where}.`));
  }
  if (typeof plan.recommendation === 'string' && plan.recommendation) {
    box.append(el('div', { class: 'muted' }, plan.recommendation));
  }
  if (options.length) {
    const rows = options.map((o) => el('tr', { class: o.gpus === want ? 'chosen' : '' },
      el('td', {}, o.gpus), el('td', {}, seconds(o.seconds)), el('td', {}, usd(o.cost_usd)),
      el('td', {}, o.fits === false ? 'no' : 'yes'),
      el('td', {}, o.gpus === plan.recommended_gpus ? 'recommended' : (o.why_not || ''))));
    box.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'GPUs'), el('th', {}, 'time'),
      el('th', {}, 'cost'), el('th', {}, 'fits'), el('th', {}, ''))), el('tbody', {}, ...rows)));
  }
}

async function updatePlan() {
  $('submit').disabled = !readyToSubmit();
  const duration = speechSeconds();
  const box = $('plan');
  if (!duration) {
    box.className = 'plan muted';
    box.textContent = 'Pick an image and speech to see the time and cost.';
    return;
  }
  const seq = ++form.planSeq;  // answers to older requests are dropped
  const request = { duration_sec: duration, resolution: $('resolution').value };
  if ($('quality').value) request.quality = $('quality').value;  // none: the server's default profile
  if ($('plan-gpu').value) Object.assign(request, { gpu_type: $('plan-gpu').value, gpus_available: 8 });
  try {
    const plan = await api('POST', '/v1/plan', request);
    if (seq !== form.planSeq) return;
    form.plan = plan;
    renderPlan(plan);
  } catch (e) {
    if (seq !== form.planSeq) return;
    form.plan = null;
    box.className = 'plan error';
    box.textContent = `No plan: ${e.message}` +
      (e.code === 'unsupported' && !$('plan-gpu').value ? ' Pick a GPU type under "Plan for" to see its time and cost.' : '');
  }
}

/** The server's devices (from /v1/stats): the GPU choices, the default quality profile's name, and a note
 * when the model is the demo. */
async function loadPool() {
  try {
    const stats = await api('GET', '/v1/stats');
    const devices = stats.devices || [];
    const select = $('gpus'), current = select.value;
    const counts = [];
    for (let n = 1; n <= devices.length; n++) counts.push(n);
    select.replaceChildren(el('option', { value: 'auto' }, 'auto (the plan\'s choice)'),
      ...counts.map((n) => el('option', { value: String(n) }, String(n))));
    select.value = counts.map(String).includes(current) ? current : 'auto';
    if (stats.default_quality) $('quality-default').textContent = `${stats.default_quality} (the server's default)`;
    $('pool').textContent = devices.length ? `devices: ${devices.join(', ')}` +
      (stats.untrained_model ? ' · demo model (untrained: the video shows noise)' : '') : '';
  } catch (e) {
    $('pool').textContent = '';  // 401 until a token is given; the jobs list says so
  }
}

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(new Error(`cannot read ${file.name}: ${reader.error}`));
    reader.readAsDataURL(file);
  });
}

async function submitJob(ev) {
  ev.preventDefault();
  $('form-error').textContent = '';
  if (!readyToSubmit()) {
    $('form-error').textContent = 'Pick a portrait image and an audio file (or type the text).';
    return;
  }
  $('submit').disabled = true;
  try {
    const request = {
      ref_image_b64: await fileBase64($('image').files[0]),
      resolution: $('resolution').value,
      seed: Number($('seed').value || 42),
    };
    if (speechMode() === 'audio') {
      request.audio_b64 = await fileBase64($('audio').files[0]);
      if ($('audio2').files.length) {
        request.audio2_b64 = await fileBase64($('audio2').files[0]);
        request.speaker_timing = $('speaker-timing').value;
      }
    } else {
      request.script_text = $('text').value.trim();
    }
    if ($('quality').value) request.quality = $('quality').value;  // none: the server's default profile
    if (chosenGpus()) request.num_gpus = chosenGpus();
    if ($('prompt').value.trim()) request.prompt = $('prompt').value.trim();
    const job = await api('POST', '/v1/jobs', request);
    follow(job);
    refreshJobs();
  } catch (e) {
    $('form-error').textContent = e.message;
  } finally {
    $('submit').disabled = !readyToSubmit();
  }
}

function setupForm() {
  $('image').addEventListener('change', () => {
    const preview = $('image-preview');
    if (preview.src) URL.revokeObjectURL(preview.src);
    const f = $('image').files[0];
    preview.classList.toggle('hidden', !f);
    if (f) preview.src = URL.createObjectURL(f);
    updatePlan();
  });
  $('audio').addEventListener('change', async () => {
    const f = $('audio').files[0];
    form.audioSeconds = f ? await mediaDuration(f) : null;
    $('audio-duration').textContent = form.audioSeconds ? `${form.audioSeconds.toFixed(1)} s of speech` : '';
    updatePlan();
  });
  $('audio2').addEventListener('change', async () => {
    const f = $('audio2').files[0];
    form.audio2Seconds = f ? await mediaDuration(f) : null;
    $('audio2-duration').textContent = form.audio2Seconds ? `${form.audio2Seconds.toFixed(1)} s of speech` : '';
    updatePlan();
  });
  $('speaker-timing').addEventListener('change', updatePlan);
  for (const r of document.querySelectorAll('input[name=speech]')) {
    r.addEventListener('change', () => {
      $('audio-field').classList.toggle('hidden', speechMode() !== 'audio');
      $('audio2-field').classList.toggle('hidden', speechMode() !== 'audio');
      $('text-field').classList.toggle('hidden', speechMode() !== 'text');
      updatePlan();
    });
  }
  let typing;
  $('text').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(updatePlan, 400); });
  for (const id of ['quality', 'resolution', 'plan-gpu']) $(id).addEventListener('change', updatePlan);
  $('gpus').addEventListener('change', () => { if (form.plan) renderPlan(form.plan); });
  $('job-form').addEventListener('submit', submitJob);
}

// ------------------------------------------------------------------------------------------------
// The followed job: progress from the event stream, then the video

const current = { id: null, abort: null };

function showProgress(job) {
  const v = jobView(job);
  $('progress').value = v.percent;
  $('current-percent').textContent = `${Math.floor(v.percent)}%`;
  const state = $('current-state');
  state.textContent = v.state;
  state.className = `state state-${v.state}`;
  $('current-stage').textContent = v.stage && v.state === 'running' ? v.stage : '';
  $('current-eta').textContent = v.state === 'running' && v.eta >= 0 && v.eta !== null && v.eta !== undefined
    ? `about ${seconds(v.eta)} left` : '';
  $('current-error').textContent = v.error;
  $('cancel').classList.toggle('hidden', TERMINAL.has(v.state));
}

/**
 * Reads the job's Server-Sent Events with fetch (EventSource cannot send the bearer token) and calls
 * onJob for every event carrying the job. Resolves when the stream ends.
 */
async function readEvents(id, signal, onJob) {
  const response = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`,
    { headers: authHeaders({ Accept: 'text/event-stream' }), signal });
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;  // comments (keep-alives) and events without data
      try { onJob(JSON.parse(data)); } catch (_) { /* a malformed event is skipped, the next one corrects */ }
    }
  }
}

async function follow(job) {
  if (current.abort) current.abort.abort();
  const abort = new AbortController();
  Object.assign(current, { id: job.id, abort });
  $('current').classList.remove('hidden');
  $('current').scrollIntoView({ block: 'nearest' });
  $('current-id').textContent = job.id;
  $('video').classList.add('hidden');
  $('download').classList.add('hidden');
  showProgress(job);
  let last = job;
  const onJob = (event) => {
    if (event.id && event.id !== job.id) return;
    last = Object.assign({}, last, event);
    showProgress(last);
  };
  // The stream may end early (proxy timeouts, server restart): reconnect, falling back to polling.
  while (!abort.signal.aborted && !TERMINAL.has(last.state)) {
    try {
      await readEvents(job.id, abort.signal, onJob);
    } catch (e) {
      if (abort.signal.aborted) return;
      if (e instanceof ApiError && e.status < 500) { $('current-error').textContent = e.message; return; }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (!TERMINAL.has(last.state) && !abort.signal.aborted) {
      try { onJob(await api('GET', `/v1/jobs/${encodeURIComponent(job.id)}`)); } catch (_) { /* retried */ }
    }
  }
  if (abort.signal.aborted) return;
  refreshJobs();
  if (last.state === 'succeeded') playVideo(last);
}

/** Resolves once the video answers (the file can lag the event that said 'succeeded' by a moment: 409). */
async function videoReady(url) {
  for (let attempt = 1; ; attempt++) {
    const r = await fetch(url, { headers: authHeaders({ Range: 'bytes=0-0' }) });
    if (r.ok) return;
    const e = await errorFrom(r);
    if (e.code !== 'not_ready' || attempt >= 10) throw e;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
  }
}

async function playVideo(job) {
  const video = $('video');
  const url = (job.result && job.result.video_url) || `/v1/jobs/${encodeURIComponent(job.id)}/video`;
  try {
    await videoReady(url);
  } catch (e) {
    $('current-error').textContent = `Cannot load the video: ${e.message}`;
    return;
  }
  if (current.id !== job.id) return;  // another job was picked meanwhile
  // <video> cannot send the bearer token: the server takes it as ?access_token= (RFC 6750 2.3) here,
  // which keeps Range requests (seeking, streaming) working.
  video.src = token() ? `${url}?access_token=${encodeURIComponent(token())}` : url;
  $('download').href = video.src;
  $('download').setAttribute('download', `talkgen-${job.id}.mp4`);
  $('download').classList.remove('hidden');
  video.classList.remove('hidden');
  video.load();
}

function setupCurrent() {
  $('video').addEventListener('error', () => {
    const e = $('video').error;
    if ($('video').getAttribute('src')) $('current-error').textContent = `Cannot play the video${e ? ` (${e.message || 'code ' + e.code})` : ''}.`;
  });
  $('cancel').addEventListener('click', async () => {
    if (!current.id) return;
    try { await api('DELETE', `/v1/jobs/${encodeURIComponent(current.id)}`); } catch (e) {
      $('current-error').textContent = e.message;
    }
  });
}

// ------------------------------------------------------------------------------------------------
// Recent jobs

async function refreshJobs() {
  const body = $('jobs-body');
  try {
    const page = await api('GET', '/v1/jobs?limit=20');
    $('jobs-error').textContent = '';
    const jobs = page.jobs || [];
    if (!jobs.length) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'none yet')));
      return;
    }
    body.replaceChildren(...jobs.map((job) => {
      const v = jobView(job);
      const actions = el('td', {});
      if (v.state === 'succeeded') {
        actions.append(el('button', { type: 'button', class: 'secondary', onclick: () => follow(job) }, 'Play'));
      } else if (!TERMINAL.has(v.state)) {
        actions.append(el('button', { type: 'button', class: 'secondary', onclick: () => follow(job) }, 'Watch'));
      }
      return el('tr', { 'data-job': v.id },
        el('td', {}, el('code', {}, v.id.slice(0, 12))),
        el('td', { class: `state state-${v.state}` }, v.state),
        el('td', {}, `${Math.floor(v.percent)}%`),
        el('td', {}, when(v.created)),
        el('td', {}, v.duration ? seconds(v.duration) : ''),
        actions);
    }));
  } catch (e) {
    $('jobs-error').textContent = `Cannot list jobs: ${e.message}`;
  }
}

// ------------------------------------------------------------------------------------------------

setupToken();
setupForm();
setupCurrent();
$('refresh-jobs').addEventListener('click', refreshJobs);
checkHealth();
loadPool();
refreshJobs();
setInterval(() => { if (!document.hidden) refreshJobs(); }, 5000);
