"""Splits user-data the way cloud-init itself does (cloudinit.user_data.UserDataProcessor) and prints its
parts as JSON: [{"type", "filename", "content"}]. Exits 1 when cloud-init finds no part of a type it runs.

Usage: /usr/bin/python3 cloud-init-parts.py USER_DATA_FILE
"""
import json
import sys

from cloudinit.helpers import Paths
from cloudinit.user_data import UserDataProcessor

RUNNABLE = {"text/cloud-config", "text/x-shellscript"}

with open(sys.argv[1], "rb") as f:
    message = UserDataProcessor(Paths({})).process(f.read())
parts = [
    {"type": part.get_content_type(), "filename": part.get_filename(), "content": part.get_payload(decode=True).decode("utf-8")}
    for part in message.walk()
    if not part.is_multipart()
]
print(json.dumps(parts))
sys.exit(0 if parts and all(part["type"] in RUNNABLE for part in parts) else 1)
