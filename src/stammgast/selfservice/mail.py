"""E-mails to guests: plain text and HTML, in the guest's language, sent once the
transaction that asked for them is committed."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from stammgast.core import db

SUBJECTS = {
    "confirm": _("Confirm your registration at %(tenant)s"),
    "already_registered": _("Your registration at %(tenant)s"),
    "reset": _("Reset your password at %(tenant)s"),
    "email_change": _("Confirm your new e-mail address at %(tenant)s"),
    "email_change_notice": _("Your e-mail address at %(tenant)s is being changed"),
    "email_taken": _("Your e-mail address at %(tenant)s"),
    "erase": _("Confirm the deletion of your data at %(tenant)s"),
    "erased": _("Your data at %(tenant)s is deleted"),
}


def render_mail(kind: str, *, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of one mail."""
    with translation.override(language):
        subject = str(SUBJECTS[kind]) % {"tenant": context["tenant"].name}
        # The text is written unescaped (it is plain text); the HTML part shows the same
        # text, escaped, with the link as a button.
        text = render_to_string(f"selfservice/mail/{kind}.txt", context)
        html = render_to_string(
            "selfservice/mail/base.html", {**context, "body_text": text, "subject": subject}
        )
    return subject, text, html


def send_mail(kind: str, *, to: str, language: str, context: dict) -> None:
    """Send after the commit: a rolled-back registration or reset sends nothing."""
    subject, text, html = render_mail(kind, language=language, context=context)

    def send() -> None:
        message = EmailMultiAlternatives(
            subject,
            text,
            settings.DEFAULT_FROM_EMAIL,
            [to],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(html, "text/html")
        message.send()

    db.on_commit(send)
