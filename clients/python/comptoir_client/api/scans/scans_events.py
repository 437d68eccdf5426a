from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...types import UNSET, Response, Unset


def _get_kwargs(
    counter: str,
    *,
    after: int | None | Unset = UNSET,
    max_seconds: float | Unset = 3600.0,
    last_event_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    params: dict[str, Any] = {}

    json_after: int | None | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    params["max_seconds"] = max_seconds

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/counters/{counter}/scans/events".format(
            counter=quote(str(counter), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | str | None:
    if response.status_code == 200:
        response_200 = response.text
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
) -> Response[ProblemDetails | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    max_seconds: float | Unset = 3600.0,
    last_event_id: None | str | Unset = UNSET,
) -> Response[ProblemDetails | str]:
    """Scan, guard and device events of a counter (server-sent, resumable)

    Args:
        counter (str):
        after (int | None | Unset): Resume after this event number (the ``id`` of the last scans,
            this run of the daemon)
        max_seconds (float | Unset):  Default: 3600.0.
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | str]
    """

    kwargs = _get_kwargs(
        counter=counter,
        after=after,
        max_seconds=max_seconds,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    max_seconds: float | Unset = 3600.0,
    last_event_id: None | str | Unset = UNSET,
) -> ProblemDetails | str | None:
    """Scan, guard and device events of a counter (server-sent, resumable)

    Args:
        counter (str):
        after (int | None | Unset): Resume after this event number (the ``id`` of the last scans,
            this run of the daemon)
        max_seconds (float | Unset):  Default: 3600.0.
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | str
    """

    return sync_detailed(
        counter=counter,
        client=client,
        after=after,
        max_seconds=max_seconds,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    max_seconds: float | Unset = 3600.0,
    last_event_id: None | str | Unset = UNSET,
) -> Response[ProblemDetails | str]:
    """Scan, guard and device events of a counter (server-sent, resumable)

    Args:
        counter (str):
        after (int | None | Unset): Resume after this event number (the ``id`` of the last scans,
            this run of the daemon)
        max_seconds (float | Unset):  Default: 3600.0.
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | str]
    """

    kwargs = _get_kwargs(
        counter=counter,
        after=after,
        max_seconds=max_seconds,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    max_seconds: float | Unset = 3600.0,
    last_event_id: None | str | Unset = UNSET,
) -> ProblemDetails | str | None:
    """Scan, guard and device events of a counter (server-sent, resumable)

    Args:
        counter (str):
        after (int | None | Unset): Resume after this event number (the ``id`` of the last scans,
            this run of the daemon)
        max_seconds (float | Unset):  Default: 3600.0.
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | str
    """

    return (
        await asyncio_detailed(
            counter=counter,
            client=client,
            after=after,
            max_seconds=max_seconds,
            last_event_id=last_event_id,
        )
    ).parsed
