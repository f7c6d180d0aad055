# The plugins the template in packer/ needs on Packer 1.7 and later, which ships qemu and amazon-ebs as
# plugins: `packer init packer/init` installs them once per machine.
#
# Why this block has a folder of its own: Packer 1.6.6 (Debian 12's packer) has both builders built in but
# predates `required_plugins`, and refuses every template folder that contains it. Packer reads only the
# *.pkr.hcl files directly inside the folder it is given, never a subfolder, so `packer build packer` never
# sees this file on 1.6.6, and current Packer loads the plugins `packer init` installed without it:
#
#   Packer >= 1.7:  packer init packer/init
#                   packer build -only=qemu.cloud -var-file=out/PROFILE/PROFILE.pkrvars.hcl packer
#   Packer 1.6.6:   packer build -only=qemu.cloud -var-file=out/PROFILE/PROFILE.pkrvars.hcl packer
#
# (-only=amazon-ebs.ami bakes an AMI instead.)
packer {
  required_plugins {
    qemu = {
      version = "~> 1"
      source  = "github.com/hashicorp/qemu"
    }
    amazon = {
      version = "~> 1"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
