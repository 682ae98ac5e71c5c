"""Compiled models kept on disk: a new process loads a structure's C functions, not compiles them.

nutpie's numba backend turns a model's log density (with its gradient) and its "expand" function
into two C callbacks. Compiling them was most of a cold fit: the standard hierarchical model
took 16.1-16.9 s in a new process, 7.4-7.9 s once they are loaded instead (about 0.5 s;
BENCHMARKS.md, "Compiled models on disk"). numba cannot cache the callbacks itself: they close
over per-compile objects (nutpie names each shared variable by a random UUID, and those names
are part of the record type the callbacks read), so numba's own cache key differs on every
compile.

:func:`compile_model` therefore does what ``nutpie.compile_pymc_model`` does for the numba
backend, with two changes: shared variables get deterministic names, and each callback's
machine code is stored under a key of everything it depends on:

* PyTensor's own cache keys of the two compiled graphs, which cover every operation and every
  constant (priors included); data live in shared variables, so another dataset of the same
  structure gets the same entry. A graph PyTensor cannot key is compiled and not stored.
* the dimension, the shared variables' names, dtypes and ranks in order, the fastmath flag,
* the versions of Python, NumPy, numba, llvmlite, PyTensor, PyMC and nutpie, and numba's
  target (triple, CPU name and features): a cache copied to another machine is not used there.

An entry holds data, not Python objects (the product never unpickles, ``tests/test_code_safety``):
per callback the object code and bitcode numba's own cache would store, the symbol to call, and
the numba environments the code refers to as (name, module, constants), where a module must be
numba's, PyTensor's or nutpie's and a constant a dtype or a JSON scalar; a compile result
needing anything else is not stored. Still, an entry is machine code this process will run: the
directory, ``<PyTensor base_compiledir>/bayescale`` (emptying PyTensor's cache empties it too)
or ``BAYESCALE_COMPILE_DIR``, is created mode 0700 and must be writable only by the user who runs
bayescale, as PyTensor's and numba's caches must. ``BAYESCALE_COMPILE_DIR=off`` turns it off.
Files are written atomically and carry a SHA-256 of their contents (a damaged file is deleted
and the model compiled again, never loaded); the least recently used beyond :data:`MAX_ENTRIES`
are deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib
import json
import logging
import os
import struct
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DIR_ENV = "BAYESCALE_COMPILE_DIR"
OFF = "off"
FORMAT = 1  # bump when what is stored changes
SUFFIX = ".nbc"  # numba callbacks
MAX_ENTRIES = 100  # 0.5-1 MB each (1.0 MB the standard hierarchical model): at most ~100 MB
_DIGEST = hashlib.sha256().digest_size

# Callbacks loaded or compiled in this process, by store key. numba never frees JIT code, so
# holding them costs nothing more; it also means an entry is loaded into the JIT once, never
# a second copy of the same symbols.
_LOADED: dict[str, tuple[Callback, Callback]] = {}
_LOADED_LOCK = threading.Lock()
# How this process got its models' callbacks: "compiled", "loaded" (from the store) or "reused"
# (from _LOADED). Read by tests and benchmarks.
COUNTS: Counter[str] = Counter()


@dataclass(frozen=True)
class Callback:
    """What nutpie and :func:`models.multistart.log_density` use of a numba ``CFunc``."""

    address: int  # of the C callback
    signature: Any  # numba Signature
    # what keeps the machine code at ``address`` and the objects it points to alive: the numba
    # CodeLibrary, and the compile result or the environments whose addresses the code holds
    keep: tuple[Any, ...] = field(repr=False, compare=False)
    # the entry's data for this callback (:func:`_stored_form`); None when it cannot be stored
    # or was loaded
    stored: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def ctypes(self) -> Any:
        """A ctypes function object calling the callback."""
        from numba.core.typing.ctypes_utils import to_ctypes

        sig = self.signature
        convert: Callable[[Any], Any] = to_ctypes
        proto = ctypes.CFUNCTYPE(convert(sig.return_type), *map(convert, sig.args))
        return proto(self.address)


def _signatures() -> tuple[Any, Any]:
    """The C signatures of nutpie's log density and expand callbacks (nutpie 0.16)."""
    from numba import types

    double = types.CPointer(types.double)  # type: ignore[no-untyped-call]
    logp = types.int64(types.uint64, double, double, double, types.voidptr)
    expand = types.int64(types.uint64, types.uint64, double, double, types.voidptr)
    return logp, expand


def store_dir() -> Path | None:
    """Where entries live, or None when the store is off (read when used, not at import)."""
    given = os.environ.get(DIR_ENV, "")
    if given.strip().lower() == OFF:
        return None
    if given:
        return Path(given)
    import pytensor

    return Path(pytensor.config.base_compiledir) / "bayescale"


def compile_model(model: Any) -> Any:
    """Nutpie's ``CompiledPyMCModel`` for a PyMC model (numba backend), from the store if there.

    Equivalent to ``nutpie.compile_pymc_model(model)`` with its defaults (support-point initial
    values with jitter on every free variable, every variable stored); the caller sets
    PyTensor's flags (``models.sampling`` turns fastmath off). It calls the helpers nutpie's own
    function calls (private names of nutpie 0.16, pinned by ``uv.lock``); a slow test compares
    its density with ``nutpie.compile_pymc_model``'s bit for bit, so an upgrade that changes
    them fails there.
    """
    from nutpie import compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    initial = cp._wrap_with_lock(
        make_initial_point_fn(
            model=model,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info, renamed = (
        cp._make_functions(
            model, mode="NUMBA", compute_grad=True, join_expanded=True,
            pymc_initial_point_fn=initial, var_names=None,
        )
    )  # fmt: skip
    # nutpie names shared variables by uuid4(); names in order of first use are deterministic
    shared_keys: dict[Any, str] = {}
    for var in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        shared_keys.setdefault(var, f"shared{len(shared_keys)}")
    shared_data = {
        key: np.array(var.get_value(), order="C", copy=True) for var, key in shared_keys.items()
    }
    for value in shared_data.values():
        value.flags.writeable = False
    user_data = cp.make_user_data(shared_keys, shared_data)
    logp_keys = [shared_keys[v] for v in logp_fn.get_shared()]
    expand_keys = [shared_keys[v] for v in expand_fn.get_shared()]

    def build() -> tuple[Callback, Callback]:
        logp = cp._make_c_logp_func(n_dim, logp_fn.vm.jit_fn, user_data, logp_keys, shared_data)
        expand = cp._make_c_expand_func(
            n_dim, n_expanded, expand_fn.vm.jit_fn, user_data, expand_keys, shared_data
        )
        return _compiled(*logp), _compiled(*expand)

    key = _store_key(logp_fn, expand_fn, n_dim, n_expanded, shared_data, logp_keys, expand_keys)
    logp_cb, expand_cb = _callbacks(key, build)
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, renamed)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_cb,
        compiled_expand_func=expand_cb,
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        shared_var_keys=shared_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
        reparameterized_names=renamed,
    )


def _store_key(
    logp_fn: Any,
    expand_fn: Any,
    n_dim: int,
    n_expanded: int,
    shared_data: dict[str, np.ndarray],
    logp_keys: list[str],
    expand_keys: list[str],
) -> str | None:
    """The entry's name; None when PyTensor cannot key a graph (then nothing is stored)."""
    import llvmlite  # type: ignore[import-untyped]
    import numba
    import nutpie
    import pymc
    import pytensor
    from numba.core.registry import cpu_target
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    graphs = []
    for fn in (logp_fn, expand_fn):
        _, graph_key = numba_funcify_and_cache_key(fn.maker.fgraph)
        if graph_key is None:
            return None
        graphs.append(graph_key)

    def layout(keys: list[str]) -> list[tuple[str, str, int]]:
        return [(k, shared_data[k].dtype.str, shared_data[k].ndim) for k in keys]

    parts = (
        FORMAT, graphs, n_dim, n_expanded, layout(logp_keys), layout(expand_keys),
        bool(pytensor.config.numba__fastmath), sys.version,
        [m.__version__ for m in (np, numba, llvmlite, pytensor, pymc, nutpie)],
        cpu_target.target_context.codegen().magic_tuple(),
    )  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def _callbacks(
    key: str | None, build: Callable[[], tuple[Callback, Callback]]
) -> tuple[Callback, Callback]:
    """The two callbacks: from this process, else from the store, else compiled (and stored)."""
    if key is None:
        COUNTS["compiled"] += 1
        return build()
    with _LOADED_LOCK:
        if key in _LOADED:
            COUNTS["reused"] += 1
            return _LOADED[key]
        folder = store_dir()
        found = _load(folder / f"{key}{SUFFIX}") if folder is not None else None
        COUNTS["loaded" if found is not None else "compiled"] += 1
        if found is None:
            found = build()
            if folder is not None:
                _save(folder, key, found)
            found = (replace(found[0], stored=None), replace(found[1], stored=None))
        _LOADED[key] = found
        return found


def _compiled(raw: Any, signature: Any) -> Callback:
    """The numba C callback for ``raw``, compiled now."""
    from numba.core import sigutils
    from numba.core.ccallback import CFunc
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        # CFunc takes the (args, return type) pair; the Signature itself is kept for ctypes
        pair = sigutils.normalize_signature(signature)  # type: ignore[no-untyped-call]
        cfunc = CFunc(raw, pair, {}, {})
        cres = cfunc._compile_uncached()  # type: ignore[attr-defined]
        address = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
        # the code holds raw addresses of these environments (numba does not count them as
        # references): kept with the callback, as nutpie keeps its CFunc and all it closes over
        envs = tuple(cres._find_referenced_environments())
        stored = _stored_form(cres, envs) if signature in _signatures() else None
    return Callback(address, signature, (cfunc, cres.library, cres, *envs), stored)


# A stored environment's module must belong to one of these (it is imported if not yet).
_ENV_PACKAGES = ("numba", "pytensor", "nutpie")


def _stored_form(cres: Any, envs: tuple[Any, ...]) -> dict[str, Any] | None:
    """A compile result as data a later process can load (None: it holds more than data).

    numba's cache refuses code holding addresses of this process's objects (dynamic globals),
    loops lifted to object mode or functions run at load time: so does this store. The
    environments the code points to (one per numba function linked in) are kept by name,
    module and constants, and only when every constant is a dtype or a JSON scalar.
    """
    if cres.library.has_dynamic_globals or cres.objectmode or cres.lifted or cres.reload_init:
        return None
    named = []
    for env in envs:
        module = env.globals.get("__name__")
        if not isinstance(module, str) or module.split(".")[0] not in _ENV_PACKAGES:
            return None
        consts = [_const_to_json(c) for c in env.consts]
        if any(c is None for c in consts):
            return None
        named.append({"name": env.env_name, "module": module, "consts": consts})
    name, kind, (object_code, bitcode) = cres.library.serialize_using_object_code()
    assert kind == "object"
    return {
        "library": name,
        "symbol": cres.fndesc.llvm_cfunc_wrapper_name,
        "envs": named,
        "blobs": [bytes(object_code), bytes(bitcode)],
    }


def _const_to_json(value: Any) -> dict[str, Any] | None:
    if isinstance(value, np.dtype):
        return {"dtype": value.str}
    if value is None or isinstance(value, bool | int | float | str):
        return {"value": value}
    return None


def _const_from_json(spec: dict[str, Any]) -> Any:
    if set(spec) == {"dtype"}:
        return np.dtype(spec["dtype"])
    if set(spec) == {"value"} and isinstance(spec["value"], bool | int | float | str | None):
        return spec["value"]
    raise ValueError(f"an environment constant that is not data: {spec!r}")


def _save(folder: Path, key: str, callbacks: tuple[Callback, Callback]) -> None:
    """Store both callbacks; a failure only costs the next process a compile.

    Layout: SHA-256 of the rest, the header's length (8 bytes, big-endian), the JSON header
    (per callback: library name, symbol, environments, blob lengths), then the blobs.
    """
    stored = [cb.stored for cb in callbacks]
    if any(s is None for s in stored):
        return
    header, blobs = [], []
    for s in stored:
        assert s is not None
        header.append({k: s[k] for k in ("library", "symbol", "envs")})
        header[-1]["blobs"] = [len(b) for b in s["blobs"]]
        blobs.extend(s["blobs"])
    head = json.dumps({"format": FORMAT, "callbacks": header}).encode()
    body = struct.pack(">Q", len(head)) + head + b"".join(blobs)
    written = None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # written whole under another name, then renamed: a reader never sees half a file
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
            written = tmp.name
            tmp.write(hashlib.sha256(body).digest() + body)
        os.replace(written, folder / f"{key}{SUFFIX}")
        _prune(folder)
    except OSError as exc:
        log.warning("compiled model not stored in %s: %s", folder, exc)
        if written is not None:
            with contextlib.suppress(OSError):
                os.unlink(written)


def _load(path: Path) -> tuple[Callback, Callback] | None:
    """The stored callbacks; None when absent, damaged or unloadable (the file is then deleted)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        loaded = _parse_and_link(blob)
    except Exception as exc:  # any failure: compile instead, never fail the fit
        log.warning("compiled model %s not loaded (%s); compiling it again", path.name, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruned last
    return loaded


def _parse_and_link(blob: bytes) -> tuple[Callback, Callback]:
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    digest, body = blob[:_DIGEST], blob[_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError("checksum mismatch")
    (size,) = struct.unpack(">Q", body[:8])
    header = json.loads(body[8 : 8 + size])
    if header.get("format") != FORMAT or len(header["callbacks"]) != 2:
        raise ValueError("another format")
    offset = 8 + size
    context = cpu_target.target_context
    callbacks = []
    with global_compiler_lock:
        context.refresh()  # numba's runtime (NRT) is initialised on first use
        codegen = context.codegen()
        for spec, signature in zip(header["callbacks"], _signatures(), strict=True):
            envs = [_environment(env) for env in spec["envs"]]  # checked before any code loads
            sizes = spec["blobs"]
            object_code = body[offset : offset + sizes[0]]
            bitcode = body[offset + sizes[0] : offset + sizes[0] + sizes[1]]
            offset += sizes[0] + sizes[1]
            library = codegen.unserialize_library(
                (spec["library"], "object", (object_code, bitcode))
            )
            for env in envs:
                library.codegen.set_env(env.env_name, env)  # the code holds its address
            address = library.get_pointer_to_function(spec["symbol"])
            callbacks.append(Callback(address, signature, (library, *envs)))
    if offset != len(body):
        raise ValueError("trailing bytes")
    return callbacks[0], callbacks[1]


def _environment(spec: dict[str, Any]) -> Any:
    """The numba environment ``spec`` names: this process's, or one built as numba's cache does."""
    from numba.core.environment import Environment, lookup_environment

    found = lookup_environment(spec["name"])  # type: ignore[no-untyped-call]
    if found is not None:
        return found
    module_name = spec["module"]
    if module_name.split(".")[0] not in _ENV_PACKAGES:
        raise ValueError(f"environment of module {module_name!r}")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    env = Environment(module.__dict__)
    env.consts[:] = [_const_from_json(c) for c in spec["consts"]]
    env.env_name = spec["name"]
    Environment._memo[spec["name"]] = env
    return env


def _prune(folder: Path) -> None:
    """Delete the least recently used entries beyond :data:`MAX_ENTRIES`."""
    entries = []
    for path in folder.glob(f"*{SUFFIX}"):
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime, path))
    for _, path in sorted(entries)[:-MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            path.unlink()
