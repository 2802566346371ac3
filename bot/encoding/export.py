"""The OpenVINO export of a model, made once by sentence-transformers and cached beside the
index (``index/models/``).

An export folder is named by a fingerprint of the model's files (their content), the
OpenVINO version and ``RECIPE``, so a changed model, runtime or recipe gets a new export.
It holds what sentence-transformers saved (its JSON configs, the tokenizer, the
OpenVINO graph) plus ``export.json``: each file's size and SHA-256, written last. An export
whose files are missing, truncated or changed is corrupt and is made again.

Both checks run on every start, so they are kept cheap the way git keeps ``git status``
cheap: file contents are hashed only when a file's size or modification time differs from
what was recorded when it was last hashed (``sources.json`` for model folders, ``export.json``
for exports). Only making an export imports sentence-transformers (and so torch)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

RECIPE = 1  # bump when what an export holds, or how it is made, changes
EXPORT_INFO = "export.json"
SOURCES = "sources.json"
GRAPH = Path("openvino") / "openvino_model.xml"
# Compute in fp32: OpenVINO's default on this CPU is bf16, which moved vectors slightly.
OV_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}


class ExportCorrupt(Exception):
    """An export folder that does not hold what its ``export.json`` says."""


@dataclass(frozen=True)
class Export:
    folder: Path
    fingerprint: str  # of the model files, OpenVINO version and recipe

    @property
    def graph(self) -> Path:
        return self.folder / GRAPH

    @property
    def label(self) -> str:
        """How the manifest names the vectors' maker."""
        return f"openvino-{self.fingerprint[:16]}"


def ensure_export(model_dir: Path, cache_dir: Path, openvino_version: str,
                  rebuild: bool = False) -> Export:
    """The verified export of ``model_dir``: the cached one, or a new one (one line of
    progress on the log) when it is missing, corrupt, or ``rebuild`` is asked for."""
    fingerprint = export_fingerprint(model_dir, cache_dir, openvino_version)
    export = Export(cache_dir / f"openvino-{fingerprint[:16]}", fingerprint)
    if rebuild:
        reason = "the cached one did not load"
    else:
        try:
            verify(export)
            return export
        except FileNotFoundError:
            reason = "none cached yet"
        except ExportCorrupt as err:
            reason = f"the cached one is corrupt: {err}"
    logger.warning("exporting the model for the OpenVINO runtime (once, ~10 s; %s) into %s",
                   reason, export.folder)
    _export(model_dir, export)
    return export


def export_fingerprint(model_dir: Path, cache_dir: Path, openvino_version: str) -> str:
    digest = hashlib.sha256(f"recipe {RECIPE}\nopenvino {openvino_version}\n".encode())
    digest.update(model_fingerprint(model_dir, cache_dir).encode())
    return digest.hexdigest()


def model_fingerprint(model_dir: Path, cache_dir: Path) -> str:
    """SHA-256 over the model folder's files (relative names and contents). Remembered in
    ``cache_dir/sources.json`` against the files' sizes and modification times, so it is
    recomputed only when one of them changes."""
    files = _files(model_dir)
    stats = [[name, *_stat(model_dir / name)] for name in files]
    record = _read_json(cache_dir / SOURCES).get(str(model_dir.resolve()), {})
    if record.get("stats") == stats and isinstance(record.get("fingerprint"), str):
        return str(record["fingerprint"])
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\n".encode())
        digest.update(_sha256(model_dir / name).encode())
    fingerprint = digest.hexdigest()
    try:
        sources = _read_json(cache_dir / SOURCES)
        sources[str(model_dir.resolve())] = {"stats": stats, "fingerprint": fingerprint}
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write_json(cache_dir / SOURCES, sources)
    except OSError as err:  # a read-only cache only costs the hashing next time
        logger.debug("could not record the model fingerprint: %s", err)
    return fingerprint


def verify(export: Export, full: bool = False) -> None:
    """Raises FileNotFoundError when there is no export, ExportCorrupt when its files do not
    match ``export.json`` (sizes always; contents when a modification time moved, or
    always when ``full``)."""
    info_path = export.folder / EXPORT_INFO
    if not export.folder.is_dir():
        raise FileNotFoundError(export.folder)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = info["files"]
        if info["fingerprint"] != export.fingerprint or GRAPH.as_posix() not in files:
            raise ExportCorrupt("export.json describes another export")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ExportCorrupt(f"export.json unreadable ({type(err).__name__})") from None
    moved = False
    for name, expected in files.items():
        path = export.folder / name
        try:
            size, mtime = _stat(path)
        except OSError:
            raise ExportCorrupt(f"{name} is missing") from None
        if size != expected["size"]:
            raise ExportCorrupt(f"{name} has {size} bytes, expected {expected['size']}")
        if mtime != expected["mtime_ns"] or full:
            if _sha256(path) != expected["sha256"]:
                raise ExportCorrupt(f"{name} has changed")
            moved = moved or mtime != expected["mtime_ns"]
            expected["mtime_ns"] = mtime
    if moved:  # copied or touched, content intact: remember, so it is not hashed again
        with contextlib.suppress(OSError):
            _write_json(info_path, info)


def _export(model_dir: Path, export: Export) -> None:
    """sentence-transformers exports (it traces the model through optimum-intel) and saves
    the whole pipeline; the folder is written under a temporary name, described in
    ``export.json`` and renamed into place."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("OPENVINO_TELEMETRY_DISABLE", "1")
    from sentence_transformers import SentenceTransformer

    # The export traces the model: the tracer's warnings, and sentence-transformers' advice
    # to save the export (done just below), would only alarm a first-time user.
    quiet = [logging.getLogger(name) for name in ("sentence_transformers", "transformers",
                                                  "optimum", "nncf")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SentenceTransformer(str(model_dir), device="cpu", backend="openvino",
                                        model_kwargs={"export": True, "ov_config": OV_CONFIG})
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)
    cache_dir = export.folder.parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    tmp.chmod(0o755)  # readable like the index beside it (mkdtemp makes it private)
    try:
        model.save(str(tmp))
        _weights_to_fp16(tmp / GRAPH)
        files = {name: {"size": _stat(tmp / name)[0], "mtime_ns": _stat(tmp / name)[1],
                        "sha256": _sha256(tmp / name)} for name in _files(tmp)}
        _write_json(tmp / EXPORT_INFO, {"fingerprint": export.fingerprint,
                                        "model": str(model_dir), "recipe": RECIPE,
                                        "files": files})
        if export.folder.exists():  # the corrupt one: out of the way, then gone
            stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=cache_dir))
            os.replace(export.folder, stale / "export")
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, export.folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (export.folder / EXPORT_INFO).is_file():  # another process may have won
            raise


def _weights_to_fp16(graph: Path) -> None:
    """Store the weights as fp16; the runtime still computes in fp32 (``OV_CONFIG``). Halves
    the file and cuts the runtime's resident memory by ~65 MB, and moves vectors by less
    than 1e-6 in cosine (tested against sentence-transformers). bf16 *compute*, OpenVINO's
    default here, moved them 100 times more."""
    import openvino

    model = openvino.Core().read_model(str(graph))
    staged = graph.parent / "fp16" / graph.name
    openvino.save_model(model, str(staged), compress_to_fp16=True)
    del model
    for suffix in (".xml", ".bin"):
        os.replace(staged.with_suffix(suffix), graph.with_suffix(suffix))
    staged.parent.rmdir()


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative, sorted), the runtime's compile cache and
    hidden files left out."""
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "compiled"
                                   for part in p.relative_to(folder).parts)
        and p.name != EXPORT_INFO
    )


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)
