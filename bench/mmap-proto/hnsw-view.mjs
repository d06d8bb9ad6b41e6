// Read-only HNSW search in plain JS over the bytes of an hnswlib saveIndex file (e.g. mapped).
export function openView(buf, dim) {
  const dv = new DataView(buf);
  const n = Number(dv.getBigUint64(16, true)), per = Number(dv.getBigUint64(24, true));
  const labelOff = Number(dv.getBigUint64(32, true)), dataOff = Number(dv.getBigUint64(40, true));
  const maxLevel = dv.getInt32(48, true), entry = dv.getUint32(52, true);
  const maxM = Number(dv.getBigUint64(56, true));
  const U = new Uint32Array(buf, 0, buf.byteLength >>> 2), F = new Float32Array(buf, 0, buf.byteLength >>> 2);
  const perW = per / 4, baseW = 24, dataW = dataOff / 4, labelW = labelOff / 4, levelW = maxM + 1;
  const upper = new Int32Array(n).fill(-1);
  let w = baseW + n * perW;
  for (let i = 0; i < n; i++) { const sz = U[w] >>> 2; w++; if (sz) upper[i] = w; w += sz; }
  const visited = new Uint16Array(n); let tag = 0;
  const cap = 1 << 16;
  const td = new Float32Array(cap), ti = new Uint32Array(cap), cd = new Float32Array(cap), ci = new Uint32Array(cap);
  const dist = (q, i) => {
    let o = baseW + i * perW + dataW, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0; j < dim; j += 4, o += 4) { s0 += q[j] * F[o]; s1 += q[j + 1] * F[o + 1]; s2 += q[j + 2] * F[o + 2]; s3 += q[j + 3] * F[o + 3]; }
    // Rounded to float32: the heaps hold float32, and a bound compared unrounded against its own
    // rounded copy ends the search early.
    return Math.fround(1 - (s0 + s1 + (s2 + s3)));
  };
  // heaps: max=true keeps the largest at [0]
  function push(d, id, sz, v, x, max) {
    let i = sz;
    while (i > 0) { const p = (i - 1) >> 1; if (max ? d[p] >= v : d[p] <= v) break; d[i] = d[p]; id[i] = id[p]; i = p; }
    d[i] = v; id[i] = x; return sz + 1;
  }
  function pop(d, id, sz, max) {
    const n = sz - 1, v = d[n], x = id[n]; let i = 0;
    for (;;) { let c = 2 * i + 1; if (c >= n) break; if (c + 1 < n && (max ? d[c + 1] > d[c] : d[c + 1] < d[c])) c++; if (max ? d[c] <= v : d[c] >= v) break; d[i] = d[c]; id[i] = id[c]; i = c; }
    d[i] = v; id[i] = x; return n;
  }
  function search(q, k, ef, allow) {
    if (ef < k) ef = k;
    let cur = entry, curD = dist(q, cur);
    for (let lev = maxLevel; lev > 0; lev--) {
      let changed = true;
      while (changed) {
        changed = false; const o = upper[cur] + (lev - 1) * levelW, cnt = U[o] & 0xffff;
        for (let j = 1; j <= cnt; j++) { const x = U[o + j], d = dist(q, x); if (d < curD) { curD = d; cur = x; changed = true; } }
      }
    }
    if (++tag === 65536) { visited.fill(0); tag = 1; }
    let ts = 0, cs = 0, lb = Infinity;
    visited[cur] = tag;
    if (!allow || allow[cur]) { ts = push(td, ti, ts, curD, cur, true); lb = curD; }
    cs = push(cd, ci, cs, curD, cur, false);
    while (cs > 0) {
      const d0 = cd[0], c = ci[0];
      if (d0 > lb && (ts === ef || !allow)) break;
      cs = pop(cd, ci, cs, false);
      const o = baseW + c * perW, cnt = U[o] & 0xffff;
      for (let j = 1; j <= cnt; j++) {
        const x = U[o + j]; if (visited[x] === tag) continue; visited[x] = tag;
        const d = dist(q, x);
        if (ts < ef || lb > d) {
          if (cs < cap) cs = push(cd, ci, cs, d, x, false);
          if (!allow || allow[x]) { ts = push(td, ti, ts, d, x, true); if (ts > ef) ts = pop(td, ti, ts, true); }
          if (ts > 0) lb = td[0];
        }
      }
    }
    while (ts > k) ts = pop(td, ti, ts, true);
    const out = new Array(ts);
    for (let i = ts - 1; i >= 0; i--) { out[i] = U[baseW + ti[0] * perW + labelW]; ts = pop(td, ti, ts, true); }
    return out;
  }
  return { n, search };
}
