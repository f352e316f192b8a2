'use strict';
// Benchmark harness only, not product code: Tesseract.js (the original design's
// engine) as a Lambda would run it, for bench/tesseractjs.py.
//
//   node run.js once IMAGE DPI   one page in this process (a cold invocation); prints one JSON line
//   node run.js serve            one warm worker: reads {"image", "dpi"} lines, answers one JSON line each
//
// The English data comes from the @tesseract.js-data/eng npm package on disk:
// with `langPath` set to a directory (not a URL) Tesseract.js reads
// `${langPath}/eng.traineddata.gz` with fs, and `cacheMethod: 'none'` stops it
// from reading or writing a cached copy in the working directory. Without
// langPath it would download the same file from a CDN at run time. The model
// is `4.0.0_best_int`, the one Tesseract.js itself picks for its default
// LSTM-only engine.

const path = require('path');
const readline = require('readline');
const { createWorker, OEM, PSM } = require('tesseract.js');

const LANG_PATH = path.join(path.dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');

function ms(since) {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

async function makeWorker() {
  const worker = await createWorker('eng', OEM.LSTM_ONLY, {
    langPath: LANG_PATH,
    gzip: true,
    cacheMethod: 'none',
  });
  // Tesseract.js defaults to mode 6 (one uniform block); the CLI and our code use 3.
  await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO });
  return worker;
}

async function recognize(worker, image, dpi) {
  // The same resolution our code passes to the CLI (the oldbooks TIFFs claim 1 dpi).
  await worker.setParameters({ user_defined_dpi: String(dpi) });
  const started = process.hrtime.bigint();
  const { data } = await worker.recognize(image);
  return { recognize_ms: ms(started), text: data.text };
}

async function once(image, dpi) {
  const started = process.hrtime.bigint();
  const worker = await makeWorker();
  const initMs = ms(started);
  const result = await recognize(worker, image, dpi);
  await worker.terminate();
  process.stdout.write(`${JSON.stringify({ init_ms: initMs, total_ms: ms(started), ...result })}\n`);
}

async function serve() {
  const started = process.hrtime.bigint();
  const worker = await makeWorker();
  process.stdout.write(`${JSON.stringify({ ready: true, init_ms: ms(started) })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    const result = await recognize(worker, request.image, request.dpi);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  await worker.terminate();
}

const [mode, image, dpi] = process.argv.slice(2);
const job = mode === 'once' ? once(image, Number(dpi || 300)) : serve();
job.catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
