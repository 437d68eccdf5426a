from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.client_model_role import ClientModelRole

T = TypeVar("T", bound="ClientModel")


@_attrs_define
class ClientModel:
    """
    Attributes:
        enrolled_at (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        fingerprint_sha256 (str):
        id (int):
        name (str):
        not_after (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        revoked_at (datetime.datetime | None):
        role (ClientModelRole):
    """

    enrolled_at: datetime.datetime
    fingerprint_sha256: str
    id: int
    name: str
    not_after: datetime.datetime
    revoked_at: datetime.datetime | None
    role: ClientModelRole

    def to_dict(self) -> dict[str, Any]:
        enrolled_at = self.enrolled_at.isoformat()

        fingerprint_sha256 = self.fingerprint_sha256

        id = self.id

        name = self.name

        not_after = self.not_after.isoformat()

        revoked_at: None | str
        if isinstance(self.revoked_at, datetime.datetime):
            revoked_at = self.revoked_at.isoformat()
        else:
            revoked_at = self.revoked_at

        role = self.role.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "enrolled_at": enrolled_at,
                "fingerprint_sha256": fingerprint_sha256,
                "id": id,
                "name": name,
                "not_after": not_after,
                "revoked_at": revoked_at,
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        enrolled_at = datetime.datetime.fromisoformat(d.pop("enrolled_at"))

        fingerprint_sha256 = d.pop("fingerprint_sha256")

        id = d.pop("id")

        name = d.pop("name")

        not_after = datetime.datetime.fromisoformat(d.pop("not_after"))

        def _parse_revoked_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                revoked_at_type_0 = datetime.datetime.fromisoformat(data)

                return revoked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at"))

        role = ClientModelRole(d.pop("role"))

        client_model = cls(
            enrolled_at=enrolled_at,
            fingerprint_sha256=fingerprint_sha256,
            id=id,
            name=name,
            not_after=not_after,
            revoked_at=revoked_at,
            role=role,
        )

        return client_model
