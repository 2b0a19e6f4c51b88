"""Agenda outline arithmetic (meetings.agenda.tree), without an app."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from meetings.agenda.tree import OrderError, build_tree, flatten, plan_order


@dataclass
class Item:
    id: int
    parent_id: int | None
    position: int


def outline(nodes) -> list:
    return [(n.item.id, n.number, n.depth, outline(n.children)) for n in nodes]


def test_build_tree_numbers_by_position_then_id():
    items = [Item(1, None, 2), Item(2, None, 1), Item(3, 1, 1), Item(4, 1, 1), Item(5, 4, 1), Item(6, None, 2)]
    assert outline(build_tree(items)) == [
        (2, "1", 1, []),
        (1, "2", 1, [(3, "2.1", 2, []), (4, "2.2", 2, [(5, "2.2.1", 3, [])])]),
        (6, "3", 1, []),
    ]
    assert [n.item.id for n in flatten(build_tree(items))] == [2, 1, 3, 4, 5, 6]


def test_plan_order_places_every_item():
    order = [{"id": 3, "children": [{"id": 1, "children": [{"id": 2}]}]}, {"id": 4}]
    assert plan_order(order, {1, 2, 3, 4}, 3) == {3: (None, 1), 1: (3, 1), 2: (1, 1), 4: (None, 2)}


def test_plan_order_accepts_an_outline_exactly_as_deep_as_allowed():
    order = [{"id": 1, "children": [{"id": 2, "children": [{"id": 3, "children": []}]}]}]
    assert plan_order(order, {1, 2, 3}, 3)[3] == (2, 1)


@pytest.mark.parametrize("order, existing, fragment", [
    ([{"id": 1}], {1, 2}, "missing"),
    ([{"id": 1}, {"id": 2}, {"id": 9}], {1, 2}, "not on this agenda"),
    ([{"id": 1, "children": [{"id": 1}]}], {1}, "twice"),
    ([{"id": 1}, {"id": 1}], {1}, "twice"),
    ([{"id": 1, "children": [{"id": 2, "children": [{"id": 3, "children": [{"id": 4}]}]}]}], {1, 2, 3, 4}, "deep"),
])
def test_plan_order_refuses_invalid_orders(order, existing, fragment):
    with pytest.raises(OrderError) as err:
        plan_order(order, existing, 3)
    assert fragment in str(err.value)
