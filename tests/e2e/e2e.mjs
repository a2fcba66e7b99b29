// End-to-end test of the web demo in headless Chromium (playwright-core, system chromium).
//
//   node tests/e2e/e2e.mjs            (after `make web`; run by `make test-web`)
//
// For each mode — WebGPU (--enable-unsafe-webgpu, SwiftShader) and CPU fallback (no flag:
// requestAdapter() returns null) — it serves web/dist on 127.0.0.1, waits for the demo
// model's first automatic result, replaces the pairs with those of expected.json, clicks
// Compare, and checks every per-layer similarity against the native reference's numbers
// (tests/e2e/expected.json, held to the CPU reference by tests/it/demo_model.rs) within 1e-3.
// It also checks the pooling switch, the error box (404 download, an RWKV-4 file, a truncated
// .pth), the demo model as an official .pth (tests/e2e/pth.mjs writes it), the URL
// loader's progress and Cache API, that clicks are handled within 100 ms during a long
// Compare (the Web Worker runs it), Cancel, a worker that cannot start, (panic.mjs) a worker
// panic between requests, (speed.mjs) the GPU
// kernels forced on SwiftShader and the fallback's speed, (stream.mjs) a ~170M-shaped
// checkpoint streamed tensor by tensor at f16, int8 and NF4, and (attention.mjs) two models side
// by side with the attention-vs-recurrence view, (hostile.mjs) markup in a model's metadata
// and tokens, refused address schemes and malformed server replies. Screenshots
// and a report go to tests/e2e/artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, requests } from './serve.mjs';
import { readSafetensors, writePth } from './pth.mjs';
import { streamChecks } from './stream.mjs';
import { attentionModels } from './attention.mjs';
import { workerPanic } from './panic.mjs';
import { cacheQuota } from './quota.mjs';
import { hostile, hostileRoute } from './hostile.mjs';
import { waitRuns, enterPairs } from './page.mjs';
import { LONG, compareSpeed, forcedKernels } from './speed.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const DIST = process.env.DIST || path.join(ROOT, 'web/dist');
const ART = process.env.ARTIFACTS || path.join(HERE, 'artifacts');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(HERE, 'expected.json'), 'utf8'));
const TOL = 1e-3;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BASE_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); } else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

/** A safetensors file with one RWKV-4 key: the page must refuse it in one line. */
function rwkv4File() {
  let json = JSON.stringify({ 'blocks.0.att.time_mix_k': { dtype: 'F32', shape: [4], data_offsets: [0, 16] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), Buffer.alloc(16)]);
}

/** The demo model with Hugging Face names (same bytes, renamed header), as a local file. */
function hfCopy(src, dst) {
  const b = fs.readFileSync(src);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString());
  const hf = (name) => {
    if (name === '__metadata__' || name === 'head.weight') return name;
    const s = name.replace('blocks.0.ln0.', 'blocks.0.pre_ln.').replace('.att.', '.attention.').replace('.ffn.', '.feed_forward.');
    return s.startsWith('emb.') ? `rwkv.embeddings.${s.slice(4)}` : `rwkv.${s}`;
  };
  let json = JSON.stringify(Object.fromEntries(Object.entries(header).map(([k, v]) => [hf(k), v])));
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(dst, Buffer.concat([len, Buffer.from(json), b.subarray(8 + n)]));
}

/** Loads the HF-named copy through <input type=file> and checks the numbers again. */
async function localHfFile(page, mode) {
  const file = path.join(ART, 'demo-hf-layout.safetensors');
  hfCopy(path.join(DIST, 'demo-model/rwkv6-demo.safetensors'), file);
  await page.setInputFiles('#model-file', file);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load'); // loads, then compares: one click
  await waitRuns(page, runs + 1);
  const info = await page.textContent('#model-info');
  check(`${mode}: a local file in the Hugging Face layout loads and runs in one click`,
    /Hugging Face names/.test(info) && /4 layers, C=128/.test(info), info);
  compareNumbers(`${mode} (HF-layout file)`, JSON.parse(await page.getAttribute('#results-card', 'data-json')));
}

/** The demo model as an official `.pth` (written by pth.mjs; torch.load reads it the same). */
let demoPthBytes = null;
function demoPth() {
  demoPthBytes ??= writePth(readSafetensors(fs.readFileSync(path.join(DIST, 'demo-model/rwkv6-demo.safetensors'))));
  return demoPthBytes;
}

/** The demo model as a `.pth`: by URL (webgpu) or local file (fallback); same numbers. */
async function pthLoad(page, mode, base) {
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  if (mode === 'webgpu') {
    await page.check('input[name=source][value=url]');
    await page.fill('#model-url', `${base}demo.pth`);
  } else {
    const file = path.join(ART, 'demo.pth');
    fs.writeFileSync(file, demoPth());
    await page.setInputFiles('#model-file', file);
  }
  await page.click('#load');
  await waitRuns(page, runs + 1);
  const info = await page.textContent('#model-info');
  check(`${mode}: an official-layout .pth (${mode === 'webgpu' ? 'URL' : 'local file'}) is read from its blob and runs`,
    /demo\.pth/.test(info) && /4 layers, C=128/.test(info), info);
  compareNumbers(`${mode} (.pth)`, JSON.parse(await page.getAttribute('#results-card', 'data-json')));
}

const FIXTURES = path.join(ROOT, 'tests/fixtures');

/** A WordLevel tokenizer.json with `n` tokens (more than the tiny model's 512 rows). */
function bigTokenizer(n) {
  const vocab = Object.fromEntries(Array.from({ length: n }, (_, i) => [`w${i}`, i]));
  return JSON.stringify({ version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: 'w0' } });
}

async function waitError(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('error').textContent), re.source, { timeout: 60000 });
  return page.textContent('#error');
}

/** The small random checkpoint (vocabulary 512, tests/fixtures/tiny-v6) with its own
 *  tokenizer.json (CPU path): refused without a tokenizer and with one that does not fit;
 *  then f32 safetensors + tokenizer.json as local files, and the bf16 .pth by URL with the
 *  tokenizer.json found next to it; both against the native reference. */
async function tinyModel(page, base) {
  const T = EXPECTED.tiny;
  await enterPairs(page, T.pairs);
  await page.setInputFiles('#model-file', path.join(FIXTURES, 'tiny-v6/model.safetensors'));
  await page.click('#load');
  const eWorld = await waitError(page, /vocabulary of 512 is not the World/);
  check('a non-World vocabulary without a tokenizer.json is refused in one line',
    /give its tokenizer\.json/.test(eWorld) && !/\n/.test(eWorld), JSON.stringify(eWorld));
  const big = path.join(ART, 'big-tokenizer.json');
  fs.writeFileSync(big, bigTokenizer(600));
  await page.setInputFiles('#tokenizer-file', big);
  await page.click('#load');
  const eBig = await waitError(page, /big-tokenizer\.json/);
  check('a tokenizer that does not fit the model is refused in one line',
    /^big-tokenizer\.json: the tokenizer has 600 tokens but the model's vocabulary only 512/.test(eBig), JSON.stringify(eBig));
  await page.setInputFiles('#tokenizer-file', path.join(FIXTURES, 'tokenizer/tiny_bpe.json'));
  let runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load');
  await waitRuns(page, runs + 1);
  const tokName = await page.textContent('#tokenizer-name');
  check('the page uses the given tokenizer.json', /tiny_bpe\.json/.test(tokName), tokName);
  compareNumbers('fallback (tiny f32 safetensors + tokenizer.json)',
    JSON.parse(await page.getAttribute('#results-card', 'data-json')), { pairs: T.pairs, ...T.safetensors });
  await page.setInputFiles('#tokenizer-file', []);
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', `${base}tiny/model.pth`);
  runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load');
  await waitRuns(page, runs + 1);
  const tokUrl = await page.textContent('#tokenizer-name');
  check('the tokenizer.json next to a model URL is found', /tiny\/tokenizer\.json/.test(tokUrl), tokUrl);
  compareNumbers('fallback (tiny bf16 .pth by URL + tokenizer.json next to it)',
    JSON.parse(await page.getAttribute('#results-card', 'data-json')), { pairs: T.pairs, ...T.pth });
}

/** The page stays responsive during a long Compare (100 long pairs): the worker runs it,
 *  so clicks on "Add pair" are handled at once. Each click's wait is measured in the page
 *  from the input event's timestamp to its handler (performance.now()), as is the wait of a
 *  task posted with setTimeout. Then Cancel stops the Compare with a one-line message. */
async function responsiveness(page, mode) {
  await enterPairs(page, Array.from({ length: 100 }, () => [LONG, LONG]));
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.evaluate(() => {
    window.clickLagMs = [];
    document.getElementById('add-pair').addEventListener('click', (e) => window.clickLagMs.push(performance.now() - e.timeStamp));
  });
  await page.click('#compare');
  await page.waitForFunction(() => /running pair [2-9]/.test(document.getElementById('run-status').textContent), null, { timeout: 120000 });
  const CLICKS = 5;
  for (let i = 0; i < CLICKS; i++) {
    // each click adds a row above the button: find it again, then a real mouse click
    const button = page.locator('#add-pair');
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await new Promise((r) => setTimeout(r, 150));
  }
  await page.waitForFunction((n) => window.clickLagMs.length >= n, CLICKS, { timeout: 60000 });
  const clickLagMs = await page.evaluate(() => window.clickLagMs);
  const taskLagMs = await page.evaluate(() => new Promise((res) => {
    const t0 = performance.now(); setTimeout(() => res(performance.now() - t0), 0);
  }));
  const running = await page.evaluate((n) => !document.getElementById('cancel').hidden
    && Number(document.getElementById('results-card').dataset.runs) === n, runs);
  const status = await page.textContent('#run-status');
  const worst = Math.max(...clickLagMs);
  check(`${mode}: during a long Compare (${status.trim()}) ${CLICKS} clicks on Add pair are handled within 100 ms`,
    running && worst < 100, `running=${running} waits=${clickLagMs.map((v) => v.toFixed(1)).join(',')} ms`);
  await page.click('#cancel');
  const e = await waitError(page, /cancelled/);
  check(`${mode}: Cancel stops a long Compare with a one-line message`, e.trim() === 'Compare cancelled', JSON.stringify(e));
  await enterPairs(page, EXPECTED.pairs);
  return { clickLagMs, taskLagMs, status: status.trim() };
}

const extra = (url) => {
  const file = { '/tiny/model.pth': 'tiny-v6/model.pth', '/tiny/tokenizer.json': 'tokenizer/tiny_bpe.json' }[url];
  if (file) return { status: 200, type: 'application/octet-stream', body: fs.readFileSync(path.join(FIXTURES, file)) };
  if (url.startsWith('/no-worker/')) {
    const rest = url.slice('/no-worker/'.length) || 'index.html';
    const file = path.join(DIST, rest);
    if (rest === 'worker.js' || !fs.existsSync(file)) return { status: 404, type: 'text/plain', body: Buffer.from('not found') };
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' }[path.extname(file)];
    return { status: 200, type: type || 'application/octet-stream', body: fs.readFileSync(file) };
  }
  const h = hostileRoute(url, DIST);
  if (h) return h;
  if (url === '/rwkv4.safetensors') return { status: 200, type: 'application/octet-stream', body: rwkv4File() };
  if (url === '/demo.pth') return { status: 200, type: 'application/octet-stream', body: demoPth() };
  return null;
};

/** `want`: {pairs, mean, last} from expected.json (the native CPU reference). */
function compareNumbers(mode, got, want = EXPECTED) {
  let worst = 0;
  want.pairs.forEach((_, i) => {
    for (const pooling of ['mean', 'last']) {
      want[pooling][i].forEach((w, l) => {
        worst = Math.max(worst, Math.abs(got.pairs[i][pooling][l] - w));
      });
    }
  });
  check(`${mode}: ${want.pairs.length} pairs × ${want.mean[0].length} layers × 2 poolings equal the native reference within ${TOL}`,
    worst < TOL, `(max |diff| = ${worst})`);
  return worst;
}

async function errorCases(page, base) {
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', `${base}missing.safetensors`);
  await page.click('#load');
  await page.waitForSelector('#error:not([hidden])', { timeout: 30000 });
  const e404 = await page.textContent('#error');
  check('failed download shows a one-line error', /HTTP 404/.test(e404), JSON.stringify(e404));
  await page.fill('#model-url', `${base}rwkv4.safetensors`);
  await page.click('#load');
  await page.waitForFunction(() => /RWKV-4/.test(document.getElementById('error').textContent), null, { timeout: 30000 });
  check('an RWKV-4 checkpoint is refused by name', true);
  const truncated = path.join(ART, 'truncated.pth');
  fs.writeFileSync(truncated, demoPth().subarray(0, demoPth().length >> 1));
  await page.setInputFiles('#model-file', truncated);
  await page.click('#load');
  await page.waitForFunction(() => /truncated\.pth/.test(document.getElementById('error').textContent), null, { timeout: 30000 });
  const eTrunc = await page.textContent('#error');
  check('a truncated .pth is refused in one line', !/\n/.test(eTrunc)
    && /^truncated\.pth: not a valid zip archive: no end-of-central-directory record/.test(eTrunc), JSON.stringify(eTrunc));
}

async function urlLoad(page, base) {
  const url = `${base}demo-model/rwkv6-demo.safetensors`;
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', url);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load');
  await waitRuns(page, runs + 1);
  const cached = await page.evaluate(async (u) => !!(await (await caches.open('rwkv-lens-models')).match(u)), url);
  check('URL download is stored in the Cache API', cached);
  const ranges = requests.filter((r) => r.url === '/demo-model/rwkv6-demo.safetensors' && r.range).map((r) => r.range);
  check('URL header is previewed with range requests before the download',
    ranges[0] === 'bytes=0-7' && /^bytes=8-\d+$/.test(ranges[1] || ''), JSON.stringify(ranges));
  const info = await page.textContent('#model-info');
  check('the card shows the downloaded model and its size', /18\.3 MB/.test(info) && /4 layers/.test(info), info);
  await cachedList(page, url);
}

/** The demo model reloaded with int8 weights quantized while loading: the card gives the
 *  GPU weight bytes of every format before the load, the engine says int8, and the
 *  numbers still equal the native reference (the demo's hand-written projections survive
 *  int8 exactly: docs/quantization.md). */
async function quantizedLoad(page, mode) {
  await enterPairs(page, EXPECTED.pairs);
  await page.check('input[name=source][value=demo]');
  await page.selectOption('#weights', 'int8');
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load');
  await waitRuns(page, runs + 1);
  const info = await page.textContent('#model-info');
  check(`${mode}: the card shows the GPU weights at f16, int8 and nf4 before loading`,
    /GPU weights/.test(info) && /f16 ≈ [\d.]+ MB · int8 ≈ [\d.]+ MB · nf4 ≈ [\d.]+ MB/.test(info), info);
  const engine = await page.textContent('#engine-name');
  check(`${mode}: "GPU weights: int8" runs the int8 kernels`, /int8 weights, [\d.]+ MB on the GPU/.test(engine), engine);
  compareNumbers(`${mode} (int8 weights)`, JSON.parse(await page.getAttribute('#results-card', 'data-json')));
  await page.selectOption('#weights', 'stored');
}

/** The preset list: real RWKV-6 checkpoints with download size and memory; on the CPU
 *  fallback Finch 1B6 is disabled with the reason; picking one fills the URLs. */
async function presetList(page, mode, base) {
  const opts = await page.$$eval('#preset option', (os) => os.map((o) => ({ text: o.textContent, disabled: o.disabled })));
  const pile = opts.find((o) => /Pile 173M/.test(o.text)), finch = opts.find((o) => /Finch 1B6/.test(o.text));
  check(`${mode}: the preset list shows real checkpoints with download size and memory`,
    pile && finch && !pile.disabled && /MB download · ~[\d.]+ MB wasm memory/.test(pile.text), JSON.stringify(opts));
  if (mode === 'fallback') {
    check('fallback: a preset over the memory budget is disabled with the reason',
      finch.disabled && /unavailable here: loading needs about [\d.]+ GB of wasm memory on the CPU path/.test(finch.text), finch.text);
  }
  await page.selectOption('#preset', { index: opts.indexOf(pile) });
  const urls = [await page.inputValue('#model-url'), await page.inputValue('#tokenizer-url')];
  check(`${mode}: picking a preset fills the model and tokenizer URLs`,
    /rwkv-x060-173m-pile.*\.pth$/.test(urls[0]) && /gpt-neox-20b.*tokenizer\.json$/.test(urls[1]), JSON.stringify(urls));
  // a load that fails (here: a preset URL that is not there) leaves the demo model running,
  // and the source radio says so again
  await page.fill('#model-url', `${base}missing-preset.pth`);
  await page.fill('#tokenizer-url', '');
  await page.click('#load');
  await waitError(page, /missing-preset\.pth/);
  const source = await page.$eval('input[name=source]:checked', (r) => r.value);
  check(`${mode}: after a failed load the source radio returns to the model still running`, source === 'demo', source);
  await page.fill('#model-url', '');
  await page.fill('#tokenizer-url', '');
  await page.check('input[name=source][value=demo]');
}

/** The cached-models list shows the download with its size; Delete removes it. */
async function cachedList(page, url) {
  await page.click('#cached-box summary');
  await page.waitForFunction((u) => [...document.querySelectorAll('#cached li')].some((li) => li.textContent.includes(u)), url, { timeout: 30000 });
  const item = await page.$$eval('#cached li', (lis, u) => lis.find((li) => li.textContent.includes(u))?.textContent, url);
  check('the cached-models list shows the download and its size', /18\.3 MB/.test(item), item);
  await page.click(`#cached button[data-delete="${url}"]`);
  await page.waitForFunction((u) => ![...document.querySelectorAll('#cached li')].some((li) => li.textContent.includes(u)), url, { timeout: 30000 });
  const still = await page.evaluate(async (u) => !!(await (await caches.open('rwkv-lens-models')).match(u)), url);
  check('Delete removes the model from the Cache API', !still);
}

/** The Recurrence view: trace expected.json's sentence, step with Next and the slider,
 *  compare one state cell with the native trace, run the check; screenshots (fallback). */
async function recurrence(page, mode) {
  const R = EXPECTED.recurrence;
  await page.fill('#rec-sentence', R.sentence);
  await page.selectOption('#rec-layer', String(R.layer));
  await page.selectOption('#rec-head', String(R.head));
  await page.click('#rec-run');
  await page.waitForFunction((n) => document.getElementById('recurrence-card').dataset.tokens === String(n)
    && document.getElementById('recurrence-card').dataset.step === '0', R.tokens, { timeout: 60000 });
  const card = await page.$('#recurrence-card');
  const attr = async (k) => page.getAttribute('#recurrence-card', `data-${k}`);
  check(`${mode}: recurrence probe cell is ${R.cell}`, (await attr('cell')) === R.cell.join(','), await attr('cell'));
  const names = ['step1', 'step3', 'steplast'];
  for (const [i, [t, want]] of R.steps.entries()) {
    if (t === R.tokens - 1) {
      await page.evaluate((t) => {
        const s = document.getElementById('rec-slider');
        s.value = String(t); s.dispatchEvent(new Event('input'));
      }, t);
    } else {
      while (Number(await attr('step')) < t) await page.click('#rec-next');
    }
    const step = Number(await attr('step'));
    const got = Number(await attr('state-after'));
    check(`${mode}: recurrence step ${t}: S_t${JSON.stringify(R.cell)} equals the native trace within 1e-4`,
      step === t && Math.abs(got - want) < 1e-4, `step=${step} got=${got} want=${want}`);
    if (mode === 'fallback') await card.screenshot({ path: path.join(ART, `recurrence-${names[i]}.png`) });
  }
  await page.click('#rec-check');
  const diff = Number(await attr('max-diff'));
  const shown = await page.textContent('#rec-check-result');
  check(`${mode}: recurrence Check shows recurrent vs chunked max diff < 1e-4`,
    diff < 1e-4 && /max \|difference\|/.test(shown), `${diff} ${shown}`);
  const eqs = await page.$$eval('#rec-equations li', (l) => l.length);
  check(`${mode}: equations panel lists the equations with their source lines`, eqs >= 10, `${eqs}`);
  // Hover values: every drawn heatmap cell carries a <title>; the half-life bands over time
  // have one column per token and count every key channel of each token once.
  const hover = await page.evaluate(() => ['rec-before', 'rec-after', 'rec-write', 'rec-mix', 'rec-half-life-time']
    .map((id) => { const r = [...document.querySelectorAll(`#${id} svg rect`)];
      // the background's title covers the white cells (the demo's mixes are all zero)
      return r.length > 0 && r.every((x) => x.querySelector('title')); }));
  check(`${mode}: every heatmap cell shows its value on hover`, hover.every(Boolean), JSON.stringify(hover));
  const bands = await page.evaluate(() => {
    const svg = document.querySelector('#rec-half-life-time svg');
    const cols = Number(svg.getAttribute('viewBox').split(' ')[2]);
    const per = new Array(cols).fill(0);
    for (const t of svg.querySelectorAll('rect title')) {
      const m = /^token (\d+): (\d+) channel/.exec(t.textContent);
      if (m) per[Number(m[1]) - 1] += Number(m[2]);
    }
    return { cols, per };
  });
  check(`${mode}: half-life bands over time: ${R.tokens} token columns, each counting the head's channels`,
    bands.cols === R.tokens && bands.per.every((n) => n === bands.per[0] && n > 0), JSON.stringify(bands));
}

async function run(mode, base) {
  // playwright gives every launch a fresh temporary profile (no --user-data-dir).
  const flags = [...BASE_FLAGS];
  if (mode === 'webgpu') flags.push('--enable-unsafe-webgpu');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: flags });
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  // Errors the page shows in its error box are also logged; only uncaught exceptions and
  // panics ("internal error") count as failures.
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && /internal error|panicked/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const t0 = Date.now();
  await page.goto(base);
  try {
    await waitRuns(page, 1);
  } catch (e) {
    console.log(`${mode}: page error box: ${await page.textContent('#error')}; console: ${consoleErrors.join(' | ')}`);
    await page.screenshot({ path: path.join(ART, `failed-${mode}.png`), fullPage: true });
    throw e;
  }
  const wallFirst = Date.now() - t0;
  const pageFirst = Number(await page.textContent('#first-result'));
  const engineLine = await page.textContent('#engine-line');
  const engine = await page.textContent('#engine-name');
  if (mode === 'webgpu') check('webgpu: the page found a WebGPU adapter and runs the GPU engine on it',
    /WebGPU adapter/.test(engineLine) && /^WebGPU/.test(engine), engineLine);
  else check('fallback: the page says WebGPU is missing and runs on the CPU', /No WebGPU/.test(engineLine) && /CPU/.test(engine), engineLine);

  await enterPairs(page, EXPECTED.pairs);
  await page.selectOption('#pooling', 'mean');
  await page.click('#compare');
  await waitRuns(page, 2);
  const got = JSON.parse(await page.getAttribute('#results-card', 'data-json'));
  const worst = compareNumbers(mode, got);
  check(`${mode}: GloVe reference values present`, got.pairs.every((p) => typeof p.glove === 'number'));
  const firstCell = Number(await page.textContent('#results tbody tr:first-child td.num'));
  check(`${mode}: table shows layer 0 (mean)`, Math.abs(firstCell - EXPECTED.mean[0][0]) < 1e-4, `${firstCell}`);
  await page.screenshot({ path: path.join(ART, `compare-${mode}.png`), fullPage: true });

  await page.selectOption('#pooling', 'last');
  const lastCell = Number(await page.textContent('#results tbody tr:nth-child(2) td.num:nth-of-type(5)'));
  const runs = await page.getAttribute('#results-card', 'data-runs');
  check(`${mode}: pooling switch re-renders without rerunning`,
    runs === '2' && Math.abs(lastCell - EXPECTED.last[1][0]) < 1e-4, `runs=${runs} cell=${lastCell}`);

  await page.selectOption('#pooling', 'mean');
  await recurrence(page, mode);
  await presetList(page, mode, base);
  const speed = mode === 'fallback' ? await compareSpeed(page, check) : null;
  if (mode === 'webgpu') await forcedKernels(browser, base, { check, compareNumbers });
  const responsive = await responsiveness(page, mode);
  if (mode === 'webgpu') await quantizedLoad(page, mode);
  if (mode === 'webgpu') await urlLoad(page, base);
  else await localHfFile(page, mode);
  await pthLoad(page, mode, base);
  if (mode === 'fallback') await errorCases(page, base);
  if (mode === 'fallback') await tinyModel(page, base);
  if (mode === 'fallback') await hostile(page, base, { check, waitError, waitRuns, enterPairs, art: ART, dist: DIST });
  const attentionTimes = await attentionModels(browser, mode, base, { check, enterPairs, waitRuns, dist: DIST, art: ART });
  // wasm memory only grows: its size after every load of this run is the high-water mark
  const wasmHigh = await page.getAttribute('#model-card', 'data-wasm-bytes');
  check(`${mode}: no uncaught errors in the console`, consoleErrors.length === 0,
    consoleErrors.join(' | '));
  await browser.close();
  return { mode, engine, engineLine, wallFirstMs: wallFirst, pageFirstMs: pageFirst, maxDiff: worst, responsive, speed, wasmBytes: Number(wasmHigh), numbers: got, attention: attentionTimes };
}

/** With a forced 256-byte storage-binding limit the demo model must be refused by tensor name. */
async function deviceLimit(base) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, '--enable-unsafe-webgpu'] });
  const page = await browser.newPage();
  await page.goto(`${base}?binding_limit=256`);
  await page.waitForSelector('#error:not([hidden])', { timeout: 60000 });
  const msg = await page.textContent('#error');
  check('a tensor above the device limits is refused by name',
    /tensor `blocks\.0\.[a-z_.]+`: one row is \d+ bytes as f32, above this device's storage-binding limit of 256 bytes/.test(msg), JSON.stringify(msg));
  await page.screenshot({ path: path.join(ART, 'error-device-limit.png') });
  await browser.close();
}

/** A worker whose script does not load (the page served under /no-worker/, where
 *  worker.js is a 404): one line in the error box. */
async function workerFails(base) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_FLAGS });
  const page = await browser.newPage();
  await page.goto(`${base}no-worker/`);
  const msg = await waitError(page, /worker failed/);
  check('a worker that cannot start is reported in one line',
    msg.trim() === 'the worker failed: its script (worker.js or the wasm) did not load', JSON.stringify(msg));
  await browser.close();
}

fs.mkdirSync(ART, { recursive: true });
const wasm = fs.readdirSync(DIST).filter((f) => f.endsWith('.wasm'));
if (wasm.length !== 1) { console.log(`FAIL expected one .wasm in ${DIST}, found ${wasm}`); process.exit(1); }
const wasmBytes = fs.statSync(path.join(DIST, wasm[0])).size;
const server = await serve(DIST, 0, extra);
const base = `http://127.0.0.1:${server.address().port}/`;
const report = { wasm: wasm[0], wasmBytes, runs: [] };
try {
  for (const mode of ['webgpu', 'fallback']) {
    const r = await run(mode, base);
    report.runs.push(r);
    console.log(`${mode}: engine "${r.engine}", page load → first result ${r.pageFirstMs.toFixed(0)} ms (wall ${r.wallFirstMs} ms), max diff ${r.maxDiff.toExponential(2)}, wasm memory high-water ${(r.wasmBytes / 1e6).toFixed(1)} MB`);
    const rs = r.responsive;
    console.log(`${mode}: during a long Compare (${rs.status}) click waits ${rs.clickLagMs.map((v) => v.toFixed(1)).join(', ')} ms, a setTimeout(0) task waited ${rs.taskLagMs.toFixed(1)} ms`);
    if (r.attention) console.log(`${mode}: page load → first two-model result (demo RWKV + MiniLM f16, ${(r.attention.minilmBytes / 1e6).toFixed(1)} MB) ${r.attention.pageFirstDuoMs.toFixed(0)} ms (wall ${r.attention.wallFirstDuoMs} ms), worker wasm memory then ${(r.attention.wasmBytes / 1e6).toFixed(1)} MB`);
    if (r.speed) console.log(`${mode}: Compare speed on the demo model: ${r.speed.pairs} pairs, ${r.speed.tokens} tokens in ${r.speed.ms.toFixed(0)} ms = ${r.speed.msPerPair.toFixed(0)} ms/pair, ${r.speed.tokensPerS.toFixed(0)} tokens/s`);
  }
  await deviceLimit(base);
  await workerFails(base);
  await workerPanic({ check, waitError, chromium: CHROMIUM, flags: BASE_FLAGS }, base);
  await cacheQuota({ check, waitError, chromium: CHROMIUM, flags: BASE_FLAGS, dist: DIST });
  report.stream = await streamChecks({ check, waitRuns, enterPairs, waitError, chromium: CHROMIUM, flags: BASE_FLAGS, dist: DIST });
} catch (e) {
  failed++;
  console.log(`FAIL ${e.message}`);
} finally {
  server.close();
}
console.log(`wasm ${wasm[0]}: ${(wasmBytes / 1e6).toFixed(2)} MB; screenshots in ${path.relative(ROOT, ART)}/`);
fs.writeFileSync(path.join(ART, 'report.json'), JSON.stringify(report, null, 2) + '\n');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
