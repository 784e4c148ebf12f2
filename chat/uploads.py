"""Reading the profile-picture upload: size capped while the multipart body is parsed, type sniffed.

The cap is an upload handler placed in front of Django's own, so a too-large file is refused as
its bytes arrive instead of after it has been buffered; a ``Content-Length`` that is already too
large is refused before parsing starts. The image type comes from the file's first bytes, never
from the client-declared content type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from retrochat.errors import BadRequest

NO_FILE = "No file uploaded"
INVALID_TYPE = "Invalid file type. Only JPEG, PNG, GIF, and WebP are allowed"
TOO_LARGE = "File size exceeds 5MB limit"
# Multipart framing around the file (boundaries, part headers, the filename).
_ENVELOPE_ALLOWANCE = 64 * 1024


def sniff_image(head: bytes) -> str | None:
    """The file extension for JPEG/PNG/GIF/WebP magic bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


class SizeCapUploadHandler(FileUploadHandler):
    """Stops the multipart parse once the uploaded files together exceed ``limit`` bytes."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handler builds the file


@dataclass(frozen=True)
class Picture:
    file: UploadedFile
    extension: str


def read_picture(request: HttpRequest, *, field: str = "file") -> Picture:
    """The validated upload in ``field``, or a `BadRequest` with the original's texts."""
    limit: int = settings.PROFILE_PICTURE_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + _ENVELOPE_ALLOWANCE:
        raise BadRequest(TOO_LARGE)
    cap = SizeCapUploadHandler(request, limit)
    request.upload_handlers = [cap, *request.upload_handlers]
    try:
        upload = request.FILES.get(field)
    except MultiPartParserError as exc:
        raise BadRequest(NO_FILE) from exc
    if cap.exceeded:
        raise BadRequest(TOO_LARGE)
    if upload is None:
        raise BadRequest(NO_FILE)
    upload.seek(0)
    extension = sniff_image(upload.read(16))
    upload.seek(0)
    if extension is None:
        raise BadRequest(INVALID_TYPE)
    if (upload.size or 0) > limit:
        raise BadRequest(TOO_LARGE)
    return Picture(file=upload, extension=extension)
