"""Which TorchScript files may be loaded: the ones this installation exported, or by explicit choice.

A TorchScript file is a program, not data. ``torch.jit.load`` runs code the file carries: a
class's ``__setstate__`` runs while loading and ``forward`` runs on every prediction, and both can
read or write the user's files or loop forever. ``weights_only`` has no TorchScript equivalent.
So a TorchScript file from elsewhere is refused unless the user says they trust it
(``workbench predict --trust-torchscript``, or confirming the window's question); ONNX and
safetensors carry no code and are the suggested way to share models.

Workbench's own exports stay loadable without asking: ``workbench export`` records the SHA-256
of every TorchScript file it writes in ``trusted_torchscript.json`` in the user data directory.
A file whose hash is recorded is byte for byte one this installation wrote, wherever it has been
moved or copied since; any change to it (or a file of the same name from elsewhere) is not.
The record holds hashes only, no paths, and is rewritten atomically (a kill leaves the old one).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from workbench.models import WeightsError

RECORD_NAME = "trusted_torchscript.json"
_MAX_ENTRIES = 10_000  # oldest hashes are dropped beyond this: the record stays small


class UntrustedTorchScriptError(WeightsError):
    """A TorchScript file not exported by this installation, loaded without the user's consent."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        super().__init__(
            f"Refused to load TorchScript file {path}: loading a TorchScript file runs the code "
            "inside it, which can read, change or delete your files, and this installation of "
            "Workbench did not export it. Ask for an ONNX or safetensors export instead (they "
            "hold no code), or, if you trust where the file came from, load it anyway with "
            "--trust-torchscript (in the window: answer Load anyway).")


def record_path() -> Path:
    """The record's location; ``WORKBENCH_TRUST_FILE`` overrides it (tests, shared setups)."""
    override = os.environ.get("WORKBENCH_TRUST_FILE")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("workbench", appauthor=False)) / RECORD_NAME


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded() -> list[str]:
    # A missing or damaged record trusts nothing: the user is asked, never exposed.
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    hashes = data.get("sha256") if isinstance(data, dict) else None
    return [h for h in hashes if isinstance(h, str)] if isinstance(hashes, list) else []


def is_trusted(path: str | Path) -> bool:
    """Whether this installation exported exactly this file."""
    return file_sha256(path) in set(_recorded())


def record_trusted(path: str | Path) -> None:
    """Remember ``path``'s contents as an export of ours (called by ``workbench export``)."""
    from workbench.runs import atomic_write_text

    digest = file_sha256(path)
    hashes = [h for h in _recorded() if h != digest] + [digest]
    data = {"about": "SHA-256 of the TorchScript files this Workbench exported; they load "
                     "without asking. Delete this file to be asked about every TorchScript file.",
            "sha256": hashes[-_MAX_ENTRIES:]}
    atomic_write_text(record_path(), json.dumps(data, indent=1) + "\n")


def check_torchscript_allowed(path: str | Path, trust: bool) -> None:
    """Raise UntrustedTorchScriptError unless the user opted in or we exported this file."""
    if not trust and not is_trusted(path):
        raise UntrustedTorchScriptError(path)
