/* afp-router: the baseline the uvs router is compared with — the same job (receive on one
 * interface through an AF_PACKET RX ring, rewrite the MACs, decrement the TTL with an
 * incremental checksum update, transmit on another interface through a TX ring, one kick
 * per batch) in plain C, one thread, one direction. Runs for SECONDS, then prints
 * {"forwarded":N}. The next hop's MAC is given, not resolved.
 *
 *   afp-router IN_IFACE OUT_IFACE OUT_SRC_MAC NEXT_HOP_MAC SECONDS
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
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

static uint8_t *ring_socket(const char *ifname, int opt, struct tpacket_req *req, int *fdp) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return perror("socket"), NULL;
  int v = TPACKET_V2, one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  if (opt == PACKET_TX_RING) setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  if (setsockopt(fd, SOL_PACKET, opt, req, sizeof *req) < 0) return perror("ring"), NULL;
  uint8_t *ring = mmap(NULL, (size_t)req->tp_block_size * req->tp_block_nr, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) return perror("mmap"), NULL;
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname), .sll_protocol = opt == PACKET_RX_RING ? htons(0x0800) : 0};
  if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) return perror("bind"), NULL;
  *fdp = fd;
  return ring;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: afp-router IN_IFACE OUT_IFACE OUT_SRC_MAC NEXT_HOP_MAC SECONDS\n");
    return 2;
  }
  uint8_t src[6], dst[6];
  if (mac(argv[3], src) || mac(argv[4], dst)) return fprintf(stderr, "bad MAC\n"), 2;
  struct tpacket_req rq = {.tp_block_size = 1 << 20, .tp_block_nr = 8, .tp_frame_size = 2048, .tp_frame_nr = 8 * 512};
  struct tpacket_req tq = {.tp_block_size = 1 << 16, .tp_block_nr = 32, .tp_frame_size = 2048, .tp_frame_nr = 32 * 32};
  int rfd, tfd;
  uint8_t *rx = ring_socket(argv[1], PACKET_RX_RING, &rq, &rfd);
  uint8_t *tx = ring_socket(argv[2], PACKET_TX_RING, &tq, &tfd);
  if (!rx || !tx) return 1;
  const int data = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
  unsigned ri = 0, ti = 0;
  long forwarded = 0;
  double end = now() + atof(argv[5]);
  while (now() < end) {
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(rx + (size_t)ri * rq.tp_frame_size);
    if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      send(tfd, NULL, 0, MSG_DONTWAIT);
      struct pollfd pf = {.fd = rfd, .events = POLLIN};
      poll(&pf, 1, 10);
      continue;
    }
    int batch = 0;
    while (batch < 256 && (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      uint8_t *f = (uint8_t *)h + h->tp_mac;
      unsigned len = h->tp_snaplen;
      struct tpacket2_hdr *o = (struct tpacket2_hdr *)(tx + (size_t)ti * tq.tp_frame_size);
      if (len >= 34 && len <= 1514 && o->tp_status == TP_STATUS_AVAILABLE && f[22] > 1) {
        uint8_t *p = (uint8_t *)o + data;
        memcpy(p, f, len);
        memcpy(p, dst, 6);
        memcpy(p + 6, src, 6);
        /* TTL - 1, checksum + 0x0100 (RFC 1624) */
        p[22]--;
        uint32_t c = ((p[24] << 8) | p[25]) + 0x0100;
        c = (c & 0xffff) + (c >> 16);
        p[24] = c >> 8;
        p[25] = c & 0xff;
        o->tp_len = len;
        __atomic_store_n(&o->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        ti = (ti + 1) % tq.tp_frame_nr;
        forwarded++;
      }
      __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      ri = (ri + 1) % rq.tp_frame_nr;
      h = (struct tpacket2_hdr *)(rx + (size_t)ri * rq.tp_frame_size);
      batch++;
    }
    send(tfd, NULL, 0, MSG_DONTWAIT);
  }
  printf("{\"forwarded\":%ld}\n", forwarded);
  return 0;
}
