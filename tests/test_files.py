"""The files a run's code shared: saved with -O DIR by ask, stream and jobs wait, listed and
saved by jobs files; streamed to disk, never outside DIR, never over a file without
--force, never under their final name unless complete. The installed pplx against the local
server (tests/tools_server.py), exact output."""

import hashlib
import os

import pytest

from pplx_cli.runs.files import disposition_name, safe_name
from tests.server import AgentRun, BackgroundRun
from tests.test_agent import AGENT, meta_of, run_cli
from tests.tools_server import PNG, SharedFile

ANSWER = b"Canberra is the capital of Australia [1].\n"


def lines(result) -> list:
    return [line for line in result.stderr.decode().splitlines() if line.startswith("pplx:")]


def tree(top) -> list:
    """Every file and directory under ``top``, relative, sorted."""
    return sorted(os.path.relpath(os.path.join(d, n), top) for d, dirs, files in os.walk(top) for n in dirs + files)


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_the_chart_is_in_dir_when_pplx_exits(api, home, tmp_path, command):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    out = tmp_path / "charts" / "new"  # made, parents and all
    result = run_cli(api, command, "--code", "-a", str(data), "chart column b as a PNG", "-O", str(out), "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER
    assert lines(result) == [f"pplx: note: saved {out}/chart.png (70 bytes)"]
    assert (out / "chart.png").read_bytes() == PNG and tree(out) == ["chart.png"]
    assert oct((out / "chart.png").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    [download] = [r for r in api.requests if r["path"].endswith("/content")]
    assert download["path"] == f"/v1/responses/{meta_id(api)}/files/file_1/content"
    assert download["headers"]["Accept"] == "application/octet-stream"
    quiet = run_cli(api, command, "--code", "q", "-O", str(tmp_path / "q"), "--no-meta", "-q")
    assert quiet.returncode == 0 and quiet.stderr == b"" and (tmp_path / "q" / "chart.png").exists()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def meta_id(api):
    return api.requests[-1]["path"].split("/")[3]


def test_without_O_the_files_are_listed_and_one_note_says_how_to_save_them(api, home):
    api.add(AGENT, AgentRun(id="resp_files", shared=[SharedFile("chart.png"), SharedFile("data.csv", b"a,b\n")]))
    result = run_cli(api, "ask", "q", "--code", "--sources")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().endswith("\n[file 1] chart.png (70 bytes)\n[file 2] data.csv (4 bytes)\n")
    assert lines(result) == ["pplx: note: the run shared 2 files (chart.png, data.csv): "
                                 "'pplx jobs files resp_files -O DIR' saves them"]
    assert not [r for r in api.requests if "/files" in r["path"]]  # nothing downloaded
    assert meta_of(result)["files"] == [{"id": "file_1", "filename": "chart.png", "bytes": 70},
                                        {"id": "file_2", "filename": "data.csv", "bytes": 4}]


HOSTILE = [("../../.bashrc", ".bashrc"), ("/etc/x", "x"), ("..\\..\\win.ini", "win.ini"), ("a/b/../../../c.txt", "c.txt"),
           ("bell\x07\x1b[31m.txt", "bell__[31m.txt"), ("\u202egnp.exe", "_gnp.exe"), ("..", None), ("dir/", None),
           ("", None), (None, None), ("x" * 300 + ".png", "x" * 251 + ".png")]


@pytest.mark.parametrize("name, base", HOSTILE)
def test_a_name_is_reduced_to_a_base_name(name, base):
    assert safe_name(name) == base


def test_hostile_names_land_in_dir_by_their_base_name(api, home, tmp_path):
    shared = [SharedFile("../../.bashrc", b"rc"), SharedFile("/etc/x", b"x"), SharedFile(None, b"cd", disposition="../../evil.sh"),
              SharedFile("..", b"dots"), SharedFile("chart.png"), SharedFile("sub/chart.png", b"second")]
    api.add(AGENT, AgentRun(shared=shared))
    top = tmp_path / "top"
    out = top / "a" / "out"
    result = run_cli(api, "ask", "q", "-O", str(out), "--no-meta")
    assert result.returncode == 0, result.stderr
    assert tree(top) == ["a", "a/out", "a/out/.bashrc", "a/out/chart-2.png", "a/out/chart.png", "a/out/evil.sh",
                         "a/out/file_4", "a/out/x"]
    assert (out / ".bashrc").read_bytes() == b"rc" and (out / "chart-2.png").read_bytes() == b"second"
    assert (out / "file_4").read_bytes() == b"dots"  # nothing usable in its name: the file's id
    assert lines(result) == [f"pplx: note: saved {out}/{n} ({size} bytes)" for n, size in
                             ((".bashrc", 2), ("x", 1), ("evil.sh", 2), ("file_4", 4), ("chart.png", 70), ("chart-2.png", 6))]
    assert not (home / ".bashrc").exists() and not (tmp_path / "evil.sh").exists()


@pytest.mark.parametrize("header, name", [
    ('attachment; filename="report.pdf"', "report.pdf"),
    ("attachment; filename*=UTF-8''%2E%2E%2Fr%C3%A9sum%C3%A9.pdf", "../résumé.pdf"),
    ("inline", None), (None, None),
])
def test_the_content_disposition_name(header, name):
    assert disposition_name(header) == name


def test_a_dropped_download_keeps_nothing_under_its_name_and_the_others_are_saved(api, home, tmp_path):
    api.add(AGENT, AgentRun(shared=[SharedFile("big.bin", b"0123456789" * 1000, drop_after=4000), SharedFile("chart.png")]))
    out = tmp_path / "out"
    result = run_cli(api, "ask", "q", "--code", "-O", str(out), "--no-meta")
    assert result.stdout == ANSWER
    assert result.returncode == 5
    assert lines(result) == [f"pplx: note: saved {out}/chart.png (70 bytes)",
                             "pplx: error: cannot save big.bin: the connection closed mid-response"]
    assert tree(out) == ["chart.png"]  # no big.bin, and no partial file left behind


def test_two_failures_are_said_each_then_counted(api, home, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "chart.png").write_bytes(b"mine")
    api.add(AGENT, AgentRun(shared=[SharedFile("chart.png"), SharedFile("big.bin", b"x" * 100, drop_after=10)]))
    result = run_cli(api, "ask", "q", "-O", str(out), "--no-meta")
    assert result.returncode == 1  # the first failure's status
    assert lines(result) == [f"pplx: warning: cannot save chart.png: {out}/chart.png exists; --force replaces it",
                             "pplx: warning: cannot save big.bin: the connection closed mid-response",
                             "pplx: error: 2 of 2 files not saved"]
    assert (out / "chart.png").read_bytes() == b"mine" and tree(out) == ["chart.png"]


def test_an_existing_file_is_kept_unless_force(api, home, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "chart.png").write_bytes(b"mine")
    kept = run_cli(api, "ask", "q", "--code", "-O", str(out), "--no-meta")
    assert kept.returncode == 1 and kept.stdout == ANSWER
    assert lines(kept) == [f"pplx: error: cannot save chart.png: {out}/chart.png exists; --force replaces it"]
    assert (out / "chart.png").read_bytes() == b"mine"
    assert not [r for r in api.requests if r["path"].endswith("/content")]  # not even downloaded
    (out / "link.png").symlink_to(tmp_path / "elsewhere.png")
    api.add(AGENT, AgentRun(shared=[SharedFile("chart.png"), SharedFile("link.png", b"new")]))
    forced = run_cli(api, "ask", "q", "--code", "-O", str(out), "--force", "--no-meta", "-q")
    assert forced.returncode == 0, forced.stderr
    assert (out / "chart.png").read_bytes() == PNG
    assert not (out / "link.png").is_symlink() and (out / "link.png").read_bytes() == b"new"
    assert not (tmp_path / "elsewhere.png").exists()  # the link is replaced, never followed


@pytest.mark.parametrize("args, message", [
    (["-O", "out", "--background", "--detach"], "--detach ends before the run shares its files: "
                                                "'pplx jobs files ID -O DIR' saves them later"),
    (["-O", "out", "--raw"], "--raw prints the response as received; --output-dir would do nothing with it"),
    (["--force"], "--force replaces files saved with -O DIR: give -O"),
    (["-O", "file.txt"], "Invalid value for '-O' / '--output-dir': file.txt is not a directory pplx can write to"),
])
def test_O_that_cannot_work_is_refused(api, home, tmp_path, args, message):
    (tmp_path / "file.txt").write_text("x")
    result = _run_in(api, tmp_path, "ask", "q", *args)
    assert result.returncode == 2
    assert message in result.stderr.decode() and api.requests == []


def _run_in(api, cwd, *args):
    import subprocess

    from tests.conftest import pplx_executable

    return subprocess.run([pplx_executable(), *args], capture_output=True, cwd=cwd, timeout=30,
                          env=dict(os.environ, PPLX_BASE_URL=api.url))


def test_O_when_nothing_was_shared_says_so(api, home, tmp_path):
    result = run_cli(api, "ask", "q", "-O", str(tmp_path / "out"), "--no-meta")
    assert result.returncode == 0
    assert lines(result) == ["pplx: note: the run shared no files: nothing saved"]
    assert not (tmp_path / "out").exists()


# ---- pplx jobs files, and jobs wait -O ----


def test_jobs_files_lists_and_saves_a_run_s_files(api, home, tmp_path):
    api.add(AGENT, AgentRun(id="resp_job", shared=[SharedFile("chart.png"), SharedFile("../notes.txt", b"hello\n")]))
    started = run_cli(api, "ask", "--background", "--detach", "--code", "q")
    assert started.stdout == b"resp_job\n"
    listed = run_cli(api, "jobs", "files", "resp_job")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.decode() == "file_1  70  chart.png\nfile_2  6  ../notes.txt\n"
    as_json = run_cli(api, "jobs", "files", "resp_job", "--json")
    assert [line.split(', "created_at"')[0] for line in as_json.stdout.decode().splitlines()] == [
        '{"id": "file_1", "filename": "chart.png", "bytes": 70', '{"id": "file_2", "filename": "../notes.txt", "bytes": 6']
    out = tmp_path / "out"
    saved = run_cli(api, "jobs", "files", "resp_job", "-O", str(out))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.decode() == f"{out}/chart.png\n{out}/notes.txt\n" and saved.stderr == b""
    assert (out / "notes.txt").read_bytes() == b"hello\n" and tree(out) == ["chart.png", "notes.txt"]
    again = run_cli(api, "jobs", "files", "resp_job", "-O", str(out))
    assert again.returncode == 1 and again.stdout == b""
    assert lines(again)[-1] == "pplx: error: 2 of 2 files not saved"
    forced = run_cli(api, "jobs", "files", "resp_job", "-O", str(out), "--force")
    assert forced.returncode == 0 and forced.stdout.decode() == f"{out}/chart.png\n{out}/notes.txt\n"


def test_jobs_files_of_a_run_without_files_or_unknown(api, home):
    api.add(AGENT, AgentRun(id="resp_plain"))
    assert run_cli(api, "ask", "q", "--no-meta").returncode == 0
    none = run_cli(api, "jobs", "files", "resp_plain")
    assert none.returncode == 0 and none.stdout == b""
    assert lines(none) == ["pplx: note: the run resp_plain shared no files"]
    unknown = run_cli(api, "jobs", "files", "resp_nope")
    assert unknown.returncode == 1
    assert lines(unknown) == ["pplx: error: no run resp_nope on the service, or none with files kept "
                              "(HTTP 404: resource not found (not_found))"]
    both = run_cli(api, "jobs", "files", "resp_plain", "--json", "-O", "x")
    assert both.returncode == 2 and lines(both)[0] == "pplx: error: --json lists the files, -O saves them: give one"


def test_jobs_wait_saves_the_files_with_O(api, home, tmp_path):
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_wait"), polls_until_done=2))
    assert run_cli(api, "ask", "--background", "--detach", "--code", "q").stdout == b"resp_wait\n"
    out = tmp_path / "out"
    result = run_cli(api, "jobs", "wait", "resp_wait", "-O", str(out), "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER
    assert lines(result)[-1] == f"pplx: note: saved {out}/chart.png (70 bytes)"
    assert hashlib.sha256((out / "chart.png").read_bytes()).digest() == hashlib.sha256(PNG).digest()


def test_ctrl_c_mid_download_leaves_nothing_behind(api, home, tmp_path):
    import signal
    import subprocess
    import time

    from tests.conftest import pplx_executable
    from tests.server import Reply

    api.add(AGENT, AgentRun(id="resp_slow"))
    api.add("/v1/responses/resp_slow/files/file_1/content",  # half now, the rest in a minute
            Reply(parts=[b"x" * 100, b"y" * 100], delay=60, framing="chunked",
                  headers={"Content-Type": "image/png", "Content-Disposition": 'attachment; filename="chart.png"'}))
    out = tmp_path / "out"
    proc = subprocess.Popen([pplx_executable(), "ask", "q", "--code", "-O", str(out), "--no-meta"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    deadline = time.monotonic() + 20
    while not (out.exists() and list(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the download has begun, under its temporary name
    time.sleep(0.3)  # and its first half has been read
    [partial] = list(out.iterdir())
    assert partial.name.startswith(".chart.png.") and partial.name.endswith(".part")
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130 and stdout == ANSWER
    assert tree(out) == []
