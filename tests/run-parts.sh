#!/usr/bin/env bash
# make test's driver: run make targets ("parts") in stages, one stage after the other.
# Each argument is a stage; in a stage a lone "|" separates lanes that run side by
# side, the parts of a lane one after the other, e.g.
#   tests/run-parts.sh 'lint syntax unit | worker' molecule
# Lines of a stage with several lanes carry their part's name. A lane stops at its
# first failure, the other lanes of the stage go on; no later stage starts then.
# At the end: the whole time, each stage's and each part's time. Exit 1 on a failure.
set -uo pipefail

times=$(mktemp -d)
trap 'rm -rf "$times"' EXIT
MAKE=${MAKE:-make}

run_lane() {  # parts, result file, prefix lines?
  local part start code
  for part in $1; do
    start=$(date +%s)
    if [ "$3" = prefix ]; then
      $MAKE --no-print-directory "$part" 2>&1 | sed -u "s/^/[$part] /"
      code=${PIPESTATUS[0]}
    else
      $MAKE --no-print-directory "$part"
      code=$?
    fi
    printf '%s\t%s\t%s\n' "$part" "$(( $(date +%s) - start ))" "$code" >> "$2"
    [ "$code" = 0 ] || return 1
  done
}

start=$(date +%s) failed=0 n=0
for stage in "$@"; do
  n=$((n + 1)) stage_start=$(date +%s)
  IFS='|' read -r -a lanes <<< "$stage"
  prefix=$( [ ${#lanes[@]} -gt 1 ] && echo prefix || echo plain )
  pids=()
  for i in "${!lanes[@]}"; do
    run_lane "${lanes[$i]}" "$times/stage$n.lane$i" "$prefix" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  echo "$stage" > "$times/stage$n.name"
  echo $(( $(date +%s) - stage_start )) > "$times/stage$n.seconds"
  [ "$failed" = 0 ] || break
done

echo
echo "make test: $(( $(date +%s) - start )) s"
for ((s = 1; s <= n; s++)); do
  printf '  stage %d (%s): %d s\n' "$s" "$(tr -s ' ' < "$times/stage$s.name" | sed 's/^ //; s/ $//')" "$(cat "$times/stage$s.seconds")"
  cat "$times"/stage$s.lane* 2>/dev/null | while IFS=$'\t' read -r part seconds code; do
    printf '    %-10s %5d s%s\n' "$part" "$seconds" "$( [ "$code" = 0 ] || echo "  FAILED (exit $code)")"
  done
done
exit $failed
