#!/usr/bin/env bash
# Stops what start-rgw.sh started, by the pid files in its directory; a pid is signalled only
# when that process's command line names our ceph.conf. RGW_PURGE=1 also removes the directory.
set -u
RGW_DIR=${RGW_DIR:-/tmp/quiver-rgw}
for name in client.rgw.a osd.0 mon.a; do
  pidfile=$RGW_DIR/run/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$RGW_DIR/ceph.conf"; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
[ "${RGW_PURGE:-0}" = 1 ] && rm -rf "$RGW_DIR"
exit 0
