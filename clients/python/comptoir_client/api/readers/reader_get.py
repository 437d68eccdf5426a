from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.reader_detail_model import ReaderDetailModel
from ...types import Response


def _get_kwargs(
    reader: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/readers/{reader}".format(
            reader=quote(str(reader), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | ReaderDetailModel | None:
    if response.status_code == 200:
        response_200 = ReaderDetailModel.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ProblemDetails.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ProblemDetails.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ProblemDetails.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ProblemDetails.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ProblemDetails.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ProblemDetails | ReaderDetailModel]:
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
) -> Response[ProblemDetails | ReaderDetailModel]:
    """One reader, its card and its queue

    Args:
        reader (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | ReaderDetailModel]
    """

    kwargs = _get_kwargs(
        reader=reader,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | ReaderDetailModel | None:
    """One reader, its card and its queue

    Args:
        reader (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | ReaderDetailModel
    """

    return sync_detailed(
        reader=reader,
        client=client,
    ).parsed


async def asyncio_detailed(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ProblemDetails | ReaderDetailModel]:
    """One reader, its card and its queue

    Args:
        reader (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | ReaderDetailModel]
    """

    kwargs = _get_kwargs(
        reader=reader,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    reader: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | ReaderDetailModel | None:
    """One reader, its card and its queue

    Args:
        reader (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | ReaderDetailModel
    """

    return (
        await asyncio_detailed(
            reader=reader,
            client=client,
        )
    ).parsed
