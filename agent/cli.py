"""The `albumgen` command line: a thin shell over agent.api. Heavy libraries load only inside commands."""
from __future__ import annotations

import json
import sys

import click

OFFLINE_HINT = ("hint: this is the offline profile (sketch renderer). For neural audio run the same command with "
                "--profile musicgen (downloads facebook/musicgen-small on first use).")


class AlbumGenGroup(click.Group):
    """Turns AlbumGen errors into one `error: ...` line and their exit code, never a traceback."""

    def invoke(self, ctx):
        from tools.errors import AlbumGenError

        try:
            return super().invoke(ctx)
        except AlbumGenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)


@click.group(cls=AlbumGenGroup)
@click.version_option(package_name="albumgen")
@click.option("--config", "config_path", envvar="ALBUMGEN_CONFIG", type=click.Path(dir_okay=False),
              help="config.yaml to use (default: the project's; env ALBUMGEN_CONFIG).")
@click.pass_context
def main(ctx, config_path):
    """AlbumGen: turn an album cover into music and show the reasoning."""
    ctx.obj = {"config": config_path}


def _load(ctx):
    from agent.config import load_config

    return load_config(ctx.obj["config"])


@main.command()
@click.argument("cover", type=click.Path())
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default from config).")
@click.option("-p", "--profile", help="Profile from config.yaml (offline, musicgen, hosted, ...).")
@click.option("-m", "--model", envvar="ALBUMGEN_MODEL", help="Agent LLM: an alias or BACKEND:MODEL (env ALBUMGEN_MODEL).")
@click.option("--duration", type=float, help="Seconds of music (0.5-300).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed (default: a new one each run).")
@click.option("--force", is_flag=True, help="Overwrite an existing run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: audio, trace, spec, prompt.")
@click.pass_context
def generate(ctx, cover, out_dir, profile, model, duration, seed, force, as_json):
    """Describe COVER, plan the music with the agent, generate it and write the run folder."""
    from agent.api import AlbumGen

    app = AlbumGen(_load(ctx), profile=profile, model=model)
    progress = None if as_json else (lambda name: click.echo(f"… {name}", err=True))
    result = app.generate(cover, out_dir=out_dir, duration=duration, seed=seed, force=force, on_stage=progress)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    spec = result.spec
    click.echo(f"genre       {spec.genre}" + (f" ({spec.subgenre})" if spec.subgenre else ""))
    click.echo(f"mood        {', '.join(spec.moods)} · energy {spec.energy} · valence {spec.valence}")
    click.echo(f"tempo       {spec.tempo_bpm} BPM · {spec.key} {spec.mode} · {spec.time_signature}")
    click.echo(f"instruments {', '.join(spec.instruments)}" + (f" · era {spec.era}" if spec.era else ""))
    click.echo(f"prompt      {result.prompt}")
    click.echo(f"audio       {result.audio_path}")
    click.echo(f"trace       {result.trace_path} (and trace.md)")
    for warning in result.trace.warnings:
        click.echo(f"warning: {warning}", err=True)
    if app.profile_name == "offline":
        click.echo(OFFLINE_HINT, err=True)


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


if __name__ == "__main__":
    main()
