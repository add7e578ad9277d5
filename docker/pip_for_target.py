"""Run pip with environment markers evaluated for the Lambda target instead of this host.

pip's --python-version and --platform choose wheels for another interpreter, but pip still
evaluates environment markers (`tomli; python_version < "3.11"`, `platform_machine == "aarch64"`)
against the interpreter running it (pypa/pip#11010, #13296). A python3.9 or arm64 package built on
a python3.11 x86_64 host would then silently miss dependencies. This wrapper overrides the marker
environment with the target's values and hands the rest of the command line to pip.

With PYSLIM_PIP_SOURCES=<file> it also records what pip's resolution read (see record_sources),
so that a later build can tell, without running pip, that pip would read the same again. The
container installer runs it that way too (install.sh), with no marker values to override.

Usage: python pip_for_target.py '<json object of marker values>' install ...
"""
import hashlib
import json
import os
import runpy
import stat
import sys
from urllib.parse import urlsplit


def main() -> None:
    target = json.loads(sys.argv[1])
    from pip._vendor.packaging import markers

    host_environment = markers.default_environment

    def target_environment():
        environment = host_environment()
        environment.update(target)
        return environment

    markers.default_environment = target_environment
    record_to = os.environ.get("PYSLIM_PIP_SOURCES")
    record = record_sources(host_environment()) if record_to else None
    sys.argv = ["pip", *sys.argv[2:]]
    code = 0
    try:
        runpy.run_module("pip", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        raise
    finally:
        if record is not None and code == 0:
            with open(record_to, "w", encoding="utf-8") as out:
                json.dump(record, out)


# The states below are also computed by src/installers/pip-sources.ts; the two must agree.


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_state(path: str) -> str:
    """A file's content digest, or "missing"."""
    try:
        with open(path, "rb") as f:
            return digest(f.read())
    except OSError:
        return "missing"


def path_state(path: str, listing: bool) -> str:
    """What pip sees at a local find-links or index path: missing, a file, a folder (and its listing)."""
    try:
        found = os.stat(path)
    except OSError:
        return "missing"
    if stat.S_ISREG(found.st_mode):
        return f"file:{found.st_size}:{found.st_mtime_ns}"
    if not stat.S_ISDIR(found.st_mode):
        return "other"
    if not listing:
        return "dir"
    lines = []
    for name in os.listdir(path):
        try:
            entry = os.stat(os.path.join(path, name))
            kind = f"{entry.st_size}\t{entry.st_mtime_ns}" if stat.S_ISREG(entry.st_mode) else "d" if stat.S_ISDIR(entry.st_mode) else "?"
        except OSError:
            kind = "?"
        lines.append(f"{name}\t{kind}")
    return "listing:" + digest("\n".join(sorted(lines)).encode("utf-8", "surrogateescape"))[7:]


def record_sources(host):
    """Hooks pip to record everything its resolution reads from outside the command line:

    - pages: every index or find-links page it fetched, by URL, with a digest of the content it
      parsed (None when it got nothing: not found, unreachable);
    - paths: every local find-links or index location, as found (a folder's listing with sizes and
      modification times, so a wheel added or replaced shows);
    - files: requirement and constraint files it read (pip configuration's constraints);
    - config: pip's configuration files, present or not.

    Digests are taken before pip reads (files, paths) or of what it read (pages), so a change while
    pip runs shows as a difference next time, never the reverse. Returns None (no record, so pip
    runs again next time) when this pip's internals are not the ones hooked here.
    """
    try:
        from pip._internal import configuration
        from pip._internal.index import collector
        from pip._internal.req import req_file
        from pip._internal.utils.urls import url_to_path
    except ImportError:
        return None
    hooked = (collector, "_get_index_content"), (collector, "build_source"), (req_file, "get_file_content"), (configuration, "get_configuration_files")
    if not all(callable(getattr(module, name, None)) for module, name in hooked):
        return None

    config_files = [path for paths in configuration.get_configuration_files().values() for path in paths]
    if os.environ.get("PIP_CONFIG_FILE"):
        config_files.append(os.environ["PIP_CONFIG_FILE"])
    import pip

    record = {
        "format": 1,
        "complete": True,
        "pip": pip.__version__,
        "uname": [host.get("platform_release", ""), host.get("platform_version", "")],
        "config": {os.path.abspath(path): file_state(path) for path in config_files},
        "pages": {},
        "paths": {},
        "files": {},
    }

    get_index_content = collector._get_index_content

    def recording_get_index_content(link, *, session):
        content = get_index_content(link, session=session)
        url = link.url.split("#", 1)[0]
        parts = urlsplit(url)
        if parts.username or parts.password:
            record["complete"] = False  # never stored: it would keep a credential on disk
        if getattr(session, "proxies", None):
            record["proxied"] = True  # pyslim's check cannot go the same way
        record["pages"].setdefault(url, digest(content.content) if content is not None else None)
        return content

    build_source = collector.build_source  # collector imported it by name

    def recording_build_source(location, *, expand_dir, **rest):
        local = location if os.path.exists(location) else url_to_path(location) if location.startswith("file:") else None
        if local is not None:
            local = os.path.abspath(local)
            if local not in record["paths"]:
                record["paths"][local] = path_state(os.path.realpath(local), expand_dir)
        return build_source(location, expand_dir=expand_dir, **rest)

    get_file_content = req_file.get_file_content

    def recording_get_file_content(url, session):
        if os.path.exists(url) or url.startswith("file:"):
            local = os.path.abspath(url_to_path(url) if url.startswith("file:") else url)
            record["files"].setdefault(local, file_state(local))
        else:
            record["complete"] = False  # a remote requirements or constraints file: not checked later
        return get_file_content(url, session)

    collector._get_index_content = recording_get_index_content
    collector.build_source = recording_build_source
    req_file.get_file_content = recording_get_file_content
    return record


if __name__ == "__main__":
    main()
