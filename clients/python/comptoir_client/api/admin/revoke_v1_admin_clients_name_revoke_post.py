from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.revoke_v1_admin_clients_name_revoke_post_response_revoke_v1_admin_clients_name_revoke_post import (
    RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    name: str,
    *,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/admin/clients/{name}/revoke".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
    | None
):
    if response.status_code == 200:
        response_200 = RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost.from_dict(
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
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
]:
    """Revoke a client (refused at once)

    Args:
        name (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost]
    """

    kwargs = _get_kwargs(
        name=name,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
    | None
):
    """Revoke a client (refused at once)

    Args:
        name (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
    """

    return sync_detailed(
        name=name,
        client=client,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
]:
    """Revoke a client (refused at once)

    Args:
        name (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost]
    """

    kwargs = _get_kwargs(
        name=name,
        x_comptoir_operator=x_comptoir_operator,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
    | None
):
    """Revoke a client (refused at once)

    Args:
        name (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
