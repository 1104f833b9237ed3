"""Facts from the layout XML files that the call graph and the flow analysis need.

Layouts are binary XML under ``res/layout*/``; androguard's AXML parser decodes
them. Three facts are kept, as plain values:

- ``android:onClick="name"``: the framework calls ``name(View)`` on the
  activity (via reflection) when the view is clicked, so such methods are
  entry points. https://developer.android.com/reference/android/R.attr#onClick
- views whose ``android:inputType`` is a password variation (or that set the
  deprecated ``android:password="true"``): the text of such a field is a
  password. https://developer.android.com/reference/android/text/InputType
- class names of custom views and fragments named in layouts: the layout
  inflater instantiates them by reflection.
  https://developer.android.com/guide/fragments/create#add-xml
"""

from __future__ import annotations

from dataclasses import dataclass

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
MAX_LAYOUT_FILES = 5000
# InputType: class in the low 4 bits, variation in bits 4..11.
TYPE_MASK_CLASS = 0x0F
TYPE_MASK_VARIATION = 0xFF0
TYPE_CLASS_TEXT = 0x01
TYPE_CLASS_NUMBER = 0x02
TEXT_PASSWORD_VARIATIONS = {0x80, 0x90, 0xE0}  # password, visible password, web password
NUMBER_VARIATION_PASSWORD = 0x10
PASSWORD_INPUT_NAMES = {"textPassword", "textVisiblePassword", "textWebPassword", "numberPassword"}


@dataclass(frozen=True)
class LayoutFacts:
    """What the layout files declare, sorted and de-duplicated."""

    on_click: tuple[str, ...] = ()
    """Method names given in ``android:onClick``."""
    password_view_ids: tuple[int, ...] = ()
    """Resource ids (``@id/...`` as integers) of password input fields."""
    view_classes: tuple[str, ...] = ()
    """Dotted class names of custom views and fragments named in layouts."""
    files: int = 0
    """Layout files read."""


def _is_password(elem) -> bool:
    if (elem.get(ANDROID_NS + "password") or "").lower() == "true":
        return True
    raw = elem.get(ANDROID_NS + "inputType")
    if not raw:
        return False
    if any(name in raw for name in PASSWORD_INPUT_NAMES):
        return True
    try:
        value = int(raw, 0)
    except ValueError:
        return False
    cls = value & TYPE_MASK_CLASS
    variation = value & TYPE_MASK_VARIATION
    return (cls == TYPE_CLASS_TEXT and variation in TEXT_PASSWORD_VARIATIONS) or (
        cls == TYPE_CLASS_NUMBER and variation == NUMBER_VARIATION_PASSWORD
    )


def _resource_id(raw: str | None) -> int | None:
    """``@7F070001`` (androguard's rendering of a reference) -> 0x7F070001."""
    if not raw or not raw.startswith("@"):
        return None
    try:
        return int(raw[1:], 16)
    except ValueError:
        return None


def read_layouts(apk) -> LayoutFacts:
    """Read the layout files of an androguard ``APK``. Never raises: unreadable files are skipped."""
    if apk is None:
        return LayoutFacts()
    try:
        names = sorted(n for n in apk.get_files() if n.startswith("res/layout") and n.endswith(".xml"))
    except Exception:  # noqa: BLE001 - hostile zips
        return LayoutFacts()
    from androguard.core.axml import AXMLPrinter

    on_click: set[str] = set()
    passwords: set[int] = set()
    classes: set[str] = set()
    read = 0
    for name in names[:MAX_LAYOUT_FILES]:
        try:
            root = AXMLPrinter(apk.get_file(name)).get_xml_obj()
        except Exception:  # noqa: BLE001 - malformed binary XML is skipped
            continue
        if root is None:
            continue
        read += 1
        for elem in root.iter():
            tag = elem.tag if isinstance(elem.tag, str) else ""
            handler = elem.get(ANDROID_NS + "onClick")
            if handler:
                on_click.add(handler.strip())
            if _is_password(elem):
                rid = _resource_id(elem.get(ANDROID_NS + "id"))
                if rid is not None:
                    passwords.add(rid)
            if "." in tag and tag not in ("view", "fragment"):
                classes.add(tag)
            if tag in ("fragment", "view", "androidx.fragment.app.FragmentContainerView"):
                named = elem.get(ANDROID_NS + "name") or elem.get("class")
                if named:
                    classes.add(named.strip())
    return LayoutFacts(
        on_click=tuple(sorted(on_click)),
        password_view_ids=tuple(sorted(passwords)),
        view_classes=tuple(sorted(classes)),
        files=read,
    )
