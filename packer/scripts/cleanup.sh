#!/bin/sh
# The last step of a bake: removes what belongs to the build VM rather than to the image, so that every
# instance gets its own identity (machine-id, SSH host keys, cloud-init instance), its own credentials and
# its own logs. What the bake did stays: the agent and agent.json, the packages and pulled images, the
# kubeadm images config and the agent's state, so that the boot phase finds the bake's work done.
#
# Packer runs it as root inside the build VM. LABIMG_ROOT (tests only) moves every path under a directory
# laid out like an image; commands that act on the running system are then printed instead of run.
set -eu

staging=${LABIMG_STAGING:-/tmp/labimg-build}
root=${LABIMG_ROOT:-}
if [ "$root" = / ]; then root=; fi
if [ -z "$root" ] && [ -z "${PACKER_BUILDER_TYPE:-}" ]; then
  echo "labimg: cleanup.sh deletes this machine's identity; it runs only in a Packer build (or with LABIMG_ROOT)" >&2
  exit 2
fi
if [ -n "$root" ] && [ ! -d "$root" ]; then
  echo "labimg: LABIMG_ROOT=$root is no directory" >&2
  exit 2
fi

instance_paths=${LABIMG_INSTANCE_PATHS:?LABIMG_INSTANCE_PATHS must list the paths that belong to one instance}

refuse() {
  echo "labimg: LABIMG_INSTANCE_PATHS: \"$1\" is not an absolute path" >&2
  exit 2
}

on_system() {
  if [ -n "$root" ]; then
    echo "not under LABIMG_ROOT: $*"
  else
    "$@"
  fi
}

# The files uploaded for the bake.
rm -rf "$root$staging"

# cloud-init: the build VM's instance, its seed (the build key came from there) and its logs. The next boot
# is a new instance and runs the per-instance modules again: host keys, hostname, the instance's user-data.
# The same is removed by hand too, so the image does not depend on what this cloud-init version cleans.
if [ -n "$root" ] || command -v cloud-init >/dev/null 2>&1; then
  on_system cloud-init clean --logs --seed
fi
rm -rf "$root"/var/lib/cloud/*
rm -f "$root"/var/log/cloud-init.log "$root"/var/log/cloud-init-output.log

# Identity. An empty machine-id makes systemd generate a new one on first boot; D-Bus's copy becomes a
# link to it, as Debian and Ubuntu ship it, instead of keeping the build VM's id.
: >"$root/etc/machine-id"
if [ -d "$root/var/lib/dbus" ]; then
  rm -f "$root/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"
fi
rm -f "$root"/etc/ssh/ssh_host_*
rm -f "$root/var/lib/systemd/random-seed" "$root/var/lib/systemd/credential.secret"
rm -f "$root"/var/lib/dhcp/*.leases "$root"/var/lib/dhclient/*.lease* "$root"/var/lib/NetworkManager/*.lease

# Who could log in: the build key (qemu) or Packer's temporary key pair (EC2). Each instance gets its keys
# from its own metadata.
rm -f "$root"/root/.ssh/authorized_keys "$root"/home/*/.ssh/authorized_keys
rm -f "$root"/root/.bash_history "$root"/home/*/.bash_history

# labimg: what one instance has (INSTANCE_PATHS in contract/node-paths.ts, which `labimg build` writes into the
# vars file as instance_paths): its config and secrets, its endpoint credential, what its boot phase wrote.
# A bake writes none of them; removing them keeps an image free of them whatever ran before.
for path in $instance_paths; do
  case $path in */../* | */..) refuse "$path" ;; /?*) ;; *) refuse "$path" ;; esac
  rm -rf "$root$path"
done

# Logs, last. The journal's folder is named after the old machine-id; journald writes on into the removed
# file until shutdown, and the next boot starts a folder under the new id. Other logs are emptied rather
# than removed, so that files created with a particular owner or mode (wtmp, btmp) keep them.
rm -rf "$root"/var/log/journal/*
if [ -d "$root/var/log" ]; then
  find "$root/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \
    -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \) -exec rm -f {} +
  find "$root/var/log" -type f -exec truncate -s 0 {} +
fi
