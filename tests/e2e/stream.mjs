// Streaming load of a ~170M-shaped checkpoint (issue #13): C=768, 12 layers, vocabulary
// 50277, f16 (262 MB), written once by `rwkv-lens random-model` (the command in
// stream-expected.json) into .cache/e2e-stream/ with its .pth (pth.mjs) and a
// tokenizer.json of 50277 entries (tiny_bpe.json padded with entries no merge produces:
// same token ids), then reused.
//
// WebGPU (SwiftShader), page on 127.0.0.1 (Cache API: each URL is downloaded into it once,
// then read by Blob slices): the .pth at stored f16, the safetensors at int8 and at NF4,
// each against the native CPU reference at that format (stream-expected.json, held by
// tests/it/stream_model.rs); a Cancel during the streaming load; the wasm high-water mark.
// CPU fallback, page on an insecure origin (no Cache API): the safetensors read by HTTP
// range requests while the engine is built, its numbers, its high-water mark; a server
// that ignores Range is downloaded whole into a Blob instead.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, requests } from './serve.mjs';
import { readSafetensors, writePth } from './pth.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CACHE = path.join(ROOT, '.cache/e2e-stream');
const WANT = JSON.parse(fs.readFileSync(path.join(HERE, 'stream-expected.json'), 'utf8'));
/** |page − native| per weight format: the GPU and wasm sum in other orders than the
 *  native reference over 12 layers (measured worst 7.7e-8 on SwiftShader and wasm: docs/web.md). */
const TOL = { stored: 1e-4, int8: 1e-4, nf4: 1e-4 };
const MB = 1 << 20;
/** The largest tensor (emb.weight, 50277 × 768 f16) and the f32 weights of the CPU engine. */
const EMB = 50277 * 768 * 2;
const CPU_F32 = 131_900_000 * 4;
/** wasm high-water bounds. GPU, after the streaming load (before any Compare on it): the
 *  page's base state and the demo model within 64 MiB, the host-side embedding the engine
 *  keeps and one tensor in flight (at most the embedding) — under the 262 MB file, which
 *  the page no longer holds (measured 158 MiB). CPU, after load and Compare: the
 *  reference's f32 weights, the embedding in flight as f16 and f32, and 96 MiB for the
 *  base state, the demo model and the Compare (measured 673 MiB). */
/** After load, Compare and a trace of the last block beside the GPU engine (the int8 load
 *  while the f16 engine is held): two embeddings and one in flight, one block's f32
 *  weights (≈ 8 M parameters) and 96 MiB (measured 135 MiB after load + Compare + trace
 *  of block 1; before the trace read one block at a time, 714 MiB: all 528 MB as f32). */
const BLOCK_F32 = 8_100_000 * 4;
const BOUND = { webgpu: 2 * EMB + 64 * MB, fallback: CPU_F32 + 3 * EMB + 96 * MB, traced: 3 * EMB + BLOCK_F32 + 96 * MB };

/** Runs `command` (`rwkv-lens random-model …`) with `LENS` or a debug `cargo run`, writing
 *  `out` atomically (a temporary file, then rename). */
export function randomModel(command, out) {
  const args = [...command.split(' ').slice(1), '-o', `${out}.tmp`];
  const [cmd, pre] = process.env.LENS ? [process.env.LENS, []] : ['cargo', ['run', '--quiet', '--bin', 'rwkv-lens', '--']];
  execFileSync(cmd, [...pre, ...args], { cwd: ROOT, stdio: 'inherit' });
  fs.renameSync(`${out}.tmp`, out);
}

/** Writes the checkpoint (safetensors and .pth) and the tokenizer once; a stamp holds the command. */
export function files() {
  const stamp = path.join(CACHE, 'command.txt');
  const out = { st: path.join(CACHE, 'model.safetensors'), pth: path.join(CACHE, 'model.pth'), tok: path.join(CACHE, 'tokenizer.json') };
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === WANT.command) return out;
  fs.mkdirSync(CACHE, { recursive: true });
  randomModel(WANT.command, out.st);
  fs.writeFileSync(`${out.pth}.tmp`, writePth(readSafetensors(fs.readFileSync(out.st))));
  fs.renameSync(`${out.pth}.tmp`, out.pth);
  const tok = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/tokenizer/tiny_bpe.json'), 'utf8'));
  const n = Object.keys(tok.model.vocab).length;
  for (let i = n; i < 50277; i++) tok.model.vocab[`<pad${i}>`] = i;
  fs.writeFileSync(out.tok, JSON.stringify(tok));
  fs.writeFileSync(stamp, WANT.command);
  return out;
}

/** The page's numbers against the native reference at one format; the worst |diff|. */
function compare(got, want) {
  let worst = 0;
  for (const pooling of ['mean', 'last']) {
    want[pooling].forEach((row, i) => row.forEach((w, l) => { worst = Math.max(worst, Math.abs(got.pairs[i][pooling][l] - w)); }));
  }
  return worst;
}

/** Loads `url` at `weights` and runs the pairs (one click); milliseconds taken. */
async function load(page, url, weights) {
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', url);
  await page.fill('#tokenizer-url', '');
  // "GPU weights" is hidden on the CPU fallback, which keeps f32 weights
  if (await page.isVisible('#weights')) await page.selectOption('#weights', weights);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  const t = Date.now();
  await page.click('#load');
  await h.waitRuns(page, runs + 1, 300000);
  return Date.now() - t;
}

let h = null;

async function launch(flags, base) {
  const browser = await chromium.launch({ executablePath: h.chromium, headless: true, args: [...h.flags, ...flags] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  await page.goto(base);
  await h.waitRuns(page, 1);
  await h.enterPairs(page, WANT.pairs);
  return { browser, page };
}

/** Checks one format's numbers (the page's last Compare) against the native reference. */
async function numbers(page, mode, file, weights, shown, ms, report) {
  const got = JSON.parse(await page.getAttribute('#results-card', 'data-json'));
  const engine = await page.textContent('#engine-name');
  const worst = compare(got, WANT.formats[weights]);
  const engineOk = mode === 'fallback' ? /^CPU/.test(engine) : new RegExp(`^WebGPU.*${shown} weights`).test(engine);
  h.check(`${mode}: the 170M-shaped ${file} streamed at ${shown}: ${WANT.pairs.length} pairs × 13 layers × 2 poolings equal the native reference at ${weights} within ${TOL[weights]}`,
    worst < TOL[weights] && engineOk, `(max |diff| = ${worst}; ${engine})`);
  report.push({ mode, file, weights, maxDiff: worst, loadAndCompareMs: ms });
}

/** WebGPU: the high-water mark of a streaming load (no Compare yet: the GPU engine's
 *  Compare needs wasm memory of its own, docs/web.md), the three formats, Cancel. */
async function webgpu(base, report) {
  const { browser, page } = await launch(['--enable-unsafe-webgpu'], base);
  for (const b of await page.$$('.pair-row .remove')) await b.click();
  const before = await page.getAttribute('#model-card', 'data-wasm-bytes');
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', `${base}stream/model.pth`);
  await page.selectOption('#weights', 'stored');
  await page.click('#load');
  await page.waitForFunction((b) => document.getElementById('model-card').dataset.wasmBytes !== b, before, { timeout: 300000 });
  await highWater(page, 'webgpu', report);
  await h.enterPairs(page, WANT.pairs);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#compare');
  await h.waitRuns(page, runs + 1, 300000);
  await numbers(page, 'webgpu', 'model.pth', 'stored', 'f16', null, report);
  for (const weights of ['int8', 'nf4']) {
    await page.evaluate(() => delete document.getElementById('recurrence-card').dataset.wasmBytes);
    const ms = await load(page, `${base}stream/model.safetensors`, weights);
    await numbers(page, 'webgpu', 'model.safetensors', weights, weights, ms, report);
    if (weights === 'int8') await traced(page, report);
  }
  await page.fill('#model-url', `${base}stream/model.safetensors`);
  await page.selectOption('#weights', 'stored');
  await page.click('#load');
  await page.waitForFunction(() => /loading tensor ([3-9]\d|\d{3})/.test(document.getElementById('progress-text').textContent), null, { timeout: 120000 });
  await page.click('#cancel');
  const e = await h.waitError(page, /cancelled/);
  h.check('webgpu: Cancel stops a streaming load with a one-line message', e.trim() === 'loading cancelled', JSON.stringify(e));
  report.push({ mode: 'webgpu', wasmBytesAfterCompares: Number(await page.getAttribute('#model-card', 'data-wasm-bytes')) });
  await browser.close();
}

/** CPU fallback on an insecure origin (no Cache API): range requests; a server without Range. */
async function fallback(port, report) {
  const base = `http://stream.test:${port}/`;
  const { browser, page } = await launch([`--host-resolver-rules=MAP stream.test 127.0.0.1`], base);
  const hasCache = await page.evaluate(() => typeof caches !== 'undefined');
  const before = requests.length;
  const ms = await load(page, `${base}stream/model.safetensors`, 'stored');
  await numbers(page, 'fallback', 'model.safetensors', 'stored', 'f16', ms, report);
  const served = requests.slice(before).filter((r) => r.url === '/stream/model.safetensors');
  h.check('fallback: without a Cache API the tensors are read by range requests, never the whole file',
    !hasCache && served.length > 12 * 20 && served.every((r) => r.range), `cache=${hasCache} requests=${served.length} whole=${served.filter((r) => !r.range).length}`);
  await highWater(page, 'fallback', report);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.fill('#model-url', `${base}norange/rwkv6-demo.safetensors`);
  await page.click('#load');
  await h.waitRuns(page, runs + 1, 120000);
  const info = await page.textContent('#model-info');
  h.check('fallback: a server that ignores Range is downloaded whole into a Blob, then loads', /4 layers, C=128/.test(info), info);
  await page.fill('#model-url', `${base}flaky/rwkv6-demo.safetensors`);
  await page.click('#load');
  const e = await h.waitError(page, /does not serve byte ranges/);
  h.check('fallback: a server that stops answering range requests mid-load is one line naming the URL and the bytes',
    /^http:\/\/stream\.test:\d+\/flaky\/rwkv6-demo\.safetensors: the server answered HTTP 200 instead of 206 to a range request for bytes \d+\.\.\d+: it does not serve byte ranges$/.test(e.trim()), JSON.stringify(e));
  await browser.close();
}

/** The Recurrence view beside the GPU engine after load and Compare: block 1 (traced by
 *  the click), then the last block (all 12 read in turn); the worker's wasm memory after. */
async function traced(page, report) {
  const done = () => page.waitForFunction(() => document.getElementById('recurrence-card').dataset.wasmBytes, null, { timeout: 300000 });
  await done();
  await page.evaluate(() => delete document.getElementById('recurrence-card').dataset.wasmBytes);
  const t = Date.now();
  await page.selectOption('#rec-layer', '12');
  await done();
  const ms = Date.now() - t;
  const bytes = Number(await page.getAttribute('#recurrence-card', 'data-wasm-bytes'));
  const tokens = Number(await page.getAttribute('#recurrence-card', 'data-tokens'));
  h.check(`webgpu: load + Compare + Recurrence trace of block 12 on the 170M shape: wasm high-water ${(bytes / MB).toFixed(0)} MiB stays under ${(BOUND.traced / MB).toFixed(0)} MiB (one block's f32 weights, not the model's 528 MB)`,
    tokens > 0 && bytes > 0 && bytes < BOUND.traced, `${bytes} (tokens ${tokens})`);
  report.push({ mode: 'webgpu', wasmAfterTraceBytes: bytes, boundBytes: BOUND.traced, traceBlock12Ms: ms });
}

async function highWater(page, mode, report) {
  const bytes = Number(await page.getAttribute('#model-card', 'data-wasm-bytes'));
  h.check(`${mode}: wasm memory high-water ${(bytes / MB).toFixed(0)} MiB after the streaming load stays under ${(BOUND[mode] / MB).toFixed(0)} MiB (the file is 262 MB)`,
    bytes > 0 && bytes < BOUND[mode], `${bytes}`);
  report.push({ mode, wasmHighWaterBytes: bytes, boundBytes: BOUND[mode] });
}

/** Runs the streaming checks. `helpers`: {check, waitRuns, enterPairs, waitError, chromium
 *  (its path), flags, dist}; returns what it measured (for the report). */
export async function streamChecks(helpers) {
  h = helpers;
  const f = files();
  // the flaky server answers the header's range requests (preview, probe, header), then 200
  let flaky = 0;
  const demo = path.join(h.dist, 'demo-model/rwkv6-demo.safetensors');
  const routes = (url) => {
    if (url === '/flaky/rwkv6-demo.safetensors') return { file: demo, ranges: ++flaky <= 5 };
    return {
      '/stream/model.safetensors': { file: f.st }, '/stream/model.pth': { file: f.pth },
      '/stream/tokenizer.json': { file: f.tok }, '/norange/rwkv6-demo.safetensors': { file: demo, ranges: false },
    }[url] || null;
  };
  const server = await serve(h.dist, 0, routes);
  const port = server.address().port;
  const report = [];
  try {
    await webgpu(`http://127.0.0.1:${port}/`, report);
    await fallback(port, report);
  } finally {
    server.close();
  }
  return report;
}
