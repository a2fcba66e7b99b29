// The page's Web Worker (web/src/worker.rs, docs/web.md): it imports the same
// wasm-bindgen output as the page (their URLs come in the query: trunk hashes the names),
// whose `main` sees that it runs in a worker and answers the page's messages.
const early = [];
self.onmessage = (e) => early.push(e);
const q = new URL(self.location.href).searchParams;
const glue = await import(q.get('glue'));
await glue.default({ module_or_path: q.get('wasm') });
// `main` has replaced self.onmessage: hand it what came while the wasm was loading.
for (const e of early) self.onmessage(e);
