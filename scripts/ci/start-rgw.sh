#!/usr/bin/env bash
# Brings up a throw-away S3 endpoint for the object-storage tests: a one-node Ceph cluster
# (one monitor, one OSD, no manager) and radosgw on 127.0.0.1, from Debian packages.
# Loopback only, no cephx inside the cluster: for tests, never for data you keep.
#
# Settings (environment):
#   RGW_DIR      state directory, wiped first (default /tmp/quiver-rgw)
#   RGW_STORE    memstore (RAM, fastest; default) or bluestore (a sparse file; needs O_DIRECT)
#   RGW_PORT     S3 port (default 7480); RGW_MON_PORT (default 3300, v2 only)
#   RGW_INSTALL  1 (default): apt-get the packages when missing; 0: never
# Writes S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY/S3_REGION/RGW_CONF to $RGW_DIR/s3.env.
# Exit status: 0 up, 2 the packages cannot be installed (callers skip the tests), 1 other failure.
set -euo pipefail

RGW_DIR=${RGW_DIR:-/tmp/quiver-rgw}
RGW_STORE=${RGW_STORE:-memstore}
RGW_PORT=${RGW_PORT:-7480}
RGW_MON_PORT=${RGW_MON_PORT:-3300}
RGW_INSTALL=${RGW_INSTALL:-1}
ACCESS_KEY=quiverciaccess
SECRET_KEY=quivercisecret0123456789abcdef
CONF=$RGW_DIR/ceph.conf
HERE=$(cd "$(dirname "$0")" && pwd)

fail() {
  echo "start-rgw: $*" >&2
  for log in "$RGW_DIR"/log/*; do [ -f "$log" ] && { echo "== $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}
# retry "what" seconds command...: polls every quarter second
retry() {
  local what=$1 tries=$(( $2 * 4 )); shift 2
  for ((n = 0; n < tries; n++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  fail "gave up waiting for $what"
}

need_install=0
for cmd in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl; do
  command -v "$cmd" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
  if [ "$RGW_INSTALL" != 1 ]; then echo "start-rgw: ceph packages missing and RGW_INSTALL=0" >&2; exit 2; fi
  echo "start-rgw: installing ceph-mon ceph-osd radosgw ceph-common from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl >/dev/null; }; then
    echo "start-rgw: apt-get could not install the ceph packages" >&2
    exit 2
  fi
fi

# A previous run's daemons (same directory) go first.
[ -d "$RGW_DIR/run" ] && "$HERE/stop-rgw.sh" >&2
for port in "$RGW_PORT" "$RGW_MON_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port on 127.0.0.1 is taken"; fi
done
rm -rf "$RGW_DIR"
mkdir -p "$RGW_DIR"/{mon.a,osd.0,rgw,run,log}
FSID=$(uuidgen)

# Why the less obvious lines are here:
# - 'ms mon client mode = crc': radosgw asks for 'secure' by default, which needs cephx.
# - 'cluster addr': without it the OSD listens on every interface.
# - 'paxos propose interval': the 1 s default makes each of radosgw's pool commands take 1 s.
# - 'tcp_nodelay=1': without it small GETs wait on Nagle + delayed ACK (~40 ms each).
# - the bluestore block file lives outside the OSD data dir (mkfs refuses a symlink loop).
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = v2:127.0.0.1:$RGW_MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = $RGW_DIR/run
admin socket = $RGW_DIR/run/\$name.asok
pid file = $RGW_DIR/run/\$name.pid
log file = $RGW_DIR/log/\$name.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $RGW_DIR/mon.\$id
paxos propose interval = 0.05

[osd]
osd data = $RGW_DIR/osd.\$id
osd objectstore = $RGW_STORE
osd crush update on start = true
osd crush initial weight = 1
osd op num shards = 1
osd op num threads per shard = 2
memstore device bytes = 4294967296
bluestore block path = $RGW_DIR/osd.\$id.block
bluestore block create = true
bluestore block size = 21474836480
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mkfs = false
bluestore fsck on mount = false
bluestore cache autotune = false
bluestore cache size = 134217728

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $RGW_DIR/rgw
rgw dns name = localhost
rgw thread pool size = 64
rgw enable usage log = false
CONF

ceph_() { ceph -c "$CONF" --connect-timeout 10 "$@"; }
errlog=$RGW_DIR/log/setup.err

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$RGW_MON_PORT]" "$RGW_DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" 2>>"$errlog" || fail "monitor mkfs"
ceph-mon -c "$CONF" -i a 2>>"$errlog" || fail "monitor start"
retry "the monitor" 30 ceph_ mon stat

OSD_UUID=$(uuidgen)
[ "$(ceph_ osd new "$OSD_UUID" 2>>"$errlog")" = 0 ] || fail "osd new did not give id 0"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>>"$errlog" || fail "osd mkfs"
ceph-osd -c "$CONF" -i 0 2>>"$errlog" || fail "osd start"
osd_is_up() { ceph_ osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
retry "osd.0" 60 osd_is_up

radosgw -c "$CONF" -n client.rgw.a 2>>"$errlog" || fail "radosgw start"
retry "radosgw on port $RGW_PORT" 60 curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
radosgw-admin -c "$CONF" user create --uid=quiver --display-name="quiver ci" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$errlog" || fail "S3 user"

cat >"$RGW_DIR/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=us-east-1
RGW_CONF=$CONF
ENV
echo "start-rgw: S3 endpoint http://127.0.0.1:$RGW_PORT ($RGW_STORE), settings in $RGW_DIR/s3.env" >&2
