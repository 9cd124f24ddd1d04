from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.services import access_token_issue, access_tokens_revoke


class Command(BaseCommand):
    help = (
        "Issue a new API token for an existing user and print it. It is shown only now (the catalog keeps a "
        "digest) and expires after CATALOG_TOKEN_TTL."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, to tell the user's tokens apart.")
        parser.add_argument(
            "--rotate", action="store_true", help="Revoke the user's other tokens first; they stop working."
        )

    def handle(self, *args, username: str, name: str, rotate: bool, **options) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"There is no user {username!r}; create one with createsuperuser first.") from None
        if rotate:
            access_tokens_revoke(user=user)
        self.stdout.write(access_token_issue(user=user, name=name).key)
