import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import FakeAPI

FIXTURES = Path(__file__).parent / "fixtures"

# A suite started in the background by a non-interactive shell inherits SIGINT ignored, and
# so would every pplx it starts: the tests that send Ctrl-C would see nothing. Restored here,
# the children get the default disposition (a handler becomes the default across exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
ROOT = Path(__file__).parent.parent
KEY = "pplx-test-0123456789abcdef"


def pytest_configure(config):
    """Compile pplx's modules once, as ``pip install .`` does: an editable install under
    PYTHONDONTWRITEBYTECODE=1 (this machine's setting) would otherwise compile every module
    again in each of the suite's ~700 pplx processes (about 30 ms of CPU each)."""
    import compileall

    compileall.compile_dir(str(ROOT / "pplx_cli"), quiet=2)


def pplx_executable():
    """The installed console script (beside this Python), else the one on PATH."""
    candidate = Path(sys.executable).parent / "pplx"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("pplx")
    if not found:
        pytest.fail("the pplx console script is not installed: pip install -e '.[test]'")
    return found


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated HOME and XDG dirs with a key in the environment."""
    h = tmp_path / "home"
    h.mkdir()
    for var in list(os.environ):
        if var.startswith(("PPLX_", "PERPLEXITY_", "XDG_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("PPLX_API_KEY", KEY)
    return h


@pytest.fixture
def api():
    with FakeAPI() as server:
        yield server


@pytest.fixture
def run(home):
    """Run the installed CLI as a subprocess: run(*args, input=b"", timeout=30) -> CompletedProcess."""

    def _run(*args, input=b"", timeout=30, env=None, **kw):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(
            [pplx_executable(), *args], input=input, capture_output=True, timeout=timeout, env=full_env, **kw
        )

    return _run


def read_all(master: int) -> bytes:
    """Everything a pseudo-terminal's other side wrote, until it closed (EIO); the master is closed."""
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return shown
