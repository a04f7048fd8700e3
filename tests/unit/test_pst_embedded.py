"""pst/embedded.py: the one ctypes call into libpff (embedded messages, attach method 5)."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrator.sources.pst.embedded import EmbeddedOpener

pytestmark = pytest.mark.pst

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"


def _attachments(name: str) -> Iterator[Any]:
    pypff = pytest.importorskip("pypff", reason="libpff-python not installed")
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not found in {FIXTURES}")
    f = pypff.file()
    f.open(str(path))

    def walk(folder: Any) -> Iterator[Any]:
        for i in range(folder.number_of_sub_messages):
            msg = folder.get_sub_message(i)
            for j in range(msg.number_of_attachments):
                yield msg.get_attachment(j)
        for i in range(folder.number_of_sub_folders):
            yield from walk(folder.get_sub_folder(i))

    yield from walk(f.root_folder)


def test_an_embedded_message_opens_as_a_pypff_message() -> None:
    pypff = pytest.importorskip("pypff", reason="libpff-python not installed")
    opener = EmbeddedOpener(pypff)
    if not opener.available:
        pytest.skip("this build of pypff does not export libpff_attachment_get_item")
    (att,) = list(_attachments("pstsdk-submessage.pst"))
    sub = opener.open(att)
    assert isinstance(sub, pypff.message)
    assert sub.subject == "This is an embedded message"


def test_a_file_attachment_is_not_a_message() -> None:
    pypff = pytest.importorskip("pypff", reason="libpff-python not installed")
    opener = EmbeddedOpener(pypff)
    atts = list(_attachments("rubymsg-attachAndInline.pst"))
    assert atts
    assert all(opener.open(a) is None for a in atts), "a by-value attachment gives no message"


def test_an_object_of_another_type_is_never_touched() -> None:
    """Only a pypff.attachment has a libpff pointer after its object header: anything else (read
    as one, it crashed the interpreter) gives None without a call into libpff."""
    pypff = pytest.importorskip("pypff", reason="libpff-python not installed")
    opener = EmbeddedOpener(pypff)
    (att,) = list(_attachments("pstsdk-submessage.pst"))

    fake = types.SimpleNamespace(identifier=att.identifier + 1)
    assert opener.open(fake) is None


def test_without_the_c_symbols_nothing_opens() -> None:
    """Builds of pypff that do not export libpff's symbols (some Windows builds): open gives None, never raises."""
    fake = types.SimpleNamespace(__file__="/nonexistent/pypff.so", attachment=object, message=object)
    opener = EmbeddedOpener(fake)
    assert not opener.available
    assert opener.open(object()) is None
