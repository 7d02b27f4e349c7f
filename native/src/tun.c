/*
 * uvs_frameio: TUN devices, for `uvs decap` (src/decap/).
 *
 *   openTun(name, options?) -> fd
 *
 * Opens /dev/net/tun and attaches the fd to the layer-3 TUN device `name` with TUNSETIFF
 * (IFF_TUN | IFF_NO_PI, plus IFF_VNET_HDR with { vnetHdr: true }), creating the device when
 * it does not exist. The device is not persistent: it disappears when the fd is closed,
 * also when the process dies. The fd is O_CLOEXEC and O_NONBLOCK; the caller writes whole
 * IP packets into it (one write(2) per packet, e.g. fs.writeSync) and closes it with
 * fs.closeSync. Bringing the device up is left to the caller.
 *
 * Errors have the same shape as those of frameio.c: an Error with code (errno name),
 * errno, syscall ("open(/dev/net/tun)" or "ioctl(TUNSETIFF)"), reason (strerror), ifname
 * and detail.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"

static napi_value tun_throw(napi_env env, int err, const char *syscall, const char *ifname,
                            const char *detail) {
  const char *name = strerrorname_np(err);
  if (!name) name = "EUNKNOWN";
  char msg[512];
  snprintf(msg, sizeof msg, "%s failed on %s: %s (%s)%s%s", syscall, ifname, strerror(err),
           name, detail ? ": " : "", detail ? detail : "");
  napi_value code, message, error, v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "reason", v);
  if (detail) {
    napi_create_string_utf8(env, detail, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "detail", v);
  }
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "ifname", v);
  napi_throw(env, error);
  return NULL;
}

static napi_value tun_arg_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

/* What the kernel's answer to TUNSETIFF means here (tun_set_iff in drivers/net/tun.c). */
static const char *setiff_detail(int err) {
  switch (err) {
  case EBUSY:
    return "the TUN device is already in use (attached to another open file: is another uvs decap "
           "running?)";
  case EINVAL:
    return "an interface of this name exists and is not a TUN device without packet "
           "information (or the name is not valid)";
  case EPERM:
  case EACCES:
    return "creating or attaching a TUN device needs CAP_NET_ADMIN";
  default:
    return NULL;
  }
}

napi_value OpenTun(napi_env env, napi_callback_info info);

napi_value OpenTun(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;

  char name[IF_NAMESIZE + 1];
  size_t len = 0;
  napi_valuetype t = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string)
    return tun_arg_error(env, "name must be a string");
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) return NULL;
  if (len == 0 || len >= IF_NAMESIZE || strchr(name, '%') || strchr(name, '/') ||
      strchr(name, ' '))
    return tun_arg_error(env, "name must be 1..15 characters, without '%', '/' or spaces");

  bool vnet = false;
  if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_object) {
    bool has = false;
    napi_value v;
    if (napi_has_named_property(env, argv[1], "vnetHdr", &has) == napi_ok && has &&
        napi_get_named_property(env, argv[1], "vnetHdr", &v) == napi_ok &&
        napi_typeof(env, v, &t) == napi_ok && t != napi_undefined && t != napi_null) {
      if (t != napi_boolean || napi_get_value_bool(env, v, &vnet) != napi_ok)
        return tun_arg_error(env, "vnetHdr must be a boolean");
    }
  } else if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t != napi_undefined &&
             t != napi_null) {
    return tun_arg_error(env, "options must be an object");
  }

  int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    const char *d = e == ENOENT   ? "there is no " TUN_PATH " (create it with `mknod " TUN_PATH
                                    " c 10 200`, or load the tun module)"
                    : e == ENODEV ? "the kernel has no TUN support (CONFIG_TUN)"
                    : (e == EPERM || e == EACCES) ? "opening " TUN_PATH " needs CAP_NET_ADMIN"
                                                  : NULL;
    return tun_throw(env, e, "open(" TUN_PATH ")", name, d);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len); /* len < IF_NAMESIZE, ifr zeroed: terminated */
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return tun_throw(env, e, "ioctl(TUNSETIFF)", name, setiff_detail(e));
  }
  napi_value out;
  if (napi_create_int32(env, fd, &out) != napi_ok) {
    close(fd);
    return NULL;
  }
  return out;
}
