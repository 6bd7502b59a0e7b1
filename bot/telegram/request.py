"""python-telegram-bot's HTTP layer on aiohttp instead of httpx (telegram.request.BaseRequest is PTB's extension point).

Profiling the webhook path showed httpx taking more CPU per Bot API call than
the rest of the answer put together; aiohttp's client, which Chorus already
runs for its server, costs a fraction of it. PTB's public API is unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from storage import json_codec

DEFAULT_TIMEOUT = 10.0
JSON_BODY = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_limit: int = 64, read_timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self._limit = connection_limit
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._limit))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            sock_read=self._seconds(read_timeout, self._read_timeout),
            sock_connect=self._seconds(connect_timeout, DEFAULT_TIMEOUT),
        )
        headers = JSON_BODY if request_data is not None and not request_data.contains_files else None
        try:
            async with self._session.request(
                method, url, data=self._body(request_data), headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
        except asyncio.CancelledError:
            raise

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """The Bot API's reply, read by orjson; what cannot be read (bad UTF-8, say) is left to PTB's own reading."""
        try:
            return json_codec.loads(payload)  # type: ignore[no-any-return]
        except ValueError:
            return BaseRequest.parse_json_payload(payload)

    @staticmethod
    def _seconds(given: Any, default: float | None) -> float | None:
        return default if isinstance(given, DefaultValue) else given

    @staticmethod
    def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
        """A JSON body (the Bot API takes one for any call without files, and a form costs more to
        encode); files as a multipart body.

        The JSON is of `parameters`, as PTB's docs suggest for a request layer
        of one's own: its `json_payload` encodes each object-valued parameter (a
        keyboard) as a JSON string, then the whole again; the Bot API takes either.
        """
        if request_data is None:
            return None
        if not request_data.contains_files:
            return json_codec.dump_bytes(request_data.parameters)
        form = aiohttp.FormData()
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, part in request_data.multipart_data.items():
            filename, content, mimetype = part[0], part[1], part[2] if len(part) > 2 else None
            form.add_field(name, content, filename=filename, content_type=mimetype)
        return form
