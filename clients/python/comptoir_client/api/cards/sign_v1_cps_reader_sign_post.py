from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.sign_request import SignRequest
from ...models.sign_v1_cps_reader_sign_post_response_sign_v1_cps_reader_sign_post import (
    SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    reader: str,
    *,
    body: SignRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/cps/{reader}/sign".format(
            reader=quote(str(reader), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost | None
):
    if response.status_code == 200:
        response_200 = SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost.from_dict(
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
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
    body: SignRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost
]:
    """Sign a SHA-256 digest or data with a CPS key

    Args:
        reader (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (SignRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost]
    """

    kwargs = _get_kwargs(
        reader=reader,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
    body: SignRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost | None
):
    """Sign a SHA-256 digest or data with a CPS key

    Args:
        reader (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (SignRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost
    """

    return sync_detailed(
        reader=reader,
        client=client,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
    body: SignRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost
]:
    """Sign a SHA-256 digest or data with a CPS key

    Args:
        reader (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (SignRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost]
    """

    kwargs = _get_kwargs(
        reader=reader,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
    body: SignRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost | None
):
    """Sign a SHA-256 digest or data with a CPS key

    Args:
        reader (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (SignRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost
    """

    return (
        await asyncio_detailed(
            reader=reader,
            client=client,
            body=body,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
