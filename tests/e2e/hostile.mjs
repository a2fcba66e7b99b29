// Hostile inputs for the page (issue 23, item 4): a model whose metadata, file name and
// tokenizer tokens carry `<img src=x onerror=…>` must show as text (no element, no
// handler runs); model, tokenizer and attention-model addresses that are not http(s): or
// blob: are refused in one line; and the worker survives malformed server replies (an
// HTML page instead of the file, a truncated range answer, a body shorter than its
// Content-Length), each one line in the error box, then loads the demo again.
import fs from 'node:fs';
import path from 'node:path';

const XSS = '<img src=x onerror="window.__xss=(window.__xss||0)+1">';

/** The demo model with `XSS` in its metadata (label and description). */
function xssModel(demo) {
  const b = fs.readFileSync(demo);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString());
  header.__metadata__ = { ...(header.__metadata__ || {}), rwkv_lens_model: XSS, rwkv_lens_description: `about ${XSS}` };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), b.subarray(8 + n)]);
}

/** A WordLevel tokenizer.json, no pre-tokenizer: the whole sentence `XSS` is token 1. */
function xssTokenizer() {
  return JSON.stringify({ version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: null, post_processor: null, decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, [XSS]: 1, plain: 2 }, unk_token: '[UNK]' } });
}

/** Routes of a hostile server under /hostile/ (serve.mjs `extra`), or null. */
export function hostileRoute(url, dist) {
  const demo = () => fs.readFileSync(path.join(dist, 'demo-model/rwkv6-demo.safetensors'));
  if (url === '/hostile/page.safetensors') {
    const body = Buffer.from('<!doctype html><title>Sign in</title><p>Please sign in to download this file.</p>');
    return { status: 200, type: 'text/html; charset=utf-8', body };
  }
  if (url === '/hostile/short-range.safetensors') {
    // the first 8 bytes by range as asked; every later range answered with half its bytes
    return { handle(req, res) {
      const b = demo();
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
      if (!m) { res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length }); return res.end(b); }
      const [a, z] = [Number(m[1]), Math.min(Number(m[2]), b.length - 1)];
      const part = a === 0 ? b.subarray(a, z + 1) : b.subarray(a, a + ((z + 1 - a) >> 1));
      res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': part.length, 'content-range': `bytes ${a}-${z}/${b.length}` });
      res.end(part);
    } };
  }
  if (url === '/hostile/long-length.safetensors') {
    // announces 4 KiB more than it sends, then hangs up (ranges ignored)
    return { handle(req, res) {
      const b = demo();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length + 4096 });
      res.write(b, () => res.socket.destroy());
    } };
  }
  return null;
}

/** `h`: {check, waitError, waitRuns, enterPairs, art, dist}. On the page of a run. */
export async function hostile(page, base, h) {
  await markupStaysText(page, h);
  await addressesRefused(page, h);
  for (const [file, re, what] of [
    ['page.safetensors', /: the server answered with an HTML page \(text\/html; charset=utf-8\), not the file: check the address$/, 'an HTML page instead of the file'],
    ['short-range.safetensors', /: a range request for bytes 8\.\.\d+ returned \d+ bytes \(file changed or truncated on the server\?\)$/, 'a truncated range answer'],
    ['long-length.safetensors', /: download interrupted: .+$/, 'a body shorter than its Content-Length'],
  ]) {
    await page.check('input[name=source][value=url]');
    await page.fill('#model-url', `${base}hostile/${file}`);
    await page.click('#load');
    const e = (await h.waitError(page, new RegExp(file.replace('.', '\\.')))).trim();
    const url = `${base}hostile/${file}`;
    h.check(`the worker survives ${what}: one line naming the URL`, e.startsWith(`${url}: `) && re.test(e) && !/\n/.test(e), JSON.stringify(e));
  }
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.check('input[name=source][value=demo]');
  await page.click('#load');
  await h.waitRuns(page, runs + 1);
  const info = await page.textContent('#model-info');
  const errorShown = await page.isVisible('#error');
  h.check('after the hostile answers the worker still loads and runs the demo model',
    /4 layers, C=128/.test(info) && !errorShown, JSON.stringify({ info, errorShown }));
}

/** Metadata, file name and tokens with markup are shown as text, nothing runs. */
async function markupStaysText(page, h) {
  const model = path.join(h.art, 'xss<img src=x onerror=window.__xss=9>.safetensors');
  const tok = path.join(h.art, 'xss-tokenizer.json');
  fs.writeFileSync(model, xssModel(path.join(h.dist, 'demo-model/rwkv6-demo.safetensors')));
  fs.writeFileSync(tok, xssTokenizer());
  await h.enterPairs(page, [[XSS, 'plain']]);
  await page.setInputFiles('#model-file', model);
  await page.setInputFiles('#tokenizer-file', tok);
  const runs = Number(await page.getAttribute('#results-card', 'data-runs'));
  await page.click('#load');
  await h.waitRuns(page, runs + 1);
  await page.fill('#rec-sentence', XSS);
  await page.click('#rec-run');
  await page.waitForFunction(() => document.getElementById('rec-token').textContent.includes('<img'), null, { timeout: 60000 });
  const seen = await page.evaluate(() => ({
    images: document.querySelectorAll('img').length,
    handlers: document.querySelectorAll('[onerror]').length,
    fired: window.__xss || 0,
    card: document.getElementById('model-info').textContent,
    token: document.getElementById('rec-token').textContent,
    table: document.getElementById('results').textContent,
    influence: document.getElementById('rec-influence').textContent,
  }));
  h.check('markup in a model\'s metadata, file name and tokenizer tokens shows as text: no element, no handler',
    seen.images === 0 && seen.handlers === 0 && seen.fired === 0 && seen.card.includes(XSS) && seen.card.includes('xss<img src=x')
      && seen.token.includes('<img src=x onerror=') && seen.table.includes(XSS) && seen.influence.includes('<img src=x'),
    JSON.stringify(seen));
  await page.setInputFiles('#tokenizer-file', []);
  await page.fill('#rec-sentence', 'The cat sat on the mat');
}

/** Addresses that are not http(s): or blob: are refused before anything is fetched. */
async function addressesRefused(page, h) {
  await page.check('input[name=source][value=url]');
  await page.fill('#model-url', 'javascript:alert(1)');
  await page.click('#load');
  const e1 = (await h.waitError(page, /javascript:/)).trim();
  h.check('a javascript: model URL is refused in one line',
    e1 === 'model URL javascript:alert(1): only http:, https: or blob: addresses are accepted, not javascript:', JSON.stringify(e1));
  await page.check('input[name=source][value=demo]');
  await page.fill('#tokenizer-url', 'data:application/json,{}');
  await page.click('#load');
  const e2 = (await h.waitError(page, /data:/)).trim();
  h.check('a data: tokenizer URL is refused in one line',
    e2 === 'tokenizer URL data:application/json,{}: only http:, https: or blob: addresses are accepted, not data:', JSON.stringify(e2));
  await page.fill('#tokenizer-url', '');
  await page.fill('#attention-url', 'file:///etc/');
  await page.click('#attention-add');
  const e3 = (await h.waitError(page, /file:/)).trim();
  h.check('a file: attention-model URL is refused in one line',
    e3 === 'attention model URL file:///etc/: only http:, https: or blob: addresses are accepted, not file:', JSON.stringify(e3));
  await page.fill('#attention-url', '');
}
