# The bake, the same on every source: upload what `labimg build` wrote, install it where the agent expects
# it, run the agent's bake phase, then remove everything that belongs to this build VM rather than to the
# image.

locals {
  # The SSH user cannot write where the agent lives, so the files wait in a folder of its own first.
  staging_dir = "/tmp/labimg-build"
  build_files = ["agent.js", "agent.json", "install-node.sh", "labimg-agent.service"]
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
    environment_vars = ["LABIMG_STAGING=${local.staging_dir}"]
    execute_command  = "sudo -n env {{ .Vars }} sh '{{ .Path }}'"
    scripts = [
      "${path.root}/scripts/install-agent.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }
}
