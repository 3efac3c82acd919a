"""Every scripted conversation, through the real HTTP endpoints, services and database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from dentalcare.chatbot.evaluation import load, run_conversation
from tests.chatbot.support import HttpDriver
from tests.fixtures.clinic import ChatClinic

CONVERSATIONS = load(Path(__file__).parents[2] / "bench" / "conversations.jsonl")


@pytest.mark.parametrize("spec", CONVERSATIONS, ids=lambda s: s["name"])
async def test_conversation(
    spec: dict[str, Any], chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    result = await run_conversation(HttpDriver(chat_http, chat_clinic), spec)
    assert result.ok, "\n".join(result.failures)
