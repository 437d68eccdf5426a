from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.raw_request import RawRequest
from ...models.sign_raw_v1_store_sign_raw_post_response_sign_raw_v1_store_sign_raw_post import (
    SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: RawRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/store/sign/raw",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    HTTPValidationError
    | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
    | None
):
    if response.status_code == 200:
        response_200 = (
            SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost.from_dict(
                response.json()
            )
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
    HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RawRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
]:
    """RSA PKCS#1 v1.5 SHA-256 over data or a digest

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (RawRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost]
    """

    kwargs = _get_kwargs(
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RawRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
    | None
):
    """RSA PKCS#1 v1.5 SHA-256 over data or a digest

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (RawRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
    """

    return sync_detailed(
        client=client,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RawRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
]:
    """RSA PKCS#1 v1.5 SHA-256 over data or a digest

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (RawRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost]
    """

    kwargs = _get_kwargs(
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RawRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
    | None
):
    """RSA PKCS#1 v1.5 SHA-256 over data or a digest

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (RawRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
