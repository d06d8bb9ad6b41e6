// Prototype: map a file read-only (MAP_SHARED, so every process shares the page cache) and
// either hand JS an external ArrayBuffer over it, or search an hnswlib-saved graph in C.
#define _GNU_SOURCE
#include <node_api.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <nmmintrin.h>

#define CHECK(x) do { if ((x) != napi_ok) { napi_throw_error(env, NULL, #x); return NULL; } } while (0)

static void *map_file(napi_env env, const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { napi_throw_error(env, "ENOENT", "open failed"); return NULL; }
  struct stat st; fstat(fd, &st);
  void *p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) { napi_throw_error(env, NULL, "mmap failed"); return NULL; }
  *len = st.st_size;
  return p;
}

typedef struct { void *base; size_t len; } mapping;
static void unmap_ab(napi_env env, void *data, void *hint) { (void)env; (void)data; mapping *m = hint; munmap(m->base, m->len); free(m); }

static napi_value js_map(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096]; size_t n; CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n));
  size_t len; void *p = map_file(env, path, &len); if (!p) return NULL;
  madvise(p, len, MADV_RANDOM);
  mapping *m = malloc(sizeof *m); m->base = p; m->len = len;
  napi_value ab; CHECK(napi_create_external_arraybuffer(env, p, len, unmap_ab, m, &ab));
  return ab;
}

// Drop this one file's pages from the page cache (for cold-open measurements).
static napi_value js_evict(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096]; size_t n; CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n));
  int fd = open(path, O_RDONLY); if (fd >= 0) { fdatasync(fd); posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); close(fd); }
  return NULL;
}

// ---- read-only HNSW search over an hnswlib saveIndex file ----
typedef struct {
  const uint8_t *base; size_t len; size_t n, per, labelOff, dataOff, maxM, maxM0; int maxLevel; uint32_t entry;
  const uint8_t *level0; int64_t *upper; int *levels; size_t dim;
  uint16_t *visited; uint16_t tag;
  float *hd; uint32_t *hi; float *cd; uint32_t *ci; size_t cap;
  const uint32_t *sums; size_t sumsLen, pages; uint8_t *ok; int bad; size_t deletedCount;
} graph;

// Page checks: CRC32C of each 64 KiB page of the file, from a sidecar, verified on first touch.
#define PAGE_SHIFT 16
static uint32_t crc32c(const uint8_t *p, size_t n) {
  uint64_t c = 0xffffffffu; size_t i = 0;
  for (; i + 8 <= n; i += 8) { uint64_t v; memcpy(&v, p + i, 8); c = _mm_crc32_u64(c, v); }
  for (; i < n; i++) c = _mm_crc32_u8((uint32_t)c, p[i]);
  return (uint32_t)c ^ 0xffffffffu;
}
static inline int ensure(graph *g, size_t off, size_t len) {
  if (!g->sums) return 1;
  for (size_t p = off >> PAGE_SHIFT, e = (off + len - 1) >> PAGE_SHIFT; p <= e; p++) {
    if (g->ok[p]) continue;
    size_t s = p << PAGE_SHIFT, n = s + (1u << PAGE_SHIFT) > g->len ? g->len - s : (1u << PAGE_SHIFT);
    if (crc32c(g->base + s, n) != g->sums[p]) { g->bad = 1; return 0; }
    g->ok[p] = 1;
  }
  return 1;
}

static size_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return (size_t)v; }

static inline float dot(const float *a, const float *b, size_t d) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  size_t i = 0;
  for (; i + 8 <= d; i += 8) { s0 += a[i]*b[i]; s1 += a[i+1]*b[i+1]; s2 += a[i+2]*b[i+2]; s3 += a[i+3]*b[i+3]; s4 += a[i+4]*b[i+4]; s5 += a[i+5]*b[i+5]; s6 += a[i+6]*b[i+6]; s7 += a[i+7]*b[i+7]; }
  for (; i < d; i++) s0 += a[i]*b[i];
  return 1.0f - ((s0+s1)+(s2+s3)+(s4+s5)+(s6+s7));
}
static inline const float *vec(graph *g, uint32_t i) { return (const float *)(g->level0 + i * g->per + g->dataOff); }
static inline const uint32_t *links0(graph *g, uint32_t i) { return (const uint32_t *)(g->level0 + i * g->per); }
// hnswlib's delete mark: bit 0 of byte 2 of the record header. Deleted nodes are traversed, never returned.
static inline int deleted(graph *g, uint32_t i) { return g->level0[i * g->per + 2] & 1; }

// max-heap (top results) and min-heap (candidates) over (dist, id) arrays
static void hpush(float *d, uint32_t *id, size_t *sz, float v, uint32_t x, int max) {
  size_t i = (*sz)++;
  while (i) { size_t p = (i - 1) / 2; if (max ? d[p] >= v : d[p] <= v) break; d[i] = d[p]; id[i] = id[p]; i = p; }
  d[i] = v; id[i] = x;
}
static void hpop(float *d, uint32_t *id, size_t *sz, int max) {
  size_t n = --(*sz); float v = d[n]; uint32_t x = id[n]; size_t i = 0;
  for (;;) { size_t c = 2*i + 1; if (c >= n) break;
    if (c + 1 < n && (max ? d[c+1] > d[c] : d[c+1] < d[c])) c++;
    if (max ? d[c] <= v : d[c] >= v) break; d[i] = d[c]; id[i] = id[c]; i = c; }
  d[i] = v; id[i] = x;
}

static void free_graph(napi_env env, void *data, void *hint) {
  (void)env; (void)hint; graph *g = data; munmap((void *)g->base, g->len);
  free(g->upper); free(g->visited); free(g->hd); free(g->hi); free(g->cd); free(g->ci); free(g);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096]; size_t n; CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n));
  char spath[4096]; int hasSums = 0;
  if (argc >= 3) { napi_valuetype vt; napi_typeof(env, argv[2], &vt); if (vt == napi_string) { CHECK(napi_get_value_string_utf8(env, argv[2], spath, sizeof spath, &n)); hasSums = 1; } }
  uint32_t dim; CHECK(napi_get_value_uint32(env, argv[1], &dim));
  size_t len; const uint8_t *p = map_file(env, path, &len); if (!p) return NULL;
  madvise((void *)p, len, MADV_RANDOM);
  graph *g = calloc(1, sizeof *g); g->base = p; g->len = len; g->dim = dim;
  g->n = rd64(p + 16); g->per = rd64(p + 24); g->labelOff = rd64(p + 32); g->dataOff = rd64(p + 40);
  memcpy(&g->maxLevel, p + 48, 4); memcpy(&g->entry, p + 52, 4);
  g->maxM = rd64(p + 56); g->maxM0 = rd64(p + 64);
  g->level0 = p + 96;
  if (hasSums) { size_t sl; g->sums = map_file(env, spath, &sl); if (!g->sums) return NULL; g->sumsLen = sl;
    g->pages = (len + (1u << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
    if (sl != g->pages * 4) { napi_throw_error(env, "CorruptionError", "page sums do not cover the file"); return NULL; }
    g->ok = calloc(g->pages, 1);
    if (!ensure(g, 0, 96)) { napi_throw_error(env, "CorruptionError", "header page fails its checksum"); return NULL; } }
  // Upper-level link lists follow level 0, one length-prefixed block per element. A real
  // format would store this offset table; the prototype scans it once (touches only that area).
  g->upper = malloc(sizeof(int64_t) * g->n);
  size_t off = 96 + g->n * g->per, perLevel = g->maxM * 4 + 4;
  if (!ensure(g, off, len - off)) { napi_throw_error(env, "CorruptionError", "link-list area fails its checksum"); return NULL; }
  for (size_t i = 0; i < g->n; i++) { uint32_t sz; memcpy(&sz, p + off, 4); off += 4; g->upper[i] = sz ? (int64_t)off : -1; off += sz; (void)perLevel; }
  // The count of deleted marks is the caller's (a sidecar records it); scanning for it would read every page at open.
  if (argc >= 4) { uint32_t dc; if (napi_get_value_uint32(env, argv[3], &dc) == napi_ok) g->deletedCount = dc; }
  g->visited = calloc(g->n, 2); g->tag = 0;
  g->cap = 1 << 16; g->hd = malloc(4*g->cap); g->hi = malloc(4*g->cap); g->cd = malloc(4*g->cap); g->ci = malloc(4*g->cap);
  napi_value ext; CHECK(napi_create_external(env, g, free_graph, NULL, &ext));
  return ext;
}

// search(handle, Float32Array query (normalized), k, ef, Uint8Array allowedByInternalId?) -> Uint32Array labels
static napi_value js_search(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  graph *g; CHECK(napi_get_value_external(env, argv[0], (void **)&g));
  napi_typedarray_type t; size_t qn; void *qd; napi_value qab; size_t qoff;
  CHECK(napi_get_typedarray_info(env, argv[1], &t, &qn, &qd, &qab, &qoff));
  const float *q = qd; uint32_t k, ef; CHECK(napi_get_value_uint32(env, argv[2], &k)); CHECK(napi_get_value_uint32(env, argv[3], &ef));
  const uint8_t *allow = NULL;
  if (argc >= 5) { napi_valuetype vt; napi_typeof(env, argv[4], &vt);
    if (vt == napi_object) { size_t an; void *ad; napi_value aab; size_t ao; CHECK(napi_get_typedarray_info(env, argv[4], &t, &an, &ad, &aab, &ao)); allow = ad; } }
  float *dout = NULL;
  if (argc >= 6) { size_t dn; void *dd; napi_value dab; size_t doff; CHECK(napi_get_typedarray_info(env, argv[5], &t, &dn, &dd, &dab, &doff)); dout = dd; }
  if (ef < k) ef = k;
#define REC(i) ensure(g, 96 + (size_t)(i) * g->per, g->per)
#define FAIL() do { napi_throw_error(env, "CorruptionError", "graph page fails its checksum"); return NULL; } while (0)
  uint32_t cur = g->entry; if (cur >= g->n || !REC(cur)) FAIL(); float cd = dot(q, vec(g, cur), g->dim);
  for (int lev = g->maxLevel; lev > 0; lev--) {
    int changed = 1;
    while (changed) { changed = 0;
      const uint32_t *ll = (const uint32_t *)(g->base + g->upper[cur] + (size_t)(lev - 1) * (g->maxM * 4 + 4));
      uint32_t cnt = ll[0] & 0xffff;
      for (uint32_t j = 1; j <= cnt; j++) { if (ll[j] >= g->n || !REC(ll[j])) FAIL(); float d = dot(q, vec(g, ll[j]), g->dim); if (d < cd) { cd = d; cur = ll[j]; changed = 1; } }
    }
  }
  if (++g->tag == 0) { memset(g->visited, 0, g->n * 2); g->tag = 1; }
  size_t ts = 0, cs = 0; float lb;
  g->visited[cur] = g->tag;
  int hasDel = g->deletedCount > 0, narrow = allow || hasDel;
  if ((!allow || allow[cur]) && !deleted(g, cur)) { hpush(g->hd, g->hi, &ts, cd, cur, 1); lb = cd; } else lb = 3.0e38f;
  hpush(g->cd, g->ci, &cs, cd, cur, 0);
  while (cs) {
    float d0 = g->cd[0]; uint32_t c = g->ci[0];
    if (d0 > lb && (ts == ef || !narrow)) break;
    hpop(g->cd, g->ci, &cs, 0);
    const uint32_t *ll = links0(g, c); uint32_t cnt = ll[0] & 0xffff;
    for (uint32_t j = 1; j <= cnt; j++) {
      uint32_t x = ll[j]; if (x >= g->n) FAIL(); if (g->visited[x] == g->tag) continue; g->visited[x] = g->tag;
      if (!REC(x)) FAIL();
      if (j + 1 <= cnt) __builtin_prefetch(vec(g, ll[j + 1]));
      float d = dot(q, vec(g, x), g->dim);
      if (ts < ef || lb > d) {
        if (cs < g->cap) hpush(g->cd, g->ci, &cs, d, x, 0);
        if ((!allow || allow[x]) && !deleted(g, x)) { hpush(g->hd, g->hi, &ts, d, x, 1); if (ts > ef) hpop(g->hd, g->hi, &ts, 1); }
        if (ts) lb = g->hd[0];
      }
    }
  }
  while (ts > k) hpop(g->hd, g->hi, &ts, 1);
  napi_value ab, out; void *od; size_t m = ts;
  CHECK(napi_create_arraybuffer(env, m * 4, &od, &ab));
  uint32_t *o = od;
  for (size_t i = m; i-- > 0;) { uint64_t lab; memcpy(&lab, g->level0 + g->hi[0] * g->per + g->labelOff, 8); o[i] = (uint32_t)lab; if (dout) dout[i] = g->hd[0]; hpop(g->hd, g->hi, &ts, 1); }
  CHECK(napi_create_typedarray(env, napi_uint32_array, m, ab, 0, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "map", 0, js_map, 0, 0, 0, napi_default, 0 },
    { "evict", 0, js_evict, 0, 0, 0, napi_default, 0 },
    { "open", 0, js_open, 0, 0, 0, napi_default, 0 },
    { "search", 0, js_search, 0, 0, 0, napi_default, 0 },
  };
  napi_define_properties(env, exports, 4, d);
  return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
