"""The sidecar's persistent peer identity: an Ed25519 key in a 0600 file under the data dir."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.serialization import deserialize_private_key
from libp2p.peer.id import ID

from shardy.errors import P2PError

#: File name of the identity key inside the data dir.
KEY_FILE = "p2p-identity.key"


def load_or_create_identity(path: str | Path) -> KeyPair:
    """Load the key at ``path`` (libp2p protobuf private-key form), creating it on first use.

    The file is created with mode 0600 (exclusively, so two processes never race on it); a key
    file that others may read is refused rather than used.

    Raises:
        P2PError: the file is unreadable, malformed or readable by group or others.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pair = create_new_key_pair()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_identity(path)  # another process created it first
        except OSError as exc:
            raise P2PError(f"cannot create the peer key {path}: {exc}") from exc
        with os.fdopen(fd, "wb") as f:
            f.write(pair.private_key.serialize())
        return pair
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise P2PError(
                f"peer key {path} is accessible by group or others (mode {mode & 0o777:o}); "
                f"run `chmod 600 {path}`"
            )
        private = deserialize_private_key(path.read_bytes())
    except OSError as exc:
        raise P2PError(f"cannot read the peer key {path}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise P2PError(f"peer key {path} is malformed: {exc}; move it away to make a new one") \
            from exc  # fmt: skip
    except Exception as exc:  # protobuf's DecodeError has no common base with ValueError
        if isinstance(exc, P2PError):
            raise
        raise P2PError(f"peer key {path} is malformed: {exc}; move it away to make a new one") \
            from exc  # fmt: skip
    return KeyPair(private, private.get_public_key())


def peer_id_of(pair: KeyPair) -> str:
    """The base58 peer id of a key pair."""
    return ID.from_pubkey(pair.public_key).to_base58()
