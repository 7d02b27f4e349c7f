/* inject: the conformance guest's packet tool. Sends Ethernet frames given in hex on a veth
 * end inside a network namespace and prints, for each, the IPv4 frames the director sent
 * out on the other side within a short wait (the forwarded SYN, the demasqueraded reply).
 * Compiled on the host with `gcc -static` into the initramfs; busybox has nothing like it.
 *
 * usage: inject SCRIPT
 *   SCRIPT lines:  c HEX   send HEX from the client side (netns c, veth cli)
 *                  s HEX   send HEX from the server side (netns s, veth srv)
 *   output, per line: "sent c|s" then "out c|s HEX" for each IPv4 frame seen on either side.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_side(const char *ns, const char *ifname) {
  int fd = open(ns, O_RDONLY);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror(ns); exit(2); }
  close(fd);
  int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (s < 0) { perror("socket"); exit(2); }
  struct sockaddr_ll a = {0};
  a.sll_family = AF_PACKET;
  a.sll_protocol = htons(ETH_P_ALL);
  a.sll_ifindex = (int)if_nametoindex(ifname);
  if (a.sll_ifindex == 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror(ifname); exit(2); }
  return s;
}

/* Prints every incoming IPv4 frame on both sockets: waits up to `first_ms` for the first,
 * then stops after `quiet_ms` without another. */
static void drain(int fds[2], const char *names, int first_ms, int quiet_ms) {
  unsigned char buf[2048];
  int wait = first_ms;
  for (;;) {
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int n = poll(p, 2, wait);
    if (n <= 0) return;
    wait = quiet_ms;
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      struct sockaddr_ll from;
      socklen_t fl = sizeof from;
      ssize_t len = recvfrom(fds[i], buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (len < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      if (buf[12] != 0x08 || buf[13] != 0x00) continue; /* IPv4 only: no ARP, IPv6 noise */
      printf("out %c ", names[i]);
      for (ssize_t k = 0; k < len; k++) printf("%02x", buf[k]);
      printf("\n");
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: inject SCRIPT\n"); return 2; }
  int fds[2] = {open_side("/var/run/netns/c", "cli"), open_side("/var/run/netns/s", "srv")};
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 2; }
  static char line[8192];
  unsigned char frame[4096];
  while (fgets(line, sizeof line, f)) {
    if (line[0] != 'c' && line[0] != 's') continue;
    size_t n = 0;
    for (char *h = line + 2; h[0] && h[1] && h[0] != '\n' && n < sizeof frame; h += 2) {
      unsigned v;
      if (sscanf(h, "%2x", &v) != 1) break;
      frame[n++] = (unsigned char)v;
    }
    int side = line[0] == 'c' ? 0 : 1;
    if (send(fds[side], frame, n, 0) != (ssize_t)n) { perror("send"); return 2; }
    printf("sent %c\n", line[0]);
    /* What the director sends out: up to 300 ms for the first frame (emulation is slow), then 15 ms of quiet
     * (a forwarded frame is queued before send() returns: veth delivers in the sender's softirq). */
    drain(fds, "cs", 300, 15);
    fflush(stdout);
  }
  return 0;
}
