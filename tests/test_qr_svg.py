"""The QR codes guests pay with (the KHQR on the order page) are drawn by shopqr.filters as one
SVG path of runs of dark modules: the picture must be exactly qrcode's own, module for module."""

from __future__ import annotations

import re

import pytest
import qrcode
import qrcode.constants
import qrcode.image.svg

from shopqr.filters import qr_svg

KHQR = ("00020101021229370016rasmey@aclb0113855123456780204shop52045999530384054041.255802KH"
        "5914Cafe Lucky One6010Phnom Penh62270107ORD12340812table 5 x99170013178290000000063041234")


def dark_cells_of_runs(svg: str) -> set[tuple[int, int]]:
    cells = set()
    for x, y, width in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", svg):
        cells |= {(int(x) + i, int(y)) for i in range(int(width))}
    return cells


def dark_cells_of_squares(svg: str) -> set[tuple[int, int]]:
    """qrcode's SvgPathImage: one "Mx,yHx+1Vy+1Hxz" square per dark module."""
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H\d+V\d+H\d+z", svg)}


@pytest.mark.parametrize("data", [KHQR, "https://example.test/s/cafe/t/abc", "ក" * 40])
def test_the_drawn_qr_code_is_qrcodes_own_picture(data):
    ours = str(qr_svg(data))
    theirs = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                         border=2, error_correction=qrcode.constants.ERROR_CORRECT_M
                         ).to_string(encoding="unicode")
    size = re.search(r'viewBox="0 0 (\d+) \1"', theirs).group(1)
    assert f'viewBox="0 0 {size} {size}"' in ours and f'width="{size}mm"' in ours
    drawn = dark_cells_of_runs(ours)
    assert drawn == dark_cells_of_squares(theirs)
    assert len(drawn) > 100
    # every path command is a run: nothing is drawn that the parser above did not read
    path = re.search(r'<path d="([^"]*)"/>', ours).group(1)
    assert re.fullmatch(r"(M\d+,\d+h\d+v1h-\d+z)+", path)


def test_the_drawn_qr_code_is_smaller_than_qrcodes_own_svg():
    ours = str(qr_svg(KHQR))
    theirs = qrcode.make(KHQR, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                         border=2, error_correction=qrcode.constants.ERROR_CORRECT_M
                         ).to_string(encoding="unicode")
    assert len(ours) < len(theirs) * 0.6  # what a phone downloads with the order page
