# Where the build VM comes from. Both start from the distro's own image and log in as its default user;
# the build block does the rest, the same way for both.

# A local VM from the distro's cloud image (a qcow2 download, checked against its checksum). Cloud images
# have no password and take SSH keys only from their datasource, so the build VM boots with a NoCloud seed
# (the CD labelled "cidata") that authorizes a key pair made for this bake alone; Packer logs in with its
# private half. `labimg build --packer` makes the seed folder and deletes it after the bake, and the cleanup
# removes every authorized_keys file before the disk becomes the image.
source "qemu" "cloud" {
  iso_url          = var.cloud_image_url
  iso_checksum     = var.cloud_image_checksum
  disk_image       = true
  disk_size        = "${var.disk_size_gb}G"
  format           = "qcow2"
  output_directory = var.qemu_output_dir
  vm_name          = "${var.image_name}.qcow2"
  headless         = true
  memory           = 2048
  cpus             = 2

  # cd_files needs xorriso, mkisofs or genisoimage on the build host (cd_content is newer than Packer 1.6.6).
  cd_files = ["${var.seed_dir}/user-data", "${var.seed_dir}/meta-data"]
  cd_label = "cidata"

  # Packer's own forward listens on every address; nothing but Packer on this machine needs the VM's SSH.
  qemuargs = [["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"]]

  ssh_username         = var.ssh_username
  ssh_private_key_file = "${var.seed_dir}/build-key"
  ssh_timeout          = "20m"
  ssh_pty              = true
  shutdown_command     = "sudo -n shutdown -P now"
}

# An EC2 instance from the newest AMI that matches the profile's name filter and owners. Packer makes a
# temporary key pair, EC2 hands it to the default user, and the cleanup removes it again.
source "amazon-ebs" "ami" {
  region        = var.aws_region
  instance_type = var.aws_instance_type

  source_ami_filter {
    filters = {
      name                = var.ami_name_filter
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = var.ami_owners
    most_recent = true
  }

  # The root volume of Ubuntu's and CentOS's AMIs is /dev/sda1; naming it here resizes it.
  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = var.disk_size_gb
    volume_type           = "gp3"
    throughput            = 125
    iops                  = 3000
    delete_on_termination = true
  }

  ssh_username = var.ssh_username
  ssh_timeout  = "20m"
  ssh_pty      = true

  # AMI names are unique per region, so each bake gets its own.
  ami_name        = "${var.image_name}-${local.build_time}"
  ami_description = "Kubernetes node baked by labimg from profile ${var.profile}"
  tags = {
    Name             = var.image_name
    "labimg:profile" = var.profile
  }
}
