# Inputs of the labimg image template. `labimg build PROFILE` writes PROFILE.pkrvars.hcl into the profile's
# build (out/PROFILE/); every variable without a default comes from that file. `labimg build PROFILE --packer`
# runs Packer in that folder, as
#   packer build -only=qemu.cloud -var-file=PROFILE.pkrvars.hcl -var seed_dir=SEED .../packer
# with SEED a folder it makes for that bake alone (see seed_dir), and -only=amazon-ebs.ami for an AMI.

variable "profile" {
  type        = string
  description = "The labimg profile the image is baked for; names and tags the image."
}

variable "build_dir" {
  type        = string
  description = "The folder `labimg build` wrote for the profile (image_files names what the bake takes from it), relative to the folder packer runs in: \".\" when it runs there, as labimg runs it."
}

variable "image_files" {
  type        = list(string)
  description = "What the bake installs, one \"NAME:MODE:PATH\" per file: its name in build_dir, its octal mode and its path on the node. labimg writes it from its one list of node files."
}

variable "instance_paths" {
  type        = list(string)
  description = "What belongs to one instance (its config, secrets, credentials, what its boot wrote): removed from the image at the end of the bake. labimg writes it from contract/node-paths.ts."
}

variable "image_name" {
  type        = string
  description = "Name of the baked image: the qcow2 file's base name, and the AMI name before its build time."
}

variable "ssh_username" {
  type        = string
  description = "The user the distro's cloud image or AMI lets in over SSH (ubuntu, centos, ...); it needs passwordless sudo, as cloud images give it."
}

variable "cloud_image_url" {
  type        = string
  default     = ""
  description = "qemu: the distro's cloud image (qcow2) the image starts from. Empty when the profile names none."
}

variable "cloud_image_checksum" {
  type        = string
  default     = ""
  description = "qemu: the cloud image's checksum, \"sha256:<hex>\" or \"file:<URL of a checksum list>\"."
}

variable "seed_dir" {
  type        = string
  default     = ""
  description = "qemu: the folder holding this bake's NoCloud seed (user-data, meta-data) and the private key Packer logs in with. `labimg build --packer` makes a fresh one for every bake and passes it with -var; it is never part of a build folder."
}

variable "qemu_output_dir" {
  type        = string
  default     = ""
  description = "qemu: where the qcow2 goes, relative to the folder packer runs in; outside build_dir, which `labimg build` replaces whole."
}

variable "ami_name_filter" {
  type        = string
  default     = ""
  description = "amazon-ebs: the AMI to start from is the newest whose name matches this (wildcards allowed). Empty when the profile names none."
}

variable "ami_owners" {
  type        = list(string)
  default     = []
  description = "amazon-ebs: account ids (or aliases) one of which must own the source AMI."
}

variable "aws_region" {
  type        = string
  default     = "us-east-1"
  description = "amazon-ebs: the region the build instance runs in and the AMI is registered in."
}

variable "aws_instance_type" {
  type        = string
  default     = "t3.large"
  description = "amazon-ebs: the build instance. The bake needs no GPU, even for a GPU profile: it installs the driver packages only."
}

variable "disk_size_gb" {
  type        = number
  default     = 20
  description = "Size of the image's disk in GiB: room for Kubernetes, the container runtime, the pulled control-plane images and, on GPU profiles, the NVIDIA driver."
}
