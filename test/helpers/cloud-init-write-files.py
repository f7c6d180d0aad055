"""Runs cloud-init's own write_files module on a user-data file, with every path moved under a root.

Usage: python3 cloud-init-write-files.py USER_DATA ROOT
cloud-init decodes (gzip+base64), writes and chmods each file exactly as it would on a node; only the
destination is re-rooted so the test never touches this machine's /etc.
"""
import os
import sys

import yaml
from cloudinit.config.cc_write_files import write_files

user_data_path, root = sys.argv[1], sys.argv[2]
with open(user_data_path, encoding="utf-8") as handle:
    config = yaml.safe_load(handle)

files = config.get("write_files", [])
for entry in files:
    entry["path"] = os.path.join(root, entry["path"].lstrip("/"))
write_files("write_files", files, "root:root")
