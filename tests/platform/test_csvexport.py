"""The one CSV download helper: BOM first, formula-looking text quoted, phone numbers and numbers left alone."""

import csv
import io
from decimal import Decimal

from imis.platform.csvexport import csv_cell, csv_response


def test_cells_that_would_run_as_formulas_are_quoted():
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("-2+3") == "'-2+3" and csv_cell("\tx") == "'\tx"
    assert csv_cell("+8801711000000") == "+8801711000000"  # a phone number stays a phone number
    assert csv_cell(Decimal("-500.00")) == Decimal("-500.00") and csv_cell(None) == "" and csv_cell("রহিম") == "রহিম"


def test_response_streams_a_bom_a_header_and_safe_rows():
    response = csv_response("dues.csv", ["holding", "owner", "balance"],
                            iter([["1-2-3", "=cmd|' /C calc'!A0", Decimal("10.50")], ["1-2-4", None, 0]]))
    assert response["Content-Disposition"] == 'attachment; filename="dues.csv"'
    text = b"".join(part if isinstance(part, bytes) else part.encode() for part in response.streaming_content)
    assert text.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert rows == [["holding", "owner", "balance"], ["1-2-3", "'=cmd|' /C calc'!A0", "10.50"], ["1-2-4", "", "0"]]
