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
@click.option("--no-verify", is_flag=True, help="Skip measuring the take against the spec (and repairing it).")
@click.option("--format", "audio_format", type=click.Choice(["wav", "flac"]), help="Audio file format.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: audio, trace, spec, prompt.")
@click.pass_context
def generate(ctx, cover, out_dir, profile, model, duration, seed, force, no_verify, audio_format, as_json):
    """Describe COVER, plan the music with the agent, generate it and write the run folder."""
    from agent.api import AlbumGen

    app = AlbumGen(_load(ctx), profile=profile, model=model)
    progress = None if as_json else (lambda name: click.echo(f"… {name}", err=True))
    result = app.generate(cover, out_dir=out_dir, duration=duration, seed=seed, force=force,
                          verify=False if no_verify else None, audio_format=audio_format, on_stage=progress)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    spec = result.spec
    click.echo(f"genre       {spec.genre}" + (f" ({spec.subgenre})" if spec.subgenre else ""))
    click.echo(f"mood        {', '.join(spec.moods)} · energy {spec.energy} · valence {spec.valence}")
    click.echo(f"tempo       {tempo_key_line(spec, (result.trace.audio or {}).get('measured'))} · {spec.time_signature}")
    click.echo(f"instruments {', '.join(spec.instruments)}" + (f" · era {spec.era}" if spec.era else ""))
    click.echo(f"prompt      {result.prompt}")
    click.echo(f"audio       {result.audio_path}")
    click.echo(f"trace       {result.trace_path} (and trace.md)")
    for warning in result.trace.warnings:
        click.echo(f"warning: {warning}", err=True)
    if app.profile_name == "offline":
        click.echo(OFFLINE_HINT, err=True)


def tempo_key_line(spec, measured: dict | None) -> str:
    """'96 BPM (measured 96.3) · A minor (measured A minor, conf 0.81)'; without measurement, the plan only."""
    if not measured:
        return f"{spec.tempo_bpm} BPM · {spec.key} {spec.mode}"
    return (f"{spec.tempo_bpm} BPM (measured {measured['tempo_bpm']}) · {spec.key} {spec.mode} "
            f"(measured {measured['key']} {measured['mode']}, conf {measured['key_confidence']})")


@main.command()
@click.argument("audio", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as one JSON object.")
def analyze(audio, as_json):
    """Measure AUDIO: tempo, key and mode, loudness, peak and clipping, silence, duration."""
    from tools.analysis import analyze_file

    result = analyze_file(audio)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"duration    {result.duration_s} s at {result.sample_rate} Hz")
    click.echo(f"tempo       {result.tempo_bpm} BPM ({result.beats} beats)")
    click.echo(f"key         {result.key} {result.mode} (confidence {result.key_confidence})")
    click.echo(f"loudness    {result.loudness_lufs} LUFS · peak {result.peak_dbfs} dBFS"
               + (" · CLIPPING" if result.clipping else "") + (f" · silence {result.silence_ratio:.0%}"))


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
