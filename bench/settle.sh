# Sourced by the bench scripts. Parley listens before its start-up work is done (speech
# recognizers load in the background, seconds of CPU): measuring at once would charge that work
# to the first step. wait_until_settled PID returns once the process has used at most 2 clock
# ticks (20 ms) of CPU in half a second, or after 30 s.
wait_until_settled() { # pid
  local pid=$1 previous=-1 now
  for _ in $(seq 1 60); do
    now=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || return 0
    if ((previous >= 0 && now - previous <= 2)); then return 0; fi
    previous=$now
    sleep 0.5
  done
}
