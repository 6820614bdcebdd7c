/*
 * A minimal gpt2-spec runner in C: the protocol's framing (docs/protocol.md) and one building block,
 * embed: wte[ids] + wpe[pastLength + t], in float64.
 *
 * It says "weights": true in hello, so load carries the checkpoint's tensors in its payload, and it
 * exposes only embed; the harness reports every other method as not exposed.
 *
 *   cc -O2 -std=c11 -Wall -Wextra -o runner runner.c
 *   gpt2-spec check --runner 'cmd:examples/c/runner'
 *
 * A malformed request is answered with an error; a broken frame (bad magic, a short read, an
 * implausible length) leaves the stream out of step, so the runner exits with status 2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER (16u << 20)           /* a request header is small JSON */
#define MAX_PAYLOAD ((uint64_t)1 << 36)  /* 64 GiB: only a corrupt length reaches it */
#define MAX_DEPTH 64                     /* JSON nesting the skipper follows */
#define MAX_DIMS 8

/* ---- framing: "G2SP", u32 header length, u64 payload length, JSON header, payload ------------ */

static uint32_t u32le(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static uint64_t u64le(const unsigned char *b) { return u32le(b) | (uint64_t)u32le(b + 4) << 32; }

static void put_le(unsigned char *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static _Noreturn void broken_frame(const char *why) {
  fprintf(stderr, "runner.c: broken frame: %s\n", why);
  exit(2);
}

static void read_exactly(void *buf, size_t n) {
  if (n && fread(buf, 1, n, stdin) != n) broken_frame("the stream ended inside a frame");
}

/* A payload that does not fit in memory is read and dropped, so the next frame stays in step. */
static void discard(uint64_t n) {
  static unsigned char sink[1 << 16];
  while (n) {
    size_t k = n < sizeof sink ? (size_t)n : sizeof sink;
    read_exactly(sink, k);
    n -= k;
  }
}

typedef struct {
  char *header; /* NUL-terminated */
  size_t header_len;
  unsigned char *payload; /* NULL when it did not fit in memory */
  uint64_t payload_len;
} Frame;

/* Returns 0 at a clean end of input, 1 with a frame. */
static int read_frame(Frame *f) {
  unsigned char prefix[16];
  size_t got = fread(prefix, 1, sizeof prefix, stdin);
  if (got == 0 && feof(stdin)) return 0;
  if (got != sizeof prefix) broken_frame("the stream ended inside a frame prefix");
  if (memcmp(prefix, "G2SP", 4) != 0) broken_frame("bad magic");
  f->header_len = u32le(prefix + 4);
  f->payload_len = u64le(prefix + 8);
  if (f->header_len > MAX_HEADER || f->payload_len > MAX_PAYLOAD) broken_frame("implausible lengths");
  f->header = malloc(f->header_len + 1);
  if (!f->header) broken_frame("no memory for the header");
  read_exactly(f->header, f->header_len);
  f->header[f->header_len] = '\0';
  f->payload = (f->payload_len <= SIZE_MAX) ? malloc(f->payload_len ? (size_t)f->payload_len : 1) : NULL;
  if (f->payload) read_exactly(f->payload, (size_t)f->payload_len);
  else discard(f->payload_len);
  return 1;
}

/* The header is padded with spaces to a multiple of 8 bytes, so the payload starts aligned too. */
static void write_frame(const char *header, const void *payload, uint64_t payload_len) {
  unsigned char prefix[16];
  size_t header_len = strlen(header), pad = (8 - header_len % 8) % 8;
  memcpy(prefix, "G2SP", 4);
  put_le(prefix + 4, header_len + pad, 4);
  put_le(prefix + 8, payload_len, 8);
  if (fwrite(prefix, 1, 16, stdout) != 16 || fwrite(header, 1, header_len, stdout) != header_len ||
      fwrite("        ", 1, pad, stdout) != pad ||
      (payload_len && fwrite(payload, 1, (size_t)payload_len, stdout) != payload_len) || fflush(stdout) != 0) {
    fprintf(stderr, "runner.c: cannot write to stdout\n");
    exit(2);
  }
}

/* ---- a small JSON reader: enough to find a key, read a string, an integer, a tensor ------------ */

typedef struct {
  const char *p, *end;
} Span; /* one JSON value, [p, end) */

static const char *ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* Past a string that starts at p ('"'), or NULL; decodes it into out (up to cap - 1 bytes) when out is set. */
static const char *string_end(const char *p, const char *end, char *out, size_t cap) {
  size_t n = 0;
  int overflow = 0;
  if (p >= end || *p != '"') return NULL;
  for (p++; p < end; p++) {
    char c = *p;
    if (c == '"') {
      if (out) strcpy(out + (overflow ? 0 : n), overflow ? "\x01" : ""); /* too long: matches no key */
      return p + 1;
    }
    if ((unsigned char)c < 0x20) return NULL;
    if (c == '\\') {
      if (++p >= end) return NULL;
      switch (*p) {
        case '"': case '\\': case '/': c = *p; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u':
          for (int i = 1; i <= 4; i++)
            if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
          c = '?'; /* no key this runner reads has an escaped character: it only has to not match */
          p += 4;
          break;
        default: return NULL;
      }
    }
    if (out && n + 1 < cap) out[n++] = c;
    else overflow = 1;
  }
  return NULL;
}

static const char *value_end(const char *p, const char *end, int depth);

static const char *container_end(const char *p, const char *end, int depth, char close) {
  int object = close == '}';
  p = ws(p + 1, end);
  if (p < end && *p == close) return p + 1;
  for (;;) {
    if (object) {
      if (!(p = string_end(p, end, NULL, 0))) return NULL;
      p = ws(p, end);
      if (p >= end || *p != ':') return NULL;
      p = ws(p + 1, end);
    }
    if (!(p = value_end(p, end, depth + 1))) return NULL;
    p = ws(p, end);
    if (p < end && *p == close) return p + 1;
    if (p >= end || *p != ',') return NULL;
    p = ws(p + 1, end);
  }
}

/* Past the JSON value at p, or NULL when it is malformed or nested deeper than MAX_DEPTH. */
static const char *value_end(const char *p, const char *end, int depth) {
  if (depth > MAX_DEPTH || p >= end) return NULL;
  if (*p == '{') return container_end(p, end, depth, '}');
  if (*p == '[') return container_end(p, end, depth, ']');
  if (*p == '"') return string_end(p, end, NULL, 0);
  static const char *const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0) return p + n;
  }
  const char *q = p;
  if (q < end && *q == '-') q++;
  if (q >= end || *q < '0' || *q > '9') return NULL;
  while (q < end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) q++;
  return q;
}

/* The value of key in the object v, or an empty span (p == NULL). */
static Span member(Span v, const char *key) {
  Span none = {NULL, NULL};
  const char *p = v.p, *end = v.end;
  if (!p || p >= end || *p != '{') return none;
  p = ws(p + 1, end);
  while (p < end && *p == '"') {
    char name[128];
    if (!(p = string_end(p, end, name, sizeof name))) return none;
    p = ws(p, end);
    if (p >= end || *p != ':') return none;
    p = ws(p + 1, end);
    const char *stop = value_end(p, end, 1);
    if (!stop) return none;
    if (strcmp(name, key) == 0) return (Span){p, stop};
    p = ws(stop, end);
    if (p < end && *p == ',') p = ws(p + 1, end);
  }
  return none;
}

/* A whole number in [0, 2^53] (what a JSON writer sends exactly); 0 on success. */
static int as_count(Span v, uint64_t *out) {
  uint64_t n = 0;
  if (!v.p || v.p >= v.end) return -1;
  for (const char *p = v.p; p < v.end; p++) {
    if (*p < '0' || *p > '9' || n > ((uint64_t)1 << 53) / 10) return -1;
    n = n * 10 + (uint64_t)(*p - '0');
  }
  *out = n;
  return 0;
}

static int is_string(Span v, const char *s) {
  char buf[64];
  return v.p && string_end(v.p, v.end, buf, sizeof buf) == v.end && strcmp(buf, s) == 0;
}

/* ---- tensors: {dtype, shape, offset} into the payload ----------------------------------------- */

typedef struct {
  int dtype; /* 0 float32, 1 float64, 2 int32 */
  int ndim;
  uint64_t shape[MAX_DIMS];
  uint64_t count;
  const unsigned char *data;
} Tensor;

static const char *const DTYPES[] = {"float32", "float64", "int32"};
static const size_t DTYPE_SIZE[] = {4, 8, 4};

/* 0 on success; otherwise why points at the reason. */
static int as_tensor(Span v, const Frame *f, Tensor *t, const char **why) {
  Span shape = member(v, "shape"), offset_span = member(v, "offset"), dtype = member(v, "dtype");
  uint64_t offset;
  *why = "expected a tensor {dtype, shape, offset}";
  if (!shape.p || !offset_span.p || !dtype.p) return -1;
  t->dtype = -1;
  for (int i = 0; i < 3; i++)
    if (is_string(dtype, DTYPES[i])) t->dtype = i;
  if (t->dtype < 0 || as_count(offset_span, &offset) || offset % 8) return -1;
  const char *p = ws(shape.p + 1, shape.end);
  t->ndim = 0;
  t->count = 1;
  if (*shape.p != '[') return -1;
  while (p < shape.end && *p != ']') {
    const char *stop = p;
    while (stop < shape.end && *stop >= '0' && *stop <= '9') stop++;
    if (t->ndim == MAX_DIMS || as_count((Span){p, stop}, &t->shape[t->ndim])) return -1;
    if (t->shape[t->ndim] && t->count > ((uint64_t)1 << 40) / t->shape[t->ndim]) return -1;
    t->count *= t->shape[t->ndim++];
    p = ws(stop, shape.end);
    if (p < shape.end && *p == ',') p = ws(p + 1, shape.end);
  }
  *why = "the tensor runs past the payload";
  if (!f->payload || offset > f->payload_len || t->count * DTYPE_SIZE[t->dtype] > f->payload_len - offset) return -1;
  t->data = f->payload + offset;
  return 0;
}

static double element(const Tensor *t, uint64_t i) {
  if (t->dtype == 0) {
    float x;
    memcpy(&x, t->data + 4 * i, 4);
    return x;
  }
  double x;
  memcpy(&x, t->data + 8 * i, 8);
  return x;
}

static int32_t id_at(const Tensor *t, uint64_t i) {
  int32_t x;
  memcpy(&x, t->data + 4 * i, 4);
  return x;
}

/* ---- the model: wte [V, D] and wpe [P, D], as float64 ----------------------------------------- */

static struct {
  double *wte, *wpe;
  uint64_t V, P, D;
} model;

static void dispose(void) {
  free(model.wte);
  free(model.wpe);
  memset(&model, 0, sizeof model);
}

static double *widen(const Tensor *t) {
  double *out = malloc(t->count ? t->count * sizeof(double) : 1);
  if (out)
    for (uint64_t i = 0; i < t->count; i++) out[i] = element(t, i);
  return out;
}

/* ---- answers ----------------------------------------------------------------------------------- */

static char id_text[80]; /* the request's id, copied as raw JSON (it was checked by value_end) */

static void answer(const char *result, const void *payload, uint64_t payload_len) {
  char header[512];
  snprintf(header, sizeof header, "{\"id\":%s,\"result\":%s}", id_text, result);
  write_frame(header, payload, payload_len);
}

/* Messages are this file's own text and numbers: nothing in them needs escaping. Returns 0, so a
 * handler can answer and leave in one statement. */
static int fail(const char *name, const char *message) {
  char header[512];
  snprintf(header, sizeof header, "{\"id\":%s,\"error\":{\"name\":\"%s\",\"message\":\"%s\"}}", id_text, name, message);
  write_frame(header, NULL, 0);
  return 0;
}

static void hello(void) {
  answer("{\"protocol\":1,\"name\":\"c-embed\",\"backend\":\"c11 float64\",\"exposes\":[\"embed\"],\"weights\":true}", NULL, 0);
}

static int weight(Span weights, const char *name, const Frame *f, Tensor *t) {
  const char *why;
  Span v = member(weights, name);
  return v.p && !as_tensor(v, f, t, &why) && t->ndim == 2 && t->dtype != 2 ? 0 : -1;
}

static void load(Span params, const Frame *f) {
  Tensor wte, wpe;
  Span weights = member(params, "weights");
  dispose();
  if (weight(weights, "wte.weight", f, &wte) || weight(weights, "wpe.weight", f, &wpe) || wte.shape[1] != wpe.shape[1]) {
    fail("CheckpointError", "load: expected float tensors wte.weight [V,D] and wpe.weight [P,D] in params.weights");
    return;
  }
  model.wte = widen(&wte);
  model.wpe = widen(&wpe);
  if (!model.wte || !model.wpe) {
    dispose();
    fail("MemoryError", "load: no memory for wte and wpe");
    return;
  }
  model.V = wte.shape[0];
  model.P = wpe.shape[0];
  model.D = wte.shape[1];
  answer("{}", NULL, 0);
}

static int embed(Span params, const Frame *f) {
  Tensor ids;
  const char *why;
  uint64_t past = 0;
  char message[200];
  Span past_span = member(params, "pastLength");
  if (!model.wte) return fail("RunnerStateError", "embed called before load");
  if (as_tensor(member(params, "ids"), f, &ids, &why)) return fail("ShapeError", why);
  if (ids.dtype != 2 || ids.ndim != 2 || ids.shape[0] < 1 || ids.shape[1] < 1)
    return fail("ShapeError", "ids: expected an int32 tensor of shape [B,T] with B, T >= 1");
  if (past_span.p && as_count(past_span, &past)) return fail("ShapeError", "pastLength must be a whole number >= 0");
  uint64_t B = ids.shape[0], T = ids.shape[1], D = model.D;
  if (past + T > model.P) {
    snprintf(message, sizeof message, "sequence too long: %llu cached + %llu tokens > n_positions %llu",
             (unsigned long long)past, (unsigned long long)T, (unsigned long long)model.P);
    return fail("SequenceTooLongError", message);
  }
  for (uint64_t i = 0; i < ids.count; i++) {
    int32_t id = id_at(&ids, i);
    if (id < 0 || (uint64_t)id >= model.V) {
      snprintf(message, sizeof message, "token id %ld at [%llu,%llu] is outside 0..%llu", (long)id,
               (unsigned long long)(i / T), (unsigned long long)(i % T), (unsigned long long)(model.V - 1));
      return fail("TokenIdError", message);
    }
  }
  if (B * T > SIZE_MAX / sizeof(double) / (D ? D : 1)) return fail("MemoryError", "embed: the output does not fit in memory");
  double *out = malloc(B * T * D * sizeof(double) + 1); /* [B,T] -> [B,T,D] */
  if (!out) return fail("MemoryError", "embed: no memory for the output");
  for (uint64_t i = 0; i < B * T; i++) {
    const double *token = model.wte + (uint64_t)id_at(&ids, i) * D, *position = model.wpe + (past + i % T) * D;
    for (uint64_t d = 0; d < D; d++) out[i * D + d] = token[d] + position[d];
  }
  char result[160];
  snprintf(result, sizeof result, "{\"output\":{\"dtype\":\"float64\",\"shape\":[%llu,%llu,%llu],\"offset\":0}}",
           (unsigned long long)B, (unsigned long long)T, (unsigned long long)D);
  answer(result, out, B * T * D * sizeof(double));
  free(out);
  return 0;
}

/* Answers one request; returns 1 after shutdown. */
static int handle(const Frame *f) {
  Span header = {f->header, f->header + f->header_len};
  const char *start = ws(header.p, header.end);
  const char *stop = value_end(start, header.end, 0);
  strcpy(id_text, "null");
  if (!stop || *start != '{' || ws(stop, header.end) != header.end) {
    fail("ProtocolError", "the header is not one JSON object");
    return 0;
  }
  header.p = start;
  Span id = member(header, "id"), method = member(header, "method"), params = member(header, "params");
  if (id.p && (size_t)(id.end - id.p) < sizeof id_text) {
    memcpy(id_text, id.p, (size_t)(id.end - id.p));
    id_text[id.end - id.p] = '\0';
  }
  if (is_string(method, "hello")) hello();
  else if (is_string(method, "load")) load(params, f);
  else if (is_string(method, "embed")) embed(params, f);
  else if (is_string(method, "dispose")) dispose(), answer("{}", NULL, 0);
  else if (is_string(method, "shutdown")) return answer("{}", NULL, 0), 1;
  else if (method.p && *method.p == '"') fail("NotExposedError", "c-embed exposes embed only");
  else fail("ProtocolError", "a request needs a string method");
  return 0;
}

int main(void) {
  const uint16_t one = 1;
  if (*(const unsigned char *)&one != 1) broken_frame("this runner reads tensors in place and needs a little-endian host");
  Frame f;
  while (read_frame(&f)) {
    int stop = handle(&f);
    free(f.header);
    free(f.payload);
    if (stop) break;
  }
  dispose();
  return 0;
}
