/* Fused CPU kernels for repro-v1's exact GEMMs (node/runtime/repro/native_kernels.py).
 *
 * Each function computes exactly what a chain of torch ops in gemm.py / quantize.py computes, bit
 * for bit: only IEEE operations that round once (or are exact), in a fixed order per element, and
 * an order-independent max. Built with -ffp-contract=off and without -ffast-math, so the
 * compiler may neither fuse a*b+c into an FMA nor reorder float arithmetic; vectorization and the
 * OpenMP split of rows change nothing. The OpenMP runtime is the one torch already loaded
 * (same soname), so these loops share torch's thread pool.
 */
#include <math.h>
#include <stdint.h>

/* 2**e as a float for integer e in [-126, 127], built from its bits (exact). */
static float pow2f(int e) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)(e + 127) << 23;
    return v.f;
}

/* The shift of one slice: 15 - e where amax * (1 + 2^-7) lies in [2^(e-1), 2^e), clamped to
 * [-120, 120]; frexp of the (exact) double product, as torch.frexp in quantize.quantize. */
static int slice_shift(float amax, int bits) {
    int e;
    frexp((double)amax * 1.0078125, &e);
    int shift = bits - e;
    return shift < -120 ? -120 : (shift > 120 ? 120 : shift);
}

/* |x| as its IEEE bits: for non-NaN floats the unsigned order of these bits is the order of |x|,
 * and NaN/inf are exactly the values >= 0x7f800000, so an integer max gives max |x| and finiteness
 * in one vectorizable reduction. */
static inline uint32_t bits_of(float x) {
    union { float f; uint32_t u; } v;
    v.f = x;
    return v.u;
}

static inline uint32_t abs_bits(float x) { return bits_of(x) & 0x7fffffffu; }

static inline float from_bits(uint32_t u) {
    union { uint32_t u; float f; } v;
    v.u = u;
    return v.f;
}

#define NONFINITE 0x7f800000u

/* q = rint(x * scale), with x read as +0 where keep is 0 (slices holding NaN/inf). */
static inline float quantized(float x, uint32_t keep, float scale) {
    return rintf(from_bits(bits_of(x) & keep) * scale);
}

/* Split q into int8 limbs: hi = floor(q / 256 + 1/2), lo = q - 256 hi (every step exact for
 * |q| < 2^15). */
static inline void store_limbs(float q, int8_t *hi, int8_t *lo) {
    float t = floorf(q * 0.00390625f + 0.5f);
    *hi = (int8_t)(int32_t)t;
    *lo = (int8_t)(int32_t)(q - 256.0f * t);
}

/* The scale of one slice from its max |x| bits; sets *inv (2**-shift) and *amax (inf when the
 * slice is not finite: its limbs are zero, the caller poisons its outputs). */
static float slice_scale(uint32_t mbits, int bits, float *inv, float *amax) {
    if (mbits >= NONFINITE) {
        *inv = pow2f(-bits);
        *amax = INFINITY;
        return 0.0f;
    }
    int shift = slice_shift(from_bits(mbits), bits);
    *inv = pow2f(-shift);
    *amax = from_bits(mbits);
    return pow2f(shift);
}

/* Kernels over a float32 tensor viewed as [batch, k, cols] (slices = columns, "cols") or as
 * [rows, k] (slices = rows, "rows"), both contiguous. Each slice gets its max |x| and scale; the
 * elements are then written either as two int8 limbs (hi/lo) or as a float64 integer (q). */

typedef struct {
    int8_t *hi, *lo; /* limbs, or NULL */
    double *q;       /* float64 integers, or NULL */
} sink;

static int64_t slices_rows(const float *x, int64_t rows, int64_t k, sink out, int64_t orow,
                           float *inv, float *amax, int bits, int threads) {
    int64_t bad = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : bad)
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * k;
        uint32_t m = 0;
        for (int64_t i = 0; i < k; i++) {
            uint32_t v = abs_bits(row[i]);
            m = v > m ? v : m;
        }
        float scale = slice_scale(m, bits, inv + r, amax + r);
        bad += m >= NONFINITE;
        uint32_t keep = m >= NONFINITE ? 0u : 0xffffffffu; /* non-finite rows read as +0 */
        int64_t base = r * orow;
        if (out.q) {
            for (int64_t i = 0; i < k; i++) out.q[base + i] = quantized(row[i], keep, scale);
        } else {
            int8_t *h = out.hi + base, *l = out.lo + base;
            for (int64_t i = 0; i < k; i++) store_limbs(quantized(row[i], keep, scale), h + i, l + i);
        }
    }
    return bad;
}

static int64_t slices_cols(const float *x, int64_t batch, int64_t k, int64_t cols, sink out,
                           int64_t obatch, int64_t orow, float *inv, float *amax, int bits,
                           int threads) {
    enum { BLOCK = 256 };
    int64_t blocks = (cols + BLOCK - 1) / BLOCK, bad = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : bad)
    for (int64_t job = 0; job < batch * blocks; job++) {
        int64_t b = job / blocks, c0 = (job % blocks) * BLOCK;
        int64_t w = cols - c0 < BLOCK ? cols - c0 : BLOCK;
        const float *xb = x + b * k * cols + c0;
        uint32_t m[BLOCK], keep[BLOCK];
        float scale[BLOCK];
        for (int64_t c = 0; c < w; c++) m[c] = 0;
        for (int64_t i = 0; i < k; i++) {
            const float *row = xb + i * cols;
            for (int64_t c = 0; c < w; c++) {
                uint32_t v = abs_bits(row[c]);
                m[c] = v > m[c] ? v : m[c];
            }
        }
        for (int64_t c = 0; c < w; c++) {
            int64_t s = b * cols + c0 + c;
            scale[c] = slice_scale(m[c], bits, inv + s, amax + s);
            bad += m[c] >= NONFINITE;
            keep[c] = m[c] >= NONFINITE ? 0u : 0xffffffffu; /* non-finite columns read as +0 */
        }
        for (int64_t i = 0; i < k; i++) {
            const float *row = xb + i * cols;
            int64_t base = b * obatch + i * orow + c0;
            if (out.q) {
                double *q = out.q + base;
                for (int64_t c = 0; c < w; c++) q[c] = quantized(row[c], keep[c], scale[c]);
            } else {
                int8_t *h = out.hi + base, *l = out.lo + base;
                for (int64_t c = 0; c < w; c++)
                    store_limbs(quantized(row[c], keep[c], scale[c]), h + c, l + c);
            }
        }
    }
    return bad;
}

/* The ct_limbs_* and ct_quant_* kernels return the number of non-finite slices. */

/* int8 limbs (gemm.limb_stack): rows [rows, k] -> hi/lo at r * orow + i. */
int64_t ct_limbs_rows(const float *x, int64_t rows, int64_t k, int8_t *hi, int8_t *lo, int64_t orow,
                   float *inv, float *amax, int bits, int threads) {
    sink out = {hi, lo, 0};
    return slices_rows(x, rows, k, out, orow, inv, amax, bits, threads);
}

/* int8 limbs per column of [batch, k, cols] -> hi/lo at b * obatch + i * orow + c. */
int64_t ct_limbs_cols(const float *x, int64_t batch, int64_t k, int64_t cols, int8_t *hi, int8_t *lo,
                   int64_t obatch, int64_t orow, float *inv, float *amax, int bits, int threads) {
    sink out = {hi, lo, 0};
    return slices_cols(x, batch, k, cols, out, obatch, orow, inv, amax, bits, threads);
}

/* float64 integers (quantize.quantize, then .double()), laid out like x. */
int64_t ct_quant_rows(const float *x, int64_t rows, int64_t k, double *q, float *inv, float *amax,
                   int bits, int threads) {
    sink out = {0, 0, q};
    return slices_rows(x, rows, k, out, k, inv, amax, bits, threads);
}

int64_t ct_quant_cols(const float *x, int64_t batch, int64_t k, int64_t cols, double *q, float *inv,
                   float *amax, int bits, int threads) {
    sink out = {0, 0, q};
    return slices_cols(x, batch, k, cols, out, k * cols, cols, inv, amax, bits, threads);
}

/* out[b, m, n] = ((float)mid + 256 (float)high) * (inv_a[b, m] * 256) * inv_b[b, n], in that
 * order: the combine of gemm._exact_bmm_chunk (int32 -> float32 rounds to nearest even, as
 * torch's casts). */
void ct_combine(const int32_t *high, const int32_t *mid, int64_t batch, int64_t rows, int64_t cols,
                const float *inv_a, const float *inv_b, float *out, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < batch * rows; r++) {
        float sa = inv_a[r] * 256.0f;
        const float *sb = inv_b + (r / rows) * cols;
        const int32_t *h = high + r * cols, *md = mid + r * cols;
        float *o = out + r * cols;
        for (int64_t c = 0; c < cols; c++) {
            float s = (float)md[c] + 256.0f * (float)h[c];
            o[c] = s * sa * sb[c];
        }
    }
}

/* out[b, m, n] = (float)((prod * (double)inv_a[b, m]) * (double)inv_b[b, n]): the rescale of
 * gemm.exact_bmm_f64 (exact in float64, one rounding to float32). */
void ct_rescale_f64(const double *prod, int64_t batch, int64_t rows, int64_t cols,
                    const float *inv_a, const float *inv_b, float *out, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < batch * rows; r++) {
        double sa = (double)inv_a[r];
        const float *sb = inv_b + (r / rows) * cols;
        const double *p = prod + r * cols;
        float *o = out + r * cols;
        for (int64_t c = 0; c < cols; c++) o[c] = (float)(p[c] * sa * (double)sb[c]);
    }
}
