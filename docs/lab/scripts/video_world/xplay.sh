#!/bin/sh
# sh xplay.sh WORLD OUTDIR: play WORLD in a real window under Xvfb, hold each arrow 3 s, screenshot after each,
# then open the explorer and screenshot it (needs xvfb, xdotool, imagemagick; docs/lab/2026-12-03-video-world.md)
world=$1; out=$(realpath -m $2); mkdir -p $out
Xvfb :99 -screen 0 1024x768x24 >/dev/null 2>&1 & xv=$!
sleep 2
cd "$(dirname "$0")/../../../.."  # the repository, so the world may be a relative path from there
DISPLAY=:99 OMP_NUM_THREADS=2 .venv/bin/nanogenie play --world $world --scale 6 --record $out/played.mp4 > $out/play.log 2>&1 &
pl=$!
sleep 20
wid=$(DISPLAY=:99 xdotool search --name nanogenie | head -1)
echo "window $wid"; DISPLAY=:99 xdotool mousemove 150 150; [ -n "$wid" ] && DISPLAY=:99 xdotool windowfocus $wid
for k in Right Up Left Down; do
  DISPLAY=:99 xdotool keydown $k; sleep 3; DISPLAY=:99 import -window root $out/hold_$k.png; DISPLAY=:99 xdotool keyup $k; sleep 1
done
DISPLAY=:99 xdotool key e; sleep 15; DISPLAY=:99 import -window root $out/explorer.png
DISPLAY=:99 xdotool key e; sleep 2; DISPLAY=:99 xdotool key Escape; sleep 5
kill $pl 2>/dev/null; kill $xv
