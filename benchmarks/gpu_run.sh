#!/usr/bin/env bash
# The training measurements that need a GPU, in one command: the training throughput of the course's
# path against the seeds' loop, then the shipped CIFAR-10 checkpoints (cifar10_speedrun.py --ship).
#
#   benchmarks/gpu_run.sh [STEP ...]
#
# Run it from the repository root on the GPU machine (python3 with torch, torchvision, pillow and
# tqdm; the package is used from the checkout, nothing is installed). Steps run in the order given;
# without any, all of them, most important first:
#
#   throughput           train_throughput.py for mobilenet_v2 and shufflenet_v2_x1_0 (about 1 minute)
#   MODEL                cifar10_speedrun.py --ship for one model, trained for MINUTES_<MODEL> minutes
#                        (one of mobilenet_v2 shufflenet_v2_x0_5 shufflenet_v2_x1_0 mobilenet_v1
#                        mobilenet_v3_small mobilenet_v3_large)
#
# A step that would not end within GPU_RUN_SECONDS of the start (default 570: one run on the GPU machine
# may last 600 s) is not started; the last line names the steps left, as the command to run next.
#
# Data: CIFAR-10 as cifar10-jpeg.tar.gz (or cifar-10-python.tar.gz) in the data folder or its
# downloads/ sub-folder: data/downloads/ in the checkout (an ignored folder), or $LIGHTNETS_DATA.
# It is decoded once (about half a minute) and cached next to the archive.
#
# Results, in $OUT (default runs/gpu_run), at most 8 files: MODEL.pt for every model that reached its
# bar, manifest.json (data/checkpoints/manifest.json with their entries added: copy both into
# data/checkpoints/), and logs.tar.gz (every step's full output and JSON results). The tables are
# printed at the end as well.
set -uo pipefail

DEFAULT_STEPS=(throughput mobilenet_v2 shufflenet_v2_x0_5 shufflenet_v2_x1_0 mobilenet_v1 mobilenet_v3_small
    mobilenet_v3_large)
# Training minutes per model (warm-up, data and evaluation come on top: about 30 s). Override with
# the environment, e.g. MINUTES_mobilenet_v2=3.
MINUTES_mobilenet_v2=${MINUTES_mobilenet_v2:-4.5}
MINUTES_shufflenet_v2_x0_5=${MINUTES_shufflenet_v2_x0_5:-1.5}
MINUTES_shufflenet_v2_x1_0=${MINUTES_shufflenet_v2_x1_0:-1.5}
MINUTES_mobilenet_v1=${MINUTES_mobilenet_v1:-1.5}
MINUTES_mobilenet_v3_small=${MINUTES_mobilenet_v3_small:-1.5}
MINUTES_mobilenet_v3_large=${MINUTES_mobilenet_v3_large:-1.5}
OVERHEAD_SECONDS=30  # start-up, reading the cached data, warm-up, test and sample evaluations, shipping
THROUGHPUT_SECONDS=90
DATA_SECONDS=60  # decoding CIFAR-10's 60,000 JPEG files once

PYTHON=${PYTHON:-python3}
DEVICE=${GPU_RUN_DEVICE:-cuda}  # GPU_RUN_DEVICE=cpu tries the script out on a machine without a GPU
OUT=${OUT:-runs/gpu_run}
BUDGET=${GPU_RUN_SECONDS:-570}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TQDM_MININTERVAL=60  # progress bars in a log file: one line a minute is enough

if [[ ! -f lightnets_course/train.py ]]; then
    echo "gpu_run.sh: run me from the repository root (benchmarks/gpu_run.sh)" >&2
    exit 2
fi
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=("${DEFAULT_STEPS[@]}")
mkdir -p "$OUT"
[[ -f "$OUT/manifest.json" ]] || cp data/checkpoints/manifest.json "$OUT/manifest.json"
LOGS=$(mktemp -d)
started=$SECONDS
left=()
failed=()

seconds_left() { echo $((BUDGET - (SECONDS - started))); }

# run NAME SECONDS_NEEDED COMMAND...: the command, its output in $LOGS/NAME.log, unless time is short.
# Returns the command's status (0 when it was not started).
run() {
    local name=$1 needed=$2 status
    shift 2
    if ((needed > $(seconds_left))); then
        echo "-- $name: not started, it needs about ${needed} s and $(seconds_left) s are left"
        left+=("$name")
        return 0
    fi
    echo "-- $name: started at $((SECONDS - started)) s"
    timeout -k 10 "$(seconds_left)" "$@" >"$LOGS/$name.log" 2>&1
    status=$?
    if ((status == 0)); then
        echo "-- $name: done at $((SECONDS - started)) s"
    else
        echo "-- $name: FAILED (status $status) at $((SECONDS - started)) s; last lines:"
        tail -n 5 "$LOGS/$name.log"
        failed+=("$name")
    fi
    tar -czf "$OUT/logs.tar.gz" -C "$LOGS" .
    return $status
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$PYTHON" - <<'PYTHON'
import torch, torchvision
print("torch", torch.__version__, "torchvision", torchvision.__version__)
print("CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())
PYTHON
} >"$LOGS/machine.txt" 2>&1
cat "$LOGS/machine.txt"

decoded=0  # the first training step decodes CIFAR-10's JPEG files and caches them for the others
for step in "${steps[@]}"; do
    if [[ $step == throughput ]]; then
        run throughput "$THROUGHPUT_SECONDS" "$PYTHON" benchmarks/train_throughput.py --device "$DEVICE" \
            --model mobilenet_v2 shufflenet_v2_x1_0 --seconds 10 --json "$LOGS/throughput.json"
        continue
    fi
    minutes_variable="MINUTES_$step"
    minutes=${!minutes_variable:-}
    if [[ -z $minutes ]]; then
        echo "-- $step: unknown step; the steps are throughput ${DEFAULT_STEPS[*]:1}" >&2
        failed+=("$step")
        continue
    fi
    needed=$(awk -v m="$minutes" -v o="$OVERHEAD_SECONDS" 'BEGIN { printf "%d", m * 60 + o }')
    ((decoded)) || needed=$((needed + DATA_SECONDS))
    run "$step" "$needed" "$PYTHON" benchmarks/cifar10_speedrun.py --model "$step" --device "$DEVICE" \
        --minutes "$minutes" --ship --ship-dir "$OUT" --json "$LOGS/$step.json"
    if (($? == 2)); then  # the speedrun's status when CIFAR-10 is missing: the other models would fail too
        echo "-- stopped: no CIFAR-10; place cifar10-jpeg.tar.gz in data/downloads/ (or set LIGHTNETS_DATA)"
        break
    fi
    [[ -e "$LOGS/$step.log" ]] && decoded=1
done

tar -czf "$OUT/logs.tar.gz" -C "$LOGS" .
echo
echo "== Results (full logs in $OUT/logs.tar.gz)"
for log in "$LOGS"/*.log; do
    [[ -e $log ]] || continue
    echo
    echo "## $(basename "$log" .log)"
    grep -E '^(\||Machine:|Data:|Recipe:|Warm-up:|Shipped|Not shipped|.vs seeds)' "$log" ||
        tail -n 3 "$log"
done
echo
ls -l "$OUT"
[[ ${#failed[@]} -gt 0 ]] && echo "Failed: ${failed[*]} (a model below its bar counts: it was not shipped)"
[[ ${#left[@]} -gt 0 ]] && echo "Left for the next run: benchmarks/gpu_run.sh ${left[*]}"
[[ ${#failed[@]} -eq 0 ]]
