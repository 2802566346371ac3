"""The secret voter ids are hashed with: from the settings, or made once and kept beside the
SQLite file, readable by the owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.store.records import StoreError


def voter_key(data_dir: Path, secret: str = "") -> bytes:
    """``secret`` when given; else the key in ``data_dir/voter.key``, made on first use."""
    if secret:
        return secret.encode()
    path = data_dir / "voter.key"
    if data_dir.exists() and not data_dir.is_dir():
        raise StoreError(f"the data folder {data_dir} is a file (BOT_DATA_DIR)")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        return path.read_bytes()
    except OSError as err:  # voter.key a folder, no permission, a read-only disk
        raise StoreError(f"cannot keep the voter key {path}: "
                         f"{err.strerror or err}") from None
