"""Every conversation set, through the real HTTP endpoints, services and database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dentalcare.chatbot.evaluation import run_conversation
from tests.chatbot.support import HttpDriver
from tests.chatbot.test_conversation_sets import CONVERSATIONS
from tests.fixtures.clinic import ChatClinic
from tests.fixtures.servers import RunningServer


@pytest.mark.parametrize(
    ("kind", "spec"), CONVERSATIONS, ids=[spec["name"] for _, spec in CONVERSATIONS]
)
async def test_conversation(
    kind: str,
    spec: dict[str, Any],
    chat_http: httpx.AsyncClient,
    chat_clinic: ChatClinic,
    chat_server: RunningServer,
) -> None:
    driver = HttpDriver(chat_http, chat_clinic, chat_server.app.state.settings)
    result = await run_conversation(driver, spec)
    assert result.ok, "\n".join(result.failures)
