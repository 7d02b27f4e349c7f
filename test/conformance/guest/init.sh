#!/bin/busybox sh
# /init of the conformance guest (an initramfs: busybox-static, Debian's ipvsadm, iproute2,
# nft, the kernel's ip_vs* modules). Loads the modules, reads the scenario tar from the
# virtio disk, runs /in/run.sh, writes /out back to the same disk as a tar and powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /run/netns /var/run /tmp /in /out
ln -s /run/netns /var/run/netns 2>/dev/null
for m in $(cat /modules.order); do
  insmod "/modules/$m" 2>/dev/null || echo "uvs-guest: insmod $m failed"
done
echo "uvs-guest: modules loaded"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
(cd /in && tar xf /dev/vda) || echo "uvs-guest: no scenario on /dev/vda"
echo "uvs-guest: running"
start=$(cat /proc/uptime)
sh /in/run.sh >/out/run.log 2>&1
echo $? >/out/run.rc
echo "$start $(cat /proc/uptime)" >/out/uptime
cp /proc/sys/kernel/osrelease /out/kernel
(cd / && tar cf /dev/vda out) && sync
echo "uvs-guest: done"
poweroff -f
