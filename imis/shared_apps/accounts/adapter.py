from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by municipal admins and the support team, never by open sign-up."""

    def is_open_for_signup(self, request):
        return False
