// Speed and GPU-kernel checks of the page (imported by e2e.mjs), and the CPU fallback's
// speed of two builds side by side:
//
//   node tests/e2e/speed.mjs OLD_DIST NEW_DIST [ROUNDS]
//
// alternates the two builds (old, new, old, new, …; ROUNDS pairs, default 3), each time in a
// fresh headless Chromium without WebGPU, and prints the fallback's Compare speed (the
// e2e report's `speed.tokensPerS`) with the load average at each run. Never asserts speed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { waitRuns, enterPairs } from './page.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED = JSON.parse(fs.readFileSync(path.join(HERE, 'expected.json'), 'utf8'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

export const LONG = 'the quick brown fox jumps over the lazy dog and then it ran on '.repeat(30).trim();

/** The CPU fallback's Compare speed on the demo model: four pairs of long sentences run
 *  to the end; tokens per second and ms per pair from the page's own timing. */
export async function compareSpeed(page, check) {
  await enterPairs(page, Array.from({ length: 4 }, () => [LONG, LONG]));
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#compare');
  await waitRuns(page, runs + 1, 300000);
  const c = JSON.parse(await page.getAttribute('#results-card', 'data-json'));
  const tokens = c.pairs.reduce((n, p) => n + p.tokens[0] + p.tokens[1], 0);
  const speed = { pairs: c.pairs.length, tokens, ms: c.millis, msPerPair: c.millis / c.pairs.length, tokensPerS: tokens / (c.millis / 1000) };
  check('fallback: a Compare of 4 long pairs on the demo model finishes (speed recorded)',
    c.pairs.length === 4 && tokens > 1000 && speed.tokensPerS > 0, JSON.stringify(speed));
  return speed;
}

/** The kernels built for GPUs, forced on SwiftShader (a CPU adapter, where the engine would
 *  pick the register-blocked matmul and the serial WKV): `?matmul=tiled&wkv_chunk=L`, the
 *  demo model's numbers against the native reference, for a chunk length that splits the
 *  sentences into many chunks and one longer than them. `browser`: the WebGPU run's (each
 *  page in its own context: a page opened by `browser.newPage()` owns its context). */
export async function forcedKernels(browser, base, { check, compareNumbers }) {
  for (const chunk of [3, 64]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}?matmul=tiled&wkv_chunk=${chunk}`);
    await waitRuns(page, 1);
    const engine = await page.textContent('#engine-name');
    check(`webgpu: ?matmul=tiled&wkv_chunk=${chunk} runs the tiled matmul and the chunked WKV`,
      new RegExp(`matmul tiled, WKV chunked \\(L=${chunk}\\)`).test(engine), engine);
    await enterPairs(page, EXPECTED.pairs);
    await page.selectOption('#pooling', 'mean');
    await page.click('#compare');
    await waitRuns(page, 2);
    compareNumbers(`webgpu (tiled matmul, chunked WKV L=${chunk})`,
      JSON.parse(await page.getAttribute('#results-card', 'data-json')));
    await context.close();
  }
}

/** One fallback Compare-speed measurement of the build in `dist`. */
async function measure(dist) {
  const server = await serve(dist, 0);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await waitRuns(page, 1, 300000);
    const load = os.loadavg()[0];
    const speed = await compareSpeed(page, (name, ok, detail) => { if (!ok) throw new Error(`${name} ${detail}`); });
    return { ...speed, load: (load + os.loadavg()[0]) / 2 };
  } finally {
    await browser.close();
    server.close();
  }
}

async function main([oldDist, newDist, rounds = '3']) {
  if (!oldDist || !newDist) throw new Error('usage: node tests/e2e/speed.mjs OLD_DIST NEW_DIST [ROUNDS]');
  console.log('| round | build | tokens | ms | tokens/s | load average (1 min) |\n|---:|---|---:|---:|---:|---:|');
  const rates = { old: [], new: [] };
  for (let r = 1; r <= Number(rounds); r++) {
    for (const [name, dist] of [['old', oldDist], ['new', newDist]]) {
      const s = await measure(dist);
      rates[name].push(s.tokensPerS);
      console.log(`| ${r} | ${name} | ${s.tokens} | ${s.ms.toFixed(0)} | ${s.tokensPerS.toFixed(0)} | ${s.load.toFixed(1)} |`);
    }
  }
  const ratios = rates.new.map((v, i) => v / rates.old[i]);
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`\nnew ÷ old per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}×`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
