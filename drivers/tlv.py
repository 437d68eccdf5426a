"""BER-TLV as smart cards use it (ISO/IEC 7816-4 §5.2, a subset of ITU-T X.690 BER).

Card files and responses carry nested tag-length-value objects. Everything a card sends is
untrusted input: any malformed byte string raises :class:`TlvError` and nothing else, so a
driver can turn it into one ``CardProtocolError`` at its edge.

Rules applied (and why):
- Tags keep their raw bytes (as an ``int``: ``0x5F20``, ``0x9F7F``). ISO 7816 and EMV use
  two-byte tags whose number is below 31 (``9F02``), which strict X.690 forbids, so tag numbers
  are not re-normalised; a tag is at most 4 bytes.
- Bit 6 of the first tag byte says constructed; a constructed object's value must itself be
  a sequence of TLV objects, and is held as ``children``.
- Lengths: short form (0..127) or long form with 1 to 4 length bytes (ISO 7816-4 allows up
  to 5 bytes in extended contexts; no card file here comes near 4 GiB). The indefinite form
  (``80``) is not allowed in ISO 7816 and is refused. Non-minimal long forms (``81 05``) are
  accepted on input, as BER allows; encoding always writes the minimal form.
- ISO 7816-4 lets ``00`` or ``FF`` bytes pad before, between and after objects in a file
  (fixed-size EFs are padded). :func:`decode_all` skips them only when asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4
MAX_DEPTH = 16
"""Nesting limit: real card data nests 3 or 4 deep; the limit keeps hostile input from
exhausting the interpreter stack."""

_PADDING = (0x00, 0xFF)


class LayoutError(ValueError):
    """Card data that does not follow its file layout (missing object, bad encoding, bad
    value). One type for every card application's layout; each driver turns it into a
    ``CardProtocolError`` naming the file."""


class TlvError(ValueError):
    """Malformed BER-TLV input, or an object that cannot be encoded."""


def _tag_bytes(tag: int) -> bytes:
    if tag < 0:
        raise TlvError(f"tag must be non-negative, got {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def _check_tag(tag: int) -> bytes:
    raw = _tag_bytes(tag)
    try:
        parsed, end = _read_tag(raw, 0)
    except TlvError:
        end, parsed = -1, -1
    if end != len(raw) or parsed != tag:
        raise TlvError(f"{raw.hex().upper()} is not a single well-formed BER tag")
    return raw


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError(f"truncated: tag expected at offset {pos}")
    first = data[pos]
    end = pos + 1
    if first & 0x1F == 0x1F:
        # Subsequent bytes carry bit 8 set while more follow (X.690 §8.1.2.4).
        while True:
            if end >= len(data):
                raise TlvError(f"truncated: multi-byte tag at offset {pos} never ends")
            byte = data[end]
            end += 1
            if end - pos > MAX_TAG_BYTES:
                raise TlvError(f"tag at offset {pos} longer than {MAX_TAG_BYTES} bytes")
            if not byte & 0x80:
                break
    return int.from_bytes(data[pos:end], "big"), end


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError(f"truncated: length expected at offset {pos}")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:
        raise TlvError(f"indefinite length at offset {pos} is not allowed in ISO 7816")
    if count > MAX_LENGTH_BYTES:
        raise TlvError(f"length at offset {pos} uses {count} bytes (max {MAX_LENGTH_BYTES})")
    end = pos + 1 + count
    if end > len(data):
        raise TlvError(f"truncated: {count}-byte length at offset {pos}")
    return int.from_bytes(data[pos + 1 : end], "big"), end


def _encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise TlvError(f"value of {length} bytes is too long to encode")
    return bytes([0x80 | len(body)]) + body


def is_constructed(tag: int) -> bool:
    """Bit 6 of the tag's first byte (X.690 §8.1.2.5)."""
    return bool(_tag_bytes(tag)[0] & 0x20)


@dataclass(frozen=True)
class Tlv:
    """One data object: a primitive ``value`` or, for a constructed tag, its ``children``.

    Validated at construction, so every ``Tlv`` can be encoded and decodes back equal.
    """

    tag: int
    value: bytes = b""
    children: tuple[Tlv, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_tag(self.tag)
        if not isinstance(self.value, bytes):
            raise TlvError(f"tag {self.tag_hex}: value must be bytes")
        if not isinstance(self.children, tuple) or not all(
            isinstance(c, Tlv) for c in self.children
        ):
            raise TlvError(f"tag {self.tag_hex}: children must be a tuple of Tlv")
        if self.constructed and self.value:
            raise TlvError(f"tag {self.tag_hex} is constructed: give children, not a value")
        if not self.constructed and self.children:
            raise TlvError(f"tag {self.tag_hex} is primitive: give a value, not children")

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    @property
    def tag_hex(self) -> str:
        return _tag_bytes(self.tag).hex().upper()

    @property
    def content(self) -> bytes:
        """The value field as it appears on the wire (children encoded for constructed tags)."""
        return encode(self.children) if self.constructed else self.value

    def encode(self) -> bytes:
        content = self.content
        return _tag_bytes(self.tag) + _encode_length(len(content)) + content

    def __iter__(self) -> Iterator[Tlv]:
        return iter(self.children)

    def find(self, tag: int) -> Tlv | None:
        """First direct child with that tag, or None."""
        return find(self.children, tag)

    def find_all(self, tag: int) -> tuple[Tlv, ...]:
        """Every direct child with that tag, in card order."""
        return find_all(self.children, tag)

    def require(self, tag: int) -> Tlv:
        """The first direct child with that tag; its absence is malformed card data."""
        found = self.find(tag)
        if found is None:
            raise TlvError(f"tag {_tag_bytes(tag).hex().upper()} missing in {self.tag_hex}")
        return found


def find(objects: Iterable[Tlv], tag: int) -> Tlv | None:
    return next((o for o in objects if o.tag == tag), None)


def find_all(objects: Iterable[Tlv], tag: int) -> tuple[Tlv, ...]:
    return tuple(o for o in objects if o.tag == tag)


def encode(objects: Iterable[Tlv]) -> bytes:
    """Concatenated encodings, in order."""
    return b"".join(o.encode() for o in objects)


def _decode_one(data: bytes, pos: int, depth: int) -> tuple[Tlv, int]:
    start = pos
    tag, pos = _read_tag(data, pos)
    length, pos = _read_length(data, pos)
    end = pos + length
    if end > len(data):
        raise TlvError(
            f"truncated: tag {_tag_bytes(tag).hex().upper()} at offset {start} "
            f"announces {length} bytes, {len(data) - pos} left"
        )
    if is_constructed(tag):
        if depth >= MAX_DEPTH:
            raise TlvError(f"nesting deeper than {MAX_DEPTH} at offset {start}")
        children = _decode_seq(data[pos:end], depth + 1, padding=False)
        return Tlv(tag, children=children), end
    return Tlv(tag, value=bytes(data[pos:end])), end


def _decode_seq(data: bytes, depth: int, *, padding: bool) -> tuple[Tlv, ...]:
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if padding and data[pos] in _PADDING:
            pos += 1
            continue
        obj, pos = _decode_one(data, pos, depth)
        out.append(obj)
    return tuple(out)


def decode_all(data: bytes, *, padding: bool = False) -> tuple[Tlv, ...]:
    """Every object in ``data``, which must hold nothing else (bar ``00``/``FF`` padding
    between top-level objects when ``padding`` is true)."""
    return _decode_seq(bytes(data), 0, padding=padding)


def decode(data: bytes) -> Tlv:
    """Exactly one object filling ``data``."""
    raw = bytes(data)
    obj, end = _decode_one(raw, 0, 0)
    if end != len(raw):
        raise TlvError(f"{len(raw) - end} trailing bytes after tag {obj.tag_hex}")
    return obj
