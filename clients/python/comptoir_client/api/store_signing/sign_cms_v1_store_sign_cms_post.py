from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cms_request import CmsRequest
from ...models.http_validation_error import HTTPValidationError
from ...models.sign_cms_v1_store_sign_cms_post_response_sign_cms_v1_store_sign_cms_post import (
    SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CmsRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/store/sign/cms",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    HTTPValidationError
    | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
    | None
):
    if response.status_code == 200:
        response_200 = (
            SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost.from_dict(
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
    HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
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
    body: CmsRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
]:
    """Detached CMS SignedData (DER, base64)

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (CmsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost]
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
    body: CmsRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
    | None
):
    """Detached CMS SignedData (DER, base64)

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (CmsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
    """

    return sync_detailed(
        client=client,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CmsRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> Response[
    HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
]:
    """Detached CMS SignedData (DER, base64)

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (CmsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost]
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
    body: CmsRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
) -> (
    HTTPValidationError
    | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
    | None
):
    """Detached CMS SignedData (DER, base64)

    Args:
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        body (CmsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_comptoir_operator=x_comptoir_operator,
        )
    ).parsed
