"""Vision backends: describe an album cover as text for the agent."""
from tools.registry import Registry

VISION_BACKENDS = Registry("vision", {
    "offline": "tools.vision.offline:OfflineDescriber",
    "transformers": "tools.vision.hf:TransformersVision",
    "llama-cpp": "tools.vision.llamacpp:LlamaCppVision",
    "openai": "tools.vision.openai_compat:OpenAIVision",
})
