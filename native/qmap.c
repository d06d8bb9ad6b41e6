// quiverdb's read-only graph search (issue #19; docs/design/shared-memory-readers.md).
//
// A reader maps a graph file saved by hnswlib-node (hnswlib's saveIndex layout, FORMAT.md
// "Segment files") read-only and shared, so every process on the machine reads the same page
// cache pages instead of holding its own copy, and searches it here. The search is hnswlib's
// searchKnn step for step: the same distance kernels (same summation order, so the same floats),
// the same heaps (libstdc++'s push/pop, so ties fall the same way), the same stop rules, the same
// treatment of deleted marks. Same file, same query, same ordered answer.
//
// Nothing read from the file is trusted: every offset, count and link is checked against the
// mapping before it is followed, so a damaged file gives an error with code QUIVER_CORRUPT,
// never a read outside the map. (A file truncated while mapped still raises SIGBUS; quiverdb
// never truncates or rewrites a file it named, FORMAT.md "Readers".)
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#define HEADER_BYTES 96
enum { METRIC_L2 = 0, METRIC_IP = 1, METRIC_COSINE = 2 };

typedef struct { float d; uint32_t id; } pair_t;
typedef struct { pair_t *a; size_t n, cap; } heap_t;

typedef struct {
  const uint8_t *base;
  size_t len;
  int closed;
  uint64_t count, max_elements, per, label_off, data_off, max_m, max_m0, deleted;
  int32_t max_level;
  uint32_t entry;
  size_t dim, lanes, per_level;
  int metric;
  int64_t *upper;   // offset of element i's upper-level lists in the map, -1 when it has none
  uint8_t *levels;  // how many upper levels element i has
  uint16_t *visited;
  uint16_t tag;
  heap_t top, cand;
  float *query;
} graph_t;

static napi_value throw_code(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, code, msg);
  return NULL;
}
#define CORRUPT(...) throw_code(env, "QUIVER_CORRUPT", __VA_ARGS__)
#define NAPI(call) do { if ((call) != napi_ok) return throw_code(env, "QUIVER_NATIVE", "%s failed", #call); } while (0)

static uint64_t rd_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

// ---- distances, summed exactly as hnswlib's SSE kernels sum them ----
// hnswlib-node is built without -march, so hnswlib uses its SSE kernels: four lanes, lane j
// summing elements j, j+4, j+8, ...; the lanes added left to right; the elements the lanes do not
// cover summed one by one and added last. binding.gyp turns off FMA contraction so the scalar
// fallback (non-x86) rounds the same way.
static inline float ip_lanes(const float *a, const float *b, size_t n) {
#ifdef __SSE__
  __m128 s = _mm_setzero_ps();
  for (size_t i = 0; i < n; i += 4) s = _mm_add_ps(s, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
  float t[4];
  _mm_storeu_ps(t, s);
  return t[0] + t[1] + t[2] + t[3];
#else
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]; }
  return s0 + s1 + s2 + s3;
#endif
}

static inline float l2_lanes(const float *a, const float *b, size_t n) {
#ifdef __SSE__
  __m128 s = _mm_setzero_ps();
  for (size_t i = 0; i < n; i += 4) {
    __m128 d = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    s = _mm_add_ps(s, _mm_mul_ps(d, d));
  }
  float t[4];
  _mm_storeu_ps(t, s);
  return t[0] + t[1] + t[2] + t[3];
#else
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) {
    float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
    s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
  }
  return s0 + s1 + s2 + s3;
#endif
}

static inline float distance(const graph_t *g, const float *q, const float *v) {
  size_t n = g->lanes, d = g->dim;
  if (g->metric == METRIC_L2) {
    float tail = 0;
    for (size_t i = n; i < d; i++) { float t = q[i] - v[i]; tail += t * t; }
    if (n == 0) return tail;
    float s = l2_lanes(q, v, n);
    return n == d ? s : s + tail;
  }
  float tail = 0;
  for (size_t i = n; i < d; i++) tail += q[i] * v[i];
  if (n == 0) return 1.0f - tail;
  float s = ip_lanes(q, v, n);
  return n == d ? 1.0f - s : 1.0f - (s + tail);
}

/** How many leading elements hnswlib's kernel for this dimension sums in lanes. */
static size_t lanes_for(size_t dim) {
  if (dim % 16 == 0 || dim % 4 == 0) return dim;
  if (dim > 16) return dim & ~(size_t)15;
  if (dim > 4) return dim & ~(size_t)3;
  return 0;
}

// ---- libstdc++'s binary heap (std::priority_queue with hnswlib's CompareByFirst) ----
// Copied in behaviour, not just in order: which of two equal distances is popped first depends
// on these exact moves, and that decides which tied neighbours a search keeps.
static void sift_up(pair_t *a, ptrdiff_t hole, pair_t v) {
  ptrdiff_t parent = (hole - 1) / 2;
  while (hole > 0 && a[parent].d < v.d) { a[hole] = a[parent]; hole = parent; parent = (hole - 1) / 2; }
  a[hole] = v;
}

static int heap_push(heap_t *h, float d, uint32_t id) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 256;
    pair_t *a = realloc(h->a, cap * sizeof *a);
    if (!a) return 0;
    h->a = a;
    h->cap = cap;
  }
  pair_t v = { d, id };
  h->a[h->n++] = v;
  sift_up(h->a, (ptrdiff_t)h->n - 1, v);
  return 1;
}

static void heap_pop(heap_t *h) {
  if (h->n > 1) {
    pair_t *a = h->a;
    ptrdiff_t len = (ptrdiff_t)h->n - 1, hole = 0, child = 0;
    pair_t v = a[len];
    a[len] = a[0];
    while (child < (len - 1) / 2) {
      child = 2 * (child + 1);
      if (a[child].d < a[child - 1].d) child--;
      a[hole] = a[child];
      hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
      child = 2 * (child + 1);
      a[hole] = a[child - 1];
      hole = child - 1;
    }
    sift_up(a, hole, v);
  }
  h->n--;
}

// ---- the mapped file ----
static inline const uint8_t *record(const graph_t *g, uint32_t i) { return g->base + HEADER_BYTES + (size_t)i * g->per; }
static inline const float *vector_of(const graph_t *g, uint32_t i) { return (const float *)(record(g, i) + g->data_off); }
static inline uint64_t label_of(const graph_t *g, uint32_t i) { return rd_u64(record(g, i) + g->label_off); }
// hnswlib's delete mark: bit 0 of byte 2 of a level-0 record's count word.
static inline int marked_deleted(const graph_t *g, uint32_t i) { return record(g, i)[2] & 1; }

static void release(graph_t *g) {
  if (!g->closed && g->base) munmap((void *)g->base, g->len);
  g->closed = 1;
  free(g->upper); free(g->levels); free(g->visited); free(g->top.a); free(g->cand.a); free(g->query);
  g->upper = NULL; g->levels = NULL; g->visited = NULL; g->top.a = g->cand.a = NULL; g->query = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  release(data);
  free(data);
}

/** Checks the header and indexes the upper-level lists; returns an error message or NULL. */
static const char *index_file(graph_t *g, char *why, size_t whylen) {
  const uint8_t *p = g->base;
  if (g->len < HEADER_BYTES) return "shorter than its header";
  uint64_t offset_level0 = rd_u64(p);
  g->max_elements = rd_u64(p + 8);
  g->count = rd_u64(p + 16);
  g->per = rd_u64(p + 24);
  g->label_off = rd_u64(p + 32);
  g->data_off = rd_u64(p + 40);
  memcpy(&g->max_level, p + 48, 4);
  g->entry = rd_u32(p + 52);
  g->max_m = rd_u64(p + 56);
  g->max_m0 = rd_u64(p + 64);
  if (offset_level0 != 0) return "header's level-0 offset is not 0";
  if (g->max_m == 0 || g->max_m > 0xffff || g->max_m0 == 0 || g->max_m0 > 0xffff) return "header's link counts are out of range";
  uint64_t links0 = 4 + 4 * g->max_m0;
  if (g->data_off != links0 || g->label_off != links0 + 4 * g->dim || g->per != g->label_off + 8) return "header does not describe vectors of this dimension";
  if (g->count > g->max_elements || g->count > (g->len - HEADER_BYTES) / g->per || g->count > 0xffffffffu) return "header's element count does not fit the file";
  if (g->count == 0 ? g->max_level != -1 : (g->max_level < 0 || g->max_level > 255 || g->entry >= g->count)) return "header's entry point is out of bounds";
  g->per_level = 4 + 4 * g->max_m;
  size_t n = (size_t)g->count;
  g->upper = malloc((n ? n : 1) * sizeof *g->upper);
  g->levels = calloc(n ? n : 1, 1);
  g->visited = calloc(n ? n : 1, sizeof *g->visited);
  if (!g->upper || !g->levels || !g->visited) return "out of memory";
  size_t off = HEADER_BYTES + n * g->per;
  for (size_t i = 0; i < n; i++) {
    if (g->len - off < 4) { snprintf(why, whylen, "upper-level lists end early, at element %zu of %zu", i, n); return why; }
    uint32_t size = rd_u32(p + off);
    off += 4;
    if (size % g->per_level != 0 || size / g->per_level > (uint64_t)g->max_level || size > g->len - off) {
      snprintf(why, whylen, "element %zu's upper-level lists (%u bytes at offset %zu) are out of bounds", i, size, off - 4);
      return why;
    }
    g->upper[i] = size ? (int64_t)off : -1;
    g->levels[i] = (uint8_t)(size / g->per_level);
    off += size;
    g->deleted += marked_deleted(g, (uint32_t)i);
  }
  if (off != g->len) return "has bytes after its last upper-level list";
  if (n > 0 && g->levels[g->entry] != g->max_level) return "entry point does not reach the top level";
  g->query = malloc((g->dim ? g->dim : 1) * sizeof(float));
  if (!g->query) return "out of memory";
  return NULL;
}

// open(path, dimension, metric 0 l2 | 1 ip | 2 cosine) -> handle
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t plen;
  uint32_t dim, metric;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen >= sizeof path - 1 ||
      napi_get_value_uint32(env, argv[1], &dim) != napi_ok || napi_get_value_uint32(env, argv[2], &metric) != napi_ok || metric > 2 || dim == 0)
    return throw_code(env, "QUIVER_NATIVE", "open(path, dimension, metric): bad arguments");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_code(env, "QUIVER_IO", "open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return throw_code(env, "QUIVER_IO", "fstat: %s", strerror(e)); }
  if (st.st_size < HEADER_BYTES) { close(fd); return CORRUPT("shorter than its header"); }
  size_t len = (size_t)st.st_size;
  // MAP_SHARED + PROT_READ: the pages are the page cache's, one copy for every process.
  void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) return throw_code(env, "QUIVER_IO", "mmap: %s", strerror(e));
  // A search touches a few thousand scattered records: read-ahead would only evict useful pages.
  madvise(base, len, MADV_RANDOM);
  graph_t *g = calloc(1, sizeof *g);
  if (!g) { munmap(base, len); return throw_code(env, "QUIVER_NATIVE", "out of memory"); }
  g->base = base;
  g->len = len;
  g->dim = dim;
  g->metric = (int)metric;
  g->lanes = lanes_for(dim);
  char why[256];
  const char *wrong = index_file(g, why, sizeof why);
  if (wrong) {
    napi_value err = CORRUPT("%s", wrong);
    release(g);
    free(g);
    return err;
  }
  napi_value handle;
  if (napi_create_external(env, g, finalize, NULL, &handle) != napi_ok) { release(g); free(g); return throw_code(env, "QUIVER_NATIVE", "napi_create_external failed"); }
  return handle;
}

static graph_t *graph_arg(napi_env env, napi_value v) {
  graph_t *g = NULL;
  if (napi_get_value_external(env, v, (void **)&g) != napi_ok || !g) { throw_code(env, "QUIVER_NATIVE", "not a graph handle"); return NULL; }
  if (g->closed) { throw_code(env, "QUIVER_NATIVE", "the graph was closed"); return NULL; }
  return g;
}

/** A Uint8Array argument, or NULL for null/undefined; *ok = 0 on anything else. */
static const uint8_t *bytes_arg(napi_env env, napi_value v, size_t *len, int *ok) {
  napi_valuetype t;
  *len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) { *ok = 0; return NULL; }
  if (t == napi_null || t == napi_undefined) return NULL;
  napi_typedarray_type tt;
  void *data;
  if (napi_get_typedarray_info(env, v, &tt, len, &data, NULL, NULL) != napi_ok || tt != napi_uint8_array) { *ok = 0; return NULL; }
  return data;
}

typedef struct {
  napi_env env;
  const uint8_t *live, *allow;
  size_t live_len, allow_len;
  napi_value accept;
  int failed;  // the accept callback threw: its exception is pending
} filter_t;

/** hnswlib's test for a result: not marked deleted, and allowed by the caller (live, allow, accept). */
static int allowed(const graph_t *g, filter_t *f, uint32_t i) {
  if (marked_deleted(g, i)) return 0;
  uint64_t label = label_of(g, i);
  if (f->live && (label >= f->live_len || !f->live[label])) return 0;
  if (f->allow && (label >= f->allow_len || !f->allow[label])) return 0;
  if (f->accept) {
    napi_value arg, result, undefined;
    bool yes = false;
    if (napi_create_double(f->env, (double)label, &arg) != napi_ok || napi_get_undefined(f->env, &undefined) != napi_ok ||
        napi_call_function(f->env, undefined, f->accept, 1, &arg, &result) != napi_ok || napi_coerce_to_bool(f->env, result, &result) != napi_ok ||
        napi_get_value_bool(f->env, result, &yes) != napi_ok) {
      f->failed = 1;
      return 0;
    }
    return yes;
  }
  return 1;
}

static int by_distance_then_label(const void *x, const void *y) {
  const double *a = x, *b = y;  // [distance, label] pairs
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1];
}

// search(handle, query Float32Array, k, ef, live Uint8Array|null, allow Uint8Array|null,
//        accept Function|null, outLabels Uint32Array, outDistances Float32Array) -> count
// live and allow are indexed by label (1 = may be returned). As in hnswlib, a search with no
// deleted mark in the file and no live/allow/accept runs the "bare" variant.
static napi_value js_search(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return throw_code(env, "QUIVER_NATIVE", "search: expected 9 arguments");
  graph_t *g = graph_arg(env, argv[0]);
  if (!g) return NULL;
  napi_typedarray_type tt;
  size_t qn, on, dn;
  void *qd, *od, *dd;
  uint32_t k, ef;
  if (napi_get_typedarray_info(env, argv[1], &tt, &qn, &qd, NULL, NULL) != napi_ok || tt != napi_float32_array || qn != g->dim)
    return throw_code(env, "QUIVER_NATIVE", "search: the query must be a Float32Array of %zu", g->dim);
  if (napi_get_value_uint32(env, argv[2], &k) != napi_ok || napi_get_value_uint32(env, argv[3], &ef) != napi_ok)
    return throw_code(env, "QUIVER_NATIVE", "search: k and ef must be integers");
  if (napi_get_typedarray_info(env, argv[7], &tt, &on, &od, NULL, NULL) != napi_ok || tt != napi_uint32_array ||
      napi_get_typedarray_info(env, argv[8], &tt, &dn, &dd, NULL, NULL) != napi_ok || tt != napi_float32_array || on < k || dn < k)
    return throw_code(env, "QUIVER_NATIVE", "search: the output arrays must hold k results");
  filter_t f = { env, NULL, NULL, 0, 0, NULL, 0 };
  int ok = 1;
  f.live = bytes_arg(env, argv[4], &f.live_len, &ok);
  f.allow = bytes_arg(env, argv[5], &f.allow_len, &ok);
  napi_valuetype at;
  if (napi_typeof(env, argv[6], &at) != napi_ok || (at != napi_function && at != napi_null && at != napi_undefined)) ok = 0;
  if (!ok) return throw_code(env, "QUIVER_NATIVE", "search: live and allow must be Uint8Arrays, accept a function");
  if (at == napi_function) f.accept = argv[6];
  napi_value result;
  if (g->count == 0 || k == 0) { NAPI(napi_create_uint32(env, 0, &result)); return result; }

  float *q = g->query;
  memcpy(q, qd, g->dim * sizeof(float));
  if (g->metric == METRIC_COSINE) {  // hnswlib-node's normalizePoint: a float sum in order, then divide
    float s = 0;
    for (size_t i = 0; i < g->dim; i++) s = s + q[i] * q[i];
    float norm = sqrtf(fabsf(s));
    if (norm > 0.0f) for (size_t i = 0; i < g->dim; i++) q[i] /= norm;
  }
  const uint64_t n = g->count;

  // Upper levels: greedy descent from the entry point (hnswlib searchKnn).
  uint32_t cur = g->entry;
  float cur_d = distance(g, q, vector_of(g, cur));
  for (int level = g->max_level; level > 0; level--) {
    int changed = 1;
    while (changed) {
      changed = 0;
      if (g->levels[cur] < level) return CORRUPT("element %u is linked at level %d but has %u upper levels", cur, level, g->levels[cur]);
      const uint8_t *list = g->base + g->upper[cur] + (size_t)(level - 1) * g->per_level;
      uint32_t size = rd_u16(list);
      if (size > g->max_m) return CORRUPT("element %u has %u links at level %d, more than %llu", cur, size, level, (unsigned long long)g->max_m);
      for (uint32_t j = 0; j < size; j++) {
        uint32_t c = rd_u32(list + 4 + 4 * (size_t)j);
        if (c >= n) return CORRUPT("element %u links to element %u, past the last (%llu)", cur, c, (unsigned long long)n);
        float d = distance(g, q, vector_of(g, c));
        if (d < cur_d) { cur_d = d; cur = c; changed = 1; }
      }
    }
  }

  // Level 0 (hnswlib searchBaseLayerST).
  size_t width = ef > k ? ef : k;
  int bare = g->deleted == 0 && !f.live && !f.allow && !f.accept;
  if (++g->tag == 0) { memset(g->visited, 0, (size_t)n * sizeof *g->visited); g->tag = 1; }
  heap_t *top = &g->top, *cand = &g->cand;
  top->n = cand->n = 0;
  float bound;
  int oom = 0;
  if (bare || allowed(g, &f, cur)) {
    bound = cur_d;
    oom |= !heap_push(top, cur_d, cur);
    oom |= !heap_push(cand, -cur_d, cur);
  } else {
    bound = FLT_MAX;
    oom |= !heap_push(cand, -FLT_MAX, cur);
  }
  if (f.failed) return NULL;
  g->visited[cur] = g->tag;
  while (cand->n > 0 && !oom) {
    pair_t next = cand->a[0];
    float next_d = -next.d;
    if (bare ? next_d > bound : next_d > bound && top->n == width) break;
    heap_pop(cand);
    const uint8_t *links = record(g, next.id);
    uint32_t size = rd_u16(links);
    if (size > g->max_m0) return CORRUPT("element %u has %u links at level 0, more than %llu", next.id, size, (unsigned long long)g->max_m0);
    for (uint32_t j = 1; j <= size; j++) {
      uint32_t c = rd_u32(links + 4 * (size_t)j);
      if (c >= n) return CORRUPT("element %u links to element %u, past the last (%llu)", next.id, c, (unsigned long long)n);
      if (j < size) {
        uint32_t after = rd_u32(links + 4 * (size_t)(j + 1));
        if (after < n) __builtin_prefetch(vector_of(g, after));
      }
      if (g->visited[c] == g->tag) continue;
      g->visited[c] = g->tag;
      float d = distance(g, q, vector_of(g, c));
      if (top->n < width || bound > d) {
        oom |= !heap_push(cand, -d, c);
        if (bare || allowed(g, &f, c)) oom |= !heap_push(top, d, c);
        if (f.failed) return NULL;
        while (top->n > width) heap_pop(top);
        if (top->n > 0) bound = top->a[0].d;
      }
    }
  }
  if (oom) return throw_code(env, "QUIVER_NATIVE", "search: out of memory");
  while (top->n > k) heap_pop(top);

  // hnswlib-node hands these back nearest first, ties by label (its result heap orders pairs).
  size_t m = top->n;
  double *pairs = malloc((m ? m : 1) * 2 * sizeof(double));
  if (!pairs) return throw_code(env, "QUIVER_NATIVE", "search: out of memory");
  for (size_t i = 0; i < m; i++) {
    uint64_t label = label_of(g, top->a[i].id);
    if (label > 0xffffffffu) { free(pairs); return CORRUPT("element %u has label %llu, beyond 32 bits", top->a[i].id, (unsigned long long)label); }
    pairs[2 * i] = top->a[i].d;
    pairs[2 * i + 1] = (double)label;
  }
  qsort(pairs, m, 2 * sizeof(double), by_distance_then_label);
  uint32_t *labels = od;
  float *dists = dd;
  for (size_t i = 0; i < m; i++) { dists[i] = (float)pairs[2 * i]; labels[i] = (uint32_t)pairs[2 * i + 1]; }
  free(pairs);
  NAPI(napi_create_uint32(env, (uint32_t)m, &result));
  return result;
}

// info(handle) -> { count, maxElements, deleted, bytes }
static napi_value js_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  graph_t *g = graph_arg(env, argv[0]);
  if (!g) return NULL;
  NAPI(napi_create_object(env, &out));
  const char *names[] = { "count", "maxElements", "deleted", "bytes" };
  double values[] = { (double)g->count, (double)g->max_elements, (double)g->deleted, (double)g->len };
  for (int i = 0; i < 4; i++) {
    NAPI(napi_create_double(env, values[i], &v));
    NAPI(napi_set_named_property(env, out, names[i], v));
  }
  return out;
}

// close(handle): unmaps now rather than at garbage collection (the file may have been unlinked).
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  graph_t *g = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&g) != napi_ok || !g) return throw_code(env, "QUIVER_NATIVE", "not a graph handle");
  release(g);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "search", NULL, js_search, NULL, NULL, NULL, napi_default, NULL },
    { "info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
