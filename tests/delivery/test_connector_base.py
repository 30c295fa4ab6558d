"""How every connector classifies its tool's HTTP answers."""

from __future__ import annotations

import httpx
import pytest

from workers.connectors.base import PermanentFailure, RetryableFailure, check_response


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://crm"))


class TestCheckResponse:
    @pytest.mark.parametrize("status", [200, 201, 204])
    def test_success_passes(self, status: int) -> None:
        assert check_response(_response(status), what="crm").status_code == status

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
    def test_transient_statuses_are_retryable(self, status: int) -> None:
        with pytest.raises(RetryableFailure, match=f"HTTP {status}"):
            check_response(_response(status), what="crm")

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
    def test_other_client_errors_are_permanent(self, status: int) -> None:
        with pytest.raises(PermanentFailure, match=f"HTTP {status}"):
            check_response(_response(status), what="crm")

    def test_retry_after_seconds_is_kept(self) -> None:
        with pytest.raises(RetryableFailure) as caught:
            check_response(_response(429, {"retry-after": "30"}), what="crm")
        assert caught.value.retry_after == 30.0
