// End-to-end test of the web demo in headless Chromium (playwright-core, system chromium).
//
//   node tests/e2e/e2e.mjs            (after `make web`; run by `make test-web`)
//
// For each mode — WebGPU (--enable-unsafe-webgpu, SwiftShader) and CPU fallback (no flag:
// requestAdapter() returns null) — it serves web/dist on 127.0.0.1, waits for the demo
// model's first automatic result, replaces the pairs with those of expected.json, clicks
// Compare, and checks every per-layer similarity against the native reference's numbers
// (tests/e2e/expected.json, held to the CPU reference by tests/demo_model.rs) within 1e-3.
// It also checks the pooling switch, the error box (404 download, an RWKV-4 file), the URL
// loader's progress and Cache API. Screenshots and a report go to tests/e2e/artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, requests } from './serve.mjs';

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

const extra = (url) => url === '/rwkv4.safetensors'
  ? { status: 200, type: 'application/octet-stream', body: rwkv4File() } : null;

async function waitRuns(page, n, timeout = 120000) {
  await page.waitForFunction((n) => {
    const el = document.getElementById('results-card');
    return el && Number(el.dataset.runs) >= n;
  }, n, { timeout });
}

async function enterPairs(page, pairs) {
  for (const b of await page.$$('.pair-row .remove')) await b.click();
  for (const [a, b] of pairs) {
    await page.click('#add-pair');
    await page.fill('.pair-row:last-child input.sa', a);
    await page.fill('.pair-row:last-child input.sb', b);
  }
}

function compareNumbers(mode, got) {
  let worst = 0;
  EXPECTED.pairs.forEach((_, i) => {
    for (const pooling of ['mean', 'last']) {
      EXPECTED[pooling][i].forEach((want, l) => {
        worst = Math.max(worst, Math.abs(got.pairs[i][pooling][l] - want));
      });
    }
  });
  check(`${mode}: ${EXPECTED.pairs.length} pairs × ${EXPECTED.mean[0].length} layers × 2 poolings equal the native reference within ${TOL}`,
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
  if (mode === 'webgpu') await urlLoad(page, base);
  else await localHfFile(page, mode);
  if (mode === 'fallback') await errorCases(page, base);
  check(`${mode}: no uncaught errors in the console`, consoleErrors.length === 0,
    consoleErrors.join(' | '));
  await browser.close();
  return { mode, engine, engineLine, wallFirstMs: wallFirst, pageFirstMs: pageFirst, maxDiff: worst, numbers: got };
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
    console.log(`${mode}: engine "${r.engine}", page load → first result ${r.pageFirstMs.toFixed(0)} ms (wall ${r.wallFirstMs} ms), max diff ${r.maxDiff.toExponential(2)}`);
  }
  await deviceLimit(base);
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
