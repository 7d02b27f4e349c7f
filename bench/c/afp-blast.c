/* afp-blast: a load generator for the frame-I/O benchmarks, in plain C so that the
 * generator is not what limits the forwarders under test. Floods one prebuilt UDP/IPv4
 * frame (the source port varies, UDP checksum 0 = none) out of an interface through a
 * TPACKET_V2 TX ring, bounded in count and time, then prints {"sent":N,"seconds":S}.
 * With RATE (frames per second, 0 = as fast as it can), sends are paced: never more than
 * RATE × elapsed frames so far, in batches of at most 32 (the zero-loss ramp).
 *
 *   afp-blast IFACE SRC_MAC DST_MAC SRC_IP DST_IP DST_PORT SECONDS MAX_FRAMES [RATE]
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int mac(const char *s, uint8_t *m) {
  return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static uint16_t csum(const uint8_t *p, int n) {
  uint32_t s = 0;
  for (int i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: afp-blast IFACE SRC_MAC DST_MAC SRC_IP DST_IP DST_PORT SECONDS MAX_FRAMES [RATE]\n");
    return 2;
  }
  uint8_t f[60];
  memset(f, 0, sizeof f);
  if (mac(argv[3], f) || mac(argv[2], f + 6)) return fprintf(stderr, "bad MAC\n"), 2;
  f[12] = 0x08;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[3] = 46; /* total length: 20 + 8 + 18 */
  ip[8] = 64;
  ip[9] = 17;
  if (inet_pton(AF_INET, argv[4], ip + 12) != 1 || inet_pton(AF_INET, argv[5], ip + 16) != 1) return fprintf(stderr, "bad IP\n"), 2;
  uint16_t c = csum(ip, 20);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  uint8_t *udp = ip + 20;
  int dport = atoi(argv[6]);
  udp[2] = dport >> 8;
  udp[3] = dport & 0xff;
  udp[5] = 26;
  double seconds = atof(argv[7]);
  long max = atol(argv[8]);
  double rate = argc == 10 ? atof(argv[9]) : 0;
  if (rate < 0) return fprintf(stderr, "bad RATE\n"), 2;

  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return perror("socket"), 1;
  int v = TPACKET_V2;
  setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct tpacket_req req = {.tp_block_size = 1 << 16, .tp_block_nr = 64, .tp_frame_size = 2048, .tp_frame_nr = 64 * 32};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) return perror("PACKET_TX_RING"), 1;
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  uint8_t *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) return perror("mmap"), 1;
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1])};
  if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) return perror("bind"), 1;

  const int data = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
  long sent = 0;
  unsigned idx = 0;
  double t0 = now(), end = t0 + seconds;
  while (sent < max && now() < end) {
    int batch = 0, limit = 256;
    if (rate > 0) {
      long due = (long)(rate * (now() - t0)) + 1;
      if (due - sent < limit) limit = (int)(due - sent);
      if (limit > 32) limit = 32;
      if (limit <= 0) {
        struct timespec pause = {0, 20000}; /* 20 µs */
        nanosleep(&pause, NULL);
        continue;
      }
    }
    while (batch < limit && sent + batch < max) {
      struct tpacket2_hdr *h = (struct tpacket2_hdr *)(ring + (size_t)idx * req.tp_frame_size);
      if (h->tp_status != TP_STATUS_AVAILABLE) break;
      uint8_t *p = (uint8_t *)h + data;
      memcpy(p, f, sizeof f);
      uint16_t sport = 10000 + ((sent + batch) & 1023);
      p[34] = sport >> 8;
      p[35] = sport & 0xff;
      h->tp_len = sizeof f;
      __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      idx = (idx + 1) % req.tp_frame_nr;
      batch++;
    }
    sent += batch;
    send(fd, NULL, 0, MSG_DONTWAIT);
    if (!batch) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      poll(&pf, 1, 1);
    }
  }
  printf("{\"sent\":%ld,\"seconds\":%.6f}\n", sent, now() - t0);
  return 0;
}
