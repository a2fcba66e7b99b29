// The Cache API refuses the download (its quota: a full disk, or a private window whose
// storage lives in memory, where the 1.6B file failed, docs/web.md): the page must not
// fail when the server answers Range requests (the tensors are then read by range, and no
// partial entry stays in the cache), and must say so in one line when it does not.
// The quota is set to 1 MiB through the DevTools protocol (Storage.overrideQuotaForOrigin).
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve, requests } from './serve.mjs';
import { waitRuns } from './page.mjs';

/** `h`: {check, waitError, chromium (its path), flags, dist}. */
export async function cacheQuota(h) {
  const demo = path.join(h.dist, 'demo-model/rwkv6-demo.safetensors');
  const routes = (url) => ({
    '/quota/rwkv6-demo.safetensors': { file: demo },
    '/quota-norange/rwkv6-demo.safetensors': { file: demo, ranges: false },
  }[url] || null);
  const server = await serve(h.dist, 0, routes);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: h.chromium, headless: true, args: h.flags });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    await waitRuns(page, 1);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(base).origin, quotaSize: 1 << 20 });
    await page.check('input[name=source][value=url]');
    await page.fill('#model-url', `${base}quota/rwkv6-demo.safetensors`);
    const before = requests.length;
    await page.click('#load');
    await waitRuns(page, 2, 120000);
    const served = requests.slice(before).filter((r) => r.url === '/quota/rwkv6-demo.safetensors');
    const kept = await page.evaluate(async () => (await (await caches.open('rwkv-lens-models')).keys()).map((r) => r.url));
    const error = (await page.textContent('#error')).trim();
    h.check('a download the Cache API refuses (quota) is read by range requests, and no partial copy stays in the cache',
      error === '' && served.some((r) => !r.range) && served.filter((r) => r.range).length > 20 && !kept.some((u) => u.includes('/quota/')),
      `error=${JSON.stringify(error)} whole=${served.filter((r) => !r.range).length} ranges=${served.filter((r) => r.range).length} cache=${JSON.stringify(kept)}`);
    await page.fill('#model-url', `${base}quota-norange/rwkv6-demo.safetensors`);
    await page.click('#load');
    const shown = await h.waitError(page, /Cache API/);
    h.check('a refused download from a server without Range is one line naming the URL and both causes',
      /^http:\/\/127\.0\.0\.1:\d+\/quota-norange\/rwkv6-demo\.safetensors: storing the download in the Cache API: .+, and the server does not answer Range requests$/.test(shown.trim()),
      JSON.stringify(shown));
  } finally {
    await browser.close();
    server.close();
  }
}
