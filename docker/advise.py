"""The cold-start advisor's Python side, in three modes, run by the runtime's interpreter.

  measure  imports the handler module once (a fresh interpreter per call, maybe under a CPU
           quota) and prints its wall time; this is the user's code running.
  lines    imports it once with each top-level statement of the function's own modules timed
           on its own (the user's code running); prints the statements.
  check    reads the function's own files with `ast` (nothing of the user's runs) and prints
           findings: SDK clients built per call, network calls at init, imports used on one
           branch, helper imports the handler never needs, SnapStart uniqueness hazards.

Usage: python advise.py MODE --root DIR [--root DIR ...] [--fallback DIR ...] --handler module.function
                         [--own RELPATH ...]
Each mode prints one JSON object on its last stdout line. An import that fails prints
{"error": "missing" | "raised" | "no-function", ...} and exits 3.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("measure", "lines", "check"))
    parser.add_argument("--root", action="append", default=[])
    parser.add_argument("--fallback", action="append", default=[])
    parser.add_argument("--handler", required=True)
    parser.add_argument("--own", action="append", default=[])
    return parser.parse_args()


def fail(kind: str, **fields: object) -> None:
    print(json.dumps({"error": kind, **fields}))
    sys.exit(3)


def import_handler(module: str, function: str) -> None:
    """Imports as Lambda's bootstrap does; a failure becomes one JSON line naming what broke."""
    try:
        loaded = __import__(module, fromlist=["_"])
    except ModuleNotFoundError as error:
        if error.name == module or module.startswith(f"{error.name}."):
            fail("missing", module=module)
        raise_info(error)
    except BaseException as error:  # SystemExit and KeyboardInterrupt at import are failures too
        raise_info(error)
    if not callable(getattr(loaded, function, None)):
        fail("no-function", module=module, function=function)


def raise_info(error: BaseException) -> None:
    tb = error.__traceback__
    where = None
    while tb is not None:
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    fail("raised", type=type(error).__name__, message=str(error)[:300], file=where[0] if where else None, line=where[1] if where else None)


def setup_path(args: argparse.Namespace) -> None:
    sys.dont_write_bytecode = True
    sys.path[:0] = args.root
    sys.path.extend(args.fallback)


def measure(args: argparse.Namespace) -> None:
    setup_path(args)
    module, _, function = args.handler.rpartition(".")
    started = time.perf_counter()
    import_handler(module, function)
    print(json.dumps({"initMs": (time.perf_counter() - started) * 1000}))


def lines(args: argparse.Namespace) -> None:
    """Runs each top-level statement of the function's own modules separately and times it.

    A statement's time includes what it imports; `selfMs` leaves out the timed statements of the
    function's own modules that it ran (so `import helper` does not hide helper.py's lines).
    Compiling the statements is not counted: on Lambda the bytecode is already compiled.
    """
    import __future__
    import importlib.machinery

    setup_path(args)
    own = {os.path.realpath(os.path.join(args.root[0], rel)) for rel in args.own if rel.endswith(".py")}
    records: list[dict] = []
    nested: list[int] = []

    class TimedLoader(importlib.machinery.SourceFileLoader):
        def exec_module(self, module):  # noqa: ANN001
            with open(self.path, "rb") as handle:
                source = handle.read()
            tree = ast.parse(source, self.path)
            text = source.decode("utf-8", "replace").splitlines()
            flags = 0
            for stmt in tree.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                    for alias in stmt.names:
                        flags |= getattr(__future__, alias.name).compiler_flag
                code = compile(ast.Module(body=[stmt], type_ignores=[]), self.path, "exec", flags=flags, dont_inherit=True)
                nested.append(0)
                started = time.perf_counter_ns()
                try:
                    exec(code, module.__dict__)
                finally:
                    spent = time.perf_counter_ns() - started
                    inner = nested.pop()
                    if nested:
                        nested[-1] += spent
                    records.append({
                        "file": os.path.relpath(self.path, args.root[0]),
                        "line": stmt.lineno,
                        "statement": statement_text(text, stmt),
                        "ms": spent / 1e6,
                        "selfMs": (spent - inner) / 1e6,
                    })

    class OwnFinder:
        """Hands the function's own source files to TimedLoader; everything else as PathFinder finds it."""

        @staticmethod
        def find_spec(name, path=None, target=None):  # noqa: ANN001
            spec = importlib.machinery.PathFinder.find_spec(name, path, target)
            if spec is not None and spec.origin and os.path.realpath(spec.origin) in own:
                spec.loader = TimedLoader(name, spec.origin)
            return spec

        @staticmethod
        def invalidate_caches() -> None:
            importlib.machinery.PathFinder.invalidate_caches()

    # Just before PathFinder, so builtin and frozen modules still load as they normally do.
    at = next((i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder), len(sys.meta_path))
    sys.meta_path.insert(at, OwnFinder)
    module, _, function = args.handler.rpartition(".")
    import_handler(module, function)
    print(json.dumps({"statements": records}))


def statement_text(text: list[str], stmt: ast.stmt) -> str:
    first = text[stmt.lineno - 1].strip() if stmt.lineno <= len(text) else ""
    return first if len(first) <= 120 else first[:117] + "..."


# ---------------------------------------------------------------- check

AWS_FACTORIES = {"client", "resource"}
HTTP_MODULES = {"requests", "httpx", "urllib3"}
HTTP_FUNCTIONS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "urlopen", "create_connection"}
# Client methods that do not go over the network.
LOCAL_CLIENT_METHODS = {"get_paginator", "get_waiter", "can_paginate", "close", "exceptions", "meta"}
SEEDED = {"random": {"seed", "random", "randint", "randrange", "choice", "shuffle", "getrandbits", "uniform", "sample", "Random"}}
UNIQUE_CALLS = {
    ("uuid", "uuid4"): "uuid",
    ("uuid", "uuid1"): "uuid",
    ("os", "urandom"): "urandom",
    ("time", "time"): "timestamp",
    ("time", "time_ns"): "timestamp",
    ("datetime", "now"): "timestamp",
    ("datetime", "utcnow"): "timestamp",
    ("datetime", "today"): "timestamp",
    ("date", "today"): "timestamp",
    ("socket", "socket"): "connection",
    ("socket", "create_connection"): "connection",
}
CONNECTORS = {"psycopg2", "psycopg", "pymysql", "mysql", "sqlite3", "redis", "pymongo", "sqlalchemy"}
CONNECT_FUNCTIONS = {"connect", "Redis", "StrictRedis", "MongoClient", "create_engine"}
CREDENTIAL_METHODS = {"get_secret_value", "get_parameter", "get_parameters", "get_parameters_by_path", "assume_role", "get_credentials", "get_session_token"}


def dotted(node: ast.AST) -> list[str]:
    """a.b.c → ['a', 'b', 'c']; anything else that is not a plain name chain → []."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    if isinstance(node, ast.Call):  # boto3.client("ssm").get_parameter(...)
        inner = dotted(node.func)
        return [*inner, "()", *parts[::-1]] if inner else []
    return []


class ModuleFacts:
    """What one own module imports at top level and which names it binds to AWS clients."""

    def __init__(self, rel: str, source: str) -> None:
        self.rel = rel
        self.tree = ast.parse(source, rel)
        self.text = source.splitlines()
        self.aliases: dict[str, str] = {}  # local name → the module or module.attr it stands for
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.clients: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and self.is_sdk_factory(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.clients.add(target.id)

    def resolve(self, node: ast.AST) -> list[str]:
        parts = dotted(node)
        if parts and parts[0] in self.aliases:
            return [*self.aliases[parts[0]].split("."), *parts[1:]]
        return parts

    def is_sdk_factory(self, call: ast.Call) -> bool:
        parts = self.resolve(call.func)
        if len(parts) >= 2 and parts[0] == "boto3" and parts[-1] in AWS_FACTORIES | {"Session"}:
            return True
        # session.client(...) on a boto3 Session
        return len(parts) >= 3 and parts[0] == "boto3" and "()" in parts and parts[-1] in AWS_FACTORIES

    def finding(self, code: str, node: ast.AST, subject: str) -> dict:
        line = getattr(node, "lineno", 1)
        text = self.text[line - 1].strip() if line <= len(self.text) else ""
        return {"code": code, "file": self.rel, "line": line, "statement": text[:120], "subject": subject}


def module_level_nodes(tree: ast.Module):
    """Every node that runs at import: the module body and class bodies, not function bodies; with whether a try guards it."""
    def walk(node: ast.AST, guarded: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                for decorator in getattr(child, "decorator_list", []):
                    yield from walk_one(decorator, guarded)
                continue
            yield from walk_one(child, guarded)

    def walk_one(node: ast.AST, guarded: bool):
        yield node, guarded
        if isinstance(node, ast.Try) or (sys.version_info >= (3, 11) and isinstance(node, getattr(ast, "TryStar", ast.Try))):
            for part in node.body:
                yield from walk_one(part, True)
            for part in [*node.handlers, *node.orelse, *node.finalbody]:
                yield from walk_one(part, guarded)
            return
        yield from walk(node, guarded)

    yield from walk(tree, False)


def function_body_nodes(function: ast.AST):
    """Nodes of one function's body, without nested functions (they run when called, maybe never)."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def check_module(facts: ModuleFacts, handler_function: str | None) -> list[dict]:
    findings = []
    for node, guarded in module_level_nodes(facts.tree):
        if not isinstance(node, ast.Call):
            continue
        parts = facts.resolve(node.func)
        if not parts:
            continue
        head, last = parts[0], parts[-1]
        network = (head in HTTP_MODULES and last in HTTP_FUNCTIONS) or parts[:3] == ["urllib", "request", "urlopen"] or parts == ["socket", "create_connection"]
        client_call = head in facts.clients and len(parts) >= 2 and last not in LOCAL_CLIENT_METHODS
        chained = head == "boto3" and "()" in parts and last not in AWS_FACTORIES | LOCAL_CLIENT_METHODS
        if (network or client_call or chained) and not guarded:
            findings.append(facts.finding("NETWORK_AT_INIT", node, ".".join(p for p in parts if p != "()")))
        # SnapStart: state made at init that every restored environment would share.
        if head in SEEDED and last in SEEDED[head]:
            findings.append(facts.finding("SNAPSTART_RANDOM", node, f"{head}.{last}"))
        elif head == "secrets":
            findings.append(facts.finding("SNAPSTART_SECRETS", node, ".".join(parts)))
        elif (head, last) in UNIQUE_CALLS or (len(parts) >= 2 and (parts[-2], last) in UNIQUE_CALLS):
            kind = UNIQUE_CALLS.get((head, last)) or UNIQUE_CALLS[(parts[-2], last)]
            findings.append(facts.finding(f"SNAPSTART_{kind.upper()}", node, ".".join(parts)))
        elif head in CONNECTORS and last in CONNECT_FUNCTIONS:
            findings.append(facts.finding("SNAPSTART_CONNECTION", node, ".".join(parts)))
        if last in CREDENTIAL_METHODS and (client_call or chained or head == "boto3"):
            findings.append(facts.finding("SNAPSTART_CREDENTIALS", node, ".".join(p for p in parts if p != "()")))
    if handler_function:
        function = next((n for n in facts.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == handler_function), None)
        if function is not None:
            for node in function_body_nodes(function):
                if isinstance(node, ast.Call) and facts.is_sdk_factory(node):
                    findings.append(facts.finding("SDK_CLIENT_IN_HANDLER", node, ".".join(p for p in facts.resolve(node.func) if p != "()")))
    return findings


def top_level_imports(facts: ModuleFacts):
    """(line, names bound, the module imported) for each module-level import statement."""
    for node in facts.tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, [alias.asname or alias.name.split(".")[0]], alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, [alias.asname or alias.name for alias in node.names], node.module


def used_names_by_function(tree: ast.Module) -> tuple[set[str], dict[str, set[str]]]:
    """Names read at module level, and per top-level function the names it reads."""
    at_init: set[str] = set()
    per_function: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            per_function[node.name] = names
            for decorator in node.decorator_list:
                at_init |= {n.id for n in ast.walk(decorator) if isinstance(n, ast.Name)}
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            at_init |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return at_init, per_function


def check_helpers(handler: ModuleFacts, helpers: dict[str, ModuleFacts]) -> list[dict]:
    """A helper's top-level import whose names only serve helper functions the handler module never refers to."""
    referenced: set[str] = {n.attr for n in ast.walk(handler.tree) if isinstance(n, ast.Attribute)}
    referenced |= {n.id for n in ast.walk(handler.tree) if isinstance(n, ast.Name)}
    for node in ast.walk(handler.tree):
        if isinstance(node, ast.ImportFrom):
            referenced |= {alias.name for alias in node.names}
    findings = []
    for module_name, facts in helpers.items():
        imported_by_handler = any(module_name == target or target.startswith(f"{module_name}.") for target in handler.aliases.values())
        if not imported_by_handler:
            continue
        at_init, per_function = used_names_by_function(facts.tree)
        for line, names, imported in top_level_imports(facts):
            if any(name in at_init for name in names):
                continue
            users = sorted(f for f, used in per_function.items() if any(name in used for name in names))
            if any(user in referenced for user in users):
                continue
            node = next(n for n in facts.tree.body if getattr(n, "lineno", 0) == line)
            finding = facts.finding("HELPER_IMPORT_UNUSED", node, imported)
            finding["users"] = users
            findings.append(finding)
    return findings


def check_branch_imports(handler: ModuleFacts) -> list[dict]:
    sys.path.insert(0, HERE)
    from importtime import usage_of_imports  # the profile's reading of where imports are used

    findings = []
    partial = {entry["module"]: entry for entry in usage_of_imports("\n".join(handler.text)) if entry["usage"] == "some-paths"}
    for line, _names, imported in top_level_imports(handler):
        if imported in partial:
            node = next(n for n in handler.tree.body if getattr(n, "lineno", 0) == line)
            findings.append(handler.finding("IMPORT_ON_ONE_BRANCH", node, imported))
    return findings


def installed_distributions(root: str) -> list[dict]:
    """Name, version and wheel tags of each *.dist-info at the top of the tree, for the arm64 check."""
    found = []
    for entry in sorted(os.listdir(root)):
        if not entry.endswith(".dist-info"):
            continue
        fields: dict[str, list[str]] = {}
        for name in ("METADATA", "WHEEL"):
            try:
                with open(os.path.join(root, entry, name), encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        if not line.strip():
                            break  # the headers end at the first blank line
                        key, _, value = line.partition(":")
                        fields.setdefault(key.strip(), []).append(value.strip())
            except OSError:
                continue
        if "Name" in fields and "Version" in fields:
            found.append({"name": fields["Name"][0], "version": fields["Version"][0], "tags": fields.get("Tag", []),
                          "purelib": fields.get("Root-Is-Purelib", ["false"])[0].lower() == "true"})
    return found


def check(args: argparse.Namespace) -> None:
    module, _, function = args.handler.rpartition(".")
    root = args.root[0]
    modules: dict[str, ModuleFacts] = {}
    for rel in args.own:
        if not rel.endswith(".py"):
            continue
        name = rel[:-3].replace("/", ".").removesuffix(".__init__")
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as handle:
                modules[name] = ModuleFacts(rel, handle.read())
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue  # the import check reports files that do not compile
    findings = []
    for name, facts in modules.items():
        findings.extend(check_module(facts, function if name == module else None))
    handler = modules.get(module)
    if handler is not None:
        findings.extend(check_branch_imports(handler))
        findings.extend(check_helpers(handler, {n: f for n, f in modules.items() if n != module}))
    print(json.dumps({"findings": findings, "handlerSource": handler is not None, "distributions": installed_distributions(root)}))


def main() -> None:
    args = parse_args()
    {"measure": measure, "lines": lines, "check": check}[args.mode](args)


if __name__ == "__main__":
    main()
