from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.certificate_v1_cps_reader_certificates_key_get_response_certificate_v1_cps_reader_certificates_key_get import (
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet,
)
from ...models.http_validation_error import HTTPValidationError
from ...models.key_role import KeyRole
from ...types import UNSET, Response, Unset


def _get_kwargs(
    reader: str,
    key: KeyRole,
    *,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/cps/{reader}/certificates/{key}".format(
            reader=quote(str(reader), safe=""),
            key=quote(str(key), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
    | None
):
    if response.status_code == 200:
        response_200 = CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet.from_dict(
            response.json()
        )

        return response_200

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    reader: str,
    key: KeyRole,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
]:
    """Certificate of a CPS key (PEM)

    Args:
        reader (str):
        key (KeyRole): The two CPS keys: authentication (ref 0x82) and non-repudiation signature
            (ref 0x81).
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        reader=reader,
        key=key,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    reader: str,
    key: KeyRole,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
    | None
):
    """Certificate of a CPS key (PEM)

    Args:
        reader (str):
        key (KeyRole): The two CPS keys: authentication (ref 0x82) and non-repudiation signature
            (ref 0x81).
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet | HTTPValidationError
    """

    return sync_detailed(
        reader=reader,
        key=key,
        client=client,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    reader: str,
    key: KeyRole,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
]:
    """Certificate of a CPS key (PEM)

    Args:
        reader (str):
        key (KeyRole): The two CPS keys: authentication (ref 0x82) and non-repudiation signature
            (ref 0x81).
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        reader=reader,
        key=key,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    reader: str,
    key: KeyRole,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet
    | HTTPValidationError
    | None
):
    """Certificate of a CPS key (PEM)

    Args:
        reader (str):
        key (KeyRole): The two CPS keys: authentication (ref 0x82) and non-repudiation signature
            (ref 0x81).
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            reader=reader,
            key=key,
            client=client,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
