from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.apcv_read_model import ApcvReadModel
from ...models.apcv_read_request import ApcvReadRequest
from ...models.problem_details import ProblemDetails
from ...models.request_priority import RequestPriority
from ...types import UNSET, Response, Unset


def _get_kwargs(
    counter: str,
    *,
    body: ApcvReadRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
    x_comptoir_priority: None | RequestPriority | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_comptoir_operator, Unset):
        headers["X-Comptoir-Operator"] = x_comptoir_operator

    if not isinstance(x_comptoir_priority, Unset):
        headers["X-Comptoir-Priority"] = x_comptoir_priority

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/counters/{counter}/apcv/reads".format(
            counter=quote(str(counter), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApcvReadModel | ProblemDetails | None:
    if response.status_code == 200:
        response_200 = ApcvReadModel.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ProblemDetails.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ProblemDetails.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ProblemDetails.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ProblemDetails.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ProblemDetails.from_dict(response.json())

        return response_422

    if response.status_code == 423:
        response_423 = ProblemDetails.from_dict(response.json())

        return response_423

    if response.status_code == 500:
        response_500 = ProblemDetails.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ProblemDetails.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ProblemDetails.from_dict(response.json())

        return response_503

    if response.status_code == 507:
        response_507 = ProblemDetails.from_dict(response.json())

        return response_507

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApcvReadModel | ProblemDetails]:
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
    body: ApcvReadRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
    x_comptoir_priority: None | RequestPriority | Unset = UNSET,
) -> Response[ApcvReadModel | ProblemDetails]:
    """Read an ApCV (a QR scanned at this counter, or a phone on a contactless reader) through the shared
    CPS

    Args:
        counter (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        x_comptoir_priority (None | RequestPriority | Unset): `batch` queues this request's card
            work behind every waiting interactive job (background work of a counter's LGO). Default:
            `interactive` for a counter, `batch` for a server; a server's work is always batch.
        body (ApcvReadRequest): Exactly one of ``scan_id`` (a QR scanned at this counter) or
            ``nfc_reader`` (a phone
            laid on that contactless reader).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApcvReadModel | ProblemDetails]
    """

    kwargs = _get_kwargs(
        counter=counter,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
        x_comptoir_priority=x_comptoir_priority,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    body: ApcvReadRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
    x_comptoir_priority: None | RequestPriority | Unset = UNSET,
) -> ApcvReadModel | ProblemDetails | None:
    """Read an ApCV (a QR scanned at this counter, or a phone on a contactless reader) through the shared
    CPS

    Args:
        counter (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        x_comptoir_priority (None | RequestPriority | Unset): `batch` queues this request's card
            work behind every waiting interactive job (background work of a counter's LGO). Default:
            `interactive` for a counter, `batch` for a server; a server's work is always batch.
        body (ApcvReadRequest): Exactly one of ``scan_id`` (a QR scanned at this counter) or
            ``nfc_reader`` (a phone
            laid on that contactless reader).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApcvReadModel | ProblemDetails
    """

    return sync_detailed(
        counter=counter,
        client=client,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
        x_comptoir_priority=x_comptoir_priority,
    ).parsed


async def asyncio_detailed(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    body: ApcvReadRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
    x_comptoir_priority: None | RequestPriority | Unset = UNSET,
) -> Response[ApcvReadModel | ProblemDetails]:
    """Read an ApCV (a QR scanned at this counter, or a phone on a contactless reader) through the shared
    CPS

    Args:
        counter (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        x_comptoir_priority (None | RequestPriority | Unset): `batch` queues this request's card
            work behind every waiting interactive job (background work of a counter's LGO). Default:
            `interactive` for a counter, `batch` for a server; a server's work is always batch.
        body (ApcvReadRequest): Exactly one of ``scan_id`` (a QR scanned at this counter) or
            ``nfc_reader`` (a phone
            laid on that contactless reader).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApcvReadModel | ProblemDetails]
    """

    kwargs = _get_kwargs(
        counter=counter,
        body=body,
        x_comptoir_operator=x_comptoir_operator,
        x_comptoir_priority=x_comptoir_priority,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    counter: str,
    *,
    client: AuthenticatedClient | Client,
    body: ApcvReadRequest,
    x_comptoir_operator: None | str | Unset = UNSET,
    x_comptoir_priority: None | RequestPriority | Unset = UNSET,
) -> ApcvReadModel | ProblemDetails | None:
    """Read an ApCV (a QR scanned at this counter, or a phone on a contactless reader) through the shared
    CPS

    Args:
        counter (str):
        x_comptoir_operator (None | str | Unset): The person logged in to the LGO on this counter
            (written to the audit log).
        x_comptoir_priority (None | RequestPriority | Unset): `batch` queues this request's card
            work behind every waiting interactive job (background work of a counter's LGO). Default:
            `interactive` for a counter, `batch` for a server; a server's work is always batch.
        body (ApcvReadRequest): Exactly one of ``scan_id`` (a QR scanned at this counter) or
            ``nfc_reader`` (a phone
            laid on that contactless reader).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApcvReadModel | ProblemDetails
    """

    return (
        await asyncio_detailed(
            counter=counter,
            client=client,
            body=body,
            x_comptoir_operator=x_comptoir_operator,
            x_comptoir_priority=x_comptoir_priority,
        )
    ).parsed
