// Page helpers shared by the e2e modules (e2e.mjs, speed.mjs).

/** Waits until the page has finished `n` runs (its results card counts them). */
export async function waitRuns(page, n, timeout = 120000) {
  await page.waitForFunction((n) => {
    const el = document.getElementById('results-card');
    return el && Number(el.dataset.runs) >= n;
  }, n, { timeout });
}

/** Replaces the page's sentence pairs with `pairs` ([a, b] each). */
export async function enterPairs(page, pairs) {
  for (const b of await page.$$('.pair-row .remove')) await b.click();
  for (const [a, b] of pairs) {
    await page.click('#add-pair');
    await page.fill('.pair-row:last-child input.sa', a);
    await page.fill('.pair-row:last-child input.sb', b);
  }
}
