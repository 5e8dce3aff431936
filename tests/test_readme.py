"""The README stays true: its settings table is the one ``cms.config.SETTINGS`` describes, and
every dependency in ``pyproject.toml`` is explained.

After changing a setting, rewrite the table between the README's markers with
``python tests/test_readme.py --write`` (without ``--write`` it prints the table).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from cms.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def settings_table() -> str:
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        if s.default is None:
            default = "(none)"
        elif s.default == "":
            default = "(empty)"
        else:
            default = f"`{s.default}`"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    readme = _readme()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert not missing, f"README.md does not document: {', '.join(missing)}"


def test_settings_table_matches_config():
    readme = _readme()
    assert START in readme and END in readme
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == settings_table(), (
        "The README settings table is out of date; run `python tests/test_readme.py --write`."
    )


def test_every_dependency_is_explained():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    names = {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in requirements}
    dependencies = _readme().split("## Why each dependency", 1)[-1].lower()
    missing = sorted(
        n for n in names if f"`{n}`" not in dependencies and f"`{n}[" not in dependencies
    )
    assert not missing, f"README.md 'Why each dependency' does not explain: {', '.join(missing)}"


if __name__ == "__main__":
    import sys

    if "--write" in sys.argv:
        text = _readme()
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        (ROOT / "README.md").write_text(
            f"{head}{START}\n{settings_table()}\n{END}{tail}", encoding="utf-8"
        )
    else:
        print(settings_table())
