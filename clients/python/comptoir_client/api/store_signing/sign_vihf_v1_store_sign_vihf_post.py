from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.sign_vihf_v1_store_sign_vihf_post_response_sign_vihf_v1_store_sign_vihf_post import (
    SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost,
)
from ...models.vihf_request import VihfRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: VihfRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/store/sign/vihf",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    HTTPValidationError
    | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
    | None
):
    if response.status_code == 200:
        response_200 = (
            SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost.from_dict(
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
    HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
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
    body: VihfRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
]:
    """Signed VIHF (SAML 2.0 assertion) for an operator/patient

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (VihfRequest): The VIHF fields (DOMAIN.md). Operator = the professional the assertion
            speaks for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost]
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
    body: VihfRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
    | None
):
    """Signed VIHF (SAML 2.0 assertion) for an operator/patient

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (VihfRequest): The VIHF fields (DOMAIN.md). Operator = the professional the assertion
            speaks for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
    """

    return sync_detailed(
        client=client,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: VihfRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
]:
    """Signed VIHF (SAML 2.0 assertion) for an operator/patient

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (VihfRequest): The VIHF fields (DOMAIN.md). Operator = the professional the assertion
            speaks for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost]
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
    body: VihfRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
    | None
):
    """Signed VIHF (SAML 2.0 assertion) for an operator/patient

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (VihfRequest): The VIHF fields (DOMAIN.md). Operator = the professional the assertion
            speaks for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
