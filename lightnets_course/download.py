"""Downloads that show progress, verify a checksum, resume after an interruption, and fail offline with
a message that says which file to place where; and the archives they bring.

>>> download(FLOWERS_URL, data_root() / "downloads" / "flower_photos.tgz", sha256=FLOWERS_SHA256)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .paths import PathLike

__all__ = [
    "ChecksumError",
    "DownloadError",
    "describe_error",
    "download",
    "extract_tar",
    "file_md5",
    "file_sha256",
    "manual_download_help",
]

_USER_AGENT = "lightnets-course"
_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message says which file to place where to go on offline."""


class ChecksumError(DownloadError):
    """A downloaded or placed file does not have the expected checksum."""


def _hash_file(path: PathLike, digest: Any) -> str:
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: PathLike) -> str:
    """The SHA-256 checksum of a file, as lowercase hex (what ``sha256sum`` prints)."""
    return _hash_file(path, hashlib.sha256())


def file_md5(path: Path) -> str:
    """The MD5 checksum of a file, as torchvision's dataset records give it."""
    # md5 only because the CIFAR-10 release publishes no other checksum.
    return _hash_file(path, hashlib.md5(usedforsecurity=False))


def manual_download_help(url: str, dest: Path, also: str = "") -> str:
    """The lines that tell a learner offline how to fetch ``url`` by hand and where to put it."""
    return (
        f"To go on offline, download {url} on a machine with internet access (a browser, or "
        f"`curl -L -O {url}`) and save it unchanged as\n    {dest}\n"
        f"(file {dest.name!r} in folder {str(dest.parent)!r}).{also}\n"
        "To keep the course's data in another folder, set the environment variable LIGHTNETS_DATA to it."
    )


def describe_error(error: BaseException) -> str:
    """A network error in words a learner understands."""
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"no connection ({error.reason})"
    return str(error) or type(error).__name__


def download(url: str, dest: PathLike, sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to the file ``dest`` and return its path.

    The bytes stream into ``dest + ".part"`` with a progress bar. If an earlier download was interrupted,
    the ``.part`` file is resumed with an HTTP Range request (from scratch if the server ignores it).
    With ``sha256`` the file is checked, and it is renamed to ``dest`` only when the checksum matches, so
    ``dest`` either does not exist or is complete. An existing ``dest`` is checked and reused.

    Raises ``DownloadError`` (offline, server error, connection lost: the ``.part`` is kept for resuming)
    and ``ChecksumError`` (wrong bytes: the partial file is deleted), each saying what to do.
    """
    dest = Path(dest).expanduser()
    expected = sha256.lower() if sha256 else None
    if dest.is_file():
        if expected is None:
            return dest
        got = file_sha256(dest)
        if got == expected:
            return dest
        raise ChecksumError(
            f"{dest} exists but its sha256 is {got}, expected {expected}: it is not the file at {url}. "
            "Delete it and run again to download a fresh copy."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, progress)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        resume = (
            f"\nThe partial download {part} is kept: running this again resumes it."
            if part.is_file() and part.stat().st_size > 0
            else ""
        )
        # `from None`: the urllib traceback says nothing a learner can act on; the message does.
        raise DownloadError(
            f"Could not download {url}: {describe_error(error)}.{resume}\n" + manual_download_help(url, dest)
        ) from None
    if expected is not None:
        got = file_sha256(part)
        if got != expected:
            part.unlink()
            raise ChecksumError(
                f"The file downloaded from {url} has sha256 {got}, expected {expected}; it was deleted. "
                "The server sent different bytes (a proxy or captive portal page, or a changed file). "
                "Run again; if it fails the same way, fetch the file by hand.\n"
                + manual_download_help(url, dest)
            )
    os.replace(part, dest)  # atomic: `dest` appears only once it is complete and verified
    return dest


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Stream ``url`` into ``part``, continuing from the bytes already there when the server allows."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            # "Range not satisfiable": the partial file is not a prefix we can continue; start over.
            part.unlink()
            return _fetch(url, part, progress)
        raise
    with response:
        content_range = response.headers.get("Content-Range", "")
        if not (offset and response.status == 206 and content_range.startswith(f"bytes {offset}-")):
            offset = 0  # the server sends the whole file: overwrite instead of appending
        remaining = response.length
        total = None if remaining is None else offset + remaining
        with (
            open(part, "ab" if offset else "wb") as file,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            while chunk := response.read(_CHUNK_BYTES):
                file.write(chunk)
                bar.update(len(chunk))
    received = part.stat().st_size
    if total is not None and received < total:
        raise ConnectionError(f"the connection closed after {received:,} of {total:,} bytes")


def extract_tar(archive: Path, into: Path) -> None:
    """Unpack ``archive`` into ``into``, refusing members that would land outside it."""
    """Extract ``archive`` into ``into``, refusing members that would land outside it."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # Pythons older than 3.10.12 and 3.11.4 have no extraction filters
            base = into.resolve()
            for member in tar.getmembers():
                target = (base / member.name).resolve()
                outside = target != base and base not in target.parents
                if outside or member.issym() or member.islnk():
                    raise ValueError(f"{archive} has an unsafe member {member.name!r}; not extracting it")
            tar.extractall(into)
