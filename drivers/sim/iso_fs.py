"""A small ISO/IEC 7816-4 file system for simulated cards: DFs and transparent EFs, the SELECT
variants real middleware sends (by FID, child DF/EF, parent, DF name, path from MF or current
DF), and the FCP template returned when P2 asks for it.

Errors are status words (raised as :class:`SwError`), so the card application answers exactly
as a card would.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from drivers import tlv


class SwError(Exception):
    """Ends the command with this status word."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"SW {sw:04X}")
        self.sw = sw


class Access(enum.Enum):
    """Read condition of an EF."""

    ALWAYS = "always"
    PIN = "pin"
    NEVER = "never"


@dataclass
class EF:
    fid: int
    content: bytes
    read: Access = Access.ALWAYS
    sfi: int | None = None
    """Short EF identifier (1..30) for READ BINARY with P1 bit 8 set, when the file has one."""
    parent: DF | None = field(default=None, repr=False)


@dataclass
class DF:
    fid: int
    aid: bytes | None = None
    children: dict[int, EF | DF] = field(default_factory=dict)
    parent: DF | None = field(default=None, repr=False)

    def add(self, node: EF | DF) -> EF | DF:
        if node.fid in self.children:
            raise ValueError(f"duplicate file {node.fid:04X} in DF {self.fid:04X}")
        node.parent = self
        self.children[node.fid] = node
        return node

    def ef(
        self, fid: int, content: bytes, read: Access = Access.ALWAYS, sfi: int | None = None
    ) -> EF:
        node = EF(fid, content, read, sfi)
        self.add(node)
        return node

    def df(self, fid: int, aid: bytes | None = None) -> DF:
        node = DF(fid, aid)
        self.add(node)
        return node

    def walk(self) -> list[DF]:
        out = [self]
        for child in self.children.values():
            if isinstance(child, DF):
                out += child.walk()
        return out


def fcp(node: EF | DF) -> bytes:
    """FCP template (62): size and type for an EF; type, FID and DF name for a DF; LCS
    "operational, activated" (05)."""
    items: list[tlv.Tlv] = []
    if isinstance(node, EF):
        items.append(tlv.Tlv(0x80, len(node.content).to_bytes(2, "big")))
        items.append(tlv.Tlv(0x82, b"\x01"))
    else:
        items.append(tlv.Tlv(0x82, b"\x38"))
    items.append(tlv.Tlv(0x83, node.fid.to_bytes(2, "big")))
    if isinstance(node, DF) and node.aid:
        items.append(tlv.Tlv(0x84, node.aid))
    items.append(tlv.Tlv(0x8A, b"\x05"))
    items.append(tlv.Tlv(0xA1, children=(tlv.Tlv(0x8C, _compact_acl(node)),)))
    return tlv.Tlv(0x62, children=tuple(items)).encode()


_SCB_ALWAYS, _SCB_NEVER, _SCB_USER_AUTH = 0x00, 0xFF, 0x12


def _compact_acl(node: EF | DF) -> bytes:
    """Security attributes in compact format (ISO 7816-4 §5.4.3.2), inside A1 as IAS-ECC
    cards give them: the access-mode byte 7F (delete, terminate, activate, deactivate, write,
    update, read), then one security condition byte each. Only reading is ever allowed: the
    simulated card is personalised once, from its card file. OpenSC refuses an FCP without
    these."""
    read = _SCB_ALWAYS
    if isinstance(node, EF):
        read = {Access.ALWAYS: _SCB_ALWAYS, Access.PIN: _SCB_USER_AUTH}.get(node.read, _SCB_NEVER)
    return bytes((0x7F,)) + bytes((_SCB_NEVER,)) * 6 + bytes((read,))


class FileSystem:
    """The tree plus the current DF / current EF, which SELECT moves and a reset restores."""

    def __init__(self, mf: DF) -> None:
        self.mf = mf
        self.current_df = mf
        self.current_ef: EF | None = None

    def reset(self) -> None:
        self.current_df = self.mf
        self.current_ef = None

    def _fids(self, data: bytes) -> list[int]:
        if not data or len(data) % 2:
            raise SwError(0x6700)
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]

    def _child(self, df: DF, fid: int) -> EF | DF:
        node = df.children.get(fid)
        if node is None:
            raise SwError(0x6A82)
        return node

    def _by_fid(self, fid: int) -> EF | DF:
        # ISO 7816-4 §7.1.1 (P1=00): the MF, a child of the current DF, the current DF itself,
        # its parent or a sibling DF may be selected by FID.
        if fid == self.mf.fid:
            return self.mf
        cur = self.current_df
        if fid in cur.children:
            return cur.children[fid]
        if fid == cur.fid:
            return cur
        if cur.parent is not None:
            if fid == cur.parent.fid:
                return cur.parent
            if fid in cur.parent.children:
                return cur.parent.children[fid]
        raise SwError(0x6A82)

    def _walk(self, start: DF, fids: list[int]) -> EF | DF:
        node: EF | DF = start
        for fid in fids:
            if not isinstance(node, DF):
                raise SwError(0x6A82)
            node = self._child(node, fid)
        return node

    def select_sfi(self, sfi: int) -> EF:
        """Make current the EF with this short identifier (current DF first, then the MF)."""
        for df in (self.current_df, self.mf):
            for node in df.children.values():
                if isinstance(node, EF) and node.sfi == sfi:
                    self.current_df, self.current_ef = df, node
                    return node
        raise SwError(0x6A82)

    def select(self, p1: int, data: bytes) -> EF | DF:
        """Resolve and make current the file a SELECT with this P1 names."""
        if p1 == 0x00:
            node = self.mf if not data else self._by_fid(self._fids(data)[0])
            if data and len(data) != 2:
                raise SwError(0x6700)
        elif p1 in (0x01, 0x02):
            fids = self._fids(data)
            if len(fids) != 1:
                raise SwError(0x6700)
            # Strictly a child DF (01) or EF (02); but OpenSC's iasecc driver selects the MF
            # with P1=02 and CPx cards accept it, so the P1=00 rules apply here too.
            node = self._by_fid(fids[0])
        elif p1 == 0x03:
            if data:
                raise SwError(0x6700)
            node = self.current_df.parent or self.mf
        elif p1 == 0x04:
            found = [df for df in self.mf.walk() if df.aid is not None and df.aid == data]
            if not data or not found:
                raise SwError(0x6A82)
            node = found[0]
        elif p1 == 0x08:
            fids = self._fids(data)
            if fids[0] == self.mf.fid:  # many hosts include the MF in a path "from the MF"
                fids = fids[1:]
            node = self._walk(self.mf, fids)
        elif p1 == 0x09:
            fids = self._fids(data)
            # OpenSC's iasecc driver sends absolute paths (3F00...) with P1=09, which CPx
            # cards accept: a leading MF identifier restarts from the MF.
            start = self.mf if fids[0] == self.mf.fid else self.current_df
            node = self._walk(start, fids[1:] if start is self.mf else fids)
        else:
            raise SwError(0x6A86)
        if isinstance(node, DF):
            self.current_df, self.current_ef = node, None
        else:
            assert node.parent is not None  # every EF is added through a DF
            self.current_df, self.current_ef = node.parent, node
        return node
