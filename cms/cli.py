"""Flask commands: users, demo content, rebuilding what saves keep current, the worker, import."""

from __future__ import annotations

import sys

import click
from flask import Flask

from cms.errors import CmsError
from cms.extensions import db
from cms.models import ROLES


def register_cli(app: Flask) -> None:
    app.cli.add_command(user_group)
    app.cli.add_command(seed_demo)
    app.cli.add_command(rebuild_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(derived_group)
    app.cli.add_command(events_group)
    app.cli.add_command(import_command)


@click.group("user", help="Manage logins.")
def user_group():
    pass


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="writer", show_default=True)
@click.option("--author", "author_slug", default=None, help="Slug of the author profile to link.")
def create_user_command(email: str, role: str, author_slug: str | None):
    """Create a login. The password is read from standard input unless it is a terminal."""
    from cms.services.accounts.users import create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(email, password, role, author=author_slug)
        db.session.commit()
    except CmsError as exc:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
        raise click.ClickException(f"{exc.detail} {details}".strip()) from exc
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@click.command("seed-demo")
def seed_demo():
    """Load the demo newsroom (sections, sources, authors, articles, users)."""
    from cms.demo.seed import DEMO_LOGINS, seed

    created = seed()
    if created:
        click.echo(f"Loaded {created} demo articles.")
    else:
        click.echo("Demo content is already loaded.")
    for email, password, role in DEMO_LOGINS:
        click.echo(f"Demo login ({role}): {email} / {password}")


@click.command("rebuild")
@click.argument("names", nargs=-1, required=True, metavar="[search|counts|cards|related|all]...")
@click.option("--missing", is_flag=True, help="cards: only those missing or outdated.")
def rebuild_command(names: tuple[str, ...], missing: bool):
    """Rebuild data derived on write (after bulk SQL, an upgrade, or to repair)."""
    from cms.services.derived import registry

    try:
        messages = registry.rebuild(list(names), only_missing=missing)
    except ValueError as exc:
        choices = ", ".join(registry.REBUILDABLE)
        raise click.UsageError(f"{exc} (choose from {choices}, all)") from None
    db.session.commit()
    for message in messages:
        click.echo(message)


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Deliveries at once (CMS_WORKER_THREADS).")
def worker_command(threads: int | None):
    """Run webhook deliveries, scheduled-publication events and housekeeping until stopped."""
    from flask import current_app

    from cms.worker import Worker

    Worker(current_app._get_current_object(), threads=threads).run()


@click.group("derived", help="Derived data the worker computes after a save or an import.")
def derived_group():
    pass


@derived_group.command("run-pending")
def derived_run_pending():
    """Run every due derived-data job now and wait for them (the worker does this too)."""
    from cms.services.derived import jobs as derived_jobs

    waiting = derived_jobs.pending()
    done = derived_jobs.run_pending()
    left = derived_jobs.pending()
    click.echo(f"Ran {done} derived-data jobs ({waiting} were waiting, {left} left).")


@click.group("events", help="The event log behind the change feed and webhooks.")
def events_group():
    pass


@events_group.command("purge")
def events_purge():
    """Delete events older than CMS_CHANGES_RETENTION_DAYS (the worker does this hourly)."""
    from cms.services.events import feed

    count = feed.purge()
    db.session.commit()
    click.echo(f"Purged {count} events.")


@click.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Articles per transaction.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes preparing articles (parsing, body, summary) while one writes; "
    "default: the number of CPUs.",
)
def import_command(file, batch_size: int, jobs: int | None):
    """Load articles from JSON lines (one create body per line, plus optional status and
    published_at). Missing sections, tags, authors and sources are created; bad lines are
    reported by number and skipped. FILE may be - for standard input."""
    from cms.services.content.importing import default_jobs, import_lines

    def progress(result):
        if file.name != "<stdin>" and result.loaded and sys.stderr.isatty():
            click.echo(f"  {result.loaded} articles…", err=True)

    jobs = jobs or default_jobs()
    result = import_lines(file, batch_size=batch_size, jobs=jobs, on_batch=progress)
    for error in result.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    click.echo(
        f"Loaded {result.loaded} articles in {result.seconds:.1f} s "
        f"({result.rate:.0f} articles/s); skipped {len(result.errors)} bad lines."
    )
    if result.errors:
        sys.exit(1)
