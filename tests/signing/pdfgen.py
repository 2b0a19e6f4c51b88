"""The tests make their PDFs with the same generator as the demo."""
from meetings.documents.textpdf import SAMPLE_LINES, make_pdf, sample_pdf  # noqa: F401
