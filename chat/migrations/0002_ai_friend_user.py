"""Create the AI friend user `kirhost` and its profile (contract §5.2). It can never log in."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

AI_FRIEND_ID = "kirhost"


def create_ai_friend(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from django.contrib.auth.hashers import make_password

    User = apps.get_model("chat", "User")
    Profile = apps.get_model("chat", "Profile")
    user, _ = User.objects.get_or_create(
        id=AI_FRIEND_ID,
        defaults={
            "name": "kirhost",
            "email": "kirhost@retrochat.app",
            "email_verified": True,
            "password": make_password(None),  # unusable: no password can ever match
        },
    )
    Profile.objects.get_or_create(
        user=user,
        defaults={
            "username": "kirhost",
            "display_name": "🤖 kirhost",
            "status_message": "I learn from you and chat like you! 👻",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]
    operations = [migrations.RunPython(create_ai_friend, migrations.RunPython.noop)]
