#!/bin/sh
# Puts the labimg agent where a node expects it (LABIMG_IMAGE_FILES, from labimg's list of node files) and runs its bake phase:
# packages, container runtime, GPU driver and toolkit on GPU profiles, `kubeadm config images pull`. What
# the bake leaves behind is what lets an instance of the image boot without downloading a package or image.
#
# Packer runs it as root inside the build VM, with the files `labimg build` wrote in $LABIMG_STAGING.
# LABIMG_ROOT (tests only) moves every path under a directory laid out like an image; commands that act on
# the running system are then printed instead of run.
set -eu

staging=${LABIMG_STAGING:?LABIMG_STAGING must name the folder the build files were uploaded to}
root=${LABIMG_ROOT:-}
if [ "$root" = / ]; then root=; fi
if [ -z "$root" ] && [ -z "${PACKER_BUILDER_TYPE:-}" ]; then
  echo "labimg: install-agent.sh changes the machine it runs on; it runs only in a Packer build (or with LABIMG_ROOT)" >&2
  exit 2
fi

# "NAME:MODE:PATH ...": the template's image_files, which `labimg build` writes into the vars file.
image_files=${LABIMG_IMAGE_FILES:?LABIMG_IMAGE_FILES must list the image files as NAME:MODE:PATH}

refuse() {
  echo "labimg: LABIMG_IMAGE_FILES: \"$1\" is not NAME:MODE:PATH (a build file, an octal mode, an absolute path)" >&2
  exit 2
}

on_system() {
  if [ -n "$root" ]; then
    echo "not under LABIMG_ROOT: $*"
  else
    "$@"
  fi
}

# Where the image files above put the agent and its Node installer (IMAGE_PATHS, DELIVERY_PATHS in contract/node-paths.ts).
lib=$root/opt/labimg

# First-boot cloud-init may still be installing updates, and would hold the package manager's lock. Its
# exit status says how that boot went, which the bake does not depend on.
if [ -n "$root" ] || command -v cloud-init >/dev/null 2>&1; then
  on_system cloud-init status --wait || echo "labimg: cloud-init reported a problem with the build VM's first boot; baking anyway"
fi
# Ubuntu's daily apt jobs start on a first boot too and take the same lock: stop their timers for this boot
# only (the image keeps them enabled) and wait for a run that has already begun.
if [ -e "$root/lib/systemd/system/apt-daily.timer" ] || [ -e "$root/usr/lib/systemd/system/apt-daily.timer" ]; then
  on_system systemctl stop apt-daily.timer apt-daily-upgrade.timer
  on_system systemd-run --property=After=apt-daily.service --property=After=apt-daily-upgrade.service --wait --quiet /bin/true
fi

upload=$root$staging
for file in $image_files; do
  name=${file%%:*}
  rest=${file#*:}
  mode=${rest%%:*}
  target=${rest#*:}
  # Names are plain file names of the build folder, modes octal, targets absolute paths that climb nowhere.
  case $name in "" | */* | . | ..) refuse "$file" ;; esac
  case $mode in "" | *[!0-7]*) refuse "$file" ;; esac
  case $target in */../* | */..) refuse "$file" ;; /*) ;; *) refuse "$file" ;; esac
  install -D -m "$mode" "$upload/$name" "$root$target"
done

# The runtime the unit starts the agent with, so the boot needs no download for it either.
LABIMG_NODE_DIR=$lib/node LABIMG_NODE_TARBALL=$lib/node.tar "$lib/install-node.sh"

if [ -n "$root" ]; then
  "$lib/node/bin/node" "$lib/agent.js" run --phase bake --root "$root"
else
  "$lib/node/bin/node" "$lib/agent.js" run --phase bake
fi

# Installed, not enabled: the boot phase refuses to run without /etc/labimg/node.json, so what enables and
# starts the unit is what brings node.json: the instance's user-data, Ignition config or kickstart.
on_system systemctl daemon-reload
