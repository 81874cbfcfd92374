#!/usr/bin/env bash
# Runs "$@" and stops it once this script's stdin reaches end-of-file.
#
# test/env/proc.ts starts every real server through this guard with a pipe as stdin and keeps
# the write end open. However the Node process that started the server ends (a clean stop, an
# uncaught exception, SIGKILL, a crashed vitest worker), the kernel closes the pipe, the watcher
# below sees EOF and terminates the server (SIGTERM, SIGKILL after 3 s): no etcd or
# kube-apiserver outlives its test run.
#
# SIGTERM/SIGINT to the guard are forwarded to the server, and the guard exits only after the
# server has exited (so it is reaped here, never left as a zombie of init). The guard leads
# the server's process group; proc.ts SIGKILLs that group if a server ignores SIGTERM.
"$@" </dev/null &
child=$!
exec 3<&0
{
  while read -r -u 3 _; do :; done
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 15); do
    kill -0 "$child" 2>/dev/null || exit 0
    sleep 0.2
  done
  kill -KILL "$child" 2>/dev/null
} &
watcher=$!
exec 3<&-
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
exit "$rc"
