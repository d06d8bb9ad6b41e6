// Exact k-nearest search over a subset of rows of a vector buffer (issue #19, filtered search on
// real vectors): the rows a payload filter matches, scanned in C instead of in JavaScript.
//
// The answer must be the JavaScript exact scan's (src/vault/exact-search.ts) to the bit: the same
// k records in the same order, with the same distances. That scan accumulates in double, one
// term after another, which no compiler may vectorise without reordering the sum. So each row is
// scanned twice over, at most:
//  1. in float, eight lanes at a time, giving an approximate distance and a rigorous bound on how
//     far it can be from the double one (the standard bound for a sum of n rounded products,
//     gamma(n) times the sum of the terms' magnitudes, taken four times over);
//  2. only for the rows whose lower bound does not exceed the k-th smallest upper bound of all
//     rows: the distance exactly as exact-search.ts computes it, in double, in the same order.
// Every row of the true top k passes step 1 (its distance is at most the k-th smallest upper
// bound), so step 2 ranks a superset of it with the very distances JavaScript computes, ties by
// label as JavaScript breaks them. Rows whose float pass could underflow or overflow (norms
// outside 2^-60 .. 2^60) skip step 1's test and go straight to step 2.
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { METRIC_L2 = 0, METRIC_IP = 1, METRIC_COSINE = 2 };

// Four lanes: the SSE2 / NEON width every 64-bit build has. Two accumulators a sum, so that
// consecutive additions do not wait on each other.
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f load4(const uint8_t *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline float hsum(v4f v) {
  return (v[0] + v[1]) + (v[2] + v[3]);
}

static inline float rd_f32(const uint8_t *p) {
  float f;
  memcpy(&f, p, 4);
  return f;
}

/** Step 1 for one row: the float sums (a: l2 sum / dot; b: ip's sum of |x·q| / cosine's |x|²). */
static inline __attribute__((always_inline)) void approx(int metric, const uint8_t *row, const float *q, uint32_t dim, float *a, float *b) {
  v4f a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
  const v4i abs_mask = { 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff };
  const uint8_t *qb = (const uint8_t *)q;
  uint32_t i = 0;
  if (metric == METRIC_L2) {
    for (; i + 8 <= dim; i += 8) {
      v4f d0 = load4(row + 4 * i) - load4(qb + 4 * i);
      v4f d1 = load4(row + 4 * i + 16) - load4(qb + 4 * i + 16);
      a0 += d0 * d0;
      a1 += d1 * d1;
    }
  } else if (metric == METRIC_IP) {
    for (; i + 8 <= dim; i += 8) {
      v4f p0 = load4(row + 4 * i) * load4(qb + 4 * i);
      v4f p1 = load4(row + 4 * i + 16) * load4(qb + 4 * i + 16);
      a0 += p0;
      a1 += p1;
      b0 += (v4f)((v4i)p0 & abs_mask);
      b1 += (v4f)((v4i)p1 & abs_mask);
    }
  } else {
    for (; i + 8 <= dim; i += 8) {
      v4f x0 = load4(row + 4 * i), x1 = load4(row + 4 * i + 16);
      a0 += x0 * load4(qb + 4 * i);
      a1 += x1 * load4(qb + 4 * i + 16);
      b0 += x0 * x0;
      b1 += x1 * x1;
    }
  }
  float ra = hsum(a0 + a1), rb = hsum(b0 + b1);
  for (; i < dim; i++) {
    float x = rd_f32(row + 4 * i);
    if (metric == METRIC_L2) {
      float d = x - q[i];
      ra += d * d;
    } else if (metric == METRIC_IP) {
      float p = x * q[i];
      ra += p;
      rb += fabsf(p);
    } else {
      ra += x * q[i];
      rb += x * x;
    }
  }
  *a = ra;
  *b = rb;
}

/** Step 2: src/vault/metric.ts distance(metric, row, query, queryNorm), term by term in double. */
static double exact(int metric, const uint8_t *row, const float *q, uint32_t dim, double qnorm) {
  if (metric == METRIC_L2) {
    double sum = 0;
    for (uint32_t i = 0; i < dim; i++) {
      double d = (double)rd_f32(row + 4 * i) - (double)q[i];
      sum += d * d;
    }
    return sum;
  }
  double dot = 0;
  for (uint32_t i = 0; i < dim; i++) dot += (double)rd_f32(row + 4 * i) * (double)q[i];
  if (metric == METRIC_IP) return 1 - dot;
  double na = 0;
  for (uint32_t i = 0; i < dim; i++) {
    double x = rd_f32(row + 4 * i);
    na += x * x;
  }
  return 1 - dot / (sqrt(na) * qnorm);
}

typedef struct {
  double d;
  uint32_t label;
  uint32_t row;
} item_t;

/** a ranks after b: farther, or as far with a larger label (exact-search.ts `worse`). */
static inline int worse(const item_t *a, const item_t *b) {
  return a->d > b->d || (a->d == b->d && a->label > b->label);
}

static void sift_down(item_t *h, uint32_t n, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, top = i;
    if (l < n && worse(&h[l], &h[top])) top = l;
    if (r < n && worse(&h[r], &h[top])) top = r;
    if (top == i) return;
    item_t t = h[i]; h[i] = h[top]; h[top] = t;
    i = top;
  }
}

static void sift_up(item_t *h, uint32_t i) {
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!worse(&h[i], &h[p])) return;
    item_t t = h[i]; h[i] = h[p]; h[p] = t;
    i = p;
  }
}

/** A max-heap of doubles (the k smallest upper bounds). */
static void dsift_down(double *h, uint32_t n, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, top = i;
    if (l < n && h[l] > h[top]) top = l;
    if (r < n && h[r] > h[top]) top = r;
    if (top == i) return;
    double t = h[i]; h[i] = h[top]; h[top] = t;
    i = top;
  }
}

static void dsift_up(double *h, uint32_t i) {
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!(h[i] > h[p])) return;
    double t = h[i]; h[i] = h[p]; h[p] = t;
    i = p;
  }
}

static int by_rank(const void *x, const void *y) {
  const item_t *a = x, *b = y;
  return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

/**
 * Step 1 over every row: keeps (in keep/low) each row whose lower bound is at most the k-th
 * smallest upper bound seen so far, which `bound` holds as a max-heap of *pnb <= k entries.
 */
static inline __attribute__((always_inline)) void pass1(int metric, const uint8_t *base, size_t stride, uint32_t dim, const uint32_t *rows, uint32_t n, const float *q, double qnorm, uint32_t k,
                                                        double g, double tiny, int all, double *bound, uint32_t *pnb, uint32_t *keep, double *low, uint32_t *pnk) {
  const double lo = 0x1p-60, hi = 0x1p60;
  const double q2 = qnorm * qnorm;
  // Cosine: a row can be kept only if its similarity a / (sqrt(b)·qnorm) reaches `least`
  // (1 - threshold - e, lowered a little for its own rounding), tested without a square root.
  double least = -INFINITY;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *row = base + (size_t)rows[i] * stride;
    double l = -INFINITY, up = INFINITY;
    if (!all) {
      float a, b;
      approx(metric, row, q, dim, &a, &b);
      double d, e;
      int sound;
      if (metric == METRIC_L2) {
        d = a;
        e = g * d + tiny;
        sound = a <= (float)hi;
      } else if (metric == METRIC_IP) {
        d = 1.0 - (double)a;
        e = g * (double)b + tiny + (fabs(d) + 1.0) * 0x1p-48;
        sound = b <= (float)hi;
      } else {
        sound = b >= (float)lo && b <= (float)hi;
        if (sound && *pnb == k) {
          // Squares compared with a 2^-40 margin, far above their rounding: a row is dropped
          // only when its similarity is surely below `least`.
          double aa = (double)a * (double)a, bound2 = least * least * (double)b * q2;
          int drop = least > 0 ? (a <= 0 || aa * (1 + 0x1p-40) < bound2) : (a < 0 && aa > bound2 * (1 + 0x1p-40));
          if (drop) continue;
        }
        d = 1.0 - (double)a / (sqrt((double)b) * qnorm);
        e = g + 0x1p-40;
      }
      if (sound) { l = d - e; up = d + e; }
    }
    // Fewer than k bounds yet: the threshold (the k-th smallest upper bound so far) is infinite.
    if (*pnb == k && l > bound[0]) continue;
    keep[*pnk] = i;
    low[(*pnk)++] = l;
    if (*pnb < k) { bound[*pnb] = up; dsift_up(bound, (*pnb)++); }
    else if (up < bound[0]) { bound[0] = up; dsift_down(bound, *pnb, 0); }
    else continue;
    if (metric == METRIC_COSINE && *pnb == k) least = (1.0 - bound[0] - (g + 0x1p-40)) - 0x1p-45;
  }
}

/**
 * The k nearest of `rows` (row r's vector is dim floats at base + r·stride), nearest first, into
 * out (at most k items); returns how many, or -1 when out of memory. labels[i] is rows[i]'s label
 * (NULL: the row number is the label).
 */
static int scan_rows(const uint8_t *base, size_t stride, uint32_t dim, const uint32_t *rows, const uint32_t *labels, uint32_t n, const float *q, uint32_t k, int metric, item_t *out) {
  if (k == 0 || n == 0) return 0;
  double qsum = 0;
  for (uint32_t i = 0; i < dim; i++) qsum += (double)q[i] * (double)q[i];
  double qnorm = sqrt(qsum);
  // The bound's unit: four times gamma(dim + 2), for dim products rounded once each and summed
  // in any order (the lanes, then across them), plus the double arithmetic of both sides.
  const double u = 0x1p-24;
  const double g = 4.0 * (dim + 2) * u / (1.0 - (dim + 2) * u);
  const double tiny = (double)dim * 0x1p-140;
  const double lo = 0x1p-60, hi = 0x1p60;
  // A query whose own float products could underflow or overflow: every row takes step 2.
  const int all = !(qsum >= lo && qsum <= hi);
  double *bound = malloc(sizeof(double) * k);
  uint32_t *keep = malloc(sizeof(uint32_t) * n);
  double *low = malloc(sizeof(double) * n);
  item_t *heap = malloc(sizeof(item_t) * k);
  if (!bound || !keep || !low || !heap) { free(bound); free(keep); free(low); free(heap); return -1; }
  uint32_t nb = 0, nk = 0;
  // One copy of the loop per metric, the metric's test compiled in.
  if (metric == METRIC_L2) pass1(METRIC_L2, base, stride, dim, rows, n, q, qnorm, k, g, tiny, all, bound, &nb, keep, low, &nk);
  else if (metric == METRIC_IP) pass1(METRIC_IP, base, stride, dim, rows, n, q, qnorm, k, g, tiny, all, bound, &nb, keep, low, &nk);
  else pass1(METRIC_COSINE, base, stride, dim, rows, n, q, qnorm, k, g, tiny, all, bound, &nb, keep, low, &nk);
  const double t = nb == k ? bound[0] : INFINITY;
  uint32_t nh = 0;
  for (uint32_t j = 0; j < nk; j++) {
    if (low[j] > t) continue;
    uint32_t i = keep[j];
    item_t it = { exact(metric, base + (size_t)rows[i] * stride, q, dim, qnorm), labels ? labels[i] : rows[i], rows[i] };
    if (nh < k) { heap[nh] = it; sift_up(heap, nh++); }
    else if (worse(&heap[0], &it)) { heap[0] = it; sift_down(heap, nh, 0); }
  }
  qsort(heap, nh, sizeof *heap, by_rank);
  memcpy(out, heap, sizeof *heap * nh);
  free(bound); free(keep); free(low); free(heap);
  return (int)nh;
}

#ifndef SCAN_STANDALONE
static napi_value fail(napi_env env, const char *why) {
  napi_throw_error(env, "QUIVER_NATIVE", why);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type tt;
  return napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) == napi_ok && tt == want;
}

// scanRows(buffer, byteOffset, strideBytes, dim, rows, labels | null, query, k, metric,
//          outLabels, outDistances, outRows) -> count
// buffer: an ArrayBuffer (a private block or a mapped file); rows: Uint32Array; labels: a
// Uint32Array beside rows or null (the row is the label); query: Float32Array of dim;
// metric: 0 l2 | 1 ip | 2 cosine; out*: Uint32Array / Float64Array / Uint32Array of at least k.
napi_value js_scan_rows(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 12) return fail(env, "scanRows: 12 arguments");
  void *buf = NULL;
  size_t buf_len = 0;
  bool is_ab = false;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab || napi_get_arraybuffer_info(env, argv[0], &buf, &buf_len) != napi_ok) return fail(env, "scanRows: buffer must be an ArrayBuffer");
  int64_t offset, stride;
  uint32_t dim, k, metric;
  if (napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int64(env, argv[2], &stride) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &dim) != napi_ok || napi_get_value_uint32(env, argv[7], &k) != napi_ok ||
      napi_get_value_uint32(env, argv[8], &metric) != napi_ok || metric > 2 || dim == 0 || offset < 0 || stride < (int64_t)dim * 4)
    return fail(env, "scanRows: bad offset, stride, dim, k or metric");
  uint32_t *rows, *labels = NULL, *out_labels, *out_rows;
  float *q;
  double *out_d;
  size_t nrows, nlabels = 0, nq, nol, nod, nor;
  napi_valuetype lt;
  if (!typed(env, argv[4], napi_uint32_array, (void **)&rows, &nrows)) return fail(env, "scanRows: rows must be a Uint32Array");
  if (napi_typeof(env, argv[5], &lt) != napi_ok) return fail(env, "scanRows: labels");
  if (lt != napi_null && (!typed(env, argv[5], napi_uint32_array, (void **)&labels, &nlabels) || nlabels != nrows)) return fail(env, "scanRows: labels must be null or a Uint32Array beside rows");
  if (!typed(env, argv[6], napi_float32_array, (void **)&q, &nq) || nq != dim) return fail(env, "scanRows: query must be a Float32Array of dim");
  if (!typed(env, argv[9], napi_uint32_array, (void **)&out_labels, &nol) || !typed(env, argv[10], napi_float64_array, (void **)&out_d, &nod) ||
      !typed(env, argv[11], napi_uint32_array, (void **)&out_rows, &nor) || nol < k || nod < k || nor < k)
    return fail(env, "scanRows: outputs must hold k");
  if (nrows > UINT32_MAX) return fail(env, "scanRows: too many rows");
  // Every row must lie inside the buffer: a detached (unmapped) buffer has none.
  uint32_t max_row = 0;
  for (size_t i = 0; i < nrows; i++) if (rows[i] > max_row) max_row = rows[i];
  // Overflow-free: the last row's end, offset + max_row * stride + dim * 4, must fit in the buffer.
  uint64_t row_bytes = (uint64_t)dim * 4;
  if (nrows > 0 && ((uint64_t)offset > (uint64_t)buf_len || row_bytes > (uint64_t)buf_len - (uint64_t)offset ||
                    (uint64_t)max_row > ((uint64_t)buf_len - (uint64_t)offset - row_bytes) / (uint64_t)stride))
    return fail(env, "scanRows: a row lies outside the buffer");
  item_t *found = malloc(sizeof(item_t) * (k ? k : 1));
  if (!found) return fail(env, "scanRows: out of memory");
  int n = scan_rows((const uint8_t *)buf + offset, (size_t)stride, dim, rows, labels, (uint32_t)nrows, q, k, (int)metric, found);
  if (n < 0) { free(found); return fail(env, "scanRows: out of memory"); }
  for (int i = 0; i < n; i++) { out_labels[i] = found[i].label; out_d[i] = found[i].d; out_rows[i] = found[i].row; }
  free(found);
  napi_value result;
  if (napi_create_uint32(env, (uint32_t)n, &result) != napi_ok) return fail(env, "scanRows: result");
  return result;
}
#endif
