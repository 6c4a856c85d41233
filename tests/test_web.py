"""The web app end to end in a real browser (Debian's Chromium driven by Playwright): upload, generate,
hear the take, refine it in chat, see the spec change, refuse a bad upload; two sessions at once."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
COVER = str(ROOT / "covers" / "midnight-orbit.png")
PLAYABLE = "es => es.filter(a => a.currentSrc && a.readyState >= 1 && a.duration > 0).length"


def wait_playable(page, n: int, timeout_s: float):
    """Wait until n take players hold a loaded audio source (the <audio> sits in a shadow root, which
    Playwright's locators pierce and document.querySelectorAll does not)."""
    deadline = time.time() + timeout_s
    while page.locator(".take audio").evaluate_all(PLAYABLE) < n:
        if time.time() > deadline:
            raise AssertionError(f"fewer than {n} playable takes after {timeout_s} s: {page.inner_text('#status')}")
        page.wait_for_timeout(250)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("gradio")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed: make setup installs it (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("web")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "web", "--port", str(port), "-o", str(tmp / "out"),
                             "-p", "offline"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "ALBUMGEN_HOME": str(tmp / "home"), "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail((tmp / "server.log").read_text()[-2000:])
            time.sleep(0.25)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url):
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page.goto(url)
    page.wait_for_selector("#generate")
    return page


def upload(page, path):
    clear = page.locator("#cover button[aria-label='Clear']")
    if clear.count():  # a cover is already there: remove it first, as a person would
        clear.first.click()
    page.set_input_files("#cover input[type=file]", path)


def takes(page) -> int:
    """How many take cards the page shows (their titles read 'Take N · genre · ...')."""
    return len(set(re.findall(r"Take (\d+) ·", page.inner_text("body"))))


def wait_takes(page, n: int, timeout_s: float):
    deadline = time.time() + timeout_s
    while takes(page) < n:
        if time.time() > deadline:
            raise AssertionError(f"fewer than {n} takes after {timeout_s} s: {page.inner_text('#status')}")
        page.wait_for_timeout(250)


def tempo(page) -> int:
    """The tempo_bpm value as the spec table shows it."""
    cells = [c.strip() for c in page.inner_text("#spec").splitlines() if c.strip()]
    return int(float(cells[cells.index("tempo_bpm") + 1]))


def test_upload_generate_listen_refine_and_refuse_a_bad_file(server, browser, tmp_path):
    page = open_page(browser, server)
    upload(page, COVER)
    page.wait_for_function("document.querySelector('#status').innerText.includes('Cover OK')", timeout=60_000)
    page.click("#generate")
    wait_playable(page, 1, 180)  # a real <audio> with a loaded source
    assert "take 1 ready" in page.inner_text("#status")
    first = tempo(page)
    assert "BPM" in page.input_value("#prompt textarea")
    # the evidence as a picture, and every decision with the prior's options and the evidence it cites
    page.wait_for_function("document.querySelector('#evidence img') && document.querySelector('#evidence img')"
                           ".naturalWidth === 960", timeout=30_000)
    decisions = page.inner_text("#decisions")
    assert "prior's top options" in decisions and re.search(r"genre\s+\S+", decisions) and "E1" in decisions
    page.fill("#message textarea", "slower")
    page.press("#message textarea", "Enter")
    wait_takes(page, 2, 180)
    wait_playable(page, 2, 60)
    assert tempo(page) < first
    assert "tempo_bpm" in page.inner_text("#chat")
    # a message with nothing to act on makes no take and offers choices; a number picks one
    page.fill("#message textarea", "hmm")
    page.press("#message textarea", "Enter")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('answer with a number')", timeout=60_000)
    assert takes(page) == 2
    page.fill("#message textarea", "1")
    page.press("#message textarea", "Enter")
    wait_takes(page, 3, 180)
    assert "because R1" in page.inner_text("#chat")
    page.screenshot(path=str(tmp_path / "albumgen-web.png"), full_page=True)
    notes = tmp_path / "notes.png"
    notes.write_text("this is not an image")
    upload(page, str(notes))
    page.wait_for_function("document.querySelector('#status').innerText.includes('Error')", timeout=60_000)
    assert "is not an image Pillow can read" in page.inner_text("#status")
    assert (tmp_path / "albumgen-web.png").stat().st_size > 10_000
    assert takes(page) == 3  # the session survives the bad upload


def test_two_browser_sessions_get_their_own_takes(server, browser):
    pages = [open_page(browser, server) for _ in range(2)]
    for page in pages:
        upload(page, COVER)
        page.wait_for_function("document.querySelector('#status').innerText.includes('Cover OK')", timeout=60_000)
    for page in pages:
        page.click("#generate")
    for page in pages:
        wait_playable(page, 1, 240)
    sessions = [page.inner_text("#status").split()[1].rstrip(":") for page in pages]
    assert sessions[0] != sessions[1]
    assert [takes(page) for page in pages] == [1, 1]
    pages[0].fill("#message textarea", "another take")
    pages[0].press("#message textarea", "Enter")
    wait_takes(pages[0], 2, 180)
    assert takes(pages[1]) == 1  # no cross-talk


def test_spec_table_edits_become_validated_setter_calls():
    pytest.importorskip("gradio")
    from tools.spec import MusicSpec
    from web.app import spec_table, table_edits

    spec = MusicSpec(genre="jazz", moods=("calm",), energy=0.3, valence=0.4, tempo_bpm=96, key="A", mode="minor",
                     time_signature="4/4", instruments=("piano", "saxophone"), duration_s=10, seed=7)
    table = spec_table(spec)
    assert dict(table)["instruments"] == "piano, saxophone"
    edited = [[f, {"tempo_bpm": "80", "instruments": "piano, saxophone, drums"}.get(f, v)] for f, v in table]
    edits, seed = table_edits(edited, spec)
    assert [(e.tool, {k: v for k, v in e.arguments.items() if k != "rationale"}) for e in edits] == [
        ("set_tempo", {"bpm": 80}), ("set_instruments", {"instruments": ["piano", "saxophone", "drums"]})]
    assert seed == 7 and table_edits(table, spec) == ([], 7)


def test_a_take_card_carries_the_takes_warnings(tmp_path):

    pytest.importorskip("gradio")
    from agent.store import TakeRow
    from agent.trace import Trace
    from tools.spec import MusicSpec
    from web.app import take_cards

    folder = tmp_path / "take-01"
    folder.mkdir()
    (folder / "trace.json").write_text(Trace(run_id="r", warnings=["tempo 170 BPM is outside synthwave's range"]).to_json())
    take = TakeRow(id=1, session_id="s", turn_id=1, audio_path=str(folder / "audio.wav"), seed=3, duration_s=4,
                   spec=MusicSpec(genre="synthwave", tempo_bpm=170, key="F#", mode="minor"), prompt="p",
                   created_at="now")
    card = take_cards([take])[0]
    assert card["warnings"] == ["tempo 170 BPM is outside synthwave's range"] and card["spectrogram"] is None


def test_grounding_views_of_a_trace_written_by_an_older_version_show_the_picture_alone(tmp_path):
    """An old session's trace that no longer validates (an audio fact the records do not name) still opens."""
    import json
    from types import SimpleNamespace

    pytest.importorskip("gradio")
    from web.app import grounding_views

    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps({"run_id": "old", "audio": {"path": "audio.wav", "sample_rate": 32000,
                                                            "duration_s": 4, "channels": 2, "pianoroll": True}}))
    (tmp_path / "evidence.png").write_bytes(b"png")
    turn = SimpleNamespace(trace_path=str(trace))
    session = SimpleNamespace(id="s", store=SimpleNamespace(turns=lambda _id: [turn]))
    assert grounding_views(session) == (str(tmp_path / "evidence.png"), "")
