/* Fused CPU kernels for repro-v1's elementwise and row ops: GELU, softmax and layer norm over the
 * last dim (node/runtime/repro/native_kernels.py).
 *
 * Each one performs the float32 operations of its torch-op definition (transcendental.py,
 * functions_pointwise.py, functions_norm.py, reduce.tree_sum) in the same order, each rounded
 * once: no FMA contraction (-ffp-contract=off), no reassociation (no -ffast-math), IEEE division
 * and sqrt. Row sums use tree_sum's pairwise order (zero padding to a power of two, halves added
 * elementwise, then + 0.0). Constants come from Python (ct_rows_init) so both sides use the same
 * float32 values.
 */
#include <stdint.h>
#include <omp.h>
#include <math.h>

enum {
    LOG2E, LN2_HI, LN2_LO, EXP_FLUSH, EXP_OVERFLOW,
    C0, C1, C2, C3, C4, C5, /* EXPM1_COEFFS */
    GELU_A, GELU_M2C, GELU_3A, GELU_2C,
    N_CONSTANTS
};
static float K[N_CONSTANTS];

int ct_rows_init(const float *constants, int n) {
    if (n != N_CONSTANTS) return -1;
    for (int i = 0; i < n; i++) K[i] = constants[i];
    return 0;
}

static inline uint32_t bits_of(float x) {
    union { float f; uint32_t u; } v;
    v.f = x;
    return v.u;
}

static inline float from_bits(uint32_t u) {
    union { uint32_t u; float f; } v;
    v.u = u;
    return v.f;
}

/* transcendental.exp: clamp (NaN passes), k = round(x log2 e), Cody-Waite r, Horner expm1(r),
 * then (p + 1) * 2^k with 2^k built from the bits of k + (2^23 + 127). */
static inline float ct_exp(float x) {
    float xc = x < K[EXP_FLUSH] ? K[EXP_FLUSH] : (x > K[EXP_OVERFLOW] ? K[EXP_OVERFLOW] : x);
    float k = rintf(xc * K[LOG2E]);
    float r = (xc - k * K[LN2_HI]) - k * K[LN2_LO];
    float p = r * K[C0];
    p = (p + K[C1]) * r;
    p = (p + K[C2]) * r;
    p = (p + K[C3]) * r;
    p = (p + K[C4]) * r;
    p = (p + K[C5]) * r;
    p = p * r + r;
    float scale = from_bits(bits_of(k + 8388735.0f) << 23);
    return (p + 1.0f) * scale;
}

/* reduce.tree_sum of v[0..n) (n >= 1); buf holds at least the next power of two floats. */
static float tree(const float *v, int64_t n, float *buf) {
    int64_t w = 1;
    while (w < n) w <<= 1;
    for (int64_t i = 0; i < n; i++) buf[i] = v[i];
    for (int64_t i = n; i < w; i++) buf[i] = 0.0f;
    while (w > 1) {
        w >>= 1;
        for (int64_t i = 0; i < w; i++) buf[i] = buf[i] + buf[i + w];
    }
    return buf[0] + 0.0f;
}

/* This OpenMP thread's part of the caller's scratch (per_thread floats each). */
static inline float *thread_scratch(float *scratch, int64_t per_thread) {
    return scratch + (int64_t)omp_get_thread_num() * per_thread;
}

static int64_t pow2_at_least(int64_t n) {
    int64_t w = 1;
    while (w < n) w <<= 1;
    return w;
}

/* Gelu.forward: y = x * s with s = 1 / (exp(-2 c (x + a x^3)) + 1); s is kept for backward. */
void ct_gelu(const float *x, int64_t n, float *y, float *s, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float m2z = (((v * v) * v) * K[GELU_A] + v) * K[GELU_M2C];
        float si = 1.0f / (ct_exp(m2z) + 1.0f);
        s[i] = si;
        y[i] = v * si;
    }
}

/* Gelu.backward: (s - (s - 1) s x 2c (1 + 3a x^2)) * grad, in the definition's order. */
void ct_gelu_backward(const float *x, const float *s, const float *grad, int64_t n, float *out,
                      int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], si = s[i];
        float dz2 = ((v * v) * K[GELU_3A] + 1.0f) * K[GELU_2C];
        float slope = ((-(si - 1.0f)) * si * v) * dz2;
        out[i] = (slope + si) * grad[i];
    }
}

/* Silu.forward: y = x * s with s = 1 / (exp(-x) + 1); s is kept for backward. */
void ct_silu(const float *x, int64_t n, float *y, float *s, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float si = 1.0f / (ct_exp(-v) + 1.0f);
        s[i] = si;
        y[i] = v * si;
    }
}

/* Silu.backward: (-(s - 1) s x + s) * grad, in the definition's order. */
void ct_silu_backward(const float *x, const float *s, const float *grad, int64_t n, float *out,
                      int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], si = s[i];
        float slope = ((-(si - 1.0f)) * si) * v;
        out[i] = (slope + si) * grad[i];
    }
}

/* Softmax over rows of x [rows, n]: z = x - (max + 0), e = exp(z), p = e / tree(e). Where
   row_max/row_sum are not NULL, each row's max (+0.0) and tree(e) go there too (cross-entropy
   needs them: log_softmax = x - max - log(sum)). */
void ct_softmax(const float *x, int64_t rows, int64_t n, float *p, float *row_max,
                float *row_sum, float *scratch, int64_t per_thread, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * n;
            float *pr = p + r * n;
            float m = -INFINITY;
            int nan = 0;
            for (int64_t i = 0; i < n; i++) {
                float v = xr[i];
                nan |= v != v;
                m = v > m ? v : m;
            }
            m = (nan ? NAN : m) + 0.0f;
            for (int64_t i = 0; i < n; i++) pr[i] = ct_exp(xr[i] - m);
            float sum = tree(pr, n, buf);
            for (int64_t i = 0; i < n; i++) pr[i] = pr[i] / sum;
            if (row_max) row_max[r] = m;
            if (row_sum) row_sum[r] = sum;
        }
    }
}

/* Softmax.backward: (grad - tree(grad * p)) * p per row. */
void ct_softmax_backward(const float *grad, const float *p, int64_t rows, int64_t n, float *out,
                         float *scratch, int64_t per_thread, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *g = grad + r * n, *pr = p + r * n;
            float *o = out + r * n;
            for (int64_t i = 0; i < n; i++) o[i] = g[i] * pr[i];
            float dot = tree(o, n, buf);
            for (int64_t i = 0; i < n; i++) o[i] = (g[i] - dot) * pr[i];
        }
    }
}

/* LayerNorm.forward per row: mean = tree(x) / n, xc = x - mean, var = tree(xc xc) / n,
 * rstd = 1 / sqrt(var + eps), xhat = xc rstd, y = xhat w (+ b). */
void ct_layer_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t n,
                   float eps, float *y, float *xhat, float *rstd, float *scratch,
                   int64_t per_thread, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * n;
            float *xh = xhat + r * n, *yr = y + r * n;
            float fn = (float)n;
            float mean = tree(xr, n, buf) / fn;
            for (int64_t i = 0; i < n; i++) yr[i] = (xr[i] - mean) * (xr[i] - mean);
            float var = tree(yr, n, buf) / fn;
            float rs = 1.0f / sqrtf(var + eps);
            rstd[r] = rs;
            for (int64_t i = 0; i < n; i++) {
                float h = (xr[i] - mean) * rs;
                xh[i] = h;
                yr[i] = b ? h * w[i] + b[i] : h * w[i];
            }
        }
    }
}

/* LayerNorm.backward, input gradient per row: dxhat = grad w,
 * dx = ((dxhat - tree(dxhat) / n) - xhat (tree(dxhat xhat) / n)) rstd. */
void ct_layer_norm_backward(const float *grad, const float *w, const float *xhat,
                            const float *rstd, int64_t rows, int64_t n, float *dx,
                            float *scratch, int64_t per_thread, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
        float *t = buf + per_thread / 2;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *g = grad + r * n, *xh = xhat + r * n;
            float *o = dx + r * n;
            float fn = (float)n;
            for (int64_t i = 0; i < n; i++) {
                o[i] = g[i] * w[i];
                t[i] = o[i] * xh[i];
            }
            float mean_d = tree(o, n, buf) / fn;
            float mean_dx = tree(t, n, buf) / fn;
            for (int64_t i = 0; i < n; i++) o[i] = ((o[i] - mean_d) - xh[i] * mean_dx) * rstd[r];
        }
    }
}

/* reduce.tree_sum over the middle dim of x [outer, n, inner] (n >= 1) into out [outer, inner]:
 * each column's tree, `stride` columns per job so a job's rows stay in cache while halving; each
 * thread's scratch holds (next power of two >= n) * stride floats. */
void ct_tree_sum(const float *x, int64_t outer, int64_t n, int64_t inner, int64_t stride,
                 float *out, float *scratch, int64_t per_thread, int threads) {
    int64_t width = pow2_at_least(n);
    int64_t blocks = (inner + stride - 1) / stride;
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t job = 0; job < outer * blocks; job++) {
            int64_t o = job / blocks, c0 = (job % blocks) * stride;
            int64_t w = inner - c0 < stride ? inner - c0 : stride;
            const float *xo = x + o * n * inner + c0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < w; c++) buf[i * stride + c] = xo[i * inner + c];
            for (int64_t i = n; i < width; i++)
                for (int64_t c = 0; c < w; c++) buf[i * stride + c] = 0.0f;
            for (int64_t h = width; h > 1;) {
                h >>= 1;
                for (int64_t i = 0; i < h; i++)
                    for (int64_t c = 0; c < w; c++)
                        buf[i * stride + c] = buf[i * stride + c] + buf[(i + h) * stride + c];
            }
            for (int64_t c = 0; c < w; c++) out[o * inner + c0 + c] = buf[c] + 0.0f;
        }
    }
}

/* Dropout (forward and backward): keep ? x * scale : 0. */
void ct_dropout(const float *x, const uint8_t *keep, int64_t n, float scale, float *out,
                int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * scale;
        out[i] = keep[i] ? v : 0.0f;
    }
}

/* reduce.tree_sum of a long vector x[0..n) (n >= 1), in parallel: its tree, padded to width
 * w = rows * cols (powers of two), first folds the top halves, i.e. for each column c < cols
 * the tree over rows r of x[r * cols + c] (entries at or past n read as 0), then the tree over
 * those cols column sums. Computing the column trees in column blocks (one job each) and then
 * the last tree is the same sequence of adds on the same values: the same bits, not one thread.
 * colsum holds cols floats; each thread's scratch holds rows * stride floats. */
void ct_tree_sum_flat(const float *x, int64_t n, int64_t rows, int64_t cols, int64_t stride,
                      float *colsum, float *out, float *scratch, int64_t per_thread, int threads) {
    int64_t blocks = (cols + stride - 1) / stride;
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t job = 0; job < blocks; job++) {
            int64_t c0 = job * stride;
            int64_t w = cols - c0 < stride ? cols - c0 : stride;
            for (int64_t i = 0; i < rows; i++) {
                int64_t base = i * cols + c0;
                int64_t valid = n - base < 0 ? 0 : (n - base < w ? n - base : w);
                for (int64_t c = 0; c < valid; c++) buf[i * stride + c] = x[base + c];
                for (int64_t c = valid; c < w; c++) buf[i * stride + c] = 0.0f;
            }
            for (int64_t h = rows; h > 1;) {
                h >>= 1;
                for (int64_t i = 0; i < h; i++)
                    for (int64_t c = 0; c < w; c++)
                        buf[i * stride + c] = buf[i * stride + c] + buf[(i + h) * stride + c];
            }
            for (int64_t c = 0; c < w; c++) colsum[c0 + c] = buf[c];
        }
    }
    for (int64_t h = cols; h > 1;) {
        h >>= 1;
        for (int64_t i = 0; i < h; i++) colsum[i] = colsum[i] + colsum[i + h];
    }
    *out = colsum[0] + 0.0f;
}

/* RMSNorm.forward per row: rstd = 1 / sqrt(tree(x x) / n + eps), xhat = x rstd, y = w xhat. */
void ct_rms_norm(const float *x, const float *w, int64_t rows, int64_t n, float eps, float *y,
                 float *xhat, float *rstd, float *scratch, int64_t per_thread, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * n;
            float *xh = xhat + r * n, *yr = y + r * n;
            for (int64_t i = 0; i < n; i++) yr[i] = xr[i] * xr[i];
            float ms = tree(yr, n, buf) / (float)n;
            float rs = 1.0f / sqrtf(ms + eps);
            rstd[r] = rs;
            for (int64_t i = 0; i < n; i++) {
                float h = xr[i] * rs;
                xh[i] = h;
                yr[i] = w[i] * h;
            }
        }
    }
}

/* RMSNorm.backward, input gradient per row: dxhat = grad w,
 * dx = (dxhat - xhat (tree(dxhat xhat) / n)) rstd. */
void ct_rms_norm_backward(const float *grad, const float *w, const float *xhat, const float *rstd,
                          int64_t rows, int64_t n, float *dx, float *scratch, int64_t per_thread,
                          int threads) {
#pragma omp parallel num_threads(threads)
    {
        float *buf = thread_scratch(scratch, per_thread);
        float *t = buf + per_thread / 2;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *g = grad + r * n, *xh = xhat + r * n;
            float *o = dx + r * n;
            for (int64_t i = 0; i < n; i++) {
                o[i] = g[i] * w[i];
                t[i] = o[i] * xh[i];
            }
            float mean_dx = tree(t, n, buf) / (float)n;
            for (int64_t i = 0; i < n; i++) o[i] = (o[i] - xh[i] * mean_dx) * rstd[r];
        }
    }
}

/* transcendental.sqrt: the correctly rounded float32 sqrt (IEEE sqrtf, vectorized). */
void ct_sqrt(const float *x, int64_t n, float *y, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]);
}

/* CrossEntropy.backward: (p - onehot(targets)) * scale, onehot 1.0 at a row's target, else 0.0. */
void ct_cross_entropy_backward(const float *p, const int64_t *targets, int64_t rows, int64_t n,
                               float scale, float *out, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = p + r * n;
        float *o = out + r * n;
        for (int64_t i = 0; i < n; i++) o[i] = (pr[i] - 0.0f) * scale;
        int64_t t = targets[r];
        if (t >= 0 && t < n) o[t] = (pr[t] - 1.0f) * scale;
    }
}
