"""AlbumGen's agent layer: the LangChain tool-calling loop, the trace, the run API and the CLI.

`from agent import AlbumGen` is the Python API the CLI and the web app call.
"""


def __getattr__(name):  # lazy: `import agent` stays cheap for `albumgen --help`
    if name in ("AlbumGen", "RunResult"):
        from agent import api

        return getattr(api, name)
    raise AttributeError(name)
