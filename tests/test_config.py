"""config.yaml validation: one-line errors naming the key and the allowed values; secrets masked."""
import pytest

from agent.config import load_config, masked, parse_model_flag, resolve
from tools.errors import ConfigError


def test_project_config_is_valid_and_has_the_three_profiles():
    config = load_config()
    assert config.default_profile == "offline"
    assert {"offline", "musicgen", "acestep", "stable-audio", "hosted"} <= set(config.profiles)
    assert config.profiles["musicgen"].music.options_dict()["model"] == "facebook/musicgen-small"


@pytest.mark.parametrize("changes, message", [
    ({"default_profile": "nope"}, "default_profile 'nope' is not among profiles"),
    ({"defaults": {"duration_s": 1000}}, "defaults.duration_s: Input should be less than or equal to 300"),
    # the same bounds as --duration, caught where the value was written (not later, naming a flag nobody gave)
    ({"defaults": {"duration_s": 0.3}}, "defaults.duration_s: Input should be greater than or equal to 0.5"),
    ({"defaults": {"durations": 10}}, "defaults.durations: unknown key"),
    ({"profiles": {"offline": {"vision": {"backend": "offline"}, "llm": {"backend": "llama-cpp"},
                               "music": {"backend": "mp3gen"}}}},
     "profiles.offline.music: unknown music backend 'mp3gen': use one of sketch, musicgen, audiocraft, acestep, "
     "stable-audio"),
    ({"profiles": {"offline": {"vision": {"backend": "offline"}, "llm": {"backend": "llama-cpp"},
                               "music": {"backend": "acestep", "offload": "disk"}}}},
     "profiles.offline.music: offload: Input should be 'none', 'model' or 'sequential'"),
    ({"profiles": {"offline": {"vision": {"backend": "offline", "colour": 1}, "llm": {"backend": "llama-cpp"},
                               "music": {"backend": "sketch"}}}}, "profiles.offline.vision: colour: unknown key"),
    ({"profiles": {"offline": {"vision": {"backend": "offline"}, "llm": {"backend": "openai", "api_key": "sk-123"},
                               "music": {"backend": "sketch"}}}}, "'api_key' must not hold a secret"),
])
def test_bad_config_names_the_key(config_file, changes, message):
    with pytest.raises(ConfigError) as info:
        load_config(config_file(changes))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "sk-123" not in str(info.value)


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("default_profile: offline\nprofiles:\n  offline: [unclosed\n")
    with pytest.raises(ConfigError, match=r"config.yaml line \d+: not valid YAML"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found: pass --config PATH"):
        load_config(tmp_path / "nope.yaml")


def test_model_flag_accepts_backend_prefix_and_aliases():
    config = load_config()
    assert parse_model_flag("openai:gpt-4o", config).options_dict() == {"model": "gpt-4o"}
    assert parse_model_flag("ollama-qwen", config).backend == "openai"
    with pytest.raises(ConfigError, match="unknown model 'gpt-4o' for --model: use one of llama-cpp:MODEL, openai:MODEL"):
        parse_model_flag("gpt-4o", config)
    local = parse_model_flag("openai:qwen", config, base_url="http://127.0.0.1:8080/v1")
    assert local.options_dict() == {"model": "qwen", "base_url": "http://127.0.0.1:8080/v1"}
    assert parse_model_flag("lmstudio", config, base_url="http://10.0.0.1/v1").options_dict()["base_url"] == \
        "http://10.0.0.1/v1"
    vision = parse_model_flag("llama-cpp:/m/llava.gguf", config, "vision", mmproj="/m/mmproj.gguf", base_url="x")
    assert vision.options_dict() == {"model": "/m/llava.gguf", "mmproj": "/m/mmproj.gguf"}
    assert parse_model_flag("offline", config, "vision").backend == "offline"


def test_masked_config_shows_only_whether_a_secret_is_set(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    shown = str(masked(load_config()))
    assert "OPENAI_API_KEY (set)" in shown and "sk-very-secret" not in shown


def test_one_resolution_of_profile_backends_and_catalogue():
    config = load_config()
    setup = resolve(config)
    assert setup.profile == "offline" and setup.music.backend == "sketch" and setup.llm.backend == "llama-cpp"
    assert setup.worker == config.profiles["offline"].worker and setup.where("music") == "profiles.offline.music"
    other = resolve(config, "musicgen", model="openai:gpt-4o-mini", base_url="http://localhost:9/v1", catalog="none")
    assert other.music.options_dict()["model"] == "facebook/musicgen-small" and other.catalog is None
    assert other.llm.backend == "openai" and other.llm.options_dict()["base_url"] == "http://localhost:9/v1"
    assert resolve(config, catalog="mine").catalog == "mine"


UNKNOWN = "unknown profile 'nope': use one of offline, musicgen, acestep, stable-audio, hosted"


def test_every_entry_point_refuses_a_bad_profile_or_model_the_same_way_before_doing_anything(tmp_path):
    """generate and chat (the pipeline), batch and the web app resolve through agent.config.resolve."""
    from agent.api import AlbumGen
    from agent.batch import Batch

    config = load_config()
    for make in (lambda: AlbumGen(config, profile="nope"), lambda: resolve(config, "nope"),
                 lambda: Batch(config, tmp_path / "in", tmp_path / "batch", profile="nope")):
        with pytest.raises(ConfigError) as exc:
            make()
        assert str(exc.value) == UNKNOWN
    with pytest.raises(ConfigError, match="unknown model 'gpt' for --model"):
        Batch(config, tmp_path / "in", tmp_path / "batch", model="gpt")  # at the start, not in every worker
    assert not (tmp_path / "batch").exists()
    pytest.importorskip("gradio")
    from web.app import WebApp

    with pytest.raises(ConfigError) as exc:
        WebApp(config, "nope", str(tmp_path / "out"))
    assert str(exc.value) == UNKNOWN
