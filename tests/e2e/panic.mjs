// A panic in the worker while no request is open: its panic hook posts an Error that no
// request waits for; the page must still show it (one line in the error box). The check
// posts that message from the worker's own scope (as the hook does) once the first run
// and its Recurrence trace are done.
import { chromium } from 'playwright-core';
import { waitRuns } from './page.mjs';

/** `h`: {check, waitError, chromium (its path), flags}. */
export async function workerPanic(h, base) {
  const browser = await chromium.launch({ executablePath: h.chromium, headless: true, args: h.flags });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    await waitRuns(page, 1);
    await page.waitForFunction(() => document.getElementById('recurrence-card').dataset.tokens, null, { timeout: 60000 });
    const message = 'internal error: panicked at src/example.rs:1:1: between requests';
    const [worker] = page.workers();
    await worker.evaluate((m) => postMessage(JSON.stringify({ Error: { message: m } })), message);
    const shown = await h.waitError(page, /between requests/);
    h.check('a worker panic while no request is open is shown in one line', shown.trim() === message, JSON.stringify(shown));
  } finally {
    await browser.close();
  }
}
