#!/usr/bin/env bash
# Run Molecule scenarios in lanes: the runs of one lane one after the other, the
# lanes side by side. Arguments are scenario:distro runs; a lone "|" starts the
# next lane, e.g.
#   molecule/run-lanes.sh e2e:debian12 '|' podman:debian12 server:debian12
# Two lanes fit 2 cores: the e2e host spends most of its verify waiting on jobs,
# and its tests then run next to another scenario's converge (a load test of the
# e2e timing for free). One scenario is never in two lanes (Molecule keeps one
# state directory per scenario). Each output line carries its run's name; the
# table at the end gives each run's time and result. Exit 1 if any run failed;
# a lane stops at its first failure, the other lanes go on.
set -uo pipefail

lanes=() lane=""
for arg in "$@"; do
  if [ "$arg" = "|" ]; then
    [ -n "$lane" ] && lanes+=("$lane"); lane=""
  else
    lane="${lane:+$lane }$arg"
  fi
done
[ -n "$lane" ] && lanes+=("$lane")
[ ${#lanes[@]} -gt 0 ] || { echo "run-lanes: no runs given" >&2; exit 2; }

# A scenario in two lanes would share Molecule's state directory with itself.
declare -A lane_of
for i in "${!lanes[@]}"; do
  for run in ${lanes[$i]}; do
    scenario=${run%%:*}
    [ -f "molecule/$scenario/molecule.yml" ] || { echo "run-lanes: no scenario molecule/$scenario" >&2; exit 2; }
    if [ -n "${lane_of[$scenario]:-}" ] && [ "${lane_of[$scenario]}" != "$i" ]; then
      echo "run-lanes: scenario $scenario is in two lanes; put its runs in one" >&2; exit 2
    fi
    lane_of[$scenario]=$i
  done
done

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

run_lane() {
  local run scenario distro start code seconds
  for run in $1; do
    scenario=${run%%:*} distro=${run##*:}
    start=$(date +%s)
    echo "=== molecule test -s $scenario (MOLECULE_DISTRO=$distro)"
    MOLECULE_DISTRO=$distro molecule test -s "$scenario" 2>&1 | sed -u "s/^/[$run] /"
    code=${PIPESTATUS[0]} seconds=$(( $(date +%s) - start ))
    printf '%s\t%s\t%s\n' "$run" "$seconds" "$code" >> "$results/$2"
    echo "=== $run $( [ "$code" = 0 ] && echo passed || echo FAILED ) in $seconds s"
    [ "$code" = 0 ] || return 1
  done
}

start=$(date +%s)
pids=()
for i in "${!lanes[@]}"; do
  run_lane "${lanes[$i]}" "lane$i" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

echo
echo "Molecule runs (lanes side by side, $(( $(date +%s) - start )) s in all):"
for i in "${!lanes[@]}"; do
  echo "  lane $((i + 1)): ${lanes[$i]}"
  while IFS=$'\t' read -r run seconds code; do
    printf '    %-22s %5s s  %s\n' "$run" "$seconds" "$( [ "$code" = 0 ] && echo passed || echo "FAILED (exit $code)")"
  done < <(cat "$results/lane$i" 2>/dev/null)
  for run in ${lanes[$i]}; do
    grep -q "^$run"$'\t' "$results/lane$i" 2>/dev/null || printf '    %-22s %7s  not run\n' "$run" "-"
  done
done
exit $failed
