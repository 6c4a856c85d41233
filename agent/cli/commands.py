"""The `albumgen` command line: a thin shell over agent.api. Heavy libraries load only inside commands."""
from __future__ import annotations

import json
import signal
import sys

import click

from tools.limits import MAX_DURATION_S, MAX_SEED, MIN_DURATION_S

DURATION_RANGE = f"{MIN_DURATION_S:g}-{MAX_DURATION_S:g}"

OFFLINE_HINT = ("hint: this is the offline profile (sketch renderer). For neural audio run the same command with "
                "--profile musicgen (downloads facebook/musicgen-small on first use), or --profile acestep "
                "(ACE-Step 1.5, MIT licence; quick on a GPU).")


class AlbumGenGroup(click.Group):
    """Turns AlbumGen errors into one `error: ...` line and their exit code, never a traceback."""

    def invoke(self, ctx):
        from tools.errors import AlbumGenError, redact

        signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends a run like Ctrl-C: trace saved, exit 130
        try:
            return super().invoke(ctx)
        except AlbumGenError as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)


def _terminate(signum, frame):
    raise KeyboardInterrupt


@click.group(cls=AlbumGenGroup)
@click.version_option(package_name="albumgen")
@click.option("--config", "config_path", envvar="ALBUMGEN_CONFIG", type=click.Path(dir_okay=False),
              help="config.yaml to use (default: the project's; env ALBUMGEN_CONFIG).")
@click.pass_context
def main(ctx, config_path):
    """AlbumGen: turn an album cover into music and show the reasoning."""
    ctx.obj = {"config": config_path}


def _load(ctx):
    from agent.config import config_of

    return config_of(ctx)


@main.command()
@click.argument("cover", type=click.Path())
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default from config).")
@click.option("-p", "--profile", help="Profile from config.yaml (offline, musicgen, acestep, stable-audio, hosted, ...).")
@click.option("-m", "--model", envvar="ALBUMGEN_MODEL", help="Agent LLM: an alias or BACKEND:MODEL (env ALBUMGEN_MODEL).")
@click.option("--vision-model", help="Describer: offline, or BACKEND:MODEL (transformers:ID, openai:MODEL, llama-cpp:PATH).")
@click.option("--base-url", envvar="OPENAI_BASE_URL", help="OpenAI-compatible server for openai:MODEL (env OPENAI_BASE_URL).")
@click.option("--mmproj", type=click.Path(), help="CLIP projector GGUF for --vision-model llama-cpp:PATH.gguf.")
@click.option("--duration", type=float, help=f"Seconds of music ({DURATION_RANGE}).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), help="Random seed (default: a new one each run).")
@click.option("--force", is_flag=True, help="Overwrite an existing run folder.")
@click.option("--no-verify", is_flag=True, help="Skip measuring the take against the spec (and repairing it).")
@click.option("--format", "audio_format", type=click.Choice(["wav", "flac"]), help="Audio file format.")
@click.option("--takes", type=int, default=1, show_default=True,
              help="Variations of the plan, made as one batch; the best is audio, all are take-K files.")
@click.option("--stream/--no-stream", default=None,
              help="Write each take to a growing *.partial.wav while it is made (default: config defaults.stream).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: audio, trace, spec, prompt (and takes).")
@click.option("-n", "--no-log", is_flag=True, help="Do not record this run in the run store.")
@click.option("--catalog", help="Catalogue whose nearest covers become evidence (default: config catalog.default; none: off).")
@click.pass_context
def generate(ctx, cover, out_dir, profile, model, vision_model, base_url, mmproj, duration, seed, force, no_verify,
             takes, stream, audio_format, as_json, no_log, catalog):
    """Describe COVER, plan the music with the agent, generate it and write the run folder."""
    from agent.api import AlbumGen

    app = AlbumGen(_load(ctx), profile=profile, model=model, vision_model=vision_model, base_url=base_url,
                   mmproj=mmproj, catalog=catalog)
    from agent.cli.progress import step_bar

    progress = None if as_json else (lambda name: click.echo(f"… {name}", err=True))
    with step_bar(not as_json):
        result = app.generate(cover, out_dir=out_dir, duration=duration, seed=seed, force=force,
                              verify=False if no_verify else None, audio_format=audio_format, log=not no_log,
                              takes=takes, stream=stream, on_stage=progress)
    from agent.run.present import run_lines, run_summary

    if as_json:
        click.echo(json.dumps(run_summary(result)))
        return
    click.echo("\n".join(run_lines(result)))
    for warning in result.trace.warnings:
        click.echo(f"warning: {warning}", err=True)
    if app.profile_name == "offline":
        click.echo(OFFLINE_HINT, err=True)


@main.command()
@click.argument("audio", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as one JSON object.")
def analyze(audio, as_json):
    """Measure AUDIO: tempo, key and mode, loudness, peak and clipping, silence, duration."""
    from tools.analysis import KEY_B_PROFILE, analyze_file

    result = analyze_file(audio)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"duration    {result.duration_s} s at {result.sample_rate} Hz")
    click.echo(f"tempo       {result.tempo_bpm} BPM ({result.beats} beats)")
    click.echo(f"key         {result.key} {result.mode} (librosa chroma, Krumhansl-Kessler; confidence "
               f"{result.key_confidence})")
    click.echo(f"key (check) {result.key_b} {result.mode_b} (essentia KeyExtractor, {KEY_B_PROFILE}; strength "
               f"{result.key_b_strength})" if result.key_b else "key (check) not measured: pip install essentia")
    click.echo(f"loudness    {result.loudness_lufs} LUFS · peak {result.peak_dbfs} dBFS"
               + (" · CLIPPING" if result.clipping else "") + (f" · silence {result.silence_ratio:.0%}"))


@main.command()
@click.argument("cover", type=click.Path(), required=False)
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default from config).")
@click.option("-p", "--profile", help="Profile from config.yaml.")
@click.option("-m", "--model", envvar="ALBUMGEN_MODEL", help="Agent LLM: an alias or BACKEND:MODEL.")
@click.option("--duration", type=float, help=f"Seconds of music per take ({DURATION_RANGE}).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), help="Seed of the first take.")
@click.option("--resume", "resume_id", help="Continue an earlier chat session by its id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per turn.")
@click.option("--catalog", help="Catalogue whose nearest covers become evidence (default: config catalog.default; none: off).")
@click.pass_context
def chat(ctx, cover, out_dir, profile, model, duration, seed, resume_id, as_json, catalog):
    """Refine a take by talking to it: "slower", "add saxophone", "another take", /undo, /quit.

    Reads one message per line from stdin (a terminal or a pipe); end of input ends the session."""
    if not cover and not resume_id:
        raise click.UsageError("give a COVER, or --resume ID to continue a session")
    from agent.cli.progress import step_bar

    with step_bar(not as_json):
        _chat(ctx, cover, out_dir, profile, model, duration, seed, resume_id, as_json, catalog)


def _chat(ctx, cover, out_dir, profile, model, duration, seed, resume_id, as_json, catalog):
    from agent.api import AlbumGen
    from agent.chat.session import SLASH_HELP, ChatSession
    from agent.store import RunStore

    store = RunStore()
    row = store.session(resume_id) if resume_id else None
    app = AlbumGen(_load(ctx), profile=profile or (row.profile if row else None), model=model, catalog=catalog)
    notify = None if as_json else (lambda name: click.echo(f"… {name}", err=True))
    if row:
        session, reply = ChatSession.resume(app, store, row.id, notify=notify)
    else:
        session, reply = ChatSession.start(app, store, cover, out_dir, duration, seed, notify=notify)
    _say(reply, as_json)
    interactive = sys.stdin.isatty()
    if interactive and not as_json:
        click.echo(f"say what to change, or {SLASH_HELP}", err=True)
    for line in click.get_text_stream("stdin"):
        reply = session.handle(line)
        _say(reply, as_json)
        if reply.quit:
            break
    store.close_session(session.id, "closed")


def _say(reply, as_json: bool) -> None:
    if as_json:
        if reply.data:
            click.echo(json.dumps(reply.data))
    elif reply.lines:
        click.echo("\n".join(reply.lines))


@main.group("runs")
def runs_group():
    """The run history (sessions, turns, takes) in the SQLite run store."""


@runs_group.command("list")
@click.option("--limit", default=20, show_default=True, help="How many sessions to show, newest first.")
@click.option("--json", "as_json", is_flag=True)
def runs_list(limit, as_json):
    """List recent sessions and single runs."""
    from agent.store import RunStore

    rows = RunStore().sessions(limit)
    if as_json:
        click.echo(json.dumps([r.model_dump() for r in rows]))
        return
    for r in rows:
        click.echo(f"{r.id}  {r.created_at}  {r.kind:8} {r.profile:9} {r.takes} takes  {r.status:6} {r.cover_path}")


@runs_group.command("show")
@click.argument("run_id")
def runs_show(run_id):
    """Print a session's traces as markdown."""
    from agent.chat.session import show_session
    from agent.store import RunStore

    click.echo(show_session(RunStore(), run_id))


@runs_group.command("replay")
@click.argument("run_id")
@click.option("--take", "take_no", type=int, help="Which take (1 = first; default: the last).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default from config).")
@click.pass_context
def runs_replay(ctx, run_id, take_no, out_dir):
    """Regenerate a take from its stored spec and seed (deterministic backends give identical audio)."""
    from agent.api import AlbumGen
    from agent.run.replay import replay
    from agent.store import RunStore

    store = RunStore()
    row = store.session(run_id)
    app = AlbumGen(_load(ctx), profile=row.profile)
    result = replay(app, store, row.id, take_no, out_dir)
    click.echo("\n".join(result))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models(ctx, as_json):
    """List the configured backends and aliases, and whether each can run here now (and why not)."""
    from agent.config import registries

    config, kinds, rows = _load(ctx), registries(), []
    entries = [(f"profile {name}", kind, getattr(p, kind)) for name, p in config.profiles.items()
               for kind in ("vision", "llm", "music")]
    entries += [(f"alias {name}", "llm", choice) for name, choice in config.aliases.items()]
    for where, kind, choice in entries:
        backend = kinds[kind].create(choice.backend, choice.options_dict(), where)
        ok, why = backend.availability()
        rows.append({"where": where, "kind": kind, "backend": choice.backend, "model": backend.model_id,
                     "ready": ok, "why": why})
    from tools.optional import pieces

    for piece in pieces():  # what the offline default reads when it is there
        rows.append({"where": "optional", "kind": "piece", "backend": "", "model": piece.name, "ready": piece.ready,
                     "why": "ready" if piece.ready else f"{piece.without}: {piece.fix}"})
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(f"{'✓' if r['ready'] else '✗'} {r['where']:20} {r['kind']:6} {r['backend']:12} {r['model'][:44]:44} {r['why']}")


@main.command()
@click.option("--host", help="Address to bind (default from config: 127.0.0.1).")
@click.option("--port", type=int, help="Port (default from config: 7860).")
@click.option("-p", "--profile", help="Default profile in the page.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Where takes are written.")
@click.option("--catalog", help="Catalogue whose nearest covers become evidence (default: config catalog.default; none: off).")
@click.pass_context
def web(ctx, host, port, profile, out_dir, catalog):
    """Start the web app: upload a cover, hear it, refine it in chat, see the reasoning."""
    from tools.errors import MissingExtraError
    from tools.registry import missing

    config = _load(ctx)
    if missing("gradio", "matplotlib"):
        raise MissingExtraError("gradio", "web")
    from web.app import serve

    serve(config, host or config.web.host, port or config.web.port, profile, out_dir,
          config.web.max_concurrent_generations, catalog)


@main.group("config")
def config_group():
    """Inspect the configuration."""


@config_group.command("show")
@click.pass_context
def config_show(ctx):
    """Print the resolved config.yaml, with secrets shown only as set / not set."""
    import yaml

    from agent.config import masked

    click.echo(yaml.safe_dump(masked(_load(ctx)), sort_keys=False, allow_unicode=True), nl=False)


from agent.cli.batch import batch  # noqa: E402 (registered after main is defined)
from agent.cli.catalog import catalog_group  # noqa: E402

main.add_command(catalog_group)
main.add_command(batch)

