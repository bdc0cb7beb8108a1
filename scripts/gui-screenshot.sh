#!/usr/bin/env bash
# Renders the README's screenshots of dmlsim-gui offscreen (no display needed):
#   docs/images/demo-timeline.png  the demo run (hierarchical all-reduce), iteration 1 selected
#   docs/images/demo-compare.png   the demo with ring and with tree all-reduce, stacked and compared
#   docs/images/federated-classes.png  1 000 phones, 4 over-selected FedAvg rounds with a deadline and
#                                  dropouts: the clients grouped by class, their tasks by outcome
# Usage: scripts/gui-screenshot.sh [BUILD_DIR] [DEMO_DIR]
#   BUILD_DIR holds dmlsim and dmlsim-gui (default build/release); DEMO_DIR is the output of
#   `dmlsim demo` (default dmlsim-out/demo, its own default; run first if it is not there).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
demo=${2:-dmlsim-out/demo}
if [ ! -x "$build/dmlsim-gui" ]; then
  echo "gui-screenshot: no $build/dmlsim-gui; build it first (cmake --preset release && cmake --build --preset release)" >&2
  exit 1
fi
if [ ! -f "$demo/hierarchical/trace.json" ]; then
  "$build/dmlsim" demo --out "$demo"
fi
export QT_QPA_PLATFORM=offscreen
mkdir -p docs/images
"$build/dmlsim-gui" --screenshot docs/images/demo-timeline.png --size 1600x1000 --expand-nodes 1 \
  --select-iteration 1 "$demo/hierarchical"
"$build/dmlsim-gui" --screenshot docs/images/demo-compare.png --size 1600x1000 --expand-nodes 0 \
  --select-iteration 1 "$demo/ring" "$demo/tree"
federated=dmlsim-out/federated-phones-gui
"$build/dmlsim" run experiments/federated-phones.yaml --quiet --out "$federated" --set iterations=4 \
  --set strategy.clients_per_round=130 --set strategy.report_goal=100 --set strategy.deadline=8s \
  --set strategy.dropout=0.05 --set name=federated-phones
"$build/dmlsim-gui" --screenshot docs/images/federated-classes.png --size 1600x600 --expand-nodes 1 "$federated"
echo "wrote docs/images/demo-timeline.png, docs/images/demo-compare.png and docs/images/federated-classes.png"
