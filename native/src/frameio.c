/*
 * uvs_frameio: raw frame I/O for uvs over AF_PACKET (TPACKET_V3 rings, or TPACKET_V2 for
 * a wakeup per frame), plus gratuitous ARP.
 *
 * Plain N-API (node_api.h). This shim only opens/configures sockets, maps the rings and
 * makes the few syscalls the hot path needs (poll, send-to-flush, recv of a V2 frame too big
 * for its slot). It never parses packets:
 * the JS side reads and writes ring headers and frames directly through the external
 * ArrayBuffers returned by open(). The one piece of frame building here is gratuitous ARP.
 *
 * Every failing syscall throws an Error with: code (errno name, e.g. "ENODEV"), errno
 * (number), syscall (e.g. "setsockopt(PACKET_RX_RING)"), reason (strerror), ifname (when
 * known) and detail (when the shim has more to say).
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

/* <net/if.h> must precede the <linux/...> headers (libc-compat guards). */
#include <net/if.h>
#include <net/if_arp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TP_STATUS_GSO_TCP
#define TP_STATUS_GSO_TCP (1 << 8)
#endif

#define VNET_HDR_LEN 10 /* sizeof(struct virtio_net_hdr) */
#define MAX_BPF_INSNS 4096 /* BPF_MAXINSNS */

/* Defaults (documented in docs/frame-io.md and mirrored by src/frameio/). */
#define DEF_RX_BLOCK_SIZE (1u << 20) /* 1 MiB: a 64 KiB GSO super-frame always fits */
#define DEF_RX_BLOCK_COUNT 8u
#define DEF_RX_FRAME_SIZE 2048u
#define DEF_RX_RETIRE_MS 2u
#define DEF_RX_VERSION 3u /* TPACKET_V3 blocks; 2 = TPACKET_V2 fixed frames (per-frame wakeups) */
#define DEF_TX_FRAME_SIZE 2048u
#define DEF_TX_FRAME_COUNT 256u

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                */

static const char *errno_name(int err) {
  const char *n = strerrorname_np(err);
  return n ? n : "EUNKNOWN";
}

/* Throws Error(message) with code/errno/syscall/ifname. Always returns NULL. */
static napi_value throw_sys(napi_env env, int err, const char *syscall, const char *ifname,
                            const char *detail) {
  char msg[512];
  if (detail && *detail)
    snprintf(msg, sizeof msg, "%s failed%s%s: %s (%s): %s", syscall, ifname ? " on " : "",
             ifname ? ifname : "", strerror(err), errno_name(err), detail);
  else
    snprintf(msg, sizeof msg, "%s failed%s%s: %s (%s)", syscall, ifname ? " on " : "",
             ifname ? ifname : "", strerror(err), errno_name(err));
  napi_value code, message, error, v;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "reason", v);
  if (detail && *detail) {
    napi_create_string_utf8(env, detail, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "detail", v);
  }
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  if (ifname) {
    napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "ifname", v);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_arg(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

#define NAPI_OK(call)                                                                  \
  do {                                                                                 \
    if ((call) != napi_ok) {                                                           \
      const napi_extended_error_info *info_ = NULL;                                    \
      bool pending_ = false;                                                           \
      napi_get_last_error_info(env, &info_);                                           \
      napi_is_exception_pending(env, &pending_);                                       \
      if (!pending_)                                                                   \
        napi_throw_error(env, "ERR_NAPI",                                              \
                         info_ && info_->error_message ? info_->error_message          \
                                                       : "N-API call failed");         \
      return NULL;                                                                     \
    }                                                                                  \
  } while (0)

/* ------------------------------------------------------------------------------------ */
/* Argument helpers                                                                      */

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  for (size_t i = 0; i < want; i++) argv[i] = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (size_t i = argc; i < want; i++) argv[i] = undef;
  return true;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

/* Reads a string argument into buf; false (with a pending exception) on error. */
static bool get_str(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    char m[128];
    snprintf(m, sizeof m, "%s must be a string", what);
    throw_arg(env, m);
    return false;
  }
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return false;
  if (len >= size - 1) {
    char m[128];
    snprintf(m, sizeof m, "%s is too long", what);
    throw_arg(env, m);
    return false;
  }
  return true;
}

static bool get_ifname(napi_env env, napi_value v, char ifname[IF_NAMESIZE + 1]) {
  if (!get_str(env, v, ifname, IF_NAMESIZE + 1, "ifname")) return false;
  if (ifname[0] == 0 || strlen(ifname) >= IF_NAMESIZE) {
    throw_arg(env, "ifname must be 1..15 characters");
    return false;
  }
  return true;
}

static bool get_int(napi_env env, napi_value v, int64_t *out, const char *what) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int64_t)d) {
    char m[128];
    snprintf(m, sizeof m, "%s must be an integer", what);
    throw_arg(env, m);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool get_fd(napi_env env, napi_value v, int *fd) {
  int64_t x;
  if (!get_int(env, v, &x, "fd")) return false;
  if (x < 0 || x > INT32_MAX) {
    throw_arg(env, "fd must be a non-negative integer");
    return false;
  }
  *fd = (int)x;
  return true;
}

/* Optional object property: missing/undefined/null -> keeps *out (the default). */
static bool opt_u32(napi_env env, napi_value obj, const char *name, uint32_t *out) {
  bool has = false;
  napi_value v;
  if (!obj) return true;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  if (is_nullish(env, v)) return true;
  int64_t x;
  if (!get_int(env, v, &x, name)) return false;
  if (x < 0 || x > UINT32_MAX) {
    char m[128];
    snprintf(m, sizeof m, "%s must be an integer in 0..4294967295", name);
    throw_arg(env, m);
    return false;
  }
  *out = (uint32_t)x;
  return true;
}

static bool opt_bool(napi_env env, napi_value obj, const char *name, bool *out) {
  bool has = false;
  napi_value v;
  if (!obj) return true;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  if (is_nullish(env, v)) return true;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_boolean) {
    char m[128];
    snprintf(m, sizeof m, "%s must be a boolean", name);
    throw_arg(env, m);
    return false;
  }
  return napi_get_value_bool(env, v, out) == napi_ok;
}

/*
 * Classic BPF program from JS: a Uint32Array with two words per instruction:
 *   word 0 = code | jt << 16 | jf << 24,  word 1 = k.
 * On success *insns is malloc'ed (caller frees).
 */
static bool get_program(napi_env env, napi_value v, struct sock_filter **insns, unsigned *count) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    throw_arg(env, "BPF program must be a Uint32Array (2 words per instruction)");
    return false;
  }
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok)
    return false;
  if (type != napi_uint32_array || length == 0 || (length & 1) ||
      length / 2 > MAX_BPF_INSNS) {
    throw_arg(env, "BPF program must be a non-empty Uint32Array of 2*n words, n <= 4096");
    return false;
  }
  unsigned n = (unsigned)(length / 2);
  const uint32_t *w = data;
  struct sock_filter *f = calloc(n, sizeof *f);
  if (!f) {
    throw_sys(env, ENOMEM, "malloc", NULL, NULL);
    return false;
  }
  for (unsigned i = 0; i < n; i++) {
    f[i].code = (uint16_t)(w[2 * i] & 0xffff);
    f[i].jt = (uint8_t)((w[2 * i] >> 16) & 0xff);
    f[i].jf = (uint8_t)((w[2 * i] >> 24) & 0xff);
    f[i].k = w[2 * i + 1];
  }
  *insns = f;
  *count = n;
  return true;
}

static void set_num(napi_env env, napi_value obj, const char *name, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  napi_set_named_property(env, obj, name, v);
}

static void set_str(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, name, v);
}

static void set_bool(napi_env env, napi_value obj, const char *name, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  napi_set_named_property(env, obj, name, v);
}

/* ------------------------------------------------------------------------------------ */
/* Ring mappings                                                                         */
/*
 * One mmap per socket covers the RX ring followed by the TX ring. Each part is exposed as
 * an external ArrayBuffer. Ownership: the mapping is referenced by the open socket (until
 * close) and by each ArrayBuffer (until its finalizer runs). close() detaches the buffers
 * (when called from the environment that created them) and unmaps right away; a buffer
 * finalizer never unmaps a mapping that is still open, and nothing is unmapped twice.
 * The table is process-wide (fds are) and shared by worker threads, hence the mutex.
 */
typedef struct mapping {
  int fd;           /* -1 once closed */
  void *base;       /* NULL once unmapped */
  size_t len;
  size_t rx_len;    /* the RX ring is [0, rx_len), the TX ring [rx_len, len) */
  int holders;      /* open socket + live ArrayBuffers */
  napi_env env;     /* environment that owns the ArrayBuffers */
  napi_ref rx_ref;  /* weak references, for detaching at close */
  napi_ref tx_ref;
} mapping;

typedef struct buffer_hint {
  mapping *m;
  int which; /* 0 = rx, 1 = tx */
} buffer_hint;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping **table;
static size_t table_cap;

static bool table_put(int fd, mapping *m) {
  if ((size_t)fd >= table_cap) {
    size_t cap = table_cap ? table_cap : 64;
    while (cap <= (size_t)fd) cap *= 2;
    mapping **t = realloc(table, cap * sizeof *t);
    if (!t) return false;
    memset(t + table_cap, 0, (cap - table_cap) * sizeof *t);
    table = t;
    table_cap = cap;
  }
  table[fd] = m;
  return true;
}

static mapping *table_take(int fd) {
  mapping *m = NULL;
  if (fd >= 0 && (size_t)fd < table_cap) {
    m = table[fd];
    table[fd] = NULL;
  }
  return m;
}

/* Drops one holder; frees the record (unmapping if still mapped) when none remain.
 * Called with table_lock held. */
static void mapping_release_locked(mapping *m) {
  if (--m->holders > 0) return;
  if (m->base) munmap(m->base, m->len);
  free(m);
}

static void buffer_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  buffer_hint *h = hint;
  mapping *m = h->m;
  pthread_mutex_lock(&table_lock);
  napi_ref *ref = h->which ? &m->tx_ref : &m->rx_ref;
  if (*ref && env == m->env) {
    napi_delete_reference(env, *ref);
    *ref = NULL;
  }
  /* If the socket is still open the mapping stays (another holder remains). */
  mapping_release_locked(m);
  pthread_mutex_unlock(&table_lock);
  free(h);
}

static napi_value make_ring_buffer(napi_env env, mapping *m, int which, void *addr, size_t len,
                                   napi_ref *ref_out) {
  buffer_hint *h = malloc(sizeof *h);
  if (!h) return throw_sys(env, ENOMEM, "malloc", NULL, NULL);
  h->m = m;
  h->which = which;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, len, buffer_finalize, h, &ab) != napi_ok) {
    free(h);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending)
      napi_throw_error(env, "ERR_NAPI",
                       "napi_create_external_arraybuffer failed (external buffers disabled?)");
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  m->holders++;
  pthread_mutex_unlock(&table_lock);
  napi_create_reference(env, ab, 0, ref_out);
  return ab;
}

static void detach_ref(napi_env env, napi_ref ref) {
  napi_value ab = NULL;
  if (ref && napi_get_reference_value(env, ref, &ab) == napi_ok && ab) {
    bool detached = true;
    if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached)
      napi_detach_arraybuffer(env, ab);
  }
}

/* Closes a socket opened by Open(). Returns 1 when closed, 0 when the fd is not one of
 * ours (never closes a foreign, possibly reused fd), -errno when close(2) failed. */
static int close_socket(napi_env env, int fd) {
  pthread_mutex_lock(&table_lock);
  mapping *m = table_take(fd);
  if (!m) {
    pthread_mutex_unlock(&table_lock);
    return 0;
  }
  bool same_env = (m->env == env);
  napi_ref rx_ref = m->rx_ref, tx_ref = m->tx_ref;
  pthread_mutex_unlock(&table_lock);

  /* Detach first so no JS view can reach the memory, then unmap. From another
   * environment we cannot detach: the unmap then waits for the buffers' finalizers. */
  if (same_env) {
    detach_ref(env, rx_ref);
    detach_ref(env, tx_ref);
  }
  pthread_mutex_lock(&table_lock);
  if (same_env && m->base) {
    munmap(m->base, m->len);
    m->base = NULL;
  }
  m->fd = -1;
  mapping_release_locked(m);
  pthread_mutex_unlock(&table_lock);
  if (close(fd) < 0 && errno != EINTR) return -errno;
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* open                                                                                  */

static uint32_t next_pow2(uint32_t x) {
  uint32_t p = 1;
  while (p < x && p < (1u << 31)) p <<= 1;
  return p;
}

static int set_int_opt(int fd, int level, int name, int val) {
  return setsockopt(fd, level, name, &val, sizeof val);
}

static napi_value Open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char ifname[IF_NAMESIZE + 1];
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_ifname(env, argv[0], ifname)) return NULL;
  napi_value opts = is_nullish(env, argv[1]) ? NULL : argv[1];

  uint32_t protocol = ETH_P_ALL;
  bool vnet = false, ignore_outgoing = false, qdisc_bypass = false, tx_loss = true,
       rx_hash = false, rx_spill = false;
  uint32_t rx_version = DEF_RX_VERSION;
  uint32_t rx_block_size = DEF_RX_BLOCK_SIZE, rx_block_count = DEF_RX_BLOCK_COUNT,
           rx_frame_size = DEF_RX_FRAME_SIZE, rx_retire = DEF_RX_RETIRE_MS;
  uint32_t tx_frame_size = DEF_TX_FRAME_SIZE, tx_frame_count = DEF_TX_FRAME_COUNT,
           tx_block_size = 0;
  uint32_t sndbuf = 0, rcvbuf = 0;
  if (!opt_u32(env, opts, "protocol", &protocol) || !opt_bool(env, opts, "vnetHdr", &vnet) ||
      !opt_bool(env, opts, "ignoreOutgoing", &ignore_outgoing) ||
      !opt_bool(env, opts, "qdiscBypass", &qdisc_bypass) ||
      !opt_bool(env, opts, "txLoss", &tx_loss) || !opt_bool(env, opts, "rxHash", &rx_hash) ||
      !opt_u32(env, opts, "rxBlockSize", &rx_block_size) ||
      !opt_u32(env, opts, "rxBlockCount", &rx_block_count) ||
      !opt_u32(env, opts, "rxFrameSize", &rx_frame_size) ||
      !opt_u32(env, opts, "rxRetireTimeoutMs", &rx_retire) ||
      !opt_u32(env, opts, "rxVersion", &rx_version) ||
      !opt_bool(env, opts, "rxSpill", &rx_spill) ||
      !opt_u32(env, opts, "txFrameSize", &tx_frame_size) ||
      !opt_u32(env, opts, "txFrameCount", &tx_frame_count) ||
      !opt_u32(env, opts, "txBlockSize", &tx_block_size) ||
      !opt_u32(env, opts, "sendBufferSize", &sndbuf) ||
      !opt_u32(env, opts, "receiveBufferSize", &rcvbuf))
    return NULL;
  if (protocol > 0xffff) return throw_arg(env, "protocol must be a 16-bit EtherType");
  if (rx_version != 2 && rx_version != 3) return throw_arg(env, "rxVersion must be 2 or 3");
  if (rx_spill && rx_version != 2) return throw_arg(env, "rxSpill needs rxVersion 2");

  struct sock_filter *filter = NULL;
  unsigned filter_len = 0;
  if (opts) {
    bool has = false;
    napi_value fv;
    napi_has_named_property(env, opts, "filter", &has);
    if (has && napi_get_named_property(env, opts, "filter", &fv) == napi_ok &&
        !is_nullish(env, fv)) {
      if (!get_program(env, fv, &filter, &filter_len)) return NULL;
    }
  }

  const long page = sysconf(_SC_PAGESIZE);
  const uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)page;

  /* Ring sizes are checked against physical memory before asking the kernel: an absurd
   * request would otherwise make the kernel allocate block after block until it runs out. */
  uint64_t rx_bytes = (uint64_t)rx_block_size * rx_block_count;
  if (rx_block_count && rx_bytes > phys / 2) {
    free(filter);
    char d[160];
    snprintf(d, sizeof d, "RX ring of %llu bytes (%u blocks of %u) exceeds half of physical memory",
             (unsigned long long)rx_bytes, rx_block_count, rx_block_size);
    return throw_sys(env, ENOMEM, "setsockopt(PACKET_RX_RING)", ifname, d);
  }

  /* TX ring geometry: fixed-size frames packed into blocks (frames never cross a block). */
  uint32_t tx_fpb = 0, tx_block_count = 0;
  if (tx_frame_count) {
    if (!tx_block_size) {
      tx_block_size = next_pow2(tx_frame_size);
      if (tx_block_size < (uint32_t)page) tx_block_size = (uint32_t)page;
      if (tx_frame_size >= 8192 && tx_block_size < (1u << 20)) tx_block_size = 1u << 20;
    }
    tx_fpb = tx_frame_size ? tx_block_size / tx_frame_size : 0;
    if (tx_fpb) {
      tx_block_count = (tx_frame_count + tx_fpb - 1) / tx_fpb;
      tx_frame_count = tx_block_count * tx_fpb;
    }
    uint64_t tx_bytes = (uint64_t)tx_block_size * tx_block_count;
    if (tx_bytes > phys / 2) {
      free(filter);
      char d[160];
      snprintf(d, sizeof d, "TX ring of %llu bytes exceeds half of physical memory",
               (unsigned long long)tx_bytes);
      return throw_sys(env, ENOMEM, "setsockopt(PACKET_TX_RING)", ifname, d);
    }
  }

  unsigned ifindex = if_nametoindex(ifname);
  if (!ifindex) {
    int e = errno;
    free(filter);
    return throw_sys(env, e == ENXIO ? ENODEV : e, "if_nametoindex", ifname, NULL);
  }

  /* Protocol 0 at socket(): nothing is queued before the filter and rings are in place;
   * bind() at the end sets the real protocol. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    free(filter);
    return throw_sys(env, e, "socket(AF_PACKET)", ifname, NULL);
  }

  const char *failed = NULL;
  int err = 0;
#define TRY(expr, name)      \
  do {                       \
    if ((expr) < 0) {        \
      err = errno;           \
      failed = name;         \
      goto fail;             \
    }                        \
  } while (0)

  /* The version applies to both rings: with V2 the TX slots carry a tpacket2_hdr too. */
  TRY(set_int_opt(fd, SOL_PACKET, PACKET_VERSION, rx_version == 2 ? TPACKET_V2 : TPACKET_V3),
      "setsockopt(PACKET_VERSION)");
  /* V2 spill: a frame too big for its ring slot is also queued whole to the socket's
   * receive queue (the slot says TP_STATUS_COPY); recvSpill() reads it. */
  if (rx_spill)
    TRY(set_int_opt(fd, SOL_PACKET, PACKET_COPY_THRESH, 1), "setsockopt(PACKET_COPY_THRESH)");
  if (vnet) TRY(set_int_opt(fd, SOL_PACKET, PACKET_VNET_HDR, 1), "setsockopt(PACKET_VNET_HDR)");
  if (ignore_outgoing)
    TRY(set_int_opt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1),
        "setsockopt(PACKET_IGNORE_OUTGOING)");
  if (qdisc_bypass)
    TRY(set_int_opt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1), "setsockopt(PACKET_QDISC_BYPASS)");
  if (tx_frame_count && tx_loss)
    TRY(set_int_opt(fd, SOL_PACKET, PACKET_LOSS, 1), "setsockopt(PACKET_LOSS)");
  if (sndbuf) {
    if (set_int_opt(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)sndbuf) < 0)
      TRY(set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, (int)sndbuf), "setsockopt(SO_SNDBUF)");
  }
  if (rcvbuf) {
    if (set_int_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, (int)rcvbuf) < 0)
      TRY(set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, (int)rcvbuf), "setsockopt(SO_RCVBUF)");
  }
  if (filter) {
    struct sock_fprog prog = {.len = (unsigned short)filter_len, .filter = filter};
    TRY(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog),
        "setsockopt(SO_ATTACH_FILTER)");
  }

  /* po->tp_hdrlen (getsockopt(PACKET_HDRLEN) would report only the header struct, not
   * the sockaddr_ll that follows it). */
  const int tp_hdrlen = rx_version == 2 ? (int)TPACKET2_HDRLEN : (int)TPACKET3_HDRLEN;

  size_t rx_len = 0, tx_len = 0;
  uint32_t rx_frame_count = 0;
  if (rx_block_count) {
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = rx_block_size;
    req.tp_block_nr = rx_block_count;
    req.tp_frame_size = rx_frame_size;
    rx_frame_count = rx_frame_size ? (uint32_t)((uint64_t)(rx_block_size / rx_frame_size) *
                                                rx_block_count)
                                   : 0;
    req.tp_frame_nr = rx_frame_count;
    if (rx_version == 3) {
      req.tp_retire_blk_tov = rx_retire;
      req.tp_feature_req_word = rx_hash ? TP_FT_REQ_FILL_RXHASH : 0;
    }
    /* V2 reads a struct tpacket_req, the first four fields of tpacket_req3. */
    TRY(setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req,
                   rx_version == 2 ? sizeof(struct tpacket_req) : sizeof req),
        "setsockopt(PACKET_RX_RING)");
    rx_len = (size_t)rx_block_size * rx_block_count;
  }
  if (tx_frame_count) {
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = tx_block_size;
    req.tp_block_nr = tx_block_count;
    req.tp_frame_size = tx_frame_size;
    req.tp_frame_nr = tx_frame_count;
    TRY(setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req,
                   rx_version == 2 ? sizeof(struct tpacket_req) : sizeof req),
        "setsockopt(PACKET_TX_RING)");
    tx_len = (size_t)tx_block_size * tx_block_count;
  }

  void *base = NULL;
  if (rx_len + tx_len) {
    base = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      base = NULL;
      TRY(-1, "mmap");
    }
  }

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)protocol);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    err = errno;
    failed = "bind";
    if (base) munmap(base, rx_len + tx_len);
    goto fail;
  }
  free(filter);
  filter = NULL;

  mapping *m = calloc(1, sizeof *m);
  if (!m) {
    if (base) munmap(base, rx_len + tx_len);
    err = ENOMEM;
    failed = "malloc";
    goto fail;
  }
  m->fd = fd;
  m->base = base;
  m->len = rx_len + tx_len;
  m->rx_len = rx_len;
  m->holders = 1; /* the open socket */
  m->env = env;
  pthread_mutex_lock(&table_lock);
  bool ok = table_put(fd, m);
  pthread_mutex_unlock(&table_lock);
  if (!ok) {
    if (base) munmap(base, rx_len + tx_len);
    free(m);
    err = ENOMEM;
    failed = "malloc";
    goto fail;
  }

  napi_value result, rx_ab, tx_ab;
  NAPI_OK(napi_create_object(env, &result));
  if (rx_len) {
    rx_ab = make_ring_buffer(env, m, 0, base, rx_len, &m->rx_ref);
    if (!rx_ab) {
      close_socket(env, fd);
      return NULL;
    }
  } else {
    napi_get_null(env, &rx_ab);
  }
  if (tx_len) {
    tx_ab = make_ring_buffer(env, m, 1, (char *)base + rx_len, tx_len, &m->tx_ref);
    if (!tx_ab) {
      close_socket(env, fd);
      return NULL;
    }
  } else {
    napi_get_null(env, &tx_ab);
  }
  set_num(env, result, "fd", fd);
  set_num(env, result, "ifindex", ifindex);
  set_str(env, result, "ifname", ifname);
  set_num(env, result, "protocol", protocol);
  set_bool(env, result, "vnetHdr", vnet);
  set_num(env, result, "vnetHdrLength", vnet ? VNET_HDR_LEN : 0);
  set_num(env, result, "tpVersion", rx_version);
  set_bool(env, result, "rxSpill", rx_spill);
  set_num(env, result, "tpHdrLen", tp_hdrlen);
  /* Where tpacket_snd() looks for frame data (no PACKET_TX_HAS_OFF). */
  set_num(env, result, "txDataOffset", tp_hdrlen - (int)sizeof(struct sockaddr_ll));
  napi_set_named_property(env, result, "rxRing", rx_ab);
  set_num(env, result, "rxBlockSize", rx_len ? rx_block_size : 0);
  set_num(env, result, "rxBlockCount", rx_len ? rx_block_count : 0);
  set_num(env, result, "rxFrameSize", rx_len ? rx_frame_size : 0);
  set_num(env, result, "rxFrameCount", rx_len ? rx_frame_count : 0);
  set_num(env, result, "rxRetireTimeoutMs", rx_len && rx_version == 3 ? rx_retire : 0);
  set_num(env, result, "rxFramesPerBlock",
          rx_len && rx_frame_size ? rx_block_size / rx_frame_size : 0);
  napi_set_named_property(env, result, "txRing", tx_ab);
  set_num(env, result, "txFrameSize", tx_len ? tx_frame_size : 0);
  set_num(env, result, "txFrameCount", tx_len ? tx_frame_count : 0);
  set_num(env, result, "txBlockSize", tx_len ? tx_block_size : 0);
  set_num(env, result, "txBlockCount", tx_len ? tx_block_count : 0);
  set_num(env, result, "txFramesPerBlock", tx_len ? tx_fpb : 0);
  return result;

fail:
  free(filter);
  close(fd);
  return throw_sys(env, err, failed, ifname, NULL);
#undef TRY
}

/* ------------------------------------------------------------------------------------ */
/* Combined view of several sockets' rings                                                */
/*
 * A datapath worker copies every frame from one socket's RX ring into another socket's TX
 * ring. With each ring in its own ArrayBuffer that copy needs a fresh view object per
 * frame in JS; mapped side by side in ONE ArrayBuffer it is a plain copyWithin (memmove).
 * mapCombined(fds) reserves one region and maps every socket's rings into it again
 * (MAP_FIXED over a reservation; a packet socket may be mapped more than once, and the
 * ring pages stay alive while any mapping holds them, even after the socket closes).
 * Returns { buffer, offsets } with offsets[2i] / offsets[2i+1] = where socket i's RX / TX
 * ring starts (-1 when it has none). The buffer is unmapped when released
 * (releaseCombined(buffer): detached first) or when it is garbage collected.
 */
typedef struct combined {
  void *base;
  size_t len;
} combined;

static void combined_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  combined *c = hint;
  if (c->base) munmap(c->base, c->len);
  free(c);
}

static napi_value MapCombined(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (!is_ta) return throw_arg(env, "fds must be an Int32Array");
  napi_get_typedarray_info(env, argv[0], &type, &count, &data, NULL, NULL);
  if (type != napi_int32_array || count == 0 || count > 64) return throw_arg(env, "fds must be an Int32Array of 1..64 fds");
  const int32_t *fds = data;
  size_t lens[64], rx_lens[64], total = 0;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < count; i++) {
    mapping *m = (fds[i] >= 0 && (size_t)fds[i] < table_cap) ? table[fds[i]] : NULL;
    if (!m || !m->base) {
      pthread_mutex_unlock(&table_lock);
      return throw_arg(env, "mapCombined: every fd must be an open frame socket with rings");
    }
    lens[i] = m->len;
    rx_lens[i] = m->rx_len;
    total += m->len;
  }
  pthread_mutex_unlock(&table_lock);
  void *base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return throw_sys(env, errno, "mmap(reserve)", NULL, NULL);
  napi_value offsets;
  napi_value ab_off;
  void *off_data = NULL;
  NAPI_OK(napi_create_arraybuffer(env, count * 2 * sizeof(double), &off_data, &ab_off));
  NAPI_OK(napi_create_typedarray(env, napi_float64_array, count * 2, ab_off, 0, &offsets));
  double *off = off_data;
  size_t at = 0;
  for (size_t i = 0; i < count; i++) {
    void *p = mmap((char *)base + at, lens[i], PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fds[i], 0);
    if (p == MAP_FAILED) {
      int e = errno;
      munmap(base, total);
      return throw_sys(env, e, "mmap(MAP_FIXED)", NULL, NULL);
    }
    off[2 * i] = rx_lens[i] ? (double)at : -1;
    off[2 * i + 1] = lens[i] > rx_lens[i] ? (double)(at + rx_lens[i]) : -1;
    at += lens[i];
  }
  combined *c = malloc(sizeof *c);
  if (!c) {
    munmap(base, total);
    return throw_sys(env, ENOMEM, "malloc", NULL, NULL);
  }
  c->base = base;
  c->len = total;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, base, total, combined_finalize, c, &ab) != napi_ok) {
    munmap(base, total);
    free(c);
    return throw_arg(env, "napi_create_external_arraybuffer failed");
  }
  napi_value result;
  NAPI_OK(napi_create_object(env, &result));
  napi_set_named_property(env, result, "buffer", ab);
  napi_set_named_property(env, result, "offsets", offsets);
  return result;
}

/* Detaches a combined buffer (so no view can reach the memory); the finalizer unmaps. */
static napi_value ReleaseCombined(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  bool detached = true;
  if (napi_is_detached_arraybuffer(env, argv[0], &detached) == napi_ok && !detached) napi_detach_arraybuffer(env, argv[0]);
  return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* close                                                                                 */

static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  int r = close_socket(env, fd);
  if (r < 0) return throw_sys(env, -r, "close", NULL, NULL);
  napi_value v;
  napi_get_boolean(env, r == 1, &v);
  return v;
}

/* ------------------------------------------------------------------------------------ */
/* poll / kick                                                                            */

static napi_value Poll(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int64_t timeout = 0, events = POLLIN | POLLRDNORM | POLLERR;
  if (!get_args(env, info, 3, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (!is_nullish(env, argv[1]) && !get_int(env, argv[1], &timeout, "timeoutMs")) return NULL;
  if (!is_nullish(env, argv[2]) && !get_int(env, argv[2], &events, "events")) return NULL;
  if (timeout < -1 || timeout > INT32_MAX) return throw_arg(env, "timeoutMs out of range");
  struct pollfd p = {.fd = fd, .events = (short)events, .revents = 0};
  int r = poll(&p, 1, (int)timeout);
  if (r < 0) {
    if (errno == EINTR) r = 0;
    else return throw_sys(env, errno, "poll", NULL, NULL);
  }
  napi_value v;
  napi_create_int32(env, r > 0 ? p.revents : 0, &v);
  return v;
}

/* Waits on several sockets at once (a worker owns one per interface): pollMany(fds, ms)
 * takes an Int32Array of up to 31 fds and returns a bitmask of those with frames to read
 * (bit i = fds[i]); 0 on timeout or EINTR. */
static napi_value PollMany(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t timeout = 0;
  if (!get_args(env, info, 2, argv)) return NULL;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (!is_ta) return throw_arg(env, "fds must be an Int32Array");
  napi_get_typedarray_info(env, argv[0], &type, &count, &data, NULL, NULL);
  if (type != napi_int32_array || count == 0 || count > 31) return throw_arg(env, "fds must be an Int32Array of 1..31 fds");
  if (!is_nullish(env, argv[1]) && !get_int(env, argv[1], &timeout, "timeoutMs")) return NULL;
  if (timeout < -1 || timeout > INT32_MAX) return throw_arg(env, "timeoutMs out of range");
  struct pollfd p[31];
  const int32_t *fds = (const int32_t *)data;
  for (size_t i = 0; i < count; i++) {
    p[i].fd = fds[i];
    p[i].events = POLLIN | POLLRDNORM | POLLERR;
    p[i].revents = 0;
  }
  int r = poll(p, (nfds_t)count, (int)timeout);
  if (r < 0) {
    if (errno == EINTR) r = 0;
    else return throw_sys(env, errno, "poll", NULL, NULL);
  }
  int32_t mask = 0;
  for (size_t i = 0; r > 0 && i < count; i++)
    if (p[i].revents) mask |= (int32_t)1 << i;
  napi_value v;
  napi_create_int32(env, mask, &v);
  return v;
}

/* Flushes the TX ring: one send() for every frame marked TP_STATUS_SEND_REQUEST.
 * Returns bytes queued (>= 0), or -errno for "try later" (EAGAIN, ENOBUFS, EINTR). */
static napi_value Kick(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  ssize_t r = send(fd, NULL, 0, MSG_DONTWAIT);
  if (r < 0) {
    int e = errno;
    if (e == EAGAIN || e == ENOBUFS || e == EINTR)
      r = -e;
    else
      return throw_sys(env, e, "send", NULL, NULL);
  }
  napi_value v;
  napi_create_double(env, (double)r, &v);
  return v;
}

/* Reads the next frame the kernel spilled to the receive queue (TPACKET_V2 with rxSpill: a
 * frame larger than its ring slot; the slot has TP_STATUS_COPY). recvSpill(fd, Uint8Array)
 * copies it (virtio_net_hdr first, with vnetHdr) into the array and returns its full length
 * (larger than the array if it was cut), or -EAGAIN when nothing is queued. */
static napi_value RecvSpill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  napi_is_typedarray(env, argv[1], &is_ta);
  if (!is_ta) return throw_arg(env, "recvSpill: buffer must be a Uint8Array");
  NAPI_OK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array) return throw_arg(env, "recvSpill: buffer must be a Uint8Array");
  ssize_t r = recv(fd, data, length, MSG_DONTWAIT | MSG_TRUNC);
  if (r < 0) {
    int e = errno;
    if (e == EAGAIN || e == EINTR) r = -e;
    else return throw_sys(env, e, "recv", NULL, NULL);
  }
  napi_value v;
  napi_create_double(env, (double)r, &v);
  return v;
}

/* ------------------------------------------------------------------------------------ */
/* fanout, filters, stats                                                                 */

static napi_value Fanout(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd;
  int64_t id, mode, flags = 0, max_members = 0;
  if (!get_args(env, info, 5, argv) || !get_fd(env, argv[0], &fd) ||
      !get_int(env, argv[1], &id, "groupId") || !get_int(env, argv[2], &mode, "mode"))
    return NULL;
  if (!is_nullish(env, argv[3]) && !get_int(env, argv[3], &flags, "flags")) return NULL;
  if (!is_nullish(env, argv[4]) && !get_int(env, argv[4], &max_members, "maxMembers"))
    return NULL;
  if (id < 0 || id > 0xffff) return throw_arg(env, "groupId must be 0..65535");
  if (mode < 0 || mode > 0xff) return throw_arg(env, "mode must be 0..255");
  if (flags < 0 || flags > 0xffff || (flags & 0xff))
    return throw_arg(env, "flags must be PACKET_FANOUT_FLAG_* bits");
  if (max_members < 0 || max_members > 65536) return throw_arg(env, "maxMembers out of range");
  int r;
  if (max_members) {
    struct {
      uint16_t id;
      uint16_t type_flags;
      uint32_t max_num_members;
    } args = {(uint16_t)id, (uint16_t)(mode | flags), (uint32_t)max_members};
    r = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &args, sizeof args);
  } else {
    int val = (int)(id | ((mode | flags) << 16));
    r = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof val);
  }
  if (r < 0) return throw_sys(env, errno, "setsockopt(PACKET_FANOUT)", NULL, NULL);
  /* Read back the group id (the kernel picks it with PACKET_FANOUT_FLAG_UNIQUEID). */
  int cur = 0;
  socklen_t cl = sizeof cur;
  if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &cur, &cl) < 0)
    return throw_sys(env, errno, "getsockopt(PACKET_FANOUT)", NULL, NULL);
  napi_value v;
  napi_create_uint32(env, (uint32_t)cur & 0xffff, &v);
  return v;
}

static napi_value set_program(napi_env env, napi_callback_info info, int level, int name,
                              const char *syscall) {
  napi_value argv[2];
  int fd;
  struct sock_filter *insns;
  unsigned n;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_program(env, argv[1], &insns, &n))
    return NULL;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  int r = setsockopt(fd, level, name, &prog, sizeof prog);
  int e = errno;
  free(insns);
  if (r < 0) return throw_sys(env, e, syscall, NULL, NULL);
  return NULL;
}

static napi_value SetFanoutProgram(napi_env env, napi_callback_info info) {
  return set_program(env, info, SOL_PACKET, PACKET_FANOUT_DATA,
                     "setsockopt(PACKET_FANOUT_DATA)");
}

static napi_value AttachFilter(napi_env env, napi_callback_info info) {
  return set_program(env, info, SOL_SOCKET, SO_ATTACH_FILTER, "setsockopt(SO_ATTACH_FILTER)");
}

static napi_value DetachFilter(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd, dummy = 0;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy) < 0 && errno != ENOENT)
    return throw_sys(env, errno, "setsockopt(SO_DETACH_FILTER)", NULL, NULL);
  return NULL;
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof st;
  memset(&st, 0, sizeof st);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
    return throw_sys(env, errno, "getsockopt(PACKET_STATISTICS)", NULL, NULL);
  napi_value o;
  NAPI_OK(napi_create_object(env, &o));
  set_num(env, o, "packets", st.tp_packets);
  set_num(env, o, "drops", st.tp_drops);
  set_num(env, o, "freezeQueueCount", st.tp_freeze_q_cnt);
  return o;
}

/* ------------------------------------------------------------------------------------ */
/* interface information                                                                 */

static int prefix_len(const unsigned char *mask, size_t n) {
  int bits = 0;
  for (size_t i = 0; i < n; i++) bits += __builtin_popcount(mask[i]);
  return bits;
}

static void format_mac(char out[18], const unsigned char *mac) {
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
           mac[5]);
}

static napi_value InterfaceInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char ifname[IF_NAMESIZE + 1];
  if (!get_args(env, info, 1, argv) || !get_ifname(env, argv[0], ifname)) return NULL;

  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_sys(env, errno, "socket(AF_INET)", ifname, NULL);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strlen(ifname));
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_sys(env, e, "ioctl(SIOCGIFINDEX)", ifname, NULL);
  }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_sys(env, e, "ioctl(SIOCGIFHWADDR)", ifname, NULL);
  }
  unsigned char mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  int hatype = ifr.ifr_hwaddr.sa_family;
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_sys(env, e, "ioctl(SIOCGIFMTU)", ifname, NULL);
  }
  int mtu = ifr.ifr_mtu;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_sys(env, e, "ioctl(SIOCGIFFLAGS)", ifname, NULL);
  }
  int flags = ifr.ifr_flags;
  close(s);

  struct ifaddrs *ifa_list = NULL;
  if (getifaddrs(&ifa_list) < 0) return throw_sys(env, errno, "getifaddrs", ifname, NULL);

  napi_value o, v4, v6;
  napi_create_object(env, &o);
  napi_create_array(env, &v4);
  napi_create_array(env, &v6);
  uint32_t n4 = 0, n6 = 0;
  for (struct ifaddrs *a = ifa_list; a; a = a->ifa_next) {
    if (!a->ifa_addr || strcmp(a->ifa_name, ifname) != 0) continue;
    char buf[INET6_ADDRSTRLEN];
    napi_value e;
    if (a->ifa_addr->sa_family == AF_INET) {
      struct sockaddr_in *sin = (struct sockaddr_in *)a->ifa_addr;
      struct sockaddr_in *msk = (struct sockaddr_in *)a->ifa_netmask;
      inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
      napi_create_object(env, &e);
      set_str(env, e, "address", buf);
      set_num(env, e, "prefixLength",
              msk ? prefix_len((unsigned char *)&msk->sin_addr, 4) : 32);
      napi_set_element(env, v4, n4++, e);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)a->ifa_addr;
      struct sockaddr_in6 *msk = (struct sockaddr_in6 *)a->ifa_netmask;
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
      napi_create_object(env, &e);
      set_str(env, e, "address", buf);
      set_num(env, e, "prefixLength",
              msk ? prefix_len((unsigned char *)&msk->sin6_addr, 16) : 128);
      set_num(env, e, "scopeId", sin6->sin6_scope_id);
      napi_set_element(env, v6, n6++, e);
    }
  }
  freeifaddrs(ifa_list);

  char macs[18];
  format_mac(macs, mac);
  set_str(env, o, "name", ifname);
  set_num(env, o, "ifindex", ifindex);
  set_str(env, o, "mac", macs);
  set_num(env, o, "mtu", mtu);
  set_num(env, o, "hardwareType", hatype);
  set_num(env, o, "flags", flags & 0xffff);
  set_bool(env, o, "up", (flags & IFF_UP) != 0);
  set_bool(env, o, "running", (flags & IFF_RUNNING) != 0);
  napi_set_named_property(env, o, "ipv4", v4);
  napi_set_named_property(env, o, "ipv6", v6);
  return o;
}

/* ------------------------------------------------------------------------------------ */
/* gratuitous ARP                                                                         */

static bool parse_mac(const char *s, unsigned char mac[6]) {
  unsigned int b[6];
  char tail;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
             &tail) != 6)
    return false;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
  return true;
}

static napi_value SendGratuitousArp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char ifname[IF_NAMESIZE + 1], ip[64], form[16] = "request", macs[32] = "";
  if (!get_args(env, info, 3, argv) || !get_ifname(env, argv[0], ifname) ||
      !get_str(env, argv[1], ip, sizeof ip, "ipv4"))
    return NULL;
  napi_value opts = is_nullish(env, argv[2]) ? NULL : argv[2];
  uint32_t count = 1;
  if (opts) {
    bool has;
    napi_value v;
    if (napi_has_named_property(env, opts, "form", &has) == napi_ok && has &&
        napi_get_named_property(env, opts, "form", &v) == napi_ok && !is_nullish(env, v) &&
        !get_str(env, v, form, sizeof form, "form"))
      return NULL;
    if (napi_has_named_property(env, opts, "mac", &has) == napi_ok && has &&
        napi_get_named_property(env, opts, "mac", &v) == napi_ok && !is_nullish(env, v) &&
        !get_str(env, v, macs, sizeof macs, "mac"))
      return NULL;
    if (!opt_u32(env, opts, "count", &count)) return NULL;
  }
  uint16_t op;
  if (strcmp(form, "request") == 0) op = ARPOP_REQUEST;
  else if (strcmp(form, "reply") == 0) op = ARPOP_REPLY;
  else return throw_arg(env, "form must be 'request' or 'reply'");
  if (count < 1 || count > 1000) return throw_arg(env, "count must be 1..1000");
  struct in_addr vip;
  if (inet_pton(AF_INET, ip, &vip) != 1) return throw_arg(env, "ipv4 must be a dotted-quad IPv4 address");

  unsigned char mac[6];
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_sys(env, errno, "socket(AF_PACKET)", ifname, NULL);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strlen(ifname));
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_sys(env, e, "ioctl(SIOCGIFINDEX)", ifname, NULL);
  }
  int ifindex = ifr.ifr_ifindex;
  if (macs[0]) {
    if (!parse_mac(macs, mac)) {
      close(s);
      return throw_arg(env, "mac must look like aa:bb:cc:dd:ee:ff");
    }
  } else {
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
      int e = errno;
      close(s);
      return throw_sys(env, e, "ioctl(SIOCGIFHWADDR)", ifname, NULL);
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  }

  /* Ethernet II + ARP for IPv4 over Ethernet: 42 bytes (the NIC pads to 60 on the wire). */
  unsigned char f[42];
  memset(f, 0xff, 6);                    /* eth dst: broadcast */
  memcpy(f + 6, mac, 6);                 /* eth src */
  f[12] = 0x08, f[13] = 0x06;            /* EtherType ARP */
  f[14] = 0x00, f[15] = 0x01;            /* htype Ethernet */
  f[16] = 0x08, f[17] = 0x00;            /* ptype IPv4 */
  f[18] = 6, f[19] = 4;                  /* hlen, plen */
  f[20] = 0, f[21] = (unsigned char)op;  /* oper */
  memcpy(f + 22, mac, 6);                /* sha */
  memcpy(f + 28, &vip, 4);               /* spa = VIP */
  if (op == ARPOP_REQUEST) memset(f + 32, 0, 6); /* tha = 00:..:00 */
  else memcpy(f + 32, mac, 6);                   /* tha = own MAC */
  memcpy(f + 38, &vip, 4);               /* tpa = VIP */

  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);
  uint32_t sent = 0;
  for (; sent < count; sent++) {
    if (sendto(s, f, sizeof f, 0, (struct sockaddr *)&to, sizeof to) < 0) {
      int e = errno;
      close(s);
      return throw_sys(env, e, "sendto", ifname, NULL);
    }
  }
  close(s);
  napi_value v;
  napi_create_uint32(env, sent, &v);
  return v;
}

/* ------------------------------------------------------------------------------------ */
/* module                                                                                 */

static napi_value make_layout(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  /* struct tpacket_block_desc / tpacket_hdr_v1 */
  set_num(env, o, "blockStatus", offsetof(struct tpacket_block_desc, hdr.bh1.block_status));
  set_num(env, o, "blockNumPackets", offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts));
  set_num(env, o, "blockFirstPacket",
          offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt));
  set_num(env, o, "blockLength", offsetof(struct tpacket_block_desc, hdr.bh1.blk_len));
  set_num(env, o, "blockSeq", offsetof(struct tpacket_block_desc, hdr.bh1.seq_num));
  /* struct tpacket3_hdr */
  set_num(env, o, "nextOffset", offsetof(struct tpacket3_hdr, tp_next_offset));
  set_num(env, o, "sec", offsetof(struct tpacket3_hdr, tp_sec));
  set_num(env, o, "nsec", offsetof(struct tpacket3_hdr, tp_nsec));
  set_num(env, o, "snaplen", offsetof(struct tpacket3_hdr, tp_snaplen));
  set_num(env, o, "len", offsetof(struct tpacket3_hdr, tp_len));
  set_num(env, o, "status", offsetof(struct tpacket3_hdr, tp_status));
  set_num(env, o, "mac", offsetof(struct tpacket3_hdr, tp_mac));
  set_num(env, o, "net", offsetof(struct tpacket3_hdr, tp_net));
  set_num(env, o, "rxhash", offsetof(struct tpacket3_hdr, hv1.tp_rxhash));
  set_num(env, o, "vlanTci", offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci));
  set_num(env, o, "vlanTpid", offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid));
  set_num(env, o, "tpacket3HdrLen", TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
  set_num(env, o, "sockaddrLlLen", sizeof(struct sockaddr_ll));
  set_num(env, o, "sllProtocol", offsetof(struct sockaddr_ll, sll_protocol));
  set_num(env, o, "sllIfindex", offsetof(struct sockaddr_ll, sll_ifindex));
  set_num(env, o, "sllPktType", offsetof(struct sockaddr_ll, sll_pkttype));
  set_num(env, o, "vnetHdrLen", VNET_HDR_LEN);
  return o;
}

/* TPACKET_V2 frames (rxVersion 2): the same field names as make_layout's frame fields. */
static napi_value make_layout_v2(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  set_num(env, o, "sec", offsetof(struct tpacket2_hdr, tp_sec));
  set_num(env, o, "nsec", offsetof(struct tpacket2_hdr, tp_nsec));
  set_num(env, o, "snaplen", offsetof(struct tpacket2_hdr, tp_snaplen));
  set_num(env, o, "len", offsetof(struct tpacket2_hdr, tp_len));
  set_num(env, o, "status", offsetof(struct tpacket2_hdr, tp_status));
  set_num(env, o, "mac", offsetof(struct tpacket2_hdr, tp_mac));
  set_num(env, o, "net", offsetof(struct tpacket2_hdr, tp_net));
  set_num(env, o, "vlanTci", offsetof(struct tpacket2_hdr, tp_vlan_tci));
  set_num(env, o, "vlanTpid", offsetof(struct tpacket2_hdr, tp_vlan_tpid));
  set_num(env, o, "tpacket2HdrLen", TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
  return o;
}

napi_value OpenTun(napi_env env, napi_callback_info info); /* tun.c */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, Poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollMany", NULL, PollMany, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapCombined", NULL, MapCombined, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseCombined", NULL, ReleaseCombined, NULL, NULL, NULL, napi_enumerable, NULL},
      {"kick", NULL, Kick, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvSpill", NULL, RecvSpill, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fanout", NULL, Fanout, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setFanoutProgram", NULL, SetFanoutProgram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attachFilter", NULL, AttachFilter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"detachFilter", NULL, DetachFilter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, Stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"interfaceInfo", NULL, InterfaceInfo, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendGratuitousArp", NULL, SendGratuitousArp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openTun", NULL, OpenTun, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof d / sizeof d[0], d) != napi_ok) return NULL;
  napi_value layout = make_layout(env);
  napi_set_named_property(env, exports, "layout", layout);
  napi_set_named_property(env, exports, "layoutV2", make_layout_v2(env));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
