// The N-API face of quiverdb's read-only graph search (graph.c): maps a graph file read-only and
// shared, so every process on the machine reads the same page-cache pages instead of holding its
// own copy, and hands searches to graph.c. Errors carry a code: QUIVER_CORRUPT (the file is not a
// sound graph), QUIVER_IO (the OS refused), QUIVER_NATIVE (a bad call, or out of memory).
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "graph.h"

static napi_value throw_code(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, code, msg);
  return NULL;
}
#define NAPI(call) do { if ((call) != napi_ok) return throw_code(env, "QUIVER_NATIVE", "%s failed", #call); } while (0)

static napi_value graph_error(napi_env env, int status, const char *why) {
  return throw_code(env, status == GRAPH_CORRUPT ? "QUIVER_CORRUPT" : status == GRAPH_IO ? "QUIVER_IO" : "QUIVER_NATIVE", "%s", why);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  graph_release(data);
  free(data);
}

static napi_value index_graph(napi_env env, void *base, size_t len, uint32_t dim, uint32_t metric, const sidecar_t *s, int borrowed);

/** Maps the file and indexes it: whole (checked before, by the caller) or by its sidecar `s`. */
static napi_value map_graph(napi_env env, const char *path, uint32_t dim, uint32_t metric, const sidecar_t *s) {
  // O_NOFOLLOW as every other open of a named file; a file gone since it was checked (a
  // checkpoint removed it) is QUIVER_MISSING, which the reader retries on the newer manifest.
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return throw_code(env, errno == ENOENT ? "QUIVER_MISSING" : "QUIVER_IO", "open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return throw_code(env, "QUIVER_IO", "fstat: %s", strerror(e)); }
  if (st.st_size < GRAPH_HEADER_BYTES) { close(fd); return throw_code(env, "QUIVER_CORRUPT", "shorter than its header"); }
  size_t len = (size_t)st.st_size;
  // MAP_SHARED + PROT_READ: the pages are the page cache's, one copy for every process.
  void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) return throw_code(env, "QUIVER_IO", "mmap: %s", strerror(e));
  return index_graph(env, base, len, dim, metric, s, 0);
}

/** Indexes a mapping (the graph's own, or `borrowed` from a mapFile buffer the caller keeps alive until close). */
static napi_value index_graph(napi_env env, void *base, size_t len, uint32_t dim, uint32_t metric, const sidecar_t *s, int borrowed) {
  // A search touches a few thousand scattered records: read-ahead would only evict useful pages.
  madvise(base, len, MADV_RANDOM);
  graph_t *g = calloc(1, sizeof *g);
  if (!g) { if (!borrowed) munmap(base, len); return throw_code(env, "QUIVER_NATIVE", "out of memory"); }
  g->base = base;
  g->len = len;
  g->borrowed = borrowed;
  g->dim = dim;
  g->metric = (int)metric;
  char why[320];
  int status = s ? graph_index_paged(g, s, why, sizeof why) : graph_index(g, why, sizeof why);
  if (status != GRAPH_OK) {
    graph_release(g);
    free(g);
    return graph_error(env, status, why);
  }
  napi_value handle;
  if (napi_create_external(env, g, finalize, NULL, &handle) != napi_ok) { graph_release(g); free(g); return throw_code(env, "QUIVER_NATIVE", "napi_create_external failed"); }
  return handle;
}

/** open's first three arguments: path, dimension, metric (0 l2 | 1 ip | 2 cosine). */
static int open_args(napi_env env, napi_value *argv, char *path, size_t path_len, uint32_t *dim, uint32_t *metric) {
  size_t plen;
  return napi_get_value_string_utf8(env, argv[0], path, path_len, &plen) == napi_ok && plen < path_len - 1 &&
         napi_get_value_uint32(env, argv[1], dim) == napi_ok && napi_get_value_uint32(env, argv[2], metric) == napi_ok && *metric <= 2 && *dim > 0;
}

// open(path, dimension, metric) -> handle: a graph the caller has checked whole.
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  uint32_t dim, metric;
  if (argc < 3 || !open_args(env, argv, path, sizeof path, &dim, &metric)) return throw_code(env, "QUIVER_NATIVE", "open(path, dimension, metric): bad arguments");
  return map_graph(env, path, dim, metric, NULL);
}

/** A Uint8Array argument's bytes, or NULL when it is not one. */
static const uint8_t *u8_arg(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type tt;
  void *data;
  if (napi_get_typedarray_info(env, v, &tt, len, &data, NULL, NULL) != napi_ok || tt != napi_uint8_array) return NULL;
  return data ? data : (const uint8_t *)"";
}

// openPaged(path, dimension, metric, meta, sums, upper) -> handle: a graph checked page by page
// against its sidecar's sections (FORMAT.md "Graph sidecar"), which the caller has checked whole.
static napi_value js_open_paged(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  uint32_t dim, metric;
  size_t meta_len = 0, sums_len = 0, upper_len = 0;
  const uint8_t *meta = argc >= 6 ? u8_arg(env, argv[3], &meta_len) : NULL;
  const uint8_t *sums = argc >= 6 ? u8_arg(env, argv[4], &sums_len) : NULL;
  const uint8_t *upper = argc >= 6 ? u8_arg(env, argv[5], &upper_len) : NULL;
  // The graph already mapped by mapFile (its vectors are read in place too): one mapping, borrowed.
  bool is_buffer = false;
  void *mapped = NULL;
  size_t mapped_len = 0;
  if (argc >= 1) NAPI(napi_is_arraybuffer(env, argv[0], &is_buffer));
  if (is_buffer) {
    bool detached = false;
    NAPI(napi_is_detached_arraybuffer(env, argv[0], &detached));
    if (detached || napi_get_arraybuffer_info(env, argv[0], &mapped, &mapped_len) != napi_ok || !mapped || mapped_len < GRAPH_HEADER_BYTES ||
        napi_get_value_uint32(env, argv[1], &dim) != napi_ok || napi_get_value_uint32(env, argv[2], &metric) != napi_ok || metric > 2 || dim == 0)
      return throw_code(env, "QUIVER_NATIVE", "openPaged(buffer, dimension, metric, meta, sums, upper): bad arguments");
  }
  if (argc < 6 || (!is_buffer && !open_args(env, argv, path, sizeof path, &dim, &metric)) || !meta || !sums || !upper)
    return throw_code(env, "QUIVER_NATIVE", "openPaged(path, dimension, metric, meta, sums, upper): bad arguments");
  uint64_t field[7];
  if (meta_len != SIDECAR_META_BYTES) return throw_code(env, "QUIVER_CORRUPT", "sidecar's graph section is %zu bytes, not %d", meta_len, SIDECAR_META_BYTES);
  memcpy(field, meta, 8);
  uint32_t log2;
  memcpy(&log2, meta + 12, 4);
  for (int i = 1; i < 7; i++) memcpy(&field[i], meta + 8 + 8 * i, 8);
  sidecar_t s = { field[0], field[2], field[3], field[4], field[5], field[1], log2, sums, upper };
  if (sums_len % 4 || upper_len % 8 || sums_len / 4 != s.pages || upper_len / 8 != s.nupper)
    return throw_code(env, "QUIVER_CORRUPT", "sidecar's sections do not hold what its graph section says");
  if (is_buffer) return index_graph(env, mapped, mapped_len, dim, metric, &s, 1);
  return map_graph(env, path, dim, metric, &s);
}

static graph_t *graph_arg(napi_env env, napi_value v) {
  graph_t *g = NULL;
  if (napi_get_value_external(env, v, (void **)&g) != napi_ok || !g) { throw_code(env, "QUIVER_NATIVE", "not a graph handle"); return NULL; }
  if (g->closed || g->close_pending) { throw_code(env, "QUIVER_CLOSED", "the graph was closed"); return NULL; }
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

typedef struct { napi_env env; napi_value fn; } js_accept;

/** A JavaScript accept(label) callback, truthy or not like hnswlib-node's; -1 if it threw. */
static int call_accept(void *ctx, uint64_t label) {
  js_accept *a = ctx;
  napi_value arg, result, undefined;
  bool yes = false;
  if (napi_create_double(a->env, (double)label, &arg) != napi_ok || napi_get_undefined(a->env, &undefined) != napi_ok ||
      napi_call_function(a->env, undefined, a->fn, 1, &arg, &result) != napi_ok || napi_coerce_to_bool(a->env, result, &result) != napi_ok ||
      napi_get_value_bool(a->env, result, &yes) != napi_ok)
    return -1;
  return yes ? 1 : 0;
}

// search(handle, query Float32Array, k, ef, live Uint8Array|null, allow Uint8Array|null,
//        accept Function|null, outLabels Uint32Array, outDistances Float32Array) -> count
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
  filter_t f = { NULL, NULL, 0, 0, NULL, NULL };
  int ok = 1;
  f.live = bytes_arg(env, argv[4], &f.live_len, &ok);
  f.allow = bytes_arg(env, argv[5], &f.allow_len, &ok);
  napi_valuetype at;
  if (napi_typeof(env, argv[6], &at) != napi_ok || (at != napi_function && at != napi_null && at != napi_undefined)) ok = 0;
  if (!ok) return throw_code(env, "QUIVER_NATIVE", "search: live and allow must be Uint8Arrays, accept a function");
  js_accept accept = { env, argv[6] };
  if (at == napi_function) { f.accept = call_accept; f.ctx = &accept; }
  size_t found = 0;
  char why[320];
  // The scratch buffers (query, heaps, visited marks) are the graph's: a search from inside a
  // filter callback would overwrite the running one's, so it is refused.
  if (g->busy) return throw_code(env, "QUIVER_NATIVE", "search: the graph is already searching (called from a filter callback)");
  g->busy = 1;
  int status = (g->codes ? codes_search : graph_search)(g, qd, k, ef, &f, od, dd, &found, why, sizeof why);
  g->busy = 0;
  if (g->close_pending) graph_release(g);
  if (status == GRAPH_STOPPED) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;  // accept threw: let it through
  }
  if (status != GRAPH_OK) return graph_error(env, status, why);
  napi_value result;
  NAPI(napi_create_uint32(env, (uint32_t)found, &result));
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
  // Closed from a filter callback during a search: unmapped when that search returns.
  if (g->busy) g->close_pending = 1;
  else graph_release(g);
  return NULL;
}

// checkPages(handle, from, to): checks every page of the graph holding a byte of [from, to)
// against its sidecar sum, once (the search's own "verified" bytes): a page that does not match
// fails the graph as a search would (QUIVER_CORRUPT, and every later search fails). A graph
// checked whole before mapping (no sidecar) has nothing to check.
static napi_value js_check_pages(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  graph_t *g = argc >= 3 ? graph_arg(env, argv[0]) : NULL;
  if (!g) return argc >= 3 ? NULL : throw_code(env, "QUIVER_NATIVE", "checkPages(handle, from, to): bad arguments");
  double from, to;
  if (napi_get_value_double(env, argv[1], &from) != napi_ok || napi_get_value_double(env, argv[2], &to) != napi_ok || !(from >= 0) || !(to <= (double)g->len) || from > to)
    return throw_code(env, "QUIVER_NATIVE", "checkPages(handle, from, to): range outside the graph");
  if (g->failure) return throw_code(env, "QUIVER_CORRUPT", "%s", g->failure);
  if (!g->sums || to <= from) return NULL;
  for (size_t p = (size_t)from >> g->page_log2, last = ((size_t)to - 1) >> g->page_log2; p <= last; p++)
    if (!g->verified[p] && !graph_check_page(g, p)) return throw_code(env, "QUIVER_CORRUPT", "%s", g->failure);
  return NULL;
}

// attachCodes(handle, buffer, graphCrc, graphPath): the graph's codes file (FORMAT.md "Graph
// codes"), mapped by mapFile and kept alive by the caller until the graph is closed; searches then
// run on the codes and re-rank by the graph's vectors, read from graphPath (the graph's file, its
// size checked against the map's). graphCrc is the manifest's CRC32C of the graph.
static napi_value js_attach_codes(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  graph_t *g = argc >= 4 ? graph_arg(env, argv[0]) : NULL;
  if (!g) return argc >= 4 ? NULL : throw_code(env, "QUIVER_NATIVE", "attachCodes(handle, buffer, graphCrc, graphPath): bad arguments");
  bool is_buffer = false, detached = false;
  void *base = NULL;
  size_t len = 0, plen;
  uint32_t crc;
  char path[4096];
  NAPI(napi_is_arraybuffer(env, argv[1], &is_buffer));
  if (is_buffer) NAPI(napi_is_detached_arraybuffer(env, argv[1], &detached));
  if (!is_buffer || detached || napi_get_arraybuffer_info(env, argv[1], &base, &len) != napi_ok || !base || napi_get_value_uint32(env, argv[2], &crc) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], path, sizeof path, &plen) != napi_ok || plen >= sizeof path - 1)
    return throw_code(env, "QUIVER_NATIVE", "attachCodes(handle, buffer, graphCrc, graphPath): bad arguments");
  if (g->busy) return throw_code(env, "QUIVER_NATIVE", "attachCodes: the graph is searching");
  // As every open of a named file: never through a symbolic link; gone since it was named is QUIVER_MISSING.
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return throw_code(env, errno == ENOENT ? "QUIVER_MISSING" : "QUIVER_IO", "open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size != g->len) { close(fd); return throw_code(env, "QUIVER_CORRUPT", "the graph file is not the one mapped (its size differs)"); }
  madvise(base, len, MADV_RANDOM);
  char why[320];
  int status = codes_attach(g, base, len, crc, fd, why, sizeof why);
  if (status != GRAPH_OK) return graph_error(env, status, why);
  return NULL;
}

// ---- mapFile / mapView / unmapFile: a whole file mapped read-only and shared ----------------------
// For sections JavaScript reads in place (a segment's vectors, a graph's level-0 records): every
// process's views are the page cache's pages, nothing copied. Files a manifest names are never
// rewritten (FORMAT.md "Readers"), so the mapped bytes stay the ones the reader checked.
//
// mapFile returns a handle; mapView(handle, offset, length) an ArrayBuffer over a slice of the one
// mapping. Slices exist because V8 counts an external buffer's bytes as memory the garbage
// collector could free: one buffer over a 1.6 GB graph makes the next collection an atomic
// mark-compact of the whole heap (133-340 ms on a writer's heap at 1M records), where slices of
// tens of MiB made a turn apart let V8 mark incrementally (src/native/mapped-file.ts).
//
// The map is owned by the handle and every view, each with a finalizer; the mapping goes with the
// last of them. unmapFile(handle, views) detaches the views first, so every typed array over them
// becomes empty and no JavaScript can reach the pages once they are unmapped.

typedef struct { void *base; size_t len; int unmapped; int owners; } file_map_t;

static void file_map_drop(file_map_t *m) {
  if (--m->owners > 0) return;
  if (!m->unmapped) munmap(m->base, m->len);
  free(m);
}

static void file_map_gone(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  file_map_drop(hint);
}

// mapFile(path | fd) -> { handle, length }
static napi_value js_map_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t plen;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) NAPI(napi_typeof(env, argv[0], &type));
  // A descriptor the caller holds (the file it has just read and checked, so that what is mapped
  // is that file, not whatever the name means now), or a path.
  bool given = type == napi_number;
  int fd = -1;
  if (given) {
    if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_code(env, "QUIVER_NATIVE", "mapFile(fd): bad descriptor");
  } else {
    if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen >= sizeof path - 1)
      return throw_code(env, "QUIVER_NATIVE", "mapFile(path): bad arguments");
    // As js_open: never through a symbolic link; gone since it was named is QUIVER_MISSING.
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return throw_code(env, errno == ENOENT ? "QUIVER_MISSING" : "QUIVER_IO", "open: %s", strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; if (!given) close(fd); return throw_code(env, "QUIVER_IO", "fstat: %s", strerror(e)); }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) { if (!given) close(fd); return throw_code(env, "QUIVER_CORRUPT", "not a regular file with bytes in it"); }
  size_t len = (size_t)st.st_size;
  void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  // The map keeps its own reference to the file: a descriptor we opened is closed now, the caller's is its own.
  if (!given) close(fd);
  if (base == MAP_FAILED) return throw_code(env, "QUIVER_IO", "mmap: %s", strerror(e));
  file_map_t *m = calloc(1, sizeof *m);
  if (!m) { munmap(base, len); return throw_code(env, "QUIVER_NATIVE", "out of memory"); }
  m->base = base;
  m->len = len;
  napi_value handle, length, out;
  if (napi_create_external(env, m, file_map_gone, m, &handle) != napi_ok) {
    munmap(base, len);
    free(m);
    return throw_code(env, "QUIVER_NATIVE", "napi_create_external failed");
  }
  // From here the handle's finalizer unmaps, whatever fails below.
  m->owners = 1;
  NAPI(napi_create_double(env, (double)len, &length));
  NAPI(napi_create_object(env, &out));
  NAPI(napi_set_named_property(env, out, "handle", handle));
  NAPI(napi_set_named_property(env, out, "length", length));
  return out;
}

static file_map_t *map_arg(napi_env env, napi_value v) {
  file_map_t *m = NULL;
  return napi_get_value_external(env, v, (void **)&m) == napi_ok ? m : NULL;
}

// A view's hold on its map. `state`: 0 while the view is being made, 1 once made; a finalizer that
// runs while it is being made marks it 2 and leaves the freeing to the maker (Node 20 refuses an
// external buffer past 2^32 bytes by running the finalizer at once, inside the failed creation).
typedef struct { file_map_t *m; int state; } view_hold_t;

static void view_gone(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  view_hold_t *v = hint;
  file_map_t *m = v->m;
  if (v->state == 0) v->state = 2;
  else free(v);
  file_map_drop(m);
}

// mapView(handle, offset, length) -> ArrayBuffer over bytes [offset, offset + length) of the map.
static napi_value js_map_view(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  file_map_t *m = argc >= 3 ? map_arg(env, argv[0]) : NULL;
  double offset = -1, length = -1;
  // Whole numbers, each within the map, compared without a sum that could wrap.
  if (!m || napi_get_value_double(env, argv[1], &offset) != napi_ok || napi_get_value_double(env, argv[2], &length) != napi_ok ||
      !(offset >= 0 && offset <= (double)m->len) || !(length > 0 && length <= (double)m->len - offset) ||
      offset != (double)(size_t)offset || length != (double)(size_t)length)
    return throw_code(env, "QUIVER_NATIVE", "mapView(handle, offset, length): not a map and a range inside it");
  if (m->unmapped) return throw_code(env, "QUIVER_NATIVE", "mapView: the map is closed");
  view_hold_t *v = malloc(sizeof *v);
  if (!v) return throw_code(env, "QUIVER_NATIVE", "out of memory");
  v->m = m;
  v->state = 0;
  m->owners++; // the view's, taken before it exists: its finalizer may run inside a failed creation
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, (char *)m->base + (size_t)offset, (size_t)length, view_gone, v, &buffer) != napi_ok) {
    if (v->state == 0) file_map_drop(m); // else the finalizer dropped it
    free(v);
    return throw_code(env, "QUIVER_NATIVE", "napi_create_external_arraybuffer failed");
  }
  v->state = 1;
  return buffer;
}

// unmapFile(handle, views): detaches every view, then unmaps now rather than at garbage collection. Idempotent.
static napi_value js_unmap_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  file_map_t *m = argc >= 2 ? map_arg(env, argv[0]) : NULL;
  bool array = false;
  uint32_t n = 0;
  if (!m || napi_is_array(env, argv[1], &array) != napi_ok || !array || napi_get_array_length(env, argv[1], &n) != napi_ok)
    return throw_code(env, "QUIVER_NATIVE", "unmapFile(handle, views): not a map and its views");
  if (m->unmapped) return NULL;
  // Every view checked first, then detached: a bad one leaves the map and its views as they were.
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < n; i++) {
      napi_value view;
      void *data = NULL;
      size_t len = 0;
      bool detached = false;
      NAPI(napi_get_element(env, argv[1], i, &view));
      if (napi_is_detached_arraybuffer(env, view, &detached) != napi_ok) return throw_code(env, "QUIVER_NATIVE", "unmapFile: a view is not an ArrayBuffer");
      if (detached) continue;
      if (napi_get_arraybuffer_info(env, view, &data, &len) != napi_ok || (char *)data < (char *)m->base || (char *)data + len > (char *)m->base + m->len)
        return throw_code(env, "QUIVER_NATIVE", "unmapFile: a view is not of this map");
      if (pass == 1) NAPI(napi_detach_arraybuffer(env, view));
    }
  }
  // Marked before unmapping: a view's finalizer, whenever it runs, only drops its ownership.
  m->unmapped = 1;
  munmap(m->base, m->len);
  return NULL;
}

// scan.c: the exact scan of a subset of rows (filtered search).
napi_value js_scan_rows(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "openPaged", NULL, js_open_paged, NULL, NULL, NULL, napi_default, NULL },
    { "search", NULL, js_search, NULL, NULL, NULL, napi_default, NULL },
    { "info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "checkPages", NULL, js_check_pages, NULL, NULL, NULL, napi_default, NULL },
    { "attachCodes", NULL, js_attach_codes, NULL, NULL, NULL, napi_default, NULL },
    { "mapFile", NULL, js_map_file, NULL, NULL, NULL, napi_default, NULL },
    { "mapView", NULL, js_map_view, NULL, NULL, NULL, napi_default, NULL },
    { "unmapFile", NULL, js_unmap_file, NULL, NULL, NULL, napi_default, NULL },
    { "scanRows", NULL, js_scan_rows, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
