"""Embedded messages of a PST (attach method 5, MAPI PR_ATTACH_METHOD = ATTACH_EMBEDDED_MSG)
through libpff's C API: the one place that calls into libpff with ctypes.

The Python bindings (pypff) have no accessor for an embedded message, but the libpff C library
inside the same extension module exports `libpff_attachment_get_item()`; we call it through
ctypes and wrap the result with the module's own `pypff_item_create()`, so an embedded message
is read by libpff like any other item (bodies, recipients, its own attachments).

Safety: the `libpff_item_t *` is read from the attachment object right after its PyObject
header (pypff_item_t is {PyObject_HEAD; libpff_item_t *item; ...}); it is used only after
libpff's own `libpff_item_get_identifier()` on it returns the attachment's identifier. Where
the symbols are not exported (some Windows builds) or the layout differs, `open()` returns None
and the caller keeps the attachment as binary data.
"""

from __future__ import annotations

import ctypes
from typing import Any


class EmbeddedOpener:
    """Opens an attach-method-5 attachment as a pypff.message through libpff's C API (see the module docstring)."""

    def __init__(self, pypff: Any) -> None:
        """pypff: the imported pypff module (its extension file is loaded again as a ctypes.PyDLL).
        Never raises: `available` is False when the symbols or the object layout are missing."""
        self.pypff = pypff
        self.lib: Any = None
        try:
            lib = ctypes.PyDLL(pypff.__file__)
            vp, err = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
            lib.libpff_attachment_get_item.argtypes = [vp, ctypes.POINTER(vp), err]
            lib.libpff_attachment_get_item.restype = ctypes.c_int
            lib.libpff_item_get_identifier.argtypes = [vp, ctypes.POINTER(ctypes.c_uint32), err]
            lib.libpff_item_get_identifier.restype = ctypes.c_int
            lib.libpff_error_free.argtypes = [err]
            lib.libpff_error_free.restype = None
            lib.pypff_item_create.argtypes = [vp, ctypes.py_object]
            lib.pypff_item_create.restype = ctypes.py_object
        except (OSError, AttributeError, TypeError):
            return
        # pypff_item_t is {PyObject_HEAD; libpff_item_t *item; ...}: the pointer follows the header.
        if pypff.attachment.__basicsize__ < object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p):
            return
        self.lib = lib

    @property
    def available(self) -> bool:
        """Whether this build of pypff exports what `open` needs."""
        return self.lib is not None

    def open(self, attachment: Any) -> Any:
        """The embedded message of a pypff.attachment as a pypff.message (its parent keeps the
        file alive), or None when this build of pypff cannot give it or the pointer taken from
        the attachment is not the item libpff identifies as the attachment. Never raises."""
        if self.lib is None or not isinstance(attachment, self.pypff.attachment):
            return None  # only a pypff.attachment has a libpff_item_t pointer after its header
        lib = self.lib
        pointer = ctypes.c_void_p.from_address(id(attachment) + object.__basicsize__).value
        error = ctypes.c_void_p()
        ident = ctypes.c_uint32()
        if not pointer or lib.libpff_item_get_identifier(pointer, ctypes.byref(ident), ctypes.byref(error)) != 1:
            lib.libpff_error_free(ctypes.byref(error))
            return None
        if ident.value != attachment.identifier:
            return None  # not the layout we expect: do not touch it
        sub = ctypes.c_void_p()
        if lib.libpff_attachment_get_item(pointer, ctypes.byref(sub), ctypes.byref(error)) != 1 or not sub.value:
            lib.libpff_error_free(ctypes.byref(error))
            return None
        item = lib.pypff_item_create(sub, attachment)
        return item if isinstance(item, self.pypff.message) else None
