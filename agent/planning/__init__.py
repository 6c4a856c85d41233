"""Planning: the LangChain tool-calling agent (loop), the guided planner that weighs the prior against the
model's calibrated preference (guided), the prompts they read (prompting), and the LLM backends and chat
models they talk to (llm, chat_models). Its job ends in a finished plan handed to the music stage."""
