"""Base for stammgast's management commands: domain errors become exit status 2."""

import argparse

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .errors import DomainError


class _UsageErrorParser(CommandParser):
    """Bad arguments exit with status 2 when called in code too, as argparse does in a shell."""

    def error(self, message):
        if self.called_from_command_line:
            super().error(message)
        raise CommandError(f"Error: {message}", returncode=2)


def _use_usage_error_parser(parser: argparse.ArgumentParser) -> None:
    parser.__class__ = _UsageErrorParser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _use_usage_error_parser(sub)


def command_message(exc: DomainError) -> str:
    """The message, then one line per field that says more than the message itself."""
    lines = [exc.message]
    for field, messages in exc.fields.items():
        lines += [f"  {field}: {m}" for m in messages if m != exc.message]
    return "\n".join(lines)


class DomainCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds plain CommandParsers; only error() differs, so swap the class.
        _use_usage_error_parser(parser)
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(command_message(exc), returncode=2) from exc
