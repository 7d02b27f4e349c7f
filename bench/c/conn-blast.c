/* conn-blast: the benchmark harness's new-connections client, in plain C (epoll, non-
 * blocking sockets) so that the client's own CPU is small next to the paths under test:
 * on this 2-core lab the client, the servers and the balancer share the cores, and a
 * Node client spent about as much per connection as a balancer does.
 *
 * Each connection: connect, send SIZE random bytes, shut down its sending side, read to
 * EOF; the lab's identify service (src/lab/real-server.ts, port 9000) answers
 * "<server> <client-ip>:<client-port>\n" and echoes. A connection counts as ok when the
 * line came, the echo matches byte for byte and (unless PROXY=1, for a full proxy that
 * connects from its own address) the server saw this client's own address and port.
 *
 * Closed loop (RATE=0): CONCURRENCY connections in flight, a new one as soon as one ends.
 * Open loop (RATE>0): starts due at t0 + i/RATE; a start finding every slot busy is
 * counted in "dropped" and skipped. Bounded by SECONDS and MAX starts; connections still
 * open at the end get TIMEOUT_MS to finish. With LATENCY=1 the JSON adds the connect and
 * first-byte times' percentiles (ms from the start of each connection). Prints one JSON
 * line (read by bench/tools/conn-blast.ts):
 *   {"ok":N,"failed":N,"errors":{...},"servers":{...},"ms":N,"dropped":N[,"latency":{...}]}
 *
 * HOST may be a comma-separated list of addresses: connections go to them in turn (how
 * the harness's "direct" baseline spreads over the three servers without a balancer).
 *
 *   conn-blast HOST[,HOST...] PORT SECONDS CONCURRENCY SIZE RATE LATENCY PROXY TIMEOUT_MS MAX
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 1024
#define MAX_PAYLOAD 4096
#define RX_CAP (MAX_PAYLOAD + 128)
#define MAX_SERVERS 32
#define MAX_ERRORS 32
#define MAX_TARGETS 16

enum { IDLE, CONNECTING, RECEIVING };

struct slot {
  int fd, state;
  double start, connected, first;
  unsigned char payload[MAX_PAYLOAD];
  char rx[RX_CAP];
  int rxlen;
  char self[32];
};

static struct slot slots[MAX_CONCURRENCY];
static int size, proxy, latency, timeout_ms;
static struct sockaddr_in targets[MAX_TARGETS];
static int target_count;
static long connections_started;
static long ok, failed, dropped, in_flight;
static char server_names[MAX_SERVERS][16];
static long server_counts[MAX_SERVERS];
static int servers;
static char error_names[MAX_ERRORS][40];
static long error_counts[MAX_ERRORS];
static int errors;
static double *connect_ms, *first_ms;
static long samples, sample_cap;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int ep;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void count_error(const char *name) {
  failed++;
  for (int i = 0; i < errors; i++)
    if (!strcmp(error_names[i], name)) {
      error_counts[i]++;
      return;
    }
  if (errors < MAX_ERRORS) {
    snprintf(error_names[errors], sizeof error_names[0], "%s", name);
    error_counts[errors++] = 1;
  }
}

static const char *errno_name(int e) {
  switch (e) {
  case ECONNREFUSED: return "ECONNREFUSED";
  case ECONNRESET: return "ECONNRESET";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EHOSTUNREACH: return "EHOSTUNREACH";
  case ENETUNREACH: return "ENETUNREACH";
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  case EPIPE: return "EPIPE";
  case EMFILE: return "EMFILE";
  default: {
    static char buf[16];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
  }
  }
}

static void finish(struct slot *s, const char *error) {
  if (s->fd >= 0) close(s->fd); /* close removes it from the epoll set */
  s->fd = -1;
  s->state = IDLE;
  in_flight--;
  if (error) {
    count_error(error);
    return;
  }
  /* verify: "<server> <seen>\n" then the echo */
  char *nl = memchr(s->rx, '\n', (size_t)s->rxlen);
  if (!nl) return count_error("no identify line");
  *nl = 0;
  char *sp = strchr(s->rx, ' ');
  if (!sp || sp == s->rx) return count_error("no identify line");
  *sp = 0;
  if (!proxy && strcmp(sp + 1, s->self)) return count_error("server saw another client address");
  int echo = s->rxlen - (int)(nl + 1 - s->rx);
  if (echo != size || memcmp(nl + 1, s->payload, (size_t)size)) return count_error("echo differs");
  ok++;
  int i = 0;
  while (i < servers && strcmp(server_names[i], s->rx)) i++;
  if (i == servers && servers < MAX_SERVERS) snprintf(server_names[servers++], sizeof server_names[0], "%.15s", s->rx);
  if (i < MAX_SERVERS) server_counts[i]++;
  if (latency) {
    if (samples == sample_cap) {
      sample_cap = sample_cap ? sample_cap * 2 : 4096;
      connect_ms = realloc(connect_ms, sizeof(double) * (size_t)sample_cap);
      first_ms = realloc(first_ms, sizeof(double) * (size_t)sample_cap);
      if (!connect_ms || !first_ms) exit(1);
    }
    connect_ms[samples] = (s->connected - s->start) * 1e3;
    first_ms[samples++] = (s->first - s->start) * 1e3;
  }
}

static int start(struct slot *s) {
  s->start = now();
  s->rxlen = 0;
  s->first = 0;
  for (int i = 0; i < size; i++) s->payload[i] = (unsigned char)next_random();
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  in_flight++;
  if (s->fd < 0) {
    finish(s, errno_name(errno));
    return 0;
  }
  int one = 1;
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->state = CONNECTING;
  const struct sockaddr_in *target = &targets[connections_started++ % target_count];
  if (connect(s->fd, (const struct sockaddr *)target, sizeof *target) < 0 && errno != EINPROGRESS) {
    finish(s, errno_name(errno));
    return 0;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  return 1;
}

static void on_event(struct slot *s, uint32_t events) {
  if (s->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return finish(s, errno_name(err));
    if (!(events & (EPOLLOUT | EPOLLIN))) return;
    s->connected = now();
    struct sockaddr_in self;
    socklen_t sl = sizeof self;
    getsockname(s->fd, (struct sockaddr *)&self, &sl);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &self.sin_addr, ip, sizeof ip);
    snprintf(s->self, sizeof s->self, "%s:%u", ip, ntohs(self.sin_port));
    if (size > 0 && send(s->fd, s->payload, (size_t)size, MSG_NOSIGNAL) != size) return finish(s, errno_name(errno));
    shutdown(s->fd, SHUT_WR);
    s->state = RECEIVING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
  }
  if (s->state != RECEIVING) return;
  for (;;) {
    if (s->rxlen >= RX_CAP) return finish(s, "echo differs");
    ssize_t n = recv(s->fd, s->rx + s->rxlen, (size_t)(RX_CAP - s->rxlen), 0);
    if (n > 0) {
      if (!s->first) s->first = now();
      s->rxlen += (int)n;
      continue;
    }
    if (n == 0) return finish(s, NULL);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (events & (EPOLLERR | EPOLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return finish(s, errno_name(err ? err : ECONNRESET));
      }
      return;
    }
    return finish(s, errno_name(errno));
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The p-quantile of sorted xs: element ceil(p*n)-1 (nearest rank). */
static double quantile(const double *xs, long n, double p) {
  if (n == 0) return 0;
  long k = (long)(p * (double)n);
  if ((double)k < p * (double)n) k++;
  k--;
  if (k < 0) k = 0;
  if (k >= n) k = n - 1;
  return xs[k];
}

static void print_percentiles(const char *name, double *xs, long n) {
  qsort(xs, (size_t)n, sizeof *xs, cmp);
  printf("\"%s\":{\"n\":%ld,\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f}", name, n, quantile(xs, n, 0.5), quantile(xs, n, 0.99), quantile(xs, n, 0.999));
}

int main(int argc, char **argv) {
  if (argc != 11) {
    fprintf(stderr, "usage: conn-blast HOST[,HOST...] PORT SECONDS CONCURRENCY SIZE RATE LATENCY PROXY TIMEOUT_MS MAX\n");
    return 2;
  }
  int port = atoi(argv[2]);
  for (char *host = strtok(argv[1], ","); host; host = strtok(NULL, ",")) {
    if (target_count == MAX_TARGETS) return fprintf(stderr, "bad HOST: more than %d addresses\n", MAX_TARGETS), 2;
    targets[target_count].sin_family = AF_INET;
    targets[target_count].sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &targets[target_count].sin_addr) != 1) return fprintf(stderr, "bad HOST %s\n", host), 2;
    target_count++;
  }
  if (target_count == 0) return fprintf(stderr, "bad HOST: no address\n"), 2;
  double seconds = atof(argv[3]);
  int concurrency = atoi(argv[4]);
  size = atoi(argv[5]);
  double rate = atof(argv[6]);
  latency = atoi(argv[7]);
  proxy = atoi(argv[8]);
  timeout_ms = atoi(argv[9]);
  long max = atol(argv[10]);
  if (port <= 0 || port > 65535) return fprintf(stderr, "bad PORT %s\n", argv[2]), 2;
  if (!(seconds > 0) || seconds > 600) return fprintf(stderr, "bad SECONDS %s\n", argv[3]), 2;
  if (concurrency < 1 || concurrency > MAX_CONCURRENCY) return fprintf(stderr, "bad CONCURRENCY %s (1..%d)\n", argv[4], MAX_CONCURRENCY), 2;
  if (size < 0 || size > MAX_PAYLOAD) return fprintf(stderr, "bad SIZE %s (0..%d)\n", argv[5], MAX_PAYLOAD), 2;
  if (rate < 0) return fprintf(stderr, "bad RATE %s\n", argv[6]), 2;
  if (timeout_ms < 1) return fprintf(stderr, "bad TIMEOUT_MS %s\n", argv[9]), 2;
  if (max < 1) return fprintf(stderr, "bad MAX %s\n", argv[10]), 2;
  rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)(now() * 1e9);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return perror("epoll_create1"), 1;
  for (int i = 0; i < concurrency; i++) slots[i].fd = -1;
  double t0 = now(), end = t0 + seconds, hard_end = end + timeout_ms / 1e3;
  long started = 0;
  struct epoll_event events[256];
  for (;;) {
    double t = now();
    int starting = t < end && started < max;
    if (!starting && in_flight == 0) break;
    if (t > hard_end) break;
    if (starting) {
      if (rate > 0) {
        /* open loop: every start that is due now, into a free slot or dropped */
        long due = (long)((t - t0) * rate) + 1;
        for (int i = 0; started < due && started < max; started++) {
          while (i < concurrency && slots[i].state != IDLE) i++;
          if (i == concurrency) dropped++;
          else start(&slots[i]);
        }
      } else {
        for (int i = 0; i < concurrency && started < max; i++)
          if (slots[i].state == IDLE) {
            start(&slots[i]);
            started++;
          }
      }
    }
    /* connections over their time limit fail as "timeout" */
    for (int i = 0; i < concurrency; i++)
      if (slots[i].state != IDLE && t - slots[i].start > timeout_ms / 1e3) finish(&slots[i], "timeout");
    int wait_ms = rate > 0 && starting ? 1 : 10;
    int n = epoll_wait(ep, events, 256, wait_ms);
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
  for (int i = 0; i < concurrency; i++)
    if (slots[i].state != IDLE) finish(&slots[i], "timeout");

  printf("{\"ok\":%ld,\"failed\":%ld,\"errors\":{", ok, failed);
  for (int i = 0; i < errors; i++) printf("%s\"%s\":%ld", i ? "," : "", error_names[i], error_counts[i]);
  printf("},\"servers\":{");
  for (int i = 0; i < servers; i++) printf("%s\"%s\":%ld", i ? "," : "", server_names[i], server_counts[i]);
  printf("},\"ms\":%.0f,\"dropped\":%ld", (now() - t0) * 1e3, dropped);
  if (latency) {
    printf(",\"latency\":{");
    print_percentiles("connect", connect_ms, samples);
    printf(",");
    print_percentiles("firstByte", first_ms, samples);
    printf("}");
  }
  printf("}\n");
  return 0;
}
