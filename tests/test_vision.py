"""Vision backends on real models: the offline describer (EfficientNet-Lite0 + PP-OCRv4), a tiny LLaVA,
an OpenAI-compatible endpoint on loopback, and llama.cpp's handler boundary."""
import base64
import io

import pytest
from PIL import Image

from tests.conftest import DATA
from tests.fakes import LoopbackOpenAI
from tests.images import sunny_cover
from tools.cover import load_cover
from tools.errors import BackendError, ConfigError
from tools.grounding.evidence import colour_name, measure
from tools.vision import VISION_BACKENDS


@pytest.fixture(scope="module")
def offline():
    return VISION_BACKENDS.create("offline")


@pytest.mark.slow
@pytest.mark.parametrize("name, expected", [("coffee.png", {"espresso"}),
                                            ("chelsea.png", {"Egyptian cat", "tabby", "tiger cat"})])
def test_offline_classifier_recognises_real_photos(offline, name, expected):
    labels = offline.classify(load_cover(DATA / name).image)
    assert labels[0][0] in expected and labels[0][1] > 0.3


@pytest.mark.slow
def test_offline_description_reads_the_title_and_reports_facts(offline, night_cover_path):
    d = offline.describe(load_cover(night_cover_path))
    assert d.backend == "offline" and d.model == "efficientnet-lite0+pp-ocrv4+cielab+all-mpnet-base-v2"
    assert '"MIDNIGHT ORBIT"' in d.text
    assert d.details["cover_text"][0]["text"] == "MIDNIGHT ORBIT" and d.details["cover_text"][0]["confidence"] > 0.8
    text = d.evidence.first("text")
    assert text.value == "MIDNIGHT ORBIT" and text.id in d.text and len(text.detail["box"]) == 4
    assert d.evidence.first("lightness").value < 30 and "dark" in d.text and "magenta" in d.text
    assert [e.id for e in d.evidence] == [f"E{k}" for k in range(1, len(d.evidence) + 1)]
    # the label the classifier gives this drawing is under the threshold: reported as uncertain, not as fact
    labels = d.evidence.of_kind("label", certain=False)
    assert labels and all(e.uncertain and e.text.startswith("uncertain:") for e in labels)


def test_measurements_see_a_bright_warm_cover():
    m = measure(sunny_cover())
    assert m["lightness"] > 60 and m["b"] > 30 and m["chroma"] > 40 and 40 < m["hue"] < 100
    assert {s["name"] for s in m["palette"]} & {"orange", "amber", "yellow", "gold"}
    assert abs(sum(s["share"] for s in m["palette"]) - 1) < 0.1
    assert colour_name((20, 30, 85)) == "navy" and colour_name((250, 250, 250)) == "white"


@pytest.mark.slow
def test_transformers_vision_loads_a_llava_folder_and_generates(tiny_llava_dir):
    backend = VISION_BACKENDS.create("transformers", {"model": str(tiny_llava_dir), "device": "cpu", "max_new_tokens": 8})
    d = backend.describe(load_cover(DATA / "coffee.png"))
    assert d.backend == "transformers" and d.model == str(tiny_llava_dir)
    assert isinstance(d.text, str) and d.details["generated_tokens"] >= 1


def test_openai_vision_sends_the_cover_as_a_jpeg_data_url(monkeypatch):
    server = LoopbackOpenAI([{"content": "A ringed magenta planet over a starry purple sky; title MIDNIGHT ORBIT."}])
    monkeypatch.setenv("TEST_VISION_KEY", "sk-test-123")
    try:
        backend = VISION_BACKENDS.create("openai", {"model": "llava", "base_url": server.base_url,
                                                    "api_key_env": "TEST_VISION_KEY", "max_retries": 0})
        d = backend.describe(load_cover(DATA / "chelsea.png"))
    finally:
        server.close()
    assert d.text.startswith("A ringed magenta planet") and d.model == "llava"
    body = server.requests[0]["body"]
    parts = body["messages"][0]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert url.startswith("data:image/jpeg;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.format == "JPEG" and max(img.size) <= 768
    assert server.requests[0]["auth"] == "Bearer sk-test-123"


def test_openai_vision_without_its_key_env_says_which_variable(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    backend = VISION_BACKENDS.create("openai", {"api_key_env": "NOPE_KEY"})
    with pytest.raises(BackendError, match="environment variable NOPE_KEY is not set"):
        backend.describe(load_cover(DATA / "chelsea.png"))


def test_llama_cpp_vision_checks_its_files_before_loading(tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    backend = VISION_BACKENDS.create("llama-cpp", {"model": str(model), "mmproj": str(tmp_path / "mmproj.gguf")})
    with pytest.raises(ConfigError, match="mmproj file .*mmproj.gguf not found"):
        backend.describe(load_cover(DATA / "chelsea.png"))


ANSWER = """A grey tabby cat rests on a brown blanket in soft window light; no text.
Subject: a tabby cat curled up
Setting: a sunny living room
Style: photo
Era cues: 1970s film grain
Mood words: calm, warm, sleepy"""


def test_a_vision_models_questionnaire_answers_become_evidence_the_prior_uses():
    from tools.grounding.prior import Prior

    server = LoopbackOpenAI([{"content": ANSWER}, {"content": "   "}])
    try:
        backend = VISION_BACKENDS.create("openai", {"model": "llava", "base_url": server.base_url, "max_retries": 0})
        d = backend.describe(load_cover(DATA / "chelsea.png"))
        with pytest.raises(BackendError, match="openai vision: llava returned an empty description"):
            backend.describe(load_cover(DATA / "chelsea.png"))
    finally:
        server.close()
    assert "Subject:" in server.requests[0]["body"]["messages"][0]["content"][0]["text"]  # the questionnaire
    kinds = [e.kind for e in d.evidence]
    assert kinds[:2] == ["palette", "lightness"] and {"subject", "setting", "style", "era", "mood"} <= set(kinds)
    assert d.evidence.first("subject").value == "a tabby cat curled up" and "E1 [palette]" in d.for_agent()
    prior = Prior(d.evidence)
    mood, subject, era = d.evidence.first("mood"), d.evidence.first("subject"), d.evidence.first("era")
    assert subject.id in prior.rank("genre").option("folk").evidence  # a cat: the animals group
    assert mood.id in prior.rank("moods").option("calm").evidence      # a mood word named outright
    assert prior.rank("era").top.value == "1970s" and era.id in prior.rank("era").top.evidence
