#!/usr/bin/env bash
# The main job on the embedded local stack: start it, upload the sample pages,
# let S3 -> SNS -> OCR -> S3 -> indexer run, then search.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== starting the local stack (moto S3/SNS/SQS + OpenSearch API server)"
pagesearch up
echo
echo "== uploading samples/pages as book 'samples' and waiting for OCR and indexing"
pagesearch ingest samples/pages/*.tif samples/pages/*.tiff --book samples
echo
for query in 'quick brown dog' '"lazy fox"' 'qiuck brwn' '"child of the moat"' 'fox -lazy'; do
  echo "== pagesearch search '$query'"
  pagesearch search "$query" --limit 3
  echo
done
echo "== the same as JSON, for tools: pagesearch search '\"brown dog\"' --book samples --limit 1 --json"
pagesearch search '"brown dog"' --book samples --limit 1 --json
echo
echo "The stack is still running: try 'pagesearch search ...', 'pagesearch failures'; stop it with 'pagesearch down'."
