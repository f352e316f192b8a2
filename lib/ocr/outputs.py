"""The OCR function's standard outputs of a page: which come from where, their keys, writing and removing them.

ALTO and hOCR are rendered from the page model (lib/outputs); the searchable
PDF is Tesseract's ``pdf`` renderer in the page's one run. The decision and
its measurements: docs/outputs.md.

Outputs are named after the source version they were made from
(``lib.keys.output_tag``) and written before the page JSON that names them,
so a page JSON never names an output that is not there and two versions
written at once never share a key. The page JSON's S3 metadata says which
outputs it has and their tag, so that removing the page, or replacing it with
a newer version, finds them with a HEAD, without reading the page JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lib import storage
from lib.keys import PageRef
from lib.outputs import alto, hocr
from lib.results import OUTPUT_TAG_METADATA, OUTPUTS_METADATA

# Rendered from the page model: name -> renderer.
FROM_MODEL: dict[str, Callable[[dict[str, Any]], bytes]] = {"alto": alto.render, "hocr": hocr.render}
# Written by Tesseract in the page's run: name -> Tesseract's renderer.
FROM_TESSERACT = {"pdf": "pdf"}
CONTENT_TYPES = {"alto": alto.CONTENT_TYPE, "hocr": hocr.CONTENT_TYPE, "pdf": "application/pdf"}


@dataclass(frozen=True)
class PageOutput:
    name: str
    key: str
    data: bytes
    content_type: str


def tesseract_renderers(names: Iterable[str]) -> tuple[str, ...]:
    """The renderers Tesseract must add to the page's run for the outputs ``names``."""
    return tuple(FROM_TESSERACT[name] for name in names if name in FROM_TESSERACT)


def make(
    names: Iterable[str], document: dict[str, Any], files: Mapping[str, bytes], ref: PageRef, tag: str
) -> list[PageOutput]:
    """The outputs ``names`` of one page: rendered from ``document``, or taken from Tesseract's ``files``."""
    made = []
    for name in names:
        data = FROM_MODEL[name](document) if name in FROM_MODEL else files[FROM_TESSERACT[name]]
        made.append(PageOutput(name, ref.output_key(name, tag), data, CONTENT_TYPES[name]))
    return made


def metadata(outputs: list[PageOutput], tag: str) -> dict[str, str | None]:
    """The page JSON's metadata entries naming ``outputs`` (none when there are none)."""
    if not outputs:
        return {OUTPUTS_METADATA: None, OUTPUT_TAG_METADATA: None}
    return {OUTPUTS_METADATA: ",".join(o.name for o in outputs), OUTPUT_TAG_METADATA: tag}


def write(bucket: str, outputs: list[PageOutput]) -> None:
    """PUT every output, at once: they are independent, and S3's latency, not ours, is what a page would wait for."""
    if not outputs:
        return
    with ThreadPoolExecutor(max_workers=len(outputs), thread_name_prefix="output") as pool:
        for _ in pool.map(lambda o: storage.put_file(bucket, o.key, o.data, content_type=o.content_type), outputs):
            pass  # re-raises the first error: the invocation fails and is retried
