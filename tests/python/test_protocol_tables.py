"""The frame kinds agree in the three places they are written: port/wire/protocol.hpp, py_protocol.hrl, docs/protocol.md."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TO_PORT, FROM_PORT = "Erlang -> port", "port -> Erlang"


def sections(lines, marker):
    """{kind: direction} from lines under '<marker> Erlang -> port' / '... port -> Erlang' headings."""
    direction = None
    for line in lines:
        heading = line.strip().lstrip(marker).strip()
        if heading in (TO_PORT, FROM_PORT):
            direction = heading
        yield line, direction


def cpp_kinds():
    text = (ROOT / "port" / "wire" / "protocol.hpp").read_text()
    enum = text[text.index("enum class frame_kind") :]
    enum = enum[: enum.index("};")]
    kinds = {}
    for line, direction in sections(enum.splitlines(), "//"):
        m = re.match(r"^\s*(\w+) = (\d+),", line)
        if m:
            kinds[m.group(1)] = (int(m.group(2)), direction)
    return kinds


def hrl_kinds():
    text = (ROOT / "erlang" / "include" / "py_protocol.hrl").read_text()
    skip = {"PROTOCOL_VERSION", "HEADER_SIZE", "ANY_CHANNEL"}
    kinds = {}
    for line, direction in sections(text.splitlines(), "%%"):
        m = re.match(r"^-define\(PY_(\w+), (\d+)\)\.", line)
        if m and m.group(1) not in skip:
            kinds[m.group(1).lower()] = (int(m.group(2)), direction)
    return kinds


def doc_kinds():
    text = (ROOT / "docs" / "protocol.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| ([^|]+) \|", text, re.M)
    return {name: (int(n), d.strip().replace("→", "->")) for name, n, d in rows}


def test_header_hrl_and_doc_name_the_same_kinds_with_the_same_numbers_and_directions():
    cpp = cpp_kinds()
    assert len(cpp) >= 13
    assert hrl_kinds() == cpp
    assert doc_kinds() == cpp


def test_numbers_below_64_go_to_the_port_and_the_others_come_from_it():
    for name, (number, direction) in cpp_kinds().items():
        assert direction == (TO_PORT if number < 64 else FROM_PORT), name
