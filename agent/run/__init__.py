"""One run, cover to folder: the pipeline's stages (pipeline), verification and repair (verify), the run
folder and its atomic writes (folder), the typed records and the explainable trace (records, trace), what
people read about a run (present) and replaying a stored take (replay)."""
