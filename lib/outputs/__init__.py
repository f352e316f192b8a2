"""The standard outputs of a page beside its JSON: ALTO 4 and hOCR rendered from the page model (pure).

Each renderer is a plain function from a page JSON document to bytes, with no
AWS and no Tesseract: the OCR function writes what they make
(lib/ocr/outputs.py), and anything holding a page JSON can render them again.
The searchable PDF is not rendered here: Tesseract's ``pdf`` renderer writes
it in the run that makes the TSV. Why each comes from where: docs/outputs.md.
"""
