"""Which DomainError codes a function of gotong_gql can raise, read from the source.

A function raises the codes it passes to DomainError or FieldError (a string, or an ErrorCode
member), the default of a `code` parameter it has, and every code of the functions it calls,
followed through the whole package. A call is followed when its target can be named: a function
of the module or of an imported module, a method of `self`, a method of a module-level instance
(`rules.COMPLETE.ensure`); a method called on anything else (`services.oidc.provider(...)`) is
taken to be every method of that name in the package. Reading too much is safe (a payload's enum
would list a code it never sees); reading too little is what the test exists to prevent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import gotong_gql

PACKAGE = Path(gotong_gql.__file__).parent
ERROR_TYPES = {"gotong_gql.errors.DomainError", "gotong_gql.errors.FieldError"}


@dataclass
class Function:
    name: str  # qualified: gotong_gql.task.rules.TaskRule.ensure
    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    owner: str | None  # the qualified class name of a method
    codes: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    forwards_code: bool = False  # raises DomainError(code, ...) with its `code` parameter
    dynamic: list[int] = field(default_factory=list)  # lines raising a code not written there


@dataclass
class Module:
    name: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # NAME = Class(...) at module level


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Index:
    def __init__(self) -> None:
        self.modules: dict[str, Module] = {}
        self.functions: dict[str, Function] = {}
        self.classes: set[str] = set()
        for path in sorted(PACKAGE.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = Module(_module_name(path), ast.parse(path.read_text(), str(path)))
            self.modules[module.name] = module
        for module in self.modules.values():
            self._read_module(module)
        for function in self.functions.values():
            self._read_function(function)

    def _read_module(self, module: Module) -> None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    module.imports[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
        for node in module.tree.body:
            self._define(module, node, None)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                cls = self._name_of(module, node.value.func)
                for target in node.targets:
                    if isinstance(target, ast.Name) and cls:
                        module.instances[target.id] = cls

    def _define(self, module: Module, node: ast.stmt, owner: str | None) -> None:
        prefix = owner or module.name
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}.{node.name}"
            self.functions[name] = Function(name, module, node, owner)
        elif isinstance(node, ast.ClassDef):
            name = f"{prefix}.{node.name}"
            self.classes.add(name)
            for child in node.body:
                self._define(module, child, name)

    def _name_of(self, module: Module, node: ast.expr) -> str | None:
        """The qualified name an expression stands for, when it names a module-level thing."""
        if isinstance(node, ast.Name):
            local = f"{module.name}.{node.id}"
            if local in self.functions or local in self.classes:
                return local
            if node.id in module.instances:
                return module.instances[node.id]
            return module.imports.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._name_of(module, node.value)
            if base is None:
                return None
            target = self.modules.get(base)
            if target is not None and node.attr in target.instances:
                return target.instances[node.attr]
            if target is not None and node.attr in target.imports:
                return target.imports[node.attr]
            return f"{base}.{node.attr}"
        return None

    def _read_function(self, function: Function) -> None:
        node = function.node
        calls = [child for child in ast.walk(node) if isinstance(child, ast.Call)]
        for call in calls:
            target = self._call_target(function, call.func)
            if target not in ERROR_TYPES or not call.args:
                continue
            first = call.args[0]
            if isinstance(first, ast.Name) and first.id == "code":
                function.forwards_code = True
            elif not _codes_in(first):
                function.dynamic.append(call.lineno)
            function.codes |= _codes_in(first)
        if function.forwards_code:
            function.codes |= _code_default(node)
        for call in calls:
            target = self._call_target(function, call.func)
            if target in ERROR_TYPES or target == "gotong_gql.errors.DomainError.many":
                continue
            for name in self._candidates(target, call.func):
                function.calls.add(name)
                callee = self.functions[name]
                if callee.forwards_code:
                    function.codes |= _code_argument(callee.node, call)

    def _call_target(self, function: Function, func: ast.expr) -> str | None:
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and function.owner
        ):
            return f"{function.owner}.{func.attr}"
        return self._name_of(function.module, func)

    def _candidates(self, target: str | None, func: ast.expr) -> list[str]:
        if target is not None:
            if target in self.functions:
                return [target]
            if target in self.classes and f"{target}.__init__" in self.functions:
                return [f"{target}.__init__"]
            if not target.startswith("gotong_gql."):
                return []
        if isinstance(func, ast.Attribute) and not func.attr.startswith("__"):
            return [
                name
                for name, candidate in self.functions.items()
                if candidate.owner is not None and name.endswith(f".{func.attr}")
            ]
        return []

    @cache  # noqa: B019 (one index per test run)
    def raised(self, name: str) -> frozenset[str]:
        """The codes a function can raise, its callees' included."""
        seen: set[str] = set()
        pending = [name]
        codes: set[str] = set()
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            function = self.functions[current]
            codes |= function.codes
            pending.extend(function.calls)
        return frozenset(codes)


def _codes_in(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper():
        return {node.value}
    if isinstance(node, ast.Attribute) and node.attr.isupper():
        return {node.attr}
    return set()


def _code_default(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    positional = [*node.args.posonlyargs, *node.args.args]
    with_defaults = positional[len(positional) - len(node.args.defaults) :]
    pairs = list(zip(with_defaults, node.args.defaults, strict=True))
    pairs += [
        (argument, default)
        for argument, default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
        if default is not None
    ]
    codes: set[str] = set()
    for argument, default in pairs:
        if argument.arg == "code":
            codes |= _codes_in(default)
    return codes


def _code_argument(callee: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> set[str]:
    """The code a call gives a callee's `code` parameter."""
    names = [argument.arg for argument in [*callee.args.posonlyargs, *callee.args.args]]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    codes: set[str] = set()
    for position, argument in enumerate(call.args):
        if position < len(names) and names[position] == "code":
            codes |= _codes_in(argument)
    for keyword in call.keywords:
        if keyword.arg == "code":
            codes |= _codes_in(keyword.value)
    return codes
