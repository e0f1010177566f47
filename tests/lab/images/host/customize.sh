#!/bin/sh
# Runs INSIDE the debootstrapped root fs (chroot) after overlay/ has been
# copied over it, while `lab setup` builds dockhand-lab/host. It must work
# offline: no network, no running systemd, no /proc.
set -eu

# apt: sources come from overlay/etc/apt/sources.list.d/debian.sources
# (bookworm, bookworm-updates, bookworm-security on deb.debian.org).
rm -f /etc/apt/sources.list

# Unique machine-id per container: an empty /etc/machine-id makes systemd
# generate a fresh one at every container's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id

# No shared SSH host keys in the image; ssh.service's drop-in runs
# `ssh-keygen -A` at first start.
rm -f /etc/ssh/ssh_host_*

# Units that make no sense in a container (no consoles, no kernel fs to mount,
# no hardware) or that would disturb tests (apt-daily would take the dpkg lock
# at a random moment; firstboot would prompt on a console that is not there).
systemctl --root=/ mask \
    getty.target console-getty.service \
    systemd-firstboot.service \
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-pstore.service systemd-modules-load.service kmod-static-nodes.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-fs-fuse-connections.mount dev-hugepages.mount \
    proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
    apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer
systemctl --root=/ enable ssh.service

# The dpkg excludes in overlay/ only act on future installs: trim what
# debootstrap already unpacked, the same way.
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

# No package lists or .debs in the image: run `apt-get update` before
# installing, as on any fresh Debian container.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
