"""Music backends: turn a MusicSpec and its rendered prompt into audio."""
from tools.registry import Registry

MUSIC_BACKENDS = Registry("music", {
    "sketch": "tools.music.sketch:SketchRenderer",
    "musicgen": "tools.music.musicgen:MusicGen",
    "audiocraft": "tools.music.audiocraft_backend:AudiocraftMusicGen",
    "acestep": "tools.music.diffusion:AceStep",
    "stable-audio": "tools.music.diffusion:StableAudio",
})
