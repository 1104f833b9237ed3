"""Email addresses and phone numbers.

- Email: ``local@domain.tld`` (RFC 5322 addr-spec, dot-atom subset) whose top-level label is
  alphabetic and not a file extension (``icon@2x.png`` is an asset name, not an address).
- Phone number: a key naming a phone (``phone``, ``msisdn``, ``mobile``, ``tel``) with 7–15
  digits, or anywhere an E.164 number (ITU-T E.164: ``+``, country code, at most 15 digits
  in all) written with a leading ``+`` and at least 8 digits.
"""

from __future__ import annotations

import re

from datasafety.traffic.detect import Finding, keys

EMAIL_RE = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w-])")
_FILE_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "bmp", "js", "css", "html", "htm", "json", "xml",
     "mp4", "mp3", "wav", "ogg", "txt", "pdf", "zip", "so", "dex", "apk", "jar", "kt", "java", "ttf", "otf", "woff"}
)
E164_RE = re.compile(r"(?<![\w+])\+[1-9](?:[ .\-]?\(?\d\)?){7,14}(?![\d])")
_PHONE_VALUE_RE = re.compile(r"\+?[\d ()\-.]{7,22}")


def detect_contacts(fields) -> list[Finding]:
    """Email addresses and phone numbers in one request's fields."""
    findings: list[Finding] = []
    for field in fields:
        text = field.text
        if "@" in text:
            for match in EMAIL_RE.finditer(text):
                if match.group(1).lower() in _FILE_TLDS:
                    continue
                findings.append(Finding(field.where, "email", "email", match.group(0), field.encodings))
        hint = keys.identifier_hint(field.key)
        stripped = text.strip()
        if hint == "phone_number" and _PHONE_VALUE_RE.fullmatch(stripped):
            digits = sum(ch.isdigit() for ch in stripped)
            if 7 <= digits <= 15:
                findings.append(Finding(field.where, "phone_number", "phone_number", stripped, field.encodings))
                continue
        if "+" in text:
            for match in E164_RE.finditer(text):
                digits = sum(ch.isdigit() for ch in match.group(0))
                if 8 <= digits <= 15:
                    findings.append(Finding(field.where, "phone_number", "phone_number", match.group(0), field.encodings))
    return findings
