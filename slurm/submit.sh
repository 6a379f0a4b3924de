#!/bin/bash
# Submit a sharded safedrift bench run as a SLURM array of N tasks, then its merge once every task succeeded.
#
#   slurm/submit.sh configs/bench/my.yaml 4 [runs_dir]
#
# Each task runs `safedrift bench CONFIG --shard i/N`; the merge job runs `safedrift bench merge RUN_DIR`.
set -euo pipefail
CONFIG=${1:?usage: slurm/submit.sh CONFIG N [RUNS_DIR]}
N=${2:?usage: slurm/submit.sh CONFIG N [RUNS_DIR]}
RUNS_DIR=${3:-}
here=$(dirname "$0")
# The run folder as the config names it (runs_dir/run_id, or the given runs_dir), read by the runner itself.
RUN_DIR=$(python -c 'import sys
from bench_runner.config import load_config
from safedrift.core.locations import config_path
o = {"runs_dir": sys.argv[2]} if sys.argv[2] else {}
print(load_config(config_path(sys.argv[1], "bench"), o).run_dir)' "$CONFIG" "$RUNS_DIR")
array=$(CONFIG=$CONFIG RUNS_DIR=$RUNS_DIR sbatch --parsable --export=ALL --array="1-$N" "$here/bench_array.sbatch")
merge=$(RUN_DIR=$RUN_DIR sbatch --parsable --export=ALL --dependency="afterok:${array%%;*}" "$here/merge.sbatch")
echo "array job $array ($N shards of $CONFIG), merge job $merge -> $RUN_DIR/results.json"
