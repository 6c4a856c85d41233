#!/usr/bin/env bash
# Installs Debian's fluidsynth (the sketch renderer's synthesiser). Without it AlbumGen still runs,
# falling back to a plain numpy synth, and the trace says so.
set -u
if command -v fluidsynth >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "fluidsynth not found and no apt-get: install fluidsynth with your package manager" >&2; exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq fluidsynth >/dev/null \
  || echo "could not install fluidsynth: the sketch renderer will use its numpy fallback" >&2
