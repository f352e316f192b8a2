"""Book files for the split tests, made from the sample pages: PDFs of scans, of text, mixed, bad ones, TIFFs.

Real files, made the way people make them: Pillow's PDF writer (each page one
CCITT scan), PDFium placing a JPEG as it is, Tesseract's own searchable PDF
(a scan with an invisible text layer: a PDF "OCR'd elsewhere"), PDFium
writing real text in a standard font (born-digital). The bad ones are
written by hand, object by object, since no library writes them on purpose.
"""

from __future__ import annotations

import ctypes
import io
import subprocess
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from tests.conftest import SAMPLES

PAGES = [SAMPLES / "phototest.tif", SAMPLES / "eurotext.tif", SAMPLES / "d015.tiff"]


def scans_pdf(images: list[Path] = PAGES) -> bytes:
    """An image-only PDF: one CCITT (1-bit) scan per page, as Pillow writes it."""
    frames = [Image.open(p) for p in images]
    out = io.BytesIO()
    frames[0].save(out, format="PDF", save_all=True, append_images=frames[1:], resolution=300)
    return out.getvalue()


def jpeg_of(image: Path) -> bytes:
    out = io.BytesIO()
    Image.open(image).convert("L").save(out, format="JPEG", quality=90, dpi=(300, 300))
    return out.getvalue()


def jpeg_pdf(jpegs: list[bytes]) -> bytes:
    """A PDF whose pages each place one JPEG full page, stored as it is (DCTDecode), as scanners write them."""
    document = pdfium.PdfDocument.new()
    for data in jpegs:
        width, height = Image.open(io.BytesIO(data)).size
        page = document.new_page(width * 72 / 300, height * 72 / 300)
        image = pdfium.PdfImage.new(document)
        image.load_jpeg(io.BytesIO(data), inline=True)
        image.set_matrix(pdfium.PdfMatrix().scale(width * 72 / 300, height * 72 / 300))
        page.insert_obj(image)
        page.gen_content()
    return _saved(document)


def tesseract_pdf(image: Path, tmp: Path) -> bytes:
    """Tesseract's searchable PDF of a page: the scan with an invisible text layer."""
    subprocess.run(["tesseract", str(image), str(tmp / image.stem), "pdf"], check=True, capture_output=True)
    return (tmp / f"{image.stem}.pdf").read_bytes()


def text_pdf(pages: list[list[str]]) -> bytes:
    """A born-digital PDF: each page's lines in Helvetica 12 pt on a Letter page, nothing else on it."""
    document = pdfium.PdfDocument.new()
    for lines in pages:
        page = document.new_page(612, 792)
        for row, line in enumerate(lines):
            text = pdfium_c.FPDFPageObj_NewTextObj(document.raw, b"Helvetica", ctypes.c_float(12.0))
            wide = (line + "\0").encode("utf-16-le")
            pdfium_c.FPDFText_SetText(text, ctypes.cast(ctypes.c_char_p(wide), pdfium_c.FPDF_WIDESTRING))
            pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 72, 720 - 18 * row)
            pdfium_c.FPDFPage_InsertObject(page.raw, text)
        page.gen_content()
    return _saved(document)


def merged(*pdfs: bytes) -> bytes:
    """The pages of several PDFs, in order, in one (a mixed book)."""
    document = pdfium.PdfDocument.new()
    for data in pdfs:
        document.import_pages(pdfium.PdfDocument(data))
    return _saved(document)


def _saved(document: pdfium.PdfDocument) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def handmade_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of the given objects (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def zero_page_pdf() -> bytes:
    return handmade_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def encrypted_pdf() -> bytes:
    """A PDF under the standard security handler whose user password is not empty (PDFium asks for it)."""
    encrypt = b"/Encrypt << /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <%s> /U <%s> >> /ID [<%s> <%s>]" % (
        b"ab" * 32,
        b"cd" * 32,
        b"01" * 16,
        b"01" * 16,
    )
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    catalog, tree = b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    return handmade_pdf([catalog, tree, page], encrypt)


def bomb_pdf() -> bytes:
    """One page holding a 1-bit image that claims 200,000 x 200,000 pixels (40 gigapixels) in a few hundred bytes."""
    side = 200_000
    stream = zlib.compress(b"\xff" * 4096, 9)
    image = b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 " % (
        side,
        side,
    )
    image += b"/Filter /FlateDecode /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
    return handmade_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> "
            b"/Contents 5 0 R >>",
            image,
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )


def multipage_tiff(images: list[Path] = PAGES) -> bytes:
    frames = [Image.open(p) for p in images]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return out.getvalue()


def unmapped_text_pdf() -> bytes:
    """A page of text in a Type3 font with no Unicode map (as old TeX PDFs have): its characters read as codes 1-4."""
    glyph = b"0 0 d0 0 0 m 500 0 l 500 700 l 0 700 l f"
    content = b"BT /F1 24 Tf 72 700 Td <0102030401020304> Tj ET"
    font = (
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << /g1 6 0 R >> /Encoding << /Type /Encoding /Differences [1 /g1 /g1 /g1 /g1] >> "
        b"/FirstChar 1 /LastChar 4 /Widths [500 500 500 500] >>"
    )
    return handmade_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            font,
            b"<< /Length %d >>\nstream\n" % len(glyph) + glyph + b"\nendstream",
        ]
    )
