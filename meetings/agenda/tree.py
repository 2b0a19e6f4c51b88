"""Agenda outline arithmetic (pure): building the tree, numbering it, validating a new order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol


class ItemLike(Protocol):
    id: int
    parent_id: int | None
    position: int


@dataclass
class Node:
    item: Any
    number: str
    depth: int
    children: list["Node"] = field(default_factory=list)


def build_tree(items: Iterable[ItemLike]) -> list[Node]:
    by_parent: dict[int | None, list[ItemLike]] = {}
    for item in items:
        by_parent.setdefault(item.parent_id, []).append(item)

    def level(parent_id: int | None, prefix: str, depth: int) -> list[Node]:
        siblings = sorted(by_parent.get(parent_id, []), key=lambda i: (i.position, i.id))
        nodes = []
        for n, item in enumerate(siblings, start=1):
            number = f"{prefix}{n}"
            nodes.append(Node(item, number, depth, level(item.id, number + ".", depth + 1)))
        return nodes

    return level(None, "", 1)


def flatten(nodes: list[Node]) -> list[Node]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


def N_(msgid: str) -> str:
    """Marks a message for extraction; the operation translates it with its parameters."""
    return msgid


class OrderError(ValueError):
    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params)
        self.msgid = msgid
        self.params = params


def plan_order(order: list[dict], existing_ids: set[int], max_depth: int) -> dict[int, tuple[int | None, int]]:
    """Turn a submitted outline ``[{id, children: [...]}, …]`` into {id: (parent_id, position)}.

    The outline must name every existing item exactly once and nest no deeper than ``max_depth``.
    """
    placement: dict[int, tuple[int | None, int]] = {}

    def walk(nodes: list[dict], parent: int | None, depth: int) -> None:
        if nodes and depth > max_depth:  # an item at the deepest level may have an empty children list
            raise OrderError(N_("the agenda can be nested at most %(n)s levels deep"), n=max_depth)
        for position, node in enumerate(nodes, start=1):
            item_id = node["id"]
            if item_id not in existing_ids:
                raise OrderError(N_("item %(id)s is not on this agenda"), id=item_id)
            if item_id in placement:
                raise OrderError(N_("item %(id)s appears twice"), id=item_id)
            placement[item_id] = (parent, position)
            walk(node.get("children") or [], item_id, depth + 1)

    walk(order, None, 1)
    missing = existing_ids - placement.keys()
    if missing:
        raise OrderError(N_("items missing from the new order: %(ids)s"), ids=", ".join(map(str, sorted(missing))))
    return placement
