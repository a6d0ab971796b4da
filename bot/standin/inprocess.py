"""An offline `BaseRequest` that hands every Bot API call to the stand-in, in process."""

from __future__ import annotations

import json

from telegram.request import BaseRequest, RequestData

from bot.standin.core import BotApiStandIn


class StandInRequest(BaseRequest):
    """What PTB's own test suite does: a request class that never opens a socket."""

    def __init__(self, api: BotApiStandIn) -> None:
        self.api = api

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        # Timeouts are typed `object`: PTB's own annotation (ODVInput) is private, and the
        # stand-in answers at once whatever they are.
        prefix, _, api_method = url.rpartition("/")
        token = prefix.rpartition("/bot")[2]
        params = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.multipart_data:
            # Uploads (a ledger, a chart): (file name, bytes) by part name, for tests to open.
            params["uploads"] = {name: (part[0], part[1]) for name, part
                                 in request_data.multipart_data.items()}  # fmt: skip
        status, body = await self.api.handle(api_method, params, token)
        return status, json.dumps(body, ensure_ascii=False).encode()
