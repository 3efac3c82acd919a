"""Chatbot test fixtures."""

from __future__ import annotations

import pytest

from dentalcare.chatbot.when import warm_up


@pytest.fixture(scope="session", autouse=True)
def _dateparser_loaded() -> None:
    """Load dateparser's data once, as the service does at session start."""
    warm_up()
