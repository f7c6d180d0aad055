# The bake, the same on every source: upload what `labimg build` wrote, install it where the agent expects
# it, run the agent's bake phase, then remove everything that belongs to this build VM rather than to the
# image.

locals {
  # The SSH user cannot write where the agent lives, so the files wait in a folder of its own first.
  staging_dir = "/tmp/labimg-build"
  # Only the files the image gets: the build folder also holds user-data, which may carry secrets.
  build_files = [for file in var.image_files : split(":", file)[0]]
  # What the scripts read: where the upload is, what to install where, what belongs to one instance.
  script_environment = [
    "LABIMG_STAGING=${local.staging_dir}",
    "LABIMG_IMAGE_FILES=${join(" ", var.image_files)}",
    "LABIMG_INSTANCE_PATHS=${join(" ", var.instance_paths)}",
  ]
  # AMI names must be unique per region: each bake is named after its start time (UTC).
  build_time = formatdate("YYYYMMDDhhmmss", timestamp())
}

build {
  sources = ["source.qemu.cloud", "source.amazon-ebs.ami"]

  # Without -p: a folder that exists already was made by someone else, and the build stops.
  provisioner "shell" {
    inline = ["mkdir -m 0700 ${local.staging_dir}"]
  }

  provisioner "file" {
    sources     = [for name in local.build_files : "${var.build_dir}/${name}"]
    destination = "${local.staging_dir}/"
  }

  # Cloud images give the default user passwordless sudo; -n fails at once instead of waiting for a password.
  provisioner "shell" {
    environment_vars = local.script_environment
    execute_command  = "sudo -n env {{ .Vars }} sh '{{ .Path }}'"
    scripts = [
      "${path.root}/scripts/install-agent.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }

  # Which image each bake made (an amazon-ebs build's artifact_id is "REGION:AMI-ID"), beside the build folder,
  # which `labimg build` replaces whole: `labimg build --autoscaling aws --packer` reads the AMI id from it.
  # https://developer.hashicorp.com/packer/docs/post-processors/manifest (read 2026-12-06).
  post-processor "manifest" {
    output     = "../${var.profile}.packer-manifest.json"
    strip_path = true
  }
}
