"""POST /api/profile/picture (contract §7, §8 item 29)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat import uploads
from chat.models import Profile, User
from chat.services.auth import SignedIn, session_create
from tests.conftest import client_with_session

pytestmark = pytest.mark.django_db

PICTURE = "/api/profile/picture"
MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
URL = re.compile(r"^http://testserver/media/profile-pictures/([0-9a-f]{32})\.(png|jpg|gif|webp)$")


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    folder = root / "profile-pictures"
    return sorted(folder.iterdir()) if folder.exists() else []


def upload(client: Client, content: bytes, *, name: str = "me.png", content_type: str = "image/png") -> Any:
    return client.post(PICTURE, {"file": SimpleUploadedFile(name, content, content_type=content_type)})


def picture_fields(user: User) -> tuple[str | None, str | None]:
    p = Profile.objects.get(user=user)
    return p.profile_picture_url, p.profile_picture_name


@pytest.mark.parametrize(
    ("content", "ext", "mime"),
    [(PNG, "png", "image/png"), (JPEG, "jpg", "image/jpeg"), (GIF, "gif", "image/gif"), (WEBP, "webp", "image/webp")],
)
def test_upload_stores_the_file_and_returns_an_absolute_url(
    account: SignedIn, account_client: Client, media_root: Path, content: bytes, ext: str, mime: str
) -> None:
    # The declared type and the name lie; the bytes decide.
    response = upload(account_client, content, name="evil.html", content_type="text/html")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"profilePictureUrl", "message"}
    assert body["message"] == "Profile picture uploaded successfully"
    match = URL.match(body["profilePictureUrl"])
    assert match
    assert match.group(2) == ext
    files = stored_files(media_root)
    assert [f.name for f in files] == [f"{match.group(1)}.{ext}"]
    assert files[0].read_bytes() == content
    assert picture_fields(account.user) == (body["profilePictureUrl"], f"profile-pictures/{match.group(1)}.{ext}")

    served = Client().get(body["profilePictureUrl"].removeprefix("http://testserver"))  # loads without a session
    assert served.status_code == 200
    assert served["Content-Type"] == mime
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == content  # type: ignore[attr-defined]


def test_the_url_follows_the_request_host_and_scheme(account_client: Client) -> None:
    response = account_client.post(
        PICTURE,
        {"file": SimpleUploadedFile("a.png", PNG, content_type="image/png")},
        HTTP_HOST="localhost:3001",
    )
    assert response.json()["profilePictureUrl"].startswith("http://localhost:3001/media/profile-pictures/")


def test_replacing_the_picture_deletes_the_old_file(
    account: SignedIn, account_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(account_client, PNG).json()["profilePictureUrl"]
    with django_capture_on_commit_callbacks(execute=True):
        second = upload(account_client, JPEG, name="b.jpg", content_type="image/jpeg").json()["profilePictureUrl"]
    assert first != second
    assert [f.name for f in stored_files(media_root)] == [second.rsplit("/", 1)[1]]
    assert picture_fields(account.user)[0] == second


def test_a_failed_database_write_leaves_no_file(
    account: SignedIn, account_client: Client, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(self: Profile, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(Profile, "save", broken_save)
    response = upload(account_client, PNG)
    assert response.status_code == 500
    assert response.json() == {"statusCode": 500, "message": "Internal server error"}
    assert stored_files(media_root) == []


def test_upload_creates_a_missing_profile_row(media_root: Path) -> None:
    user = User.objects.create_user("bare@example.com", "Secret123!", name="Bare Bones")
    _, token = session_create(user=user)
    response = upload(client_with_session(token), PNG)
    assert response.status_code == 201
    profile = Profile.objects.get(user=user)
    assert profile.username.startswith("barebones")
    assert profile.profile_picture_url == response.json()["profilePictureUrl"]


# --- errors: exact texts, nothing stored, profile unchanged ------------------------------------


def assert_refused(response: Any, message: str, account: SignedIn, media_root: Path) -> None:
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": message, "error": "Bad Request"}
    assert stored_files(media_root) == []
    assert picture_fields(account.user) == (None, None)


def test_no_file_field(account: SignedIn, account_client: Client, media_root: Path) -> None:
    response = account_client.post(PICTURE, {"picture": SimpleUploadedFile("a.png", PNG, content_type="image/png")})
    assert_refused(response, "No file uploaded", account, media_root)


def test_file_sent_as_a_plain_field(account: SignedIn, account_client: Client, media_root: Path) -> None:
    assert_refused(account_client.post(PICTURE, {"file": "not a file"}), "No file uploaded", account, media_root)


def test_json_body_less_post(account: SignedIn, account_client: Client, media_root: Path) -> None:
    response = account_client.post(PICTURE, "", content_type="application/json")
    assert_refused(response, "No file uploaded", account, media_root)


@pytest.mark.parametrize(
    ("content", "declared"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"%PDF-1.7", "image/jpeg"),
        (b"", "image/png"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "image/webp"),
    ],
)
def test_bytes_that_are_not_an_allowed_image(
    account: SignedIn, account_client: Client, media_root: Path, content: bytes, declared: str
) -> None:
    response = upload(account_client, content, content_type=declared)
    assert_refused(response, "Invalid file type. Only JPEG, PNG, GIF, and WebP are allowed", account, media_root)


def test_exactly_5_mib_is_accepted(account_client: Client, media_root: Path) -> None:
    content = PNG + b"\x00" * (5 * MIB - len(PNG))
    assert upload(account_client, content).status_code == 201
    assert stored_files(media_root)[0].stat().st_size == 5 * MIB


def test_one_byte_over_5_mib_is_refused(account: SignedIn, account_client: Client, media_root: Path) -> None:
    content = PNG + b"\x00" * (5 * MIB + 1 - len(PNG))
    assert_refused(upload(account_client, content), "File size exceeds 5MB limit", account, media_root)


def test_a_huge_declared_length_is_refused_before_parsing(
    account: SignedIn, account_client: Client, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_parse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the multipart body was parsed")

    monkeypatch.setattr(uploads.SizeCapUploadHandler, "receive_data_chunk", must_not_parse)
    content = PNG + b"\x00" * (6 * MIB)
    assert_refused(upload(account_client, content), "File size exceeds 5MB limit", account, media_root)


def test_the_cap_stops_reading_as_soon_as_the_limit_is_passed(
    account: SignedIn, account_client: Client, media_root: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PROFILE_PICTURE_MAX_BYTES = 1000  # the Content-Length check lets this 40 KB body through
    handlers: list[uploads.SizeCapUploadHandler] = []
    real_init = uploads.SizeCapUploadHandler.__init__

    def spy(self: uploads.SizeCapUploadHandler, request: Any, limit: int) -> None:
        real_init(self, request, limit)
        handlers.append(self)

    monkeypatch.setattr(uploads.SizeCapUploadHandler, "__init__", spy)
    monkeypatch.setattr(uploads.SizeCapUploadHandler, "chunk_size", 4096)  # the parser reads in these steps
    content = PNG + b"\x00" * 40_000
    response = account_client.post(PICTURE, {"file": SimpleUploadedFile("a.png", content, content_type="image/png")})
    assert response.json()["message"] == "File size exceeds 5MB limit"
    assert handlers[0].exceeded
    assert handlers[0].received < len(content)  # stopped mid-file, not after reading it all
    assert stored_files(media_root) == []


def test_upload_without_session_is_401(media_root: Path) -> None:
    response = Client().post(PICTURE, {"file": SimpleUploadedFile("a.png", PNG, content_type="image/png")})
    assert response.status_code == 401
    assert response.json() == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
    assert stored_files(media_root) == []
