{
  "targets": [
    {
      "target_name": "uvs_frameio",
      "sources": ["src/frameio.c", "src/tun.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
