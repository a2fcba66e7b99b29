// Two models at once and "Attention vs recurrence" (issue #15), in a fresh page of the
// same browser: the bundled demo RWKV loads by itself, "Add attention model" loads
// all-MiniLM-L6-v2 (f16, web/dist/minilm/, written by `make web` from .cache/minilm) and
// compares the pairs with both; then expected.json's pairs are compared and both models'
// per-layer similarities are checked against the native numbers (expected.json for the
// RWKV, expected-duo.json for MiniLM, held by tests/it/demo_model.rs and
// tests/it/duo_expected.rs) within 1e-3, and the attention view's matrix for a fixed
// sentence against the native encoder's attention probabilities within 1e-4.
// Screenshots: attention-chart-MODE.png, attention-view-MODE.png. Page load → first two-model result
// goes to report.json (`attention`). Without MiniLM in web/dist: a notice, and under CI=true a failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(HERE, 'expected.json'), 'utf8'));
const DUO = JSON.parse(fs.readFileSync(path.join(HERE, 'expected-duo.json'), 'utf8'));

/** Largest |difference| between the page's numbers and the native table, both poolings. */
function worstDiff(gotPairs, want) {
  let worst = 0;
  for (const pooling of ['mean', 'last']) {
    want[pooling].forEach((row, i) => row.forEach((w, l) => {
      const g = gotPairs[i]?.[pooling]?.[l];
      worst = Math.max(worst, typeof g === 'number' ? Math.abs(g - w) : Infinity);
    }));
  }
  return worst;
}

/** The same f16 MiniLM as three local files: a third model (labelled by its file name)
 *  with the same numbers. */
async function localFiles(page, h) {
  const dir = path.join(h.dist, 'minilm');
  await page.setInputFiles('#attention-files', ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => path.join(dir, f)));
  const shown = Number(await page.getAttribute('#attention-card', 'data-shown'));
  await page.click('#attention-add');
  await page.waitForFunction((n) => Number(document.getElementById('attention-card').dataset.shown) > n, shown, { timeout: 120000 });
  const got = JSON.parse(await page.getAttribute('#results-card', 'data-json'));
  const files = got.more.find((m) => m.label === 'model');
  const worst = files ? worstDiff(files.pairs, DUO.minilm) : Infinity;
  h.check('fallback: an attention model from local files (config.json, model.safetensors, tokenizer.json) runs beside the others with the same numbers',
    got.more.length === 2 && worst < 1e-3, `(models ${got.more.map((m) => m.label)}, max |diff| ${worst})`);
}

/** What a visitor sees once every section is drawn (issue 24 item 10): the rough edges
 *  found by looking, then no horizontal overflow at 1400 px and at 390 px, and a
 *  screenshot of each view at both widths (view-MODE-WIDTH-SECTION.png). */
async function asSeen(page, mode, h) {
  const seen = await page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const all = (s) => [...document.querySelectorAll(s)];
    return {
      intro: q('#attention-intro').textContent,
      scales: all('#attention-map-scale svg.scale, #attention-influence-scale svg.scale, #rec-scale-bars svg.scale').length,
      heading: q('#results-heading').textContent,
      gloveColumns: all('#results-more th').filter((th) => th.textContent === 'GloVe').length + all('#results th').filter((th) => th.textContent === 'GloVe').length,
      weightsShown: !q('#weights-label').hidden,
      heads: [q('#attention-head option'), q('#attention-rwkv-head option'), q('#rec-head option')].map((o) => o.textContent),
      tokens: q('#attention-map-tokens b').textContent,
      step: q('#recurrence-card').dataset.step,
      zeroNotes: all('#rec-before .zero-note, #rec-mix .zero-note').length,
      bandRows: all('#rec-half-life-time .y-labels span').length,
      bandTitles: all('#rec-half-life-time .y-title, #rec-half-life-time .x-title').length,
      influenceView: q('#rec-influence svg').getAttribute('viewBox'),
      scrollHint: !!q('.rec-side .more'),
      chartGroups: all('#chart svg g.pair').length,
    };
  });
  h.check(`${mode}: section 5 stops asking for an attention model once one is added; its two heatmaps and the recurrence maps have colour scales`,
    !/Add an attention model/.test(seen.intro) && seen.scales === 4, JSON.stringify(seen));
  h.check(`${mode}: the RWKV table has its heading, and only it has the GloVe column`,
    /^RWKV-6 \(4 blocks\)/.test(seen.heading) && seen.gloveColumns === 1, JSON.stringify(seen));
  h.check(`${mode}: heads and tokens count from 1 like blocks and layers; "GPU weights" is ${mode === 'webgpu' ? 'shown' : 'hidden on the CPU fallback'}`,
    seen.heads.every((x) => x === 'head 1') && seen.tokens === '1' && seen.weightsShown === (mode === 'webgpu'), JSON.stringify(seen));
  h.check(`${mode}: at token 1 the blank state and the all-zero token shift say why; the bands map has axis labels; the first influence label has room; the equations say they scroll; each pair's lines can be highlighted`,
    seen.step === '0' && seen.zeroNotes === 2 && seen.bandRows === 13 && seen.bandTitles === 2 && /^-44 /.test(seen.influenceView)
      && seen.scrollHint && seen.chartGroups > 0, JSON.stringify(seen));
  await page.hover('#results tbody tr:first-child td:nth-child(2)');
  const lit = await page.evaluate(() => ({ hl: document.querySelectorAll('#chart g.pair[data-hl]').length, dim: document.querySelector('#chart svg').hasAttribute('data-dim') }));
  h.check(`${mode}: hovering a table row highlights that pair's lines in the chart`, lit.hl >= 2 && lit.dim, JSON.stringify(lit));
  for (const width of [1400, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    const over = await page.evaluate(() => {
      const client = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > client + 1);
      return { scroll: document.documentElement.scrollWidth, client, wide: wide.slice(0, 6).map((e) => e.id || e.tagName) };
    });
    h.check(`${mode}: no horizontal overflow at ${width} px`, over.scroll <= over.client, JSON.stringify(over));
    await page.screenshot({ path: path.join(h.art, `page-${mode}-${width}.png`), fullPage: true });
    for (const id of ['model-card', 'pairs-card', 'results-card', 'recurrence-card', 'attention-card']) {
      await (await page.$(`#${id}`)).screenshot({ path: path.join(h.art, `view-${mode}-${width}-${id}.png`) });
    }
  }
  await page.setViewportSize({ width: 1100, height: 1400 });
}

/** `h`: {check, enterPairs, waitRuns, dist, art} from e2e.mjs. Returns the timings. */
export async function attentionModels(browser, mode, base, h) {
  const minilm = path.join(h.dist, 'minilm/model.safetensors');
  if (!fs.existsSync(minilm)) {
    const why = `${mode}: MiniLM is not in ${path.relative(ROOT, h.dist)}/minilm (make minilm, then make web)`;
    if (process.env.CI === 'true') h.check(why, false);
    else console.log(`NOTICE: ${why}: the two-model checks are skipped`);
    return null;
  }
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const t0 = Date.now();
  await page.goto(base);
  const numbered = await page.$$eval('section h2', (hs) => hs.filter((x) => x.offsetParent !== null).map((x) => x.textContent.split(' ')[0]));
  h.check(`${mode}: the sections read 1 to 5 before the first result`, numbered.join(',') === '1,2,3,4,5', numbered.join(','));
  await h.waitRuns(page, 1);
  await page.click('#attention-add');
  await page.waitForFunction(() => document.getElementById('results-card').dataset.models === '2'
    && document.getElementById('attention-card').dataset.shown === '1', null, { timeout: 120000 });
  const wallMs = Date.now() - t0;
  const pageMs = Number(await page.textContent('#first-two-models'));
  const bytes = fs.statSync(minilm).size;
  const wasmBytes = Number(await page.getAttribute('#model-card', 'data-wasm-bytes'));
  const models = await page.textContent('#attention-models');
  h.check(`${mode}: "Add attention model" loads MiniLM beside the RWKV`, /all-MiniLM-L6-v2/.test(models), models);

  await h.enterPairs(page, EXPECTED.pairs);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#compare');
  await h.waitRuns(page, runs + 1);
  const got = JSON.parse(await page.getAttribute('#results-card', 'data-json'));
  const rwkv = worstDiff(got.pairs, EXPECTED);
  const attn = worstDiff(got.more[0]?.pairs ?? [], DUO.minilm);
  h.check(`${mode}: two models: RWKV and MiniLM per-layer similarities equal the native numbers within 1e-3`,
    DUO.minilm.mean.length === EXPECTED.pairs.length && rwkv < 1e-3 && attn < 1e-3, `(max |diff| RWKV ${rwkv}, MiniLM ${attn})`);
  const chart = await page.$$eval('#chart svg .legend', (g) => g.length);
  const tables = await page.$$eval('#results-more table', (t) => t.length);
  h.check(`${mode}: the chart has one line style per model (legend) on the relative-depth axis, a table per model`,
    chart === 2 && tables === 1 && /relative depth/.test(await page.textContent('#chart')), `legend ${chart}, tables ${tables}`);
  await (await page.$('#results-card')).screenshot({ path: path.join(h.art, `attention-chart-${mode}.png`) });

  const A = DUO.attention;
  await page.fill('#attention-sentence', A.sentence);
  await page.selectOption('#attention-layer', String(A.layer));
  await page.selectOption('#attention-head', String(A.head));
  await page.click('#attention-run');
  await page.waitForFunction(() => document.getElementById('attention-card').dataset.shown === '2', null, { timeout: 60000 });
  const probs = JSON.parse(await page.getAttribute('#attention-card', 'data-probs'));
  const want = A.probs.flat();
  const worst = probs.length === want.length ? Math.max(...want.map((w, i) => Math.abs(probs[i] - w))) : Infinity;
  h.check(`${mode}: attention view: MiniLM layer ${A.layer} head ${A.head} probabilities (${A.probs.length}×${A.probs.length}) equal the native encoder's within 1e-4`,
    worst < 1e-4, `(max |diff| ${worst}, ${probs.length} vs ${want.length} cells)`);
  const hover = await page.evaluate(() => ['attention-map', 'attention-influence', 'attention-memory'].map((id) => {
    const cells = [...document.querySelectorAll(`#${id} svg rect, #${id} svg circle`)];
    return cells.length > 0 && cells.every((c) => c.querySelector('title'));
  }));
  const text = await page.textContent('#attention-text');
  const link = await page.getAttribute('#attention-text a', 'href');
  h.check(`${mode}: attention vs recurrence: values on hover in both matrices and the memory chart, the explanation links docs/recurrence.md`,
    hover.every(Boolean) && /sums to 1\.0000/.test(text) && /^recurrence\.md/.test(link || ''), JSON.stringify({ hover, link }));
  await (await page.$('#attention-card')).screenshot({ path: path.join(h.art, `attention-view-${mode}.png`) });
  await asSeen(page, mode, h);
  if (mode === 'fallback') await localFiles(page, h);
  await page.close();
  return { pageFirstDuoMs: pageMs, wallFirstDuoMs: wallMs, minilmBytes: bytes, wasmBytes, maxDiffRwkv: rwkv, maxDiffMinilm: attn, maxDiffAttention: worst };
}
