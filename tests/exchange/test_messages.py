"""Messages: one line per problem with row, heading and value, each said once, in the
language asked for; the command line ends without a traceback on a closed pipe or Ctrl-C."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from stammgast.tenants.models import Role

from .conftest import staff

BAD = "Name;Rabatt;Geburtsdatum\nA;2,5;1.1.1980\nB;10;31.2.1980\nC;10;1.1.1980\n"
STAMMGAST = Path(sys.executable).with_name("stammgast")


def _read_terminal_until(terminal: int, text: str | None) -> str:
    """What a program wrote to the pseudo-terminal, until `text` shows (None: until it is
    closed, which Linux reports as an I/O error)."""
    seen = b""
    while text is None or text.encode() not in seen:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


def cli_import(tenant, path, *args):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "import", tenant.slug, str(path), "--no-progress", *args, stdout=out, stderr=err
        )
    return out.getvalue(), err.getvalue(), str(exc.value)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Row 2, Rabatt (2,5): Whole percent only, such as 15 or 15 %.",
                "Row 3, Geburtsdatum (31.2.1980): 31.2.1980 is not a real date.",
            ],
        ),
        (
            "de",
            [
                "Zeile 2, Rabatt (2,5): Nur ganze Prozentzahlen, z. B. 15 oder 15 %.",
                "Zeile 3, Geburtsdatum (31.2.1980): 31.2.1980 ist kein gültiges Datum.",
            ],
        ),
    ],
)
def test_cli_one_line_per_problem_in_the_language_asked_for(
    tmp_path, empty_tenant, language, expected
):
    path = tmp_path / "k.csv"
    path.write_text(BAD, encoding="utf-8")
    out, err, final = cli_import(empty_tenant, path, "--language", language)
    assert err.splitlines() == expected
    assert ("3 rows" in out) == (language == "en") and ("3 Zeilen" in out) == (language == "de")
    assert final == ("2 problems in 2 rows." if language == "en" else "2 Fehler in 2 Zeilen.")


def test_cli_a_refused_file_is_said_once(tmp_path, empty_tenant):
    path = tmp_path / "k.csv"
    path.write_text("Ort;PLZ\nBonn;53111\n", encoding="utf-8")
    _out, _err, final = cli_import(empty_tenant, path, "--language", "en")
    assert final == "The file has no column Name or First name (Vorname)."


def test_api_answers_in_the_accept_language(tenant, make_api):
    for language, words in (("en", "Whole percent only"), ("de", "Nur ganze Prozent")):
        api = make_api(tenant, ("exchange",), name=f"Import {language}")
        upload = SimpleUploadedFile("k.csv", BAD.encode())
        answer = api.post(
            "/api/v1/imports",
            {"file": upload, "mode": "valid-rows", "dry_run": "true"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert answer.status_code == 201, answer.content
        errors = answer.json()["summary"]["errors"]
        assert [(e["row"], e["column"], e["value"]) for e in errors] == [
            (2, "Rabatt", "2,5"),
            (3, "Geburtsdatum", "31.2.1980"),
        ]
        assert words in errors[0]["message"]


def test_api_language_field_wins_and_a_refusal_is_in_that_language(tenant, make_api):
    api = make_api(tenant, ("exchange",), name="Import")
    upload = SimpleUploadedFile("k.csv", b"Ort;PLZ\nBonn;53111\n")
    answer = api.post(
        "/api/v1/imports", {"file": upload, "language": "en"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    assert answer.status_code == 422
    assert "The file has no column Name" in answer.content.decode()


def test_portal_in_english_reports_in_english(tenant):
    client = staff(tenant, "manager", Role.TENANT_ADMIN, language="en")
    upload = io.BytesIO(BAD.encode())
    upload.name = "k.csv"
    preview_url = client.post("/exchange/import/", {"file": upload})["Location"]
    form = {"col0": "last_name", "col1": "discount", "col2": "date_of_birth"}
    done = client.post(preview_url, {**form, "mode": "valid-rows", "match": "number"})
    page = client.get(done["Location"]).content.decode()
    assert "Whole percent only" in page and "Nur ganze Prozent" not in page


def _environment(tmp_path):
    # The embedded SQLite, on its own: no clusters or replicas of the PostgreSQL run.
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL"
        and not k.startswith(("STAMMGAST_CLUSTERS", "STAMMGAST_REPLICAS"))
        and k != "STAMMGAST_TEST_MIRRORS"
    }
    env["STAMMGAST_VAR_DIR"] = str(tmp_path / "var")
    return env


def test_closed_pipe_ends_without_a_traceback(tmp_path):
    # Like `stammgast import --list-fields | head -0`: the reader is gone before a line.
    reader, writer = os.pipe()
    os.close(reader)
    process = subprocess.run(
        [str(STAMMGAST), "import", "--list-fields"],
        stdout=writer,
        stderr=subprocess.PIPE,
        env=_environment(tmp_path),
        check=False,
    )
    os.close(writer)
    assert "Traceback" not in process.stderr.decode()
    assert "BrokenPipe" not in process.stderr.decode()
    assert process.returncode == 141


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_the_import_without_a_traceback_and_keeps_nothing(tmp_path):
    env = _environment(tmp_path)
    run = [str(STAMMGAST)]
    subprocess.run([*run, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*run, "tenant", "create", "probe", "--name", "Probe"], env=env, check=True)
    path = tmp_path / "viele.csv"
    rows = "".join(f"Gast {i};{i % 28 + 1}.1.1980\n" for i in range(60_000))
    path.write_text("Name;Geburtsdatum\n" + rows, encoding="utf-8")
    # The progress bar is drawn on a terminal only: stderr is one (a pseudo-terminal).
    terminal, stderr = pty.openpty()
    process = subprocess.Popen(
        [*run, "import", "probe", str(path), "--match", "new", "--language", "en"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    os.close(stderr)
    # Its first line (0 %) is drawn once the rows are being imported.
    first = _read_terminal_until(terminal, "Import")
    assert "Import" in first
    process.send_signal(signal.SIGINT)
    process.wait()
    err = _read_terminal_until(terminal, None)
    os.close(terminal)
    assert "Traceback" not in err and "Stopped" in err
    assert process.returncode == 130
    count = subprocess.run(
        [*run, "shell", "-c", "from stammgast.customers.models import Customer as C;"
         "print(C.all_tenants.count())"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    assert count.stdout.decode().splitlines()[-1] == "0"
