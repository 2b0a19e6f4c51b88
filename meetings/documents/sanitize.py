"""Remove active content from an open pikepdf document and say what was removed.

This module runs inside the intake worker process, never in the server: it touches the objects of a hostile
file. It imports only pikepdf and the standard library, and nothing from this package, because the worker
loads it by file path (see ``_worker.py``).

Two passes:

1. A structural pass over the places a viewer looks (document catalog, name trees, AcroForm, pages and
   their annotations), so most removals carry a readable location such as ``Page 2 Link annotation``.
2. A sweep over every object of the file, which catches the same constructs wherever else they were hidden
   (outline items, form fields only reachable from /AcroForm, structure trees, orphan objects).

Stream data is never decoded here: a decompression bomb stays compressed. Plain http(s)/mailto links and
in-document navigation are kept; they are not active content.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf

# A hostile file can hold millions of annotations; the report stays small, the count stays exact.
MAX_RECORDED = 200
# Bound on the /Next chain walked per action: chains may loop through indirect objects.
MAX_CHAIN = 1000
MAX_LABEL = 80

DANGEROUS_ACTIONS = {
    "/JavaScript": "javascript", "/Launch": "launch", "/SubmitForm": "submit_form",
    "/ImportData": "import_data", "/GoToR": "remote_goto", "/GoToE": "embedded_goto",
    "/Rendition": "rendition", "/Movie": "movie", "/Sound": "sound", "/RichMediaExecute": "rich_media",
    "/GoTo3DView": "3d",
}
REMOVED_ANNOTATIONS = {
    "/FileAttachment": "file_attachment", "/RichMedia": "rich_media", "/3D": "3d", "/Movie": "movie",
    "/Sound": "sound", "/Screen": "screen",
}
# Keys removed wherever they appear, with the kind recorded. /AA and /OpenAction are handled apart
# because their values are actions whose kinds are worth recording one by one.
REMOVED_KEYS = {
    "/JavaScript": "javascript", "/JS": "javascript", "/EmbeddedFiles": "embedded_file", "/EF": "embedded_file",
    "/RF": "embedded_file", "/AF": "embedded_file", "/XFA": "xfa", "/NeedsRendering": "xfa",
    "/RichMediaContent": "rich_media", "/RichMediaSettings": "rich_media", "/3DD": "3d",
    "/AlternatePresentations": "alternate_presentation", "/Renditions": "rendition", "/Collection": "portfolio",
}
SAFE_URI = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
# Viewers drop ASCII whitespace and control characters inside a scheme ("java\tscript:"); so must the check.
URI_NOISE = re.compile(r"[\x00-\x20]")


@dataclass
class RemovalLog:
    """What was removed, as {"kind", "where"} dicts; the first MAX_RECORDED are kept, all are counted."""

    items: list[dict[str, str]] = field(default_factory=list)
    total: int = 0

    def add(self, kind: str, where: str) -> None:
        self.total += 1
        if len(self.items) < MAX_RECORDED:
            self.items.append({"kind": kind, "where": where})


def sanitize(pdf: Pdf) -> RemovalLog:
    """Strip active content from ``pdf`` in place."""
    log = RemovalLog()
    _clean_catalog(pdf.Root, log)
    for number, page in enumerate(pdf.pages, start=1):
        _clean_page(page.obj, f"Page {number}", log)
    _sweep(pdf, log)
    return log


# -- actions -------------------------------------------------------------------------------------------

def action_kind(action: pikepdf.Object) -> str:
    """A short name for an action (or a bare destination, which is a go-to)."""
    if not isinstance(action, Dictionary):
        return "goto"
    kind = action.get("/S")
    if not isinstance(kind, Name):
        return "action"
    if str(kind) == "/URI" and not _safe_uri(action):
        return "uri"
    return DANGEROUS_ACTIONS.get(str(kind), str(kind)[1:].lower())


def is_dangerous(action: pikepdf.Object) -> bool:
    if not isinstance(action, Dictionary):
        return False
    kind = action.get("/S")
    if not isinstance(kind, Name):
        return False
    return str(kind) in DANGEROUS_ACTIONS or (str(kind) == "/URI" and not _safe_uri(action))


def _safe_uri(action: Dictionary) -> bool:
    uri = action.get("/URI")
    if not isinstance(uri, pikepdf.String):
        return False
    text = URI_NOISE.sub("", bytes(uri).decode("latin-1"))
    return SAFE_URI.match(text) is not None


def action_chain(action: pikepdf.Object) -> list[pikepdf.Object]:
    """The action followed by its /Next actions (a dict or an array), loops cut by object identity."""
    chain: list[pikepdf.Object] = []
    seen: set[tuple[int, int]] = set()
    pending = [action]
    while pending and len(chain) < MAX_CHAIN:
        current = pending.pop(0)
        if current.is_indirect:
            if current.objgen in seen:
                continue
            seen.add(current.objgen)
        chain.append(current)
        following = current.get("/Next") if isinstance(current, Dictionary) else None
        if isinstance(following, Dictionary):
            pending.append(following)
        elif isinstance(following, Array):
            pending.extend(item for item in following if isinstance(item, Dictionary))
    return chain


def _prune_action(holder: Dictionary, key: str, where: str, log: RemovalLog) -> None:
    """Drop holder[key] if it is dangerous, or only its /Next chain if something further on is."""
    chain = action_chain(holder[key])
    if not any(is_dangerous(item) for item in chain):
        return
    if is_dangerous(chain[0]):
        for item in chain:
            log.add(action_kind(item), where)
        del holder[key]
        return
    for item in chain[1:]:
        log.add(action_kind(item), f"{where}/Next")
    del chain[0]["/Next"]


def _remove_all_actions(holder: Dictionary, key: str, where: str, log: RemovalLog) -> None:
    """Remove holder[key] entirely, recording every action in its chain (used for /OpenAction)."""
    for item in action_chain(holder[key]):
        log.add(action_kind(item), where)
    del holder[key]


def _remove_additional_actions(holder: Dictionary, where: str, log: RemovalLog) -> None:
    """Remove an /AA dictionary: these run on events (open, close, keystroke, focus) without a click."""
    triggers = holder.get("/AA")
    if isinstance(triggers, Dictionary):
        for trigger in triggers.keys():
            for item in action_chain(triggers[trigger]):
                log.add(action_kind(item), f"{where} AA{trigger}")
    else:
        log.add("action", f"{where} AA")
    del holder["/AA"]


# -- structural pass -----------------------------------------------------------------------------------

def _clean_catalog(root: Dictionary, log: RemovalLog) -> None:
    if "/OpenAction" in root:
        _remove_all_actions(root, "/OpenAction", "OpenAction", log)
    if "/AA" in root:
        _remove_additional_actions(root, "Document", log)
    names = root.get("/Names")
    if isinstance(names, Dictionary):
        _remove_name_tree(names, "/JavaScript", "javascript", log)
        _remove_name_tree(names, "/EmbeddedFiles", "embedded_file", log)
        _remove_name_tree(names, "/AlternatePresentations", "alternate_presentation", log)
        _remove_name_tree(names, "/Renditions", "rendition", log)
    form = root.get("/AcroForm")
    if isinstance(form, Dictionary):
        for key in ("/XFA", "/NeedsRendering"):
            if key in form:
                log.add("xfa", f"AcroForm{key}")
                del form[key]
    for key, kind in (("/Collection", "portfolio"), ("/AF", "embedded_file")):
        if key in root:
            log.add(kind, f"Document{key}")
            del root[key]


def _remove_name_tree(names: Dictionary, key: str, kind: str, log: RemovalLog) -> None:
    if key not in names:
        return
    entries = _name_tree_keys(names[key])
    for entry in entries:
        log.add(kind, f"Names{key} '{entry}'")
    if not entries:
        log.add(kind, f"Names{key}")
    del names[key]


def _name_tree_keys(tree: pikepdf.Object) -> list[str]:
    """Entry names of a name tree, for the report only; a broken tree just reports no names."""
    if not isinstance(tree, Dictionary):
        return []
    try:
        keys = []
        for name in pikepdf.NameTree(tree).keys():
            keys.append(_label(name))
            if len(keys) >= MAX_RECORDED:
                break
        return keys
    except (pikepdf.PdfError, ValueError, TypeError, RuntimeError):
        return []


def _clean_page(page: Dictionary, where: str, log: RemovalLog) -> None:
    if "/AA" in page:
        _remove_additional_actions(page, where, log)
    annots = page.get("/Annots")
    if not isinstance(annots, Array):
        return
    kept = []
    for annot in annots:
        if not isinstance(annot, Dictionary):
            kept.append(annot)
            continue
        subtype = annot.get("/Subtype")
        label = f"{where} {str(subtype)[1:] if isinstance(subtype, Name) else 'unknown'} annotation"
        if isinstance(subtype, Name) and str(subtype) in REMOVED_ANNOTATIONS:
            log.add(REMOVED_ANNOTATIONS[str(subtype)], label)
            continue
        _clean_annotation(annot, label, log)
        kept.append(annot)
    if len(kept) != len(annots):
        page["/Annots"] = Array(kept)


def _clean_annotation(annot: Dictionary, where: str, log: RemovalLog) -> None:
    if "/AA" in annot:
        _remove_additional_actions(annot, where, log)
    if "/A" in annot:
        _prune_action(annot, "/A", where, log)


# -- sweep over every object ---------------------------------------------------------------------------

def _sweep(pdf: Pdf, log: RemovalLog) -> None:
    """Apply the same rules to every object reachable from the trailer, which is exactly what gets written.

    Orphan objects are skipped: the writer drops them, and reporting them would list removals twice.
    No recursion: direct nesting can be thousands of levels deep.
    """
    visited: set[tuple[int, int]] = set()
    dropped: set[tuple[int, int]] = set()
    stack: list[tuple[pikepdf.Object, str]] = [(pdf.trailer, "trailer")]
    while stack:
        container, where = stack.pop()
        if not isinstance(container, Array):
            _strip_keys(container, where, log)
        slots = _slots(container)
        doomed = []
        for slot, child in slots:
            if isinstance(child, Dictionary) and is_dangerous(child):
                doomed.append(slot)
                _record_dropped(child, _slot_label(where, slot), log, dropped)
            elif isinstance(child, (Dictionary, Array, pikepdf.Stream)):
                if not child.is_indirect:
                    stack.append((child, where))
                elif child.objgen not in visited:
                    visited.add(child.objgen)
                    stack.append((child, _describe(child)))
        _delete_slots(container, doomed)


def _slots(container: pikepdf.Object) -> list[tuple[str | int, pikepdf.Object]]:
    if isinstance(container, Array):
        return list(enumerate(container))
    return [(key, container[key]) for key in container.keys()]


def _slot_label(where: str, slot: str | int) -> str:
    return f"{where} [{slot}]" if isinstance(slot, int) else f"{where} {slot}"


def _strip_keys(container: pikepdf.Object, where: str, log: RemovalLog) -> None:
    keys = set(container.keys())
    if "/AA" in keys:
        _remove_additional_actions(container, where, log)
    if "/OpenAction" in keys:
        _remove_all_actions(container, "/OpenAction", f"{where} /OpenAction", log)
    for key in keys & REMOVED_KEYS.keys():
        log.add(REMOVED_KEYS[key], f"{where} {key}")
        del container[key]


def _record_dropped(action: Dictionary, where: str, log: RemovalLog, dropped: set[tuple[int, int]]) -> None:
    """Report a dangerous action once, even when several objects share it by reference."""
    if action.is_indirect:
        if action.objgen in dropped:
            return
        dropped.add(action.objgen)
    for item in action_chain(action):
        log.add(action_kind(item), where)


def _delete_slots(container: pikepdf.Object, slots: list[str | int]) -> None:
    if isinstance(container, Array):
        for index in sorted((slot for slot in slots if isinstance(slot, int)), reverse=True):
            del container[index]
    else:
        for key in slots:
            del container[key]


def _describe(obj: pikepdf.Object) -> str:
    """A readable location for an object found by the sweep."""
    number = f"object {obj.objgen[0]}"
    if not isinstance(obj, Dictionary):
        return number
    if "/FT" in obj or ("/Kids" in obj and "/T" in obj):
        return f"Form field '{_label(obj.get('/T', ''))}'"
    if "/Title" in obj and "/Parent" in obj:
        return f"Outline item '{_label(obj.Title)}'"
    subtype = obj.get("/Subtype")
    if obj.get("/Type") == Name.Annot or (isinstance(subtype, Name) and "/Rect" in obj):
        return f"{str(subtype)[1:] if isinstance(subtype, Name) else 'unknown'} annotation ({number})"
    return number


def _label(value: object) -> str:
    """A name or title from the file, made safe to show and short."""
    text = str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:MAX_LABEL]
