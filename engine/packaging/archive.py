"""Reading a workflow archive without running it: open the zip, read ``manifest.json`` and
check every file against the checksums it lists, so a changed archive is caught before any of
its code is imported."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

from .errors import NotAPackageError, PackageTamperedError
from .manifest import MANIFEST_NAME, PackageManifest, checksum, digest


def read_manifest(path: str | Path) -> PackageManifest:
    """The verified manifest of the archive at ``path``.

    Raises ``NotAPackageError`` for a missing file, a file that is not a zip, or a zip without
    our manifest, and ``PackageTamperedError`` naming each changed, missing or added file.
    """
    archive = Path(path)
    if not archive.is_file():
        reason = "it is a folder" if archive.is_dir() else "no such file"
        raise NotAPackageError(archive, reason)
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            doubled = sorted(name for name, count in Counter(names).items() if count > 1)
            if MANIFEST_NAME not in names:
                raise NotAPackageError(archive, f"it is a zip without {MANIFEST_NAME}")
            manifest = _parse(archive, zf.read(MANIFEST_NAME))
            found = {name: digest(zf.read(name)) for name in names
                     if name != MANIFEST_NAME and not name.endswith("/")}
    except zipfile.BadZipFile:
        raise NotAPackageError(archive, "it is not a zip archive (.pyz)") from None
    except OSError as exc:
        raise NotAPackageError(archive, f"cannot read it: {exc.strerror or exc}") from None
    _verify(archive, manifest, found, doubled)
    return manifest


def read_member(path: str | Path, name: str) -> str:
    """The text of one file of an archive (read after ``read_manifest`` verified it)."""
    with zipfile.ZipFile(path) as zf:
        return zf.read(name).decode("utf-8")


def _parse(archive: Path, raw: bytes) -> PackageManifest:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPackageError(archive, f"{MANIFEST_NAME} is not JSON ({exc})") from None
    return PackageManifest.from_dict(data, archive)


def _verify(archive: Path, manifest: PackageManifest, found: dict[str, str],
            doubled: list[str]) -> None:
    """Compare the archive's files with the manifest's list, then the list with its checksum."""
    listed = dict(manifest.files)
    changed = sorted(n for n in listed if n in found and found[n] != listed[n])
    missing = sorted(n for n in listed if n not in found)
    added = sorted(n for n in found if n not in listed)
    if changed or missing or added or doubled:
        reason = f"stored twice: {', '.join(doubled)}" if doubled else ""
        raise PackageTamperedError(archive, changed=changed, missing=missing, added=added,
                                   reason=reason)
    if checksum(listed) != manifest.checksum:
        raise PackageTamperedError(archive, reason=f"the file list in {MANIFEST_NAME} does not "
                                   f"match its checksum {manifest.checksum}")
