"""The vocabulary is consistent in itself and everything in Python speaks it: the rules,
the web pages' labels and buttons, the templates. (Against the database:
tests/db/test_vocabulary.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from dentalcare.appointments import rules
from dentalcare.appointments.schemas import AppointmentUpdate
from dentalcare.errors import InvalidTransition
from dentalcare.vocabulary import (
    ACTIVE,
    BOOKING_SOURCES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    URGENCIES,
    is_status,
)
from dentalcare.web import filters
from dentalcare.web.pages import actions, dentist
from dentalcare.web.templating import TEMPLATES

VOCABULARY_OF = {
    "status": set(STATUSES),
    "booking_source": set(BOOKING_SOURCES),
    "urgency": set(URGENCIES),
    "payment_method": set(PAYMENT_METHODS),
    "payment_status": set(PAYMENT_STATUSES),
}


def test_the_status_machine_is_consistent() -> None:
    assert set(STATUSES) == ACTIVE | TERMINAL
    assert not ACTIVE & TERMINAL
    assert len(set(STATUSES)) == len(STATUSES)
    assert {start for start, _ in TRANSITIONS} <= ACTIVE  # nothing leaves a terminal state
    assert {target for _, target in TRANSITIONS} == set(STATUSES) - {"pending"}
    for status in TERMINAL:  # and every terminal state can be reached
        assert any(target == status for _, target in TRANSITIONS)


@pytest.mark.parametrize(("current", "target"), list(product(STATUSES, repeat=2)))
def test_check_transition_follows_the_table(current: str, target: str) -> None:
    assert is_status(current) and is_status(target)
    if (current, target) in TRANSITIONS:
        rules.check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            rules.check_transition(current, target)


def test_the_role_rules_speak_the_vocabulary() -> None:
    updatable = set(AppointmentUpdate.model_fields)
    for fields in rules.EDITABLE.values():
        assert fields <= updatable
    assert rules.EDITABLE["admin"] == updatable
    for statuses in rules.STATUSES_SET_BY.values():
        assert statuses <= set(STATUSES)
    assert rules.AFTER_START <= TERMINAL
    assert not is_status("Pending") and not is_status(None)


def test_the_web_pages_label_every_value_and_offer_only_real_ones() -> None:
    assert set(filters.STATUS_LABELS) == set(STATUSES)
    assert set(filters.SOURCE_LABELS) == set(BOOKING_SOURCES)
    assert set(filters.URGENCY_LABELS) == set(URGENCIES)
    # A portal button sets any status a transition can reach.
    assert set(actions.DONE) == {target for _, target in TRANSITIONS}
    assert set(dentist.FILTERS.values()) - {None} <= set(STATUSES)


def _compared_values(template: nodes.Template) -> Iterator[tuple[str, str]]:
    """(attribute, constant) for every `x.status == 'pending'` or `x.urgency in (...)`."""
    for compare in template.find_all(nodes.Compare):
        operands = [compare.expr, *(op.expr for op in compare.ops)]
        attributes = [o.attr for o in operands if isinstance(o, nodes.Getattr)]
        for attribute in attributes:
            for operand in operands:
                if isinstance(operand, nodes.Const) and isinstance(operand.value, str):
                    yield attribute, operand.value
                if isinstance(operand, nodes.Tuple | nodes.List):
                    for item in operand.items:
                        if isinstance(item, nodes.Const):
                            yield attribute, item.value


def test_templates_compare_only_with_values_of_the_vocabulary() -> None:
    env = jinja2.Environment()
    seen = 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        template = env.parse(path.read_text())
        for attribute, value in _compared_values(template):
            if attribute in VOCABULARY_OF:
                seen += 1
                where = f"{Path(path).relative_to(TEMPLATES)}: {attribute} {value!r}"
                assert value in VOCABULARY_OF[attribute], where
    assert seen >= 3  # the scan does find the comparisons the templates make
