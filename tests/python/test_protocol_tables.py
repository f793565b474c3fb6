"""The frame kinds agree in the three places they are written: port/protocol.hpp, py_protocol.hrl, docs/protocol.md."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cpp_kinds():
    text = (ROOT / "port" / "protocol.hpp").read_text()
    enum = text[text.index("enum class frame_kind") :]
    enum = enum[: enum.index("};")]
    return {name: int(n) for name, n in re.findall(r"^\s*(\w+) = (\d+),", enum, re.M)}


def hrl_kinds():
    text = (ROOT / "erlang" / "include" / "py_protocol.hrl").read_text()
    defines = re.findall(r"^-define\(PY_(\w+), (\d+)\)\.", text, re.M)
    skip = {"PROTOCOL_VERSION", "HEADER_SIZE", "ANY_CHANNEL"}
    return {name.lower(): int(n) for name, n in defines if name not in skip}


def doc_kinds():
    text = (ROOT / "docs" / "protocol.md").read_text()
    return {name: int(n) for name, n in re.findall(r"^\| `(\w+)` \| (\d+) \|", text, re.M)}


def test_header_hrl_and_doc_name_the_same_kinds_with_the_same_numbers():
    cpp = cpp_kinds()
    assert len(cpp) >= 13
    assert hrl_kinds() == cpp
    assert doc_kinds() == cpp
