#!/usr/bin/env bash
# Installs the Debian packages AlbumGen uses beside Python: fluidsynth (the sketch renderer's synthesiser: its library,
# played in the process through pyfluidsynth, and the program),
# fluid-soundfont-gm (FluidR3_GM, the General MIDI soundfont it plays; pretty_midi's small TimGM6mb is the
# last fallback) and chromium (the web app's browser tests). Without fluidsynth AlbumGen still runs on its numpy fallback
# synth (the trace says so); without chromium only the browser tests cannot run.
# Usage: install-system-deps.sh [--with-browser]
set -u
need=()
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
if [ "${1:-}" = "--with-browser" ]; then command -v chromium >/dev/null || need+=(chromium); fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "missing ${need[*]} and no apt-get: install them with your package manager" >&2; exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing ${need[*]} (apt-get)" >&2
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
  || echo "could not install ${need[*]}" >&2
