"""How clusters and replicas are configured: the variables, a file, and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys

PG = "postgres://postgres@127.0.0.1:5432/postgres"
SHOW = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'stammgast.settings';"
    " django.setup(); from django.conf import settings;"
    " print(sorted(settings.DATABASES), settings.STAMMGAST_REPLICAS)"
)


def configured(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STAMMGAST_CLUSTERS")
        and k not in ("STAMMGAST_REPLICAS", "STAMMGAST_TEST_MIRRORS", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-c", SHOW], env={**clean, **env}, capture_output=True, text=True
    )


def test_clusters_and_replicas_from_a_file(tmp_path):
    path = tmp_path / "clusters.conf"
    path.write_text(
        "# where the tenants live\n"
        "eu2 = postgres://app@db-eu2:5432/stammgast\n"
        "eu2.replica = postgres://app@db-eu2-standby:5432/stammgast  # reads\n"
    )
    done = configured(DATABASE_URL=PG, STAMMGAST_CLUSTERS_FILE=str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['default', 'eu2', 'eu2_replica1'] {'eu2': ['eu2_replica1']}"


def test_one_database_without_clusters_is_all_there_is():
    done = configured(DATABASE_URL=PG)
    assert done.stdout.strip() == "['default'] {}"


def test_bad_cluster_configuration_is_refused_saying_what_is_wrong(tmp_path):
    bad_line = tmp_path / "bad.conf"
    bad_line.write_text("eu2 postgres://app@db/x\n")
    cases = [
        ({"STAMMGAST_CLUSTERS_FILE": str(bad_line)}, "line 1: write ALIAS = URL"),
        ({"STAMMGAST_CLUSTERS": "EU-2=postgres://app@db/x"}, "'EU-2' is not ALIAS=URL"),
        ({"STAMMGAST_CLUSTERS": "eu2=mysql://app@db/x"}, "cluster 'eu2' is not PostgreSQL"),
        ({"STAMMGAST_REPLICAS": "eu9=postgres://app@db/x"}, "'eu9' is not a configured cluster"),
    ]
    for env, message in cases:
        done = configured(DATABASE_URL=PG, **env)
        assert done.returncode != 0 and message in done.stderr, (env, done.stderr[-300:])
    sqlite = configured(STAMMGAST_CLUSTERS="eu2=postgres://app@db/x")
    assert "STAMMGAST_CLUSTERS needs PostgreSQL" in sqlite.stderr
