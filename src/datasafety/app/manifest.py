"""The parts of ``AndroidManifest.xml`` the analyses need, as plain frozen models.

androguard decodes the binary XML; this module reads the decoded tree.
Attribute semantics: https://developer.android.com/guide/topics/manifest/manifest-intro
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datasafety.app.anomaly import Anomaly

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
# usesPermissionFlags values, https://developer.android.com/guide/topics/manifest/uses-permission-element
PERMISSION_FLAGS = {0x10000: "neverForLocation"}


@dataclass(frozen=True)
class RequestedPermission:
    """One ``<uses-permission>`` (or ``<uses-permission-sdk-23>``) element."""

    name: str
    max_sdk_version: int | None = None
    """Highest device API level at which the permission is granted; None = no limit."""
    flags: tuple[str, ...] = ()
    """``usesPermissionFlags``, e.g. ``("neverForLocation",)``."""
    sdk23_only: bool = False
    """True for ``<uses-permission-sdk-23>`` (requested on API 23+ only)."""


@dataclass(frozen=True)
class Component:
    """An activity, service, receiver or provider declared in the manifest."""

    kind: str
    name: str
    """Fully qualified class name."""
    exported: bool | None
    actions: tuple[str, ...] = ()
    enabled: bool = True
    """False when ``android:enabled="false"``: the platform does not start it until the app enables it at runtime (PackageManager.setComponentEnabledSetting)."""


@dataclass(frozen=True)
class Manifest:
    package: str = ""
    version_name: str = ""
    version_code: str = ""
    min_sdk: int | None = None
    target_sdk: int | None = None
    max_sdk: int | None = None
    permissions: tuple[RequestedPermission, ...] = ()
    application_class: str = ""
    components: tuple[Component, ...] = ()
    split: str = ""
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)

    @property
    def effective_target_sdk(self) -> int:
        """targetSdkVersion, defaulting to minSdkVersion, then to 1 (platform rule)."""
        return self.target_sdk or self.min_sdk or 1


def _local(tag) -> str:
    """Element name without a namespace: ``{ns}uses-permission`` and ``uses-permission`` alike.

    The platform's manifest parser matches element names without their namespace,
    so an ``<android:uses-permission>`` still requests the permission.
    """
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _iter_local(elem, *names: str):
    """Descendants of ``elem`` whose local name is one of ``names``, in document order."""
    wanted = set(names)
    for child in elem.iter():
        if child is not elem and _local(child.tag) in wanted:
            yield child


def _find_local(elem, name: str):
    return next((c for c in elem if _local(c.tag) == name), None)


def _attr(elem, name: str) -> str | None:
    value = elem.get(ANDROID_NS + name)
    if value is None:
        value = elem.get(name)
    return value


def _int(value: str | None) -> int | None:
    """An integer attribute, or None when it is absent, not a number or absurd (outside 0..100000)."""
    if value is None:
        return None
    value = str(value).strip()[:32]
    try:
        number = int(value, 0)
    except ValueError:
        try:
            number = int(float(value))
        except (ValueError, OverflowError):
            return None
    return number if 0 <= number <= 100_000 else None


def _flags(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    number = _int(value)
    if number is None:
        return tuple(sorted(p for p in value.replace(" ", "").split("|") if p))
    names = [label for bit, label in PERMISSION_FLAGS.items() if number & bit]
    rest = number & ~sum(PERMISSION_FLAGS)
    if rest:
        names.append(hex(rest))
    return tuple(sorted(names))


def _qualify(package: str, name: str) -> str:
    if not name:
        return name
    if name.startswith("."):
        return package + name
    if "." not in name:
        return f"{package}.{name}" if package else name
    return name


def read_manifest(apk, label: str) -> Manifest:
    """Read the manifest of an androguard ``APK``. Never raises: problems become anomalies."""
    anomalies: list[Anomaly] = []
    try:
        xml = apk.get_android_manifest_xml()
    except Exception as exc:  # noqa: BLE001 - hostile binary XML
        xml = None
        anomalies.append(Anomaly("manifest_malformed", f"binary XML could not be decoded: {exc}", label))
    if xml is None:
        return Manifest(anomalies=tuple(anomalies))
    if _local(xml.tag) != "manifest":
        anomalies.append(Anomaly("manifest_malformed", f"root element is <{xml.tag}>, not <manifest>", label))
    package = (xml.get("package") or "").strip()
    sdk = _find_local(xml, "uses-sdk")
    min_sdk = target_sdk = max_sdk = None
    if sdk is not None:
        min_sdk = _int(_attr(sdk, "minSdkVersion"))
        target_sdk = _int(_attr(sdk, "targetSdkVersion"))
        max_sdk = _int(_attr(sdk, "maxSdkVersion"))
    permissions: dict[str, RequestedPermission] = {}
    for tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m"):
        for elem in _iter_local(xml, tag):
            if elem.tag != tag:
                anomalies.append(
                    Anomaly("manifest_namespaced_element", f"<android:{tag}> (namespaced element) is read as <{tag}>, as the platform does", label)
                )
            name = (_attr(elem, "name") or "").strip()
            if not name:
                continue
            perm = RequestedPermission(
                name=name,
                max_sdk_version=_int(_attr(elem, "maxSdkVersion")),
                flags=_flags(_attr(elem, "usesPermissionFlags")),
                sdk23_only=tag != "uses-permission",
            )
            if name in permissions:
                anomalies.append(Anomaly("manifest_duplicate_permission", f"{name} is requested more than once", label))
                old = permissions[name]
                # The most permissive declaration wins.
                if old.max_sdk_version is None or (perm.max_sdk_version or 0) > old.max_sdk_version:
                    continue
            permissions[name] = perm
    components: list[Component] = []
    app = _find_local(xml, "application")
    application_class = ""
    if app is not None:
        application_class = _qualify(package, (_attr(app, "name") or "").strip())
        for kind in ("activity", "activity-alias", "service", "receiver", "provider"):
            for elem in _iter_local(app, kind):
                name = _qualify(package, (_attr(elem, "name") or "").strip())
                if kind == "activity-alias":
                    name = _qualify(package, (_attr(elem, "targetActivity") or "").strip()) or name
                exported_raw = _attr(elem, "exported")
                exported = None if exported_raw is None else exported_raw.lower() in ("true", "1")
                actions = tuple(sorted({(_attr(a, "name") or "") for a in _iter_local(elem, "action")} - {""}))
                enabled = (_attr(elem, "enabled") or "true").strip().lower() not in ("false", "0")
                components.append(
                    Component(
                        kind="activity" if kind == "activity-alias" else kind,
                        name=name,
                        exported=exported,
                        actions=actions,
                        enabled=enabled,
                    )
                )
    return Manifest(
        package=package,
        version_name=str(_attr(xml, "versionName") or ""),
        version_code=str(_attr(xml, "versionCode") or ""),
        min_sdk=min_sdk,
        target_sdk=target_sdk,
        max_sdk=max_sdk,
        permissions=tuple(sorted(permissions.values(), key=lambda p: p.name)),
        application_class=application_class,
        components=tuple(sorted(set(components), key=lambda c: (c.kind, c.name))),
        split=str(xml.get("split") or ""),
        anomalies=tuple(anomalies),
    )
