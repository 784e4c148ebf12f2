import pytest

from chat.models import User


@pytest.mark.django_db
def test_ai_friend_exists_after_migrate() -> None:
    kirhost = User.objects.select_related("profile").get(id="kirhost")
    assert kirhost.profile.display_name == "🤖 kirhost"
    assert not kirhost.has_usable_password()
