"""Size rules of shipped kernels: small integer expressions over the task's params.

A rule such as ``"ceil_div(n, 64)"`` or ``"m * k // 4"`` is data, evaluated the same way by the
client, the orchestrator and every worker. The grammar is deliberately tiny (and portable to the
browser worker): integer literals, parameter names, ``+ - * // %``, unary minus, parentheses and
``min``, ``max``, ``ceil_div``. Every intermediate value must stay within 0..2**62 in magnitude,
so a rule cannot be used to stall the evaluator. Written here rather than taken from a library
(simpleeval and friends evaluate floats and much more Python than this needs).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from functools import lru_cache

from shardy.errors import KernelError

MAX_RULE = 200
LIMIT = 1 << 62
_FUNCS = {"min": 2, "max": 2, "ceil_div": 2}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_TOKENS = re.compile(r"(?:[ \t]+|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?![A-Za-z0-9_])|//|[-+*%(),])*")


def parse(rule: str) -> ast.expr:
    """The checked syntax tree of ``rule``. Raises KernelError naming what is not allowed."""
    if not isinstance(rule, str) or not 0 < len(rule) <= MAX_RULE:
        raise KernelError(f"a size rule is a string of 1..{MAX_RULE} characters, got {rule!r:.60}")
    if not _TOKENS.fullmatch(rule):  # decimal integers only: no 0x.., 1_0, line continuations
        raise KernelError(
            f"size rule {rule!r}: use names, decimal integers, + - * // %, parentheses and commas"
        )
    return _parse(rule)


@lru_cache(maxsize=1024)
def _parse(rule: str) -> ast.expr:
    try:
        tree = ast.parse(rule, mode="eval").body
    except SyntaxError as exc:
        raise KernelError(f"size rule {rule!r} does not parse: {exc.msg}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.USub, *_OPS))
        if isinstance(node, ast.Constant):
            ok = type(node.value) is int
        elif isinstance(node, ast.Call):
            ok = (
                isinstance(node.func, ast.Name)
                and _FUNCS.get(node.func.id) == len(node.args)
                and not node.keywords
            )
        elif isinstance(node, ast.UnaryOp):
            ok = isinstance(node.op, ast.USub)
        elif isinstance(node, ast.BinOp):
            ok = isinstance(node.op, _OPS)
        if not ok:
            what = node.op if isinstance(node, (ast.BinOp, ast.UnaryOp)) else node
            raise KernelError(
                f"size rule {rule!r}: {type(what).__name__} is not allowed; use integers, "
                "param names, + - * // %, min, max and ceil_div"
            )
    return tree


def names(rule: str) -> set[str]:
    """The parameter names ``rule`` reads."""
    tree = parse(rule)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def evaluate(rule: str, params: Mapping[str, object]) -> int:
    """The value of ``rule`` with ``params``' integers bound to their names.

    Raises:
        KernelError: an unknown or non-integer name, a division by zero, or a value out of range.
    """
    return _eval(parse(rule), rule, params)


def _eval(node: ast.expr, rule: str, params: Mapping[str, object]) -> int:
    if isinstance(node, ast.Constant):
        v = node.value
    elif isinstance(node, ast.Name):
        v = params.get(node.id)
        if type(v) is not int:
            raise KernelError(
                f"size rule {rule!r}: param {node.id!r} must be an integer, got {v!r}"
            )
    elif isinstance(node, ast.UnaryOp):
        v = -_eval(node.operand, rule, params)
    elif isinstance(node, ast.Call):
        a, b = (_eval(x, rule, params) for x in node.args)
        name = node.func.id  # type: ignore[attr-defined]
        if name == "ceil_div":
            if b == 0:
                raise KernelError(f"size rule {rule!r}: ceil_div by zero")
            v = -(-a // b)
        else:
            v = min(a, b) if name == "min" else max(a, b)
    else:
        assert isinstance(node, ast.BinOp)
        a, b = _eval(node.left, rule, params), _eval(node.right, rule, params)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and b == 0:
            raise KernelError(f"size rule {rule!r}: division by zero")
        op = type(node.op)
        v = {
            ast.Add: lambda: a + b,
            ast.Sub: lambda: a - b,
            ast.Mult: lambda: a * b,
            ast.FloorDiv: lambda: a // b,
            ast.Mod: lambda: a % b,
        }[op]()
    if not -LIMIT <= v <= LIMIT:  # type: ignore[operator]
        raise KernelError(f"size rule {rule!r}: a value leaves the range ±2**62")
    return v  # type: ignore[return-value]
