// The page on the random 1.6B shape (Finch 1B6: 24 layers, C=2048, vocabulary 65536, f16,
// 2.9 GB). Opt-in, not part of `make test`:
//
//   make measure-web-big                       (after `make web`; WEIGHTS=int8,stored for both)
//
// Writes the checkpoint once into .cache/big/ (`rwkv-lens random-model --layers 24 --embd
// 2048 --vocab 65536 --dtype f16 --seed 1606`; BIG_MODEL=FILE uses another), serves
// web/dist and it on 127.0.0.1 and, per weight format, in a fresh headless Chromium on
// SwiftShader WebGPU: loads it by URL (download into the Cache API, then the streaming
// load; a profile on disk, for the Cache API's quota), compares one short pair, traces the Recurrence view's block 1 and then block 24.
// Prints the time of each step and the worker's wasm memory after it (the high-water mark:
// `data-wasm-bytes` on #model-card after the load, on #recurrence-card after a trace) and
// writes them to tests/e2e/artifacts/big.json. docs/web.md has the figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { waitRuns, enterPairs } from './page.mjs';
import { randomModel } from './stream.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const DIST = process.env.DIST || path.join(ROOT, 'web/dist');
const ART = process.env.ARTIFACTS || path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const COMMAND = 'rwkv-lens random-model --layers 24 --embd 2048 --vocab 65536 --dtype f16 --seed 1606';
const WEIGHTS = (process.env.WEIGHTS || 'int8').split(',');
/** Each step may take this long (a 2-core machine: the download alone is minutes). */
const STEP_MS = Number(process.env.BIG_STEP_MS || 30 * 60 * 1000);
const MB = 1 << 20;
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];

/** The checkpoint: BIG_MODEL, or written once into .cache/big/ (a stamp holds the command). */
function model() {
  if (process.env.BIG_MODEL) return process.env.BIG_MODEL;
  const dir = path.join(ROOT, '.cache/big');
  const out = path.join(dir, 'finch-1b6-shape.safetensors');
  const stamp = path.join(dir, 'command.txt');
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === COMMAND) return out;
  fs.mkdirSync(dir, { recursive: true });
  randomModel(COMMAND, out);
  fs.writeFileSync(stamp, COMMAND);
  return out;
}

/** Waits until `selector`'s `data-{key}` is set and differs from `before`, or the error box
 *  shows; the new value (an error throws with the page's line). */
async function waitAttr(page, selector, key, before) {
  await page.waitForFunction(([sel, k, b]) => {
    const v = document.querySelector(sel).dataset[k];
    return (v && v !== b) || !document.getElementById('error').hidden;
  }, [selector, key, before], { timeout: STEP_MS });
  if (!(await page.isHidden('#error'))) throw new Error(`the page: ${await page.textContent('#error')}`);
  return page.$eval(selector, (el, k) => el.dataset[k], key);
}

/** One format in a fresh browser: load, Compare, trace block 1, trace block 24. */
async function measure(base, weights) {
  // a profile on disk, so that the figures are the cached path's: an in-memory context's
  // Cache API quota refuses the 2.9 GB download (the page then reads it by range requests)
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rwkv-lens-big-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1100, height: 1400 } });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    await waitRuns(page, 1);
    await enterPairs(page, [['the cat sat on the mat', 'a cat was sitting on the mat']]);
    await page.check('input[name=source][value=url]');
    await page.fill('#model-url', `${base}big/model.safetensors`);
    await page.selectOption('#weights', weights);
    const before = await page.getAttribute('#model-card', 'data-wasm-bytes');
    await page.evaluate(() => delete document.getElementById('recurrence-card').dataset.wasmBytes);
    const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
    const steps = [];
    let t = Date.now();
    const step = (name, bytes) => {
      const now = Date.now();
      steps.push({ step: name, ms: now - t, wasmBytes: bytes === null ? null : Number(bytes) });
      console.log(`${weights}: ${name} in ${((now - t) / 1000).toFixed(0)} s${bytes === null ? '' : `, worker wasm memory ${(Number(bytes) / MB).toFixed(0)} MiB`}`);
      t = now;
    };
    await page.click('#load');
    step('download + streaming load', await waitAttr(page, '#model-card', 'wasmBytes', before));
    await waitRuns(page, runs + 1, STEP_MS);
    step('Compare (1 pair)', null);
    const cosines = JSON.parse(await page.getAttribute('#results-card', 'data-json')).pairs[0].mean;
    step('Recurrence trace, block 1', await waitAttr(page, '#recurrence-card', 'wasmBytes', undefined));
    await page.evaluate(() => delete document.getElementById('recurrence-card').dataset.wasmBytes);
    await page.selectOption('#rec-layer', '24');
    step('Recurrence trace, block 24', await waitAttr(page, '#recurrence-card', 'wasmBytes', undefined));
    const engine = await page.textContent('#engine-name');
    return { weights, engine, steps, meanCosines: cosines };
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const file = model();
console.log(`${file}: ${(fs.statSync(file).size / 1e9).toFixed(2)} GB`);
const routes = (url) => (url === '/big/model.safetensors' ? { file } : null);
const server = await serve(DIST, 0, routes);
const base = `http://127.0.0.1:${server.address().port}/`;
const report = [];
let failed = false;
try {
  for (const w of WEIGHTS) report.push(await measure(base, w));
} catch (e) {
  failed = true;
  console.log(`FAIL ${e.message}`);
} finally {
  server.close();
}
fs.mkdirSync(ART, { recursive: true });
fs.writeFileSync(path.join(ART, 'big.json'), JSON.stringify(report, null, 2) + '\n');
process.exit(failed ? 1 : 0);
