/* cps: the same-guest benchmark's new-connections load (bench/harness/ipvs-tcg.ts).
 *   cps serve PORT            accept and close at once, forever (a real server)
 *   cps connect IP PORT SECS  connect, wait for the server's close, close; as many times as
 *                             SECS allow, one at a time; prints "ok N failed M seconds S"
 * Compiled on the host with `gcc -static`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 512) != 0) { perror("serve"); return 2; }
    for (;;) {
      int c = accept(s, NULL, NULL);
      if (c >= 0) close(c);
    }
  }
  if (argc == 5 && strcmp(argv[1], "connect") == 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    double secs = atof(argv[4]), start = now();
    long ok = 0, failed = 0;
    struct timeval tv = {.tv_sec = 2};
    char buf[64];
    while (now() - start < secs) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (connect(c, (struct sockaddr *)&a, sizeof a) == 0 && read(c, buf, sizeof buf) == 0) ok++;
      else failed++;
      close(c);
    }
    printf("ok %ld failed %ld seconds %.2f\n", ok, failed, now() - start);
    return 0;
  }
  fprintf(stderr, "usage: cps serve PORT | cps connect IP PORT SECONDS\n");
  return 2;
}
